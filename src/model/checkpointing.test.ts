/**
 * Gradient checkpointing: with layer recomputation on, gradients equal those of the plain tape
 * (a generic block, and every family's layers, prefixes included), no tensor is left behind, and
 * the step's peak memory is lower.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import { checkpointed, layerRecomputationOn, withLayerRecomputation } from './checkpointing';
import { loadPretrained, type LoadedModel } from './loader';
import { hfCheckpointFiles, memFolder, rng, TINY, type Family } from './testing/hfCheckpoint';

const FAMILIES: Family[] = ['bert', 'distilbert', 'gpt2'];

beforeAll(async () => {
  expect(await useNodeBackend('cpu')).toBe('cpu');
});

describe('checkpointed blocks', () => {
  it('recomputation is scoped: on inside withLayerRecomputation, restored after a throw', () => {
    expect(layerRecomputationOn()).toBe(false);
    withLayerRecomputation(true, () => expect(layerRecomputationOn()).toBe(true));
    expect(() => withLayerRecomputation(true, () => {
      throw new Error('x');
    })).toThrow('x');
    expect(layerRecomputationOn()).toBe(false);
  });

  it('two stacked blocks: same values and gradients for every input, inside variableGrads, nothing leaked', async () => {
    const w = tf.tensor2d([[0.5, -1, 0.3], [0.2, 0.4, -0.7]]); // a frozen weight [2, 3]
    const block = (x: tf.Tensor, s: tf.Tensor) => tf.tanh(tf.add(tf.matMul(x as tf.Tensor2D, w), s)).matMul(w, false, true); // [4, 2] -> [4, 2]
    const wrapped = checkpointed(block);
    const x = tf.variable(tf.tensor2d([[1, 2], [-1, 0.5], [0.3, 0.3], [2, -2]]));
    const s = tf.variable(tf.tensor1d([0.1, -0.2, 0.3]));
    const lossOf = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) => () => tf.sum(tf.square(f(f(x, s), s))) as tf.Scalar;
    const before = tf.memory().numTensors;
    const plain = tf.variableGrads(lossOf(block), [x, s]);
    const recomputed = withLayerRecomputation(true, () => tf.variableGrads(lossOf(wrapped), [x, s]));
    expect((await recomputed.value.data())[0]).toBeCloseTo((await plain.value.data())[0], 6);
    for (const v of [x, s]) {
      const a = Array.from(await plain.grads[v.name].data());
      const b = Array.from(await recomputed.grads[v.name].data());
      expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(0.01);
      a.forEach((g, i) => expect(b[i]).toBeCloseTo(g, 6));
    }
    tf.dispose([plain.value, recomputed.value, Object.values(plain.grads), Object.values(recomputed.grads)]);
    expect(tf.memory().numTensors).toBe(before);
    // The outer tape survives the nested recomputation: a second gradient in a row still works.
    const again = withLayerRecomputation(true, () => tf.variableGrads(lossOf(wrapped), [x, s]));
    tf.dispose([again.value, Object.values(again.grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([w, x, s]);
  });
});

describe('checkpointed layers in every family (cpu)', () => {
  const models = new Map<Family, LoadedModel>();
  beforeAll(async () => {
    for (const family of FAMILIES) models.set(family, await loadPretrained(memFolder(hfCheckpointFiles(family, { seed: 4, d: { ...TINY, layers: 3 } }))));
  });
  afterAll(() => models.forEach((m) => m.model.dispose()));

  it.each(FAMILIES)('%s: input-embedding and prefix gradients equal the plain tape, lower peak bytes, no tensor left', async (family) => {
    const { model } = models.get(family)!;
    const B = 3;
    const T = 12;
    const H = TINY.hidden;
    const P = 2;
    const r = rng(9);
    const embeds = tf.tensor3d(Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: H }, () => 0.5 * r()))));
    const prefix = tf.tensor2d(Array.from({ length: P }, () => Array.from({ length: 3 * 2 * H }, () => 0.5 * r())));
    const mask = tf.tensor2d(Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (t < T - 2 * b ? 1 : 0))), undefined, 'int32');
    const weights = tf.randomNormal([B, T, TINY.vocab], 0, 1, 'float32', 2);
    const loss = (e: tf.Tensor, p: tf.Tensor) => {
      const h = model.forward({ inputsEmbeds: e as tf.Tensor3D, attentionMask: mask, prefix: p as tf.Tensor2D });
      return tf.sum(tf.mul(model.lmLogits(h), weights)) as tf.Scalar;
    };
    const before = tf.memory().numTensors;
    const run = async (on: boolean) => {
      let grads: tf.Tensor[] = [];
      const profile = await tf.profile(() => {
        grads = withLayerRecomputation(on, () => tf.grads(loss)([embeds, prefix]));
      });
      const out = { grads: await Promise.all(grads.map(async (g) => Array.from(await g.data()))), peak: profile.peakBytes };
      tf.dispose(grads);
      return out;
    };
    const plain = await run(false);
    const recomputed = await run(true);
    plain.grads.forEach((g, k) => {
      const scale = Math.max(...g.map(Math.abs));
      expect(scale).toBeGreaterThan(1e-3);
      g.forEach((x, i) => expect(Math.abs(recomputed.grads[k][i] - x)).toBeLessThan(1e-5 * scale));
    });
    expect(recomputed.peak).toBeLessThan(plain.peak);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([embeds, prefix, mask, weights]);
  });
});
