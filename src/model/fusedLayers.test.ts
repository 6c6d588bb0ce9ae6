/**
 * The fused WebGPU LayerNorm (with and without the residual), GELU (exact and tanh) and linear
 * (fusedLayers.ts) through layers.ts, on Node WebGPU (Dawn over SwiftShader, as in CI): outputs
 * against an independent float64 reference, gradients against float64 finite differences, both
 * against the plain tfjs ops (flag off); tensors freed; dispatches counted.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { activation, layerNorm, linear } from './layers';
import { FUSED_LAYERS_FLAG, fusedRmsNorm, useFusedLayers } from './fusedLayers';
import { gpuWorkCounts } from './webgpu';
import { rng } from './testing/hfCheckpoint';
import { useNodeBackend, useSoftwareVulkan } from '../node/model';

const TOLERANCE = 1e-4;

/** Largest |a - b| / max(1, |b|) over two flat arrays of the same length. */
function worstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
}

function randoms(n: number, seed: number, scale = 1, shift = 0): number[] {
  const next = rng(seed);
  return Array.from({ length: n }, () => next() * scale + shift);
}

function withFused<T>(on: boolean, f: () => T): T {
  const was = tf.env().getBool(FUSED_LAYERS_FLAG);
  tf.env().set(FUSED_LAYERS_FLAG, on);
  try {
    return f();
  } finally {
    tf.env().set(FUSED_LAYERS_FLAG, was);
  }
}

function dispatches(): number {
  const c = gpuWorkCounts();
  if (!c) throw new Error('gpuWorkCounts: the active backend is not the instrumented WebGPU device');
  return c.dispatches;
}

/** Dispatches `f` makes (its tensors disposed; numTensors must come back to where it was). */
function countDispatches(f: () => tf.Tensor | tf.Tensor[]): number {
  const before = dispatches();
  const numTensors = tf.memory().numTensors;
  tf.dispose(tf.tidy(f));
  expect(tf.memory().numTensors).toBe(numTensors);
  return dispatches() - before;
}

/** Central finite differences of a float64 scalar function at x. */
function finiteDifferences(f: (x: number[]) => number, x: number[], h = 1e-6): number[] {
  return x.map((_, i) => {
    const up = x.slice();
    const down = x.slice();
    up[i] += h;
    down[i] -= h;
    return (f(up) - f(down)) / (2 * h);
  });
}

// ---- float64 references ----

/** LayerNorm of each row of v (flat [rows, H]) with biased variance. */
function refLayerNorm(v: number[], hidden: number, gamma: number[], beta: number[], eps: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < v.length / hidden; r++) {
    const row = v.slice(r * hidden, (r + 1) * hidden);
    const mean = row.reduce((a, x) => a + x, 0) / hidden;
    const variance = row.reduce((a, x) => a + (x - mean) ** 2, 0) / hidden;
    row.forEach((x, c) => out.push(((x - mean) / Math.sqrt(variance + eps)) * gamma[c] + beta[c]));
  }
  return out;
}

/** erf by Simpson's rule on 2/√π e^(-t²) (independent of the kernel's rational approximation). */
function refErf(z: number): number {
  const n = 2000;
  const h = z / n;
  let s = 1 + Math.exp(-z * z);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return ((s * h) / 3) * (2 / Math.sqrt(Math.PI));
}

const refGelu = {
  gelu: (x: number) => 0.5 * x * (1 + refErf(x / Math.SQRT2)),
  gelu_new: (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
};

interface LayerNormCase {
  name: string;
  rows: number;
  hidden: number;
  eps: number;
  residual: boolean;
}

const LAYER_NORM_CASES: LayerNormCase[] = [
  { name: 'H=16 (fewer columns than threads), eps 1e-12', rows: 3, hidden: 16, eps: 1e-12, residual: false },
  { name: 'H=128 with the residual, eps 1e-12 (BERT)', rows: 4, hidden: 128, eps: 1e-12, residual: true },
  { name: 'H=200 (not a multiple of the workgroup), eps 1e-5 (GPT-2)', rows: 5, hidden: 200, eps: 1e-5, residual: false },
  { name: 'H=72 with the residual, [2, 3, H] input', rows: 6, hidden: 72, eps: 1e-5, residual: true },
];

describe('fused layers on Node WebGPU (SwiftShader)', () => {
  /** WebGPU reports an invalid shader only as a device error (the dispatch then writes nothing). */
  const deviceErrors: string[] = [];
  beforeAll(async () => {
    useSoftwareVulkan();
    expect(await useNodeBackend('webgpu')).toBe('webgpu');
    tf.env().set('WEBGPU_CPU_FORWARD', false); // every op as a WGSL kernel, also on tiny tensors
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    device.addEventListener('uncapturederror', (e) => deviceErrors.push((e as GPUUncapturedErrorEvent).error.message));
  });
  afterEach(() => {
    expect(deviceErrors).toEqual([]);
  });

  for (const [i, c] of LAYER_NORM_CASES.entries()) {
    it(`LayerNorm ${c.name}: output and gradients match float64 and the plain ops`, async () => {
      const n = c.rows * c.hidden;
      const shape = c.rows % 2 === 0 && c.rows > 2 ? [2, c.rows / 2, c.hidden] : [c.rows, c.hidden];
      // Rows with an offset and a spread, so mean and variance matter.
      const xv = randoms(n, 10 + i, 3, 0.5);
      const rv = randoms(n, 20 + i, 2, -0.25);
      const gv = randoms(c.hidden, 30 + i, 1, 1);
      const bv = randoms(c.hidden, 40 + i);
      const wv = randoms(n, 50 + i); // upstream gradient: loss = Σ LN(.) ∘ w
      const [x, r, w] = [xv, rv, wv].map((v) => tf.tensor(v, shape));
      const p = { gamma: tf.tensor1d(gv), beta: tf.tensor1d(bv) };
      const numTensors = tf.memory().numTensors;
      try {
        const run = (fused: boolean) =>
          withFused(fused, () =>
            tf.tidy(() => {
              const f = (a: tf.Tensor, b: tf.Tensor) => layerNorm(a, p, c.eps, c.residual ? b : undefined);
              const out = f(x, r);
              const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), w));
              const grads = c.residual ? tf.grads(loss)([x, r]) : [tf.grad((a: tf.Tensor) => loss(a, r))(x)];
              return [out, ...grads];
            }),
          );
        const fused = await Promise.all(run(true).map(async (t) => [t, await t.data()] as const));
        const plain = await Promise.all(run(false).map(async (t) => [t, await t.data()] as const));
        const input = c.residual ? xv.map((v, k) => v + rv[k]) : xv;
        const ref = refLayerNorm(input, c.hidden, gv, bv, c.eps);
        const loss = (v: number[]) => refLayerNorm(v, c.hidden, gv, bv, c.eps).reduce((a, y, k) => a + y * wv[k], 0);
        const refGrad = finiteDifferences(loss, input);
        expect(worstDiff(fused[0][1], ref), 'output vs float64').toBeLessThan(TOLERANCE);
        expect(worstDiff(fused[0][1], plain[0][1]), 'output vs plain ops').toBeLessThan(TOLERANCE);
        expect(worstDiff(fused[1][1], refGrad), 'dx vs finite differences').toBeLessThan(TOLERANCE);
        expect(worstDiff(fused[1][1], plain[1][1]), 'dx vs plain ops').toBeLessThan(TOLERANCE);
        if (c.residual) expect(worstDiff(fused[2][1], refGrad), 'dr (the same as dx)').toBeLessThan(TOLERANCE);
        expect(Math.max(...Array.from(fused[1][1], Math.abs))).toBeGreaterThan(1e-2); // not trivially zero
        tf.dispose([...fused, ...plain].map(([t]) => t));
        expect(tf.memory().numTensors).toBe(numTensors);
      } finally {
        tf.dispose([x, r, w, p.gamma, p.beta]);
      }
    });
  }

  for (const [i, shape] of [[3, 200], [2, 3, 2, 16]].entries()) {
    it(`RMSNorm [${shape}]: output and gradient match float64 and the plain ops`, async () => {
      const hidden = shape[shape.length - 1];
      const n = shape.reduce((a, d) => a * d, 1);
      const eps = 1e-6;
      const xv = randoms(n, 60 + i, 2, 0.5);
      const gv = randoms(hidden, 70 + i, 1, 1);
      const wv = randoms(n, 80 + i);
      const [x, w] = [xv, wv].map((v) => tf.tensor(v, shape));
      const weight = tf.tensor1d(gv);
      const numTensors = tf.memory().numTensors;
      // The plain ops as llama.ts writes them.
      const plainRms = (a: tf.Tensor) => tf.mul(tf.mul(a, tf.rsqrt(tf.add(tf.mean(tf.square(a), -1, true), eps))), weight);
      const run = (norm: (a: tf.Tensor) => tf.Tensor) => tf.tidy(() => [norm(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(norm(a), w)))(x)]);
      const fused = run((a) => fusedRmsNorm(a, weight, eps));
      const plain = run(plainRms);
      const ref = (v: number[]) => {
        const out: number[] = [];
        for (let r = 0; r < n / hidden; r++) {
          const row = v.slice(r * hidden, (r + 1) * hidden);
          const rms = Math.sqrt(row.reduce((a, y) => a + y * y, 0) / hidden + eps);
          row.forEach((y, c) => out.push((y / rms) * gv[c]));
        }
        return out;
      };
      const refGrad = finiteDifferences((v) => ref(v).reduce((a, y, k) => a + y * wv[k], 0), xv);
      expect(worstDiff(await fused[0].data(), ref(xv))).toBeLessThan(TOLERANCE);
      expect(worstDiff(await fused[0].data(), await plain[0].data())).toBeLessThan(TOLERANCE);
      expect(worstDiff(await fused[1].data(), refGrad)).toBeLessThan(TOLERANCE);
      expect(worstDiff(await fused[1].data(), await plain[1].data())).toBeLessThan(TOLERANCE);
      expect(countDispatches(() => fusedRmsNorm(x, weight, eps))).toBe(1);
      tf.dispose([...fused, ...plain]);
      expect(tf.memory().numTensors).toBe(numTensors);
      tf.dispose([x, w, weight]);
    });
  }

  for (const kind of ['gelu', 'gelu_new'] as const) {
    it(`GELU (${kind}): output and gradient match float64 and the plain ops, large |x| included`, async () => {
      // Typical pre-activations, and tails where tanh would overflow a naive exp form.
      const xv = [...randoms(61, kind.length, 8, -4), -30, -12, -6.5, 0, 6.5, 12, 30];
      const x = tf.tensor(xv, [1, xv.length]);
      const numTensors = tf.memory().numTensors;
      const run = (fused: boolean) =>
        withFused(fused, () => tf.tidy(() => [activation(x, kind), tf.grad((a: tf.Tensor) => tf.sum(activation(a, kind)))(x)]));
      const [fusedOut, fusedGrad] = run(true);
      const [plainOut, plainGrad] = run(false);
      const f = refGelu[kind];
      const refGrad = xv.map((v) => finiteDifferences((a) => f(a[0]), [v], 1e-5)[0]);
      expect(worstDiff(await fusedOut.data(), xv.map(f)), 'output vs float64').toBeLessThan(TOLERANCE);
      expect(worstDiff(await fusedOut.data(), await plainOut.data()), 'output vs plain ops').toBeLessThan(TOLERANCE);
      expect(worstDiff(await fusedGrad.data(), refGrad), 'gradient vs finite differences').toBeLessThan(TOLERANCE);
      // Compared where the plain ops' gradient is finite (their pow/tanh chain need not be in the tails).
      const plainG = Array.from(await plainGrad.data());
      const fusedG = Array.from(await fusedGrad.data());
      const finite = plainG.map((g, k) => [fusedG[k], g]).filter(([, g]) => Number.isFinite(g));
      expect(finite.length).toBeGreaterThan(60);
      expect(worstDiff(finite.map(([a]) => a), finite.map(([, b]) => b)), 'gradient vs plain ops').toBeLessThan(TOLERANCE);
      tf.dispose([fusedOut, fusedGrad, plainOut, plainGrad]);
      expect(tf.memory().numTensors).toBe(numTensors);
      x.dispose();
    });
  }

  it('linear: output and input gradient match float64 and the plain ops; a trainable weight keeps the plain path', async () => {
    const [n, inDim, outDim] = [6, 20, 12];
    const xv = randoms(n * inDim, 1);
    const wv = randoms(inDim * outDim, 2);
    const bv = randoms(outDim, 3);
    const gv = randoms(n * outDim, 4);
    const x = tf.tensor(xv, [2, 3, inDim]);
    const p = { w: tf.tensor2d(wv, [inDim, outDim]), b: tf.tensor1d(bv) };
    const g = tf.tensor(gv, [2, 3, outDim]);
    const numTensors = tf.memory().numTensors;
    const run = (fused: boolean) => withFused(fused, () => tf.tidy(() => [linear(x, p), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(linear(a, p), g)))(x)]));
    const [fusedOut, fusedGrad] = run(true);
    const [plainOut, plainGrad] = run(false);
    const ref: number[] = [];
    for (let i = 0; i < n; i++) for (let o = 0; o < outDim; o++) ref.push(bv[o] + xv.slice(i * inDim, (i + 1) * inDim).reduce((a, v, k) => a + v * wv[k * outDim + o], 0));
    const refGrad: number[] = [];
    for (let i = 0; i < n; i++) for (let k = 0; k < inDim; k++) refGrad.push(gv.slice(i * outDim, (i + 1) * outDim).reduce((a, v, o) => a + v * wv[k * outDim + o], 0));
    expect(fusedOut.shape).toEqual([2, 3, outDim]);
    expect(worstDiff(await fusedOut.data(), ref)).toBeLessThan(TOLERANCE);
    expect(worstDiff(await fusedOut.data(), await plainOut.data())).toBeLessThan(TOLERANCE);
    expect(worstDiff(await fusedGrad.data(), refGrad)).toBeLessThan(TOLERANCE);
    expect(worstDiff(await fusedGrad.data(), await plainGrad.data())).toBeLessThan(TOLERANCE);
    tf.dispose([fusedOut, fusedGrad, plainOut, plainGrad]);
    expect(tf.memory().numTensors).toBe(numTensors);

    // A trainable head (tf.variable) still gets its weight gradient: the fused path would drop it.
    const head = { w: tf.variable(p.w.clone()), b: tf.variable(p.b.clone()) };
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(linear(x, head), g)) as tf.Scalar, [head.w, head.b]);
    const dw: number[] = [];
    for (let k = 0; k < inDim; k++) for (let o = 0; o < outDim; o++) dw.push(Array.from({ length: n }, (_, i) => xv[i * inDim + k] * gv[i * outDim + o]).reduce((a, v) => a + v, 0));
    expect(worstDiff(await grads[head.w.name].data(), dw)).toBeLessThan(TOLERANCE);
    tf.dispose([...Object.values(grads), head.w, head.b, x, g, p.w, p.b]);
  });

  it('runs each layer forward in one dispatch and a step in fewer than the plain ops', () => {
    const x = tf.tensor(randoms(4 * 128, 5), [4, 128]);
    const r = tf.tensor(randoms(4 * 128, 6), [4, 128]);
    const p = { gamma: tf.ones([128]) as tf.Tensor1D, beta: tf.zeros([128]) as tf.Tensor1D };
    const lin = { w: tf.tensor2d(randoms(128 * 64, 7), [128, 64]), b: tf.tensor1d(randoms(64, 8)) };
    try {
      const count = (on: boolean, f: () => tf.Tensor | tf.Tensor[]) => withFused(on, () => countDispatches(f));
      expect(count(true, () => layerNorm(x, p, 1e-5))).toBe(1);
      expect(count(true, () => layerNorm(x, p, 1e-5, r))).toBe(1);
      expect(count(true, () => activation(x, 'gelu'))).toBe(1);
      expect(count(true, () => activation(x, 'gelu_new'))).toBe(1);
      expect(count(true, () => linear(x, lin))).toBe(1);
      expect(count(false, () => layerNorm(x, p, 1e-5, r))).toBeGreaterThan(6);
      expect(count(false, () => activation(x, 'gelu'))).toBeGreaterThanOrEqual(4);
      expect(count(false, () => linear(x, lin))).toBe(2);
      // forward + backward of LN(x + r) -> GELU -> linear: 1 + 1 + 1 each way, plus the loss's sum.
      const block = () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(linear(activation(layerNorm(a, p, 1e-5, b), 'gelu'), lin)))([x, r]);
      const fusedStep = count(true, block);
      const plainStep = count(false, block);
      expect(fusedStep).toBeLessThanOrEqual(8);
      expect(plainStep).toBeGreaterThan(3 * fusedStep);
    } finally {
      tf.dispose([x, r, p.gamma, p.beta, lin.w, lin.b]);
    }
  });

  it('is used only on webgpu, with the flag on', async () => {
    const x = tf.zeros([2, 4]);
    expect(useFusedLayers(x)).toBe(true);
    expect(withFused(false, () => useFusedLayers(x))).toBe(false);
    x.dispose();
    await tf.setBackend('cpu');
    try {
      const y = tf.zeros([2, 4]);
      expect(useFusedLayers(y)).toBe(false);
      y.dispose();
    } finally {
      await tf.setBackend('webgpu');
    }
  });

  it('names the tensors it cannot take', () => {
    const x = tf.zeros([2, 8]);
    const p = { gamma: tf.ones([6]) as tf.Tensor1D, beta: tf.zeros([8]) as tf.Tensor1D };
    expect(() => layerNorm(x, p, 1e-5)).toThrow(/fusedLayerNorm: gamma and beta must be \[8\] for x \[2,8\]; got gamma \[6\], beta \[8\]/);
    const q = { gamma: tf.ones([8]) as tf.Tensor1D, beta: tf.zeros([8]) as tf.Tensor1D };
    const r = tf.zeros([2, 7]);
    expect(() => layerNorm(x, q, 1e-5, r)).toThrow(/fusedLayerNorm: the residual must have x's shape \[2,8\]; got \[2,7\]/);
    tf.dispose([x, p.gamma, p.beta, q.gamma, q.beta, r]);
  });
});
