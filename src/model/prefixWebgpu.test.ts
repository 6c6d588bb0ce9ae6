/**
 * Prefix tuning on WebGPU (Dawn over SwiftShader, as model.test.ts runs it): the forward pass with
 * per-layer prefix keys and values, and the gradients with respect to the prefix and the input
 * embeddings, equal the cpu backend's for the tiny BERT and GPT-2 checkpoints. Every op runs as a
 * WGSL kernel (WEBGPU_CPU_FORWARD off), and the dispatch count proves the GPU did the work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { loadPretrained } from './loader';
import { useNodeBackend, useSoftwareVulkan } from '../node/model';
import { gpuWorkCounts } from './webgpu';
import { hfCheckpointFiles, memFolder, rng, TINY, type Family } from './testing/hfCheckpoint';

const FAMILIES: Family[] = ['bert', 'gpt2'];
const P = 3;
const WIDTH = TINY.layers * 2 * TINY.hidden;

/** Two rows, the second padded (right for BERT, left for GPT-2). */
function paddedBatch(family: Family) {
  const T = 6;
  const real = [6, 3];
  const ids: number[][] = [];
  const mask: number[][] = [];
  real.forEach((n, b) => {
    const toks = Array.from({ length: n }, (_, i) => 5 + ((b * 5 + i * 7) % (TINY.vocab - 5)));
    const m = [...Array(n).fill(1), ...Array(T - n).fill(0)];
    const padding = Array(T - n).fill(0);
    ids.push(family === 'gpt2' ? [...padding, ...toks] : [...toks, ...padding]);
    mask.push(family === 'gpt2' ? [...m.slice(n), ...m.slice(0, n)] : m);
  });
  return { ids, mask };
}

interface PrefixRun {
  hidden: number[][][];
  logits: number[][][];
  prefixGrad: number[][];
  embedsGrad: number[][][];
  dispatches: number;
}

/**
 * On the active backend: hidden states and logits with a fixed random prefix, and the gradients of
 * loss = sum over real positions of <hidden, R1> + <logits, R2> with respect to prefix and embeddings.
 */
async function runPrefix(family: Family): Promise<PrefixRun> {
  const { model } = await loadPretrained(memFolder(hfCheckpointFiles(family, { seed: 9 })));
  const { ids, mask } = paddedBatch(family);
  const r = rng(23);
  const B = ids.length;
  const T = ids[0].length;
  const prefixValues = Array.from({ length: P }, () => Array.from({ length: WIDTH }, () => 0.5 * r()));
  const R1 = Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: TINY.hidden }, () => r())));
  const R2 = Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: TINY.vocab }, () => r())));
  const before = gpuWorkCounts()?.dispatches ?? 0;
  const [ids2, attentionMask, m3, r1, r2, prefix] = [
    tf.tensor2d(ids, undefined, 'int32'),
    tf.tensor2d(mask, undefined, 'int32'),
    tf.tensor3d(mask.map((row) => row.map((x) => [x]))),
    tf.tensor3d(R1),
    tf.tensor3d(R2),
    tf.tensor2d(prefixValues),
  ];
  const embeds = model.embed(ids2 as tf.Tensor2D);
  const outputs = tf.tidy(() => {
    const hidden = model.forward({ inputsEmbeds: embeds, attentionMask: attentionMask as tf.Tensor2D, prefix: prefix as tf.Tensor2D });
    return [hidden, model.lmLogits(hidden)];
  });
  const loss = (pre: tf.Tensor, e: tf.Tensor) => {
    const h = model.forward({ inputsEmbeds: e as tf.Tensor3D, attentionMask: attentionMask as tf.Tensor2D, prefix: pre as tf.Tensor2D }); // [B, T, H]
    const l = model.lmLogits(h); // [B, T, V]
    return tf.add(tf.sum(tf.mul(tf.mul(h, r1), m3)), tf.sum(tf.mul(tf.mul(l, r2), m3))) as tf.Scalar;
  };
  const [gPrefix, gEmbeds] = tf.grads(loss)([prefix, embeds]);
  const run: PrefixRun = {
    hidden: (await outputs[0].array()) as number[][][],
    logits: (await outputs[1].array()) as number[][][],
    prefixGrad: (await gPrefix.array()) as number[][],
    embedsGrad: (await gEmbeds.array()) as number[][][],
    dispatches: (gpuWorkCounts()?.dispatches ?? 0) - before,
  };
  tf.dispose([ids2, attentionMask, m3, r1, r2, prefix, embeds, ...outputs, gPrefix, gEmbeds]);
  model.dispose();
  return run;
}

/** Largest |a - b| / max(1, |b|) over the entries. */
function worst(a: unknown, b: unknown): number {
  const flatA = (a as number[]).flat(3) as number[];
  const flatB = (b as number[]).flat(3) as number[];
  expect(flatA.length).toBe(flatB.length);
  return flatA.reduce((w, x, i) => Math.max(w, Math.abs(x - flatB[i]) / Math.max(1, Math.abs(flatB[i]))), 0);
}

/** Zeroes the padded positions ([B, T, D] rows where mask is 0): what they hold is not compared. */
function realOnly(values: number[][][], mask: number[][]): number[][][] {
  return values.map((row, b) => row.map((vec, t) => (mask[b][t] ? vec : vec.map(() => 0))));
}

describe('prefix tuning on webgpu equals cpu', () => {
  const cpu = new Map<Family, PrefixRun>();
  beforeAll(async () => {
    expect(await useNodeBackend('cpu')).toBe('cpu');
    for (const family of FAMILIES) cpu.set(family, await runPrefix(family));
    useSoftwareVulkan();
    expect(await useNodeBackend('webgpu')).toBe('webgpu');
    tf.env().set('WEBGPU_CPU_FORWARD', false);
  });
  afterAll(async () => {
    await useNodeBackend('cpu');
  });

  it.each(FAMILIES)('%s: hidden states, logits and the gradients for the prefix and the embeddings (1e-4)', async (family) => {
    const gpu = await runPrefix(family);
    const ref = cpu.get(family)!;
    const { mask } = paddedBatch(family);
    // Forward and backward ran on the GPU: at least a matmul per projection and layer, twice.
    expect(gpu.dispatches).toBeGreaterThan(12 * TINY.layers);
    expect(worst(realOnly(gpu.hidden, mask), realOnly(ref.hidden, mask))).toBeLessThan(1e-4);
    expect(worst(realOnly(gpu.logits, mask), realOnly(ref.logits, mask))).toBeLessThan(1e-4);
    expect(worst(gpu.prefixGrad, ref.prefixGrad)).toBeLessThan(1e-4);
    expect(worst(realOnly(gpu.embedsGrad, mask), realOnly(ref.embedsGrad, mask))).toBeLessThan(1e-4);
    // The prefix gradient is not trivially zero: the comparison says something.
    expect(Math.max(...ref.prefixGrad.flat().map(Math.abs))).toBeGreaterThan(1e-3);
  });
});
