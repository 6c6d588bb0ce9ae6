/**
 * The fused WebGPU attention (fusedAttention.ts) through layers.ts multiHeadAttention, on Node
 * WebGPU (Dawn over SwiftShader, as in CI): output and gradients in q, k, v and the prefix against
 * an independent float64 reference and against the plain tfjs ops path, with padding, causal and
 * prefix masks; tensors freed; fewer dispatches than the plain path.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { attentionBias, multiHeadAttention, type LayerPrefix } from './layers';
import { FUSED_ATTENTION_FLAG, FUSED_ATTENTION_MAX_HEAD_DIM, fusedAttention, useFusedAttention } from './fusedAttention';
import { gpuWorkCounts } from './webgpu';
import { rng } from './testing/hfCheckpoint';
import { useNodeBackend, useSoftwareVulkan } from '../node/model';

interface Case {
  name: string;
  batch: number;
  heads: number;
  headDim: number;
  seq: number;
  prefix: number;
  causal: boolean;
  /** Real tokens per row; the rest is padding on `padSide`. */
  real: number[];
  padSide: 'left' | 'right';
}

const CASES: Case[] = [
  { name: 'd=8, right padding', batch: 2, heads: 2, headDim: 8, seq: 7, prefix: 0, causal: false, real: [7, 4], padSide: 'right' },
  { name: 'd=16, causal, left padding', batch: 2, heads: 2, headDim: 16, seq: 6, prefix: 0, causal: true, real: [6, 3], padSide: 'left' },
  { name: 'd=64, causal, prefix of 3, right padding', batch: 2, heads: 2, headDim: 64, seq: 5, prefix: 3, causal: true, real: [5, 2], padSide: 'right' },
  { name: 'd=8, prefix of 2, left padding', batch: 2, heads: 3, headDim: 8, seq: 5, prefix: 2, causal: false, real: [3, 5], padSide: 'left' },
  // More keys than a tile (32 rows at d=16) and more rows than a workgroup (64): several of each.
  { name: 'd=16, causal, 70 tokens (several tiles and workgroups)', batch: 1, heads: 2, headDim: 16, seq: 70, prefix: 0, causal: true, real: [66], padSide: 'right' },
];

const TOLERANCE = 1e-4;

/** Random inputs for one case: projections [B, T, H], a prefix [P, H], the mask and dO. */
function inputs(c: Case, seed: number) {
  const next = rng(seed);
  const h = c.heads * c.headDim;
  const rand = (shape: number[]) => tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => next()), shape);
  const mask = c.real.map((n) => {
    const m = [...Array(n).fill(1), ...Array(c.seq - n).fill(0)];
    return c.padSide === 'right' ? m : [...m.slice(n), ...m.slice(0, n)];
  });
  // dO is zero at padding queries: the float64 reference keeps the -1e9 bias exactly, so a query that
  // sees no real key would not be the uniform mix float32 gives; no gradient comes from those rows.
  const w = tf.tidy(() => rand([c.batch, c.seq, h]).mul(tf.tensor(mask).expandDims(2)));
  return {
    q: rand([c.batch, c.seq, h]) as tf.Tensor3D,
    k: rand([c.batch, c.seq, h]) as tf.Tensor3D,
    v: rand([c.batch, c.seq, h]) as tf.Tensor3D,
    prefixKeys: rand([c.prefix, h]) as tf.Tensor2D,
    prefixValues: rand([c.prefix, h]) as tf.Tensor2D,
    mask: tf.tensor2d(mask, undefined, 'int32'),
    maskRows: mask,
    w: w as tf.Tensor3D,
  };
}

type Inputs = ReturnType<typeof inputs>;

function disposeInputs(x: Inputs): void {
  tf.dispose([x.q, x.k, x.v, x.prefixKeys, x.prefixValues, x.mask, x.w]);
}

/** Output and the gradients of Σ out ∘ w in q, k, v (and the prefix) through multiHeadAttention. */
function attentionAndGrads(c: Case, x: Inputs) {
  return tf.tidy(() => {
    const bias = attentionBias(x.mask, c.causal, c.prefix);
    const attend = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, pk: tf.Tensor, pv: tf.Tensor) => {
      const prefix: LayerPrefix | undefined = c.prefix > 0 ? { keys: pk as tf.Tensor2D, values: pv as tf.Tensor2D } : undefined;
      return multiHeadAttention(q, k, v, bias, c.heads, prefix);
    };
    const out = attend(x.q, x.k, x.v, x.prefixKeys, x.prefixValues);
    const xs = [x.q, x.k, x.v, ...(c.prefix > 0 ? [x.prefixKeys, x.prefixValues] : [])];
    const grads = tf.grads((...t: tf.Tensor[]) => tf.sum(tf.mul(attend(t[0], t[1], t[2], t[3] ?? x.prefixKeys, t[4] ?? x.prefixValues), x.w)))(xs);
    return { out, grads };
  });
}

/** The float64 reference: softmax(q kᵀ/√d + bias) v per head, and its gradients for dO = w. */
function reference(c: Case, q: number[][][], k: number[][][], v: number[][][], pk: number[][], pv: number[][], bias: number[][][][], w: number[][][]) {
  const { batch: B, heads, headDim: d, seq: T, prefix: P } = c;
  const H = heads * d;
  const zeros3 = (t: number) => Array.from({ length: B }, () => Array.from({ length: t }, () => new Array<number>(H).fill(0)));
  const out = zeros3(T);
  const dq = zeros3(T);
  const dkAll = zeros3(P + T); // over the joined keys: prefix first
  const dvAll = zeros3(P + T);
  const scale = 1 / Math.sqrt(d);
  for (let b = 0; b < B; b++) {
    const keys = [...pk, ...k[b]];
    const values = [...pv, ...v[b]];
    for (let hh = 0; hh < heads; hh++) {
      const o0 = hh * d;
      const dot = (x: number[], y: number[]) => {
        let s = 0;
        for (let i = 0; i < d; i++) s += x[o0 + i] * y[o0 + i];
        return s;
      };
      for (let i = 0; i < T; i++) {
        const biasRow = bias[b][0][bias[b][0].length === 1 ? 0 : i];
        const s = keys.map((key, j) => dot(q[b][i], key) * scale + biasRow[j]);
        const max = Math.max(...s);
        const e = s.map((x) => Math.exp(x - max));
        const sum = e.reduce((a, x) => a + x, 0);
        const p = e.map((x) => x / sum);
        for (let c2 = 0; c2 < d; c2++) out[b][i][o0 + c2] = p.reduce((a, pj, j) => a + pj * values[j][o0 + c2], 0);
        const dp = values.map((val) => dot(w[b][i], val));
        const mean = p.reduce((a, pj, j) => a + pj * dp[j], 0);
        p.forEach((pj, j) => {
          const ds = pj * (dp[j] - mean) * scale;
          for (let c2 = 0; c2 < d; c2++) {
            dq[b][i][o0 + c2] += ds * keys[j][o0 + c2];
            dkAll[b][j][o0 + c2] += ds * q[b][i][o0 + c2];
            dvAll[b][j][o0 + c2] += pj * w[b][i][o0 + c2];
          }
        });
      }
    }
  }
  const sumOverBatch = (g: number[][][]) => Array.from({ length: P }, (_, j) => Array.from({ length: H }, (_, c2) => g.reduce((a, row) => a + row[j][c2], 0)));
  return {
    out,
    grads: [dq, dkAll.map((r) => r.slice(P)), dvAll.map((r) => r.slice(P)), ...(P > 0 ? [sumOverBatch(dkAll), sumOverBatch(dvAll)] : [])],
  };
}

/** Largest |a - b| / max(1, |b|) over two nested arrays of the same shape. */
function worstDiff(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) / Math.max(1, Math.abs(b));
  const x = a as unknown[];
  const y = b as unknown[];
  expect(x.length).toBe(y.length);
  return x.reduce<number>((worst, ai, i) => Math.max(worst, worstDiff(ai, y[i])), 0);
}

/** Rows where the query is real (the float64 reference differs from float32 on fully masked rows). */
function realRows(t: number[][][], mask: number[][]): number[][][] {
  return t.map((rows, b) => rows.filter((_, i) => mask[b][i] === 1));
}

function dispatches(): number {
  const c = gpuWorkCounts();
  if (!c) throw new Error('gpuWorkCounts: the active backend is not the instrumented WebGPU device');
  return c.dispatches;
}

function withFused<T>(on: boolean, f: () => T): T {
  const was = tf.env().getBool(FUSED_ATTENTION_FLAG);
  tf.env().set(FUSED_ATTENTION_FLAG, on);
  try {
    return f();
  } finally {
    tf.env().set(FUSED_ATTENTION_FLAG, was);
  }
}

describe('fused attention on Node WebGPU (SwiftShader)', () => {
  /** WebGPU reports an invalid shader only as a device error (the dispatch then writes nothing). */
  const deviceErrors: string[] = [];
  beforeAll(async () => {
    useSoftwareVulkan();
    expect(await useNodeBackend('webgpu')).toBe('webgpu');
    // Every op as a WGSL kernel, also on tiny tensors (see model.test.ts).
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    device.addEventListener('uncapturederror', (e) => deviceErrors.push((e as GPUUncapturedErrorEvent).error.message));
  });
  afterEach(() => {
    expect(deviceErrors).toEqual([]);
  });

  for (const [i, c] of CASES.entries()) {
    it(`${c.name}: output and gradients match float64 and the plain tfjs ops`, async () => {
      const x = inputs(c, 100 + i);
      try {
        const before = tf.memory().numTensors;
        const fused = withFused(true, () => attentionAndGrads(c, x));
        const plain = withFused(false, () => attentionAndGrads(c, x));
        const bias = tf.tidy(() => attentionBias(x.mask, c.causal, c.prefix));
        const [q, k, v, pk, pv, w, biasValues] = await Promise.all([x.q, x.k, x.v, x.prefixKeys, x.prefixValues, x.w, bias].map((t) => t.array()));
        const ref = reference(c, q as number[][][], k as number[][][], v as number[][][], pk as number[][], pv as number[][], biasValues as number[][][][], w as number[][][]);
        const fusedOut = (await fused.out.array()) as number[][][];
        const plainOut = (await plain.out.array()) as number[][][];
        expect(worstDiff(realRows(fusedOut, x.maskRows), realRows(ref.out, x.maskRows))).toBeLessThan(TOLERANCE);
        expect(worstDiff(fusedOut, plainOut)).toBeLessThan(TOLERANCE);
        expect(fused.grads.length).toBe(ref.grads.length);
        const names = ['dq', 'dk', 'dv', 'd prefix keys', 'd prefix values'];
        for (const [n, g] of fused.grads.entries()) {
          const name = names[n];
          const got = await g.array();
          expect(worstDiff(got, ref.grads[n]), `${name} vs float64`).toBeLessThan(TOLERANCE);
          expect(worstDiff(got, await plain.grads[n].array()), `${name} vs plain ops`).toBeLessThan(TOLERANCE);
        }
        // The gradients are not trivially zero (a kernel writing nothing would pass the differences above only then).
        const dkMax = tf.tidy(() => fused.grads[1].abs().max());
        expect(await dkMax.array()).toBeGreaterThan(1e-3);
        dkMax.dispose();
        tf.dispose([fused.out, ...fused.grads, plain.out, ...plain.grads, bias]);
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        disposeInputs(x);
      }
    });
  }

  it('runs a forward in one dispatch and a step in fewer than the plain ops; frees every tensor', async () => {
    const c = CASES[1];
    const x = inputs(c, 7);
    try {
      const bias = tf.tidy(() => attentionBias(x.mask, c.causal));
      const count = (fusedOn: boolean, f: () => tf.Tensor | tf.Tensor[]) =>
        withFused(fusedOn, () => {
          const before = dispatches();
          const numTensors = tf.memory().numTensors;
          tf.dispose(tf.tidy(f));
          expect(tf.memory().numTensors).toBe(numTensors);
          return dispatches() - before;
        });
      const forward = () => multiHeadAttention(x.q, x.k, x.v, bias, c.heads);
      const step = () => tf.grads((q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.sum(tf.mul(multiHeadAttention(q, k, v, bias, c.heads), x.w)))([x.q, x.k, x.v]);
      expect(count(true, forward)).toBe(1);
      const plainForward = count(false, forward);
      expect(plainForward).toBeGreaterThan(4);
      const fusedStep = count(true, step);
      const plainStep = count(false, step);
      // forward 1 + backward 4 (row statistics, dQ, dK, dV) + the loss's own ops
      expect(fusedStep).toBeLessThan(plainStep);
      expect(plainStep - fusedStep).toBeGreaterThanOrEqual(plainForward - 1 + 8);
      await bias.data();
      bias.dispose();
    } finally {
      disposeInputs(x);
    }
  });

  it('gives the constant bias a zero gradient', async () => {
    const c = CASES[0];
    const x = inputs(c, 9);
    try {
      const bias = tf.tidy(() => attentionBias(x.mask, c.causal));
      const grads = tf.grads((q: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(fusedAttention(q as tf.Tensor3D, x.k, x.v, b as tf.Tensor4D, c.heads), x.w)))([x.q, bias]);
      const plain = withFused(false, () => tf.grad((q: tf.Tensor) => tf.sum(tf.mul(multiHeadAttention(q, x.k, x.v, bias, c.heads), x.w)))(x.q));
      expect(grads[1].shape).toEqual([c.batch, 1, 1, c.seq]);
      expect(Math.max(...((await grads[1].data()) as Float32Array).map(Math.abs))).toBe(0);
      expect(worstDiff(await grads[0].array(), await plain.array())).toBeLessThan(TOLERANCE);
      tf.dispose([...grads, plain, bias]);
    } finally {
      disposeInputs(x);
    }
  });

  it('is used only on webgpu, with the flag on and head sizes it supports', () => {
    const q = tf.zeros([1, 4, 2 * FUSED_ATTENTION_MAX_HEAD_DIM]);
    expect(useFusedAttention(q, 2)).toBe(true);
    expect(useFusedAttention(q, 1)).toBe(false); // head size 2 x max
    expect(withFused(false, () => useFusedAttention(q, 2))).toBe(false);
    q.dispose();
  });

  it('names the tensor and shape it cannot take', () => {
    const q = tf.zeros([1, 4, 16]) as tf.Tensor3D;
    const bias = tf.zeros([1, 1, 1, 5]) as tf.Tensor4D;
    expect(() => fusedAttention(q, q, q, bias, 2)).toThrow(/bias must be \[1 or 1, 1, 4 or 1, 4\]; got \[1,1,1,5\]/);
    expect(() => fusedAttention(q, q, q, bias, 3)).toThrow(/hidden 16 is not a multiple of 3 heads/);
    tf.dispose([q, bias]);
  });
});
