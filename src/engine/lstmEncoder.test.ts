/**
 * P-tuning's LSTM encoder (PEFT's encoder_reparameterization_type LSTM) against an independent
 * float64 reference written with plain numbers: a 2-layer bidirectional LSTM (torch's gate order
 * i, f, g, o; zero initial state) over the N embeddings, then Linear 2E -> 2E, ReLU, Linear 2E -> H.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import { createLstmPromptEncoder, promptFromValues, SoftPrompt, type EncoderValues } from './softPrompt';

const N = 3;
const H = 5;
const E = 2;

beforeAll(async () => {
  await useNodeBackend('cpu');
});

type Mat = number[][];
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Row-major values -> [rows][cols] float64. */
function mat(values: ArrayLike<number>, rows: number, cols: number): Mat {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => values[r * cols + c]));
}

/** The reference forward from the encoder's plain values: [N][H]. */
function reference(enc: EncoderValues, n: number): Mat {
  const t = new Map(enc.tensors.map((x) => [x.name, x]));
  const get = (name: string) => t.get(name)!;
  let x = mat(enc.embeddings, n, enc.inputDim);
  for (let l = 0; t.has(`lstm.${l}.forward.input_weight`); l++) {
    const run = (dir: 'forward' | 'backward') => {
      const wi = get(`lstm.${l}.${dir}.input_weight`);
      const wh = get(`lstm.${l}.${dir}.recurrent_weight`);
      const b = get(`lstm.${l}.${dir}.bias`).values;
      const e = wh.shape[0];
      const inDim = wi.shape[0];
      const Wi = mat(wi.values, inDim, 4 * e);
      const Wh = mat(wh.values, e, 4 * e);
      let h = new Array<number>(e).fill(0);
      let c = new Array<number>(e).fill(0);
      const out: Mat = new Array(n);
      for (let s = 0; s < n; s++) {
        const step = dir === 'forward' ? s : n - 1 - s;
        const z = Array.from({ length: 4 * e }, (_, j) => {
          let sum = b[j];
          for (let k = 0; k < inDim; k++) sum += x[step][k] * Wi[k][j];
          for (let k = 0; k < e; k++) sum += h[k] * Wh[k][j];
          return sum;
        });
        c = c.map((cj, j) => sigmoid(z[e + j]) * cj + sigmoid(z[j]) * Math.tanh(z[2 * e + j]));
        h = c.map((cj, j) => sigmoid(z[3 * e + j]) * Math.tanh(cj));
        out[step] = h;
      }
      return out;
    };
    const fwd = run('forward');
    const bwd = run('backward');
    x = fwd.map((row, i) => [...row, ...bwd[i]]);
  }
  for (let i = 0; t.has(`mlp.${i}.weight`); i++) {
    const w = get(`mlp.${i}.weight`);
    const W = mat(w.values, w.shape[0], w.shape[1]);
    const b = get(`mlp.${i}.bias`).values;
    x = x.map((row) => Array.from({ length: w.shape[1] }, (_, j) => row.reduce((s, v, k) => s + v * W[k][j], b[j])));
    if (t.has(`mlp.${i + 1}.weight`)) x = x.map((row) => row.map((v) => (enc.activation === 'relu' ? Math.max(0, v) : Math.tanh(v))));
  }
  return x;
}

/** A P-tuning prompt with the LSTM encoder over seeded embeddings. */
function lstmPrompt(seed = 4): SoftPrompt {
  const embeddings = tf.tensor2d(Array.from({ length: N * H }, (_, i) => Math.sin(i * 1.7 + seed) * 0.8), [N, H]);
  const vectors = tf.variable(embeddings, true) as tf.Variable<tf.Rank.R2>;
  embeddings.dispose();
  return new SoftPrompt(vectors, null, { method: 'p-tuning', encoder: createLstmPromptEncoder(H, E, seed) });
}

describe("P-tuning's LSTM encoder", () => {
  let prompt: SoftPrompt;
  let enc: EncoderValues;
  beforeAll(async () => {
    prompt = lstmPrompt();
    enc = (await prompt.values()).encoder!;
  });
  afterAll(() => prompt.dispose());

  it('has PEFT\'s structure: 2 bidirectional layers of E per direction, then 2E -> 2E -> H', () => {
    expect(enc.type).toBe('lstm');
    expect(enc.tensors.map((t) => `${t.name} [${t.shape.join(', ')}]`)).toEqual([
      'lstm.0.forward.input_weight [5, 8]',
      'lstm.0.forward.recurrent_weight [2, 8]',
      'lstm.0.forward.bias [8]',
      'lstm.0.backward.input_weight [5, 8]',
      'lstm.0.backward.recurrent_weight [2, 8]',
      'lstm.0.backward.bias [8]',
      'lstm.1.forward.input_weight [4, 8]',
      'lstm.1.forward.recurrent_weight [2, 8]',
      'lstm.1.forward.bias [8]',
      'lstm.1.backward.input_weight [4, 8]',
      'lstm.1.backward.recurrent_weight [2, 8]',
      'lstm.1.backward.bias [8]',
      'mlp.0.weight [4, 4]',
      'mlp.0.bias [4]',
      'mlp.1.weight [4, 5]',
      'mlp.1.bias [5]',
    ]);
    expect(prompt.trainableVariables()).toHaveLength(1 + enc.tensors.length);
    expect(prompt.width).toBe(H);
  });

  it('computes the float64 reference (1e-5), and the backward direction matters', async () => {
    const out = prompt.output();
    const got = (await out.array()) as Mat;
    out.dispose();
    const want = reference(enc, N);
    got.forEach((row, i) => row.forEach((v, j) => expect(v, `[${i}, ${j}]`).toBeCloseTo(want[i][j], 5)));
    // A forward-only reading of the sequence would not depend on later tokens: the first row does.
    const shifted = { ...enc, embeddings: enc.embeddings.map((v, i) => (i >= (N - 1) * H ? v + 1 : v)) };
    expect(Math.abs(reference(shifted, N)[0][0] - want[0][0])).toBeGreaterThan(1e-4);
  });

  it('gradients of every variable match central finite differences of the reference', () => {
    const R = mat(Array.from({ length: N * H }, (_, i) => Math.cos(i * 0.9)), N, H);
    const objective64 = (e: EncoderValues) => reference(e, N).reduce((s, row, i) => s + row.reduce((t, v, j) => t + v * R[i][j], 0), 0);
    const variables = prompt.trainableVariables();
    const Rt = tf.tensor2d(R);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(prompt.output(), Rt)) as tf.Scalar, variables);
    const h = 1e-5;
    // Every tensor (embeddings first), three entries each.
    const tensors = [{ name: 'embeddings', values: enc.embeddings }, ...enc.tensors];
    tensors.forEach((t, k) => {
      const g = grads[variables[k].name].dataSync();
      for (const idx of [0, Math.floor(t.values.length / 2), t.values.length - 1]) {
        const bump = (d: number): EncoderValues => {
          const values = Float64Array.from(t.values);
          values[idx] += d;
          return k === 0
            ? { ...enc, embeddings: values as unknown as Float32Array }
            : { ...enc, tensors: enc.tensors.map((x) => (x.name === t.name ? { ...x, values: values as unknown as Float32Array } : x)) };
        };
        const fd = (objective64(bump(h)) - objective64(bump(-h))) / (2 * h);
        expect(g[idx], `${t.name}[${idx}]`).toBeCloseTo(fd, 3);
      }
    });
    tf.dispose([Rt, ...Object.values(grads)]);
  });

  it('a training step keeps the tensor count flat, and values rebuild the same encoder', async () => {
    const optimizer = tf.train.adam(0.01);
    const step = () => optimizer.minimize(() => tf.tidy(() => tf.sum(tf.square(prompt.output())) as tf.Scalar), false, prompt.trainableVariables());
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    optimizer.dispose();

    const values = await prompt.values();
    const rebuilt = promptFromValues(structuredClone(values), { length: N, hiddenSize: H, numLayers: 1, seed: 0 });
    expect(rebuilt.method).toBe('p-tuning');
    expect(rebuilt.trainableVariables()).toHaveLength(prompt.trainableVariables().length);
    const [a, b] = [prompt.output(), rebuilt.output()];
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    tf.dispose([a, b]);
    rebuilt.dispose();
    const broken = { ...values, encoder: { ...values.encoder!, tensors: values.encoder!.tensors.filter((t) => t.name !== 'lstm.1.backward.bias') } };
    expect(() => promptFromValues(broken, { length: N, hiddenSize: H, numLayers: 1, seed: 0 })).toThrow('prompt encoder: tensor "lstm.1.backward.bias" is missing');
  });
});
