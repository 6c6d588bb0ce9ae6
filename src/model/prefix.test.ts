/**
 * Prefix tuning in the model core: per-layer prefix keys and values (PEFT's past_key_values layout)
 * against the independent float64 reference, against the model's own keys and values of real tokens,
 * and by finite differences, for every family.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { loadPretrained, type LoadedModel } from './loader';
import { useNodeBackend } from '../node/model';
import { hfCheckpointFiles, hfConfig, memFolder, randomHfWeights, referenceEmbed, referenceForward, rng, TINY, worstAtReal, type Family } from './testing/hfCheckpoint';

const FAMILIES: Family[] = ['bert', 'roberta', 'distilbert', 'gpt2'];
const P = 3;
const WIDTH = TINY.layers * 2 * TINY.hidden;

/** Two rows, the second padded (right for encoders, left for GPT-2). */
function paddedBatch(family: Family) {
  const T = 6;
  const real = [6, 3];
  const pad = family === 'roberta' ? 1 : 0;
  const ids: number[][] = [];
  const mask: number[][] = [];
  real.forEach((n, b) => {
    const toks = Array.from({ length: n }, (_, i) => 5 + ((b * 5 + i * 7) % (TINY.vocab - 5)));
    const m = Array(n).fill(1);
    const padding = Array(T - n).fill(pad);
    const zeros = Array(T - n).fill(0);
    ids.push(family === 'gpt2' ? [...padding, ...toks] : [...toks, ...padding]);
    mask.push(family === 'gpt2' ? [...zeros, ...m] : [...m, ...zeros]);
  });
  return { ids, mask };
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`prefix keys and values (${backend})`, () => {
    const models = new Map<Family, LoadedModel>();
    beforeAll(async () => {
      expect(await useNodeBackend(backend)).toBe(backend);
      for (const family of FAMILIES) models.set(family, await loadPretrained(memFolder(hfCheckpointFiles(family, { seed: 3 }))));
    });
    afterAll(() => models.forEach((m) => m.model.dispose()));

    it.each(FAMILIES)('%s: a random prefix matches the float64 reference (masks, positions after the prefix, layout)', async (family) => {
      const { model } = models.get(family)!;
      const weights = randomHfWeights(family, 3);
      const { ids, mask } = paddedBatch(family);
      const r = rng(17);
      const prefix = Array.from({ length: P }, () => Array.from({ length: WIDTH }, () => 0.5 * r()));
      const embeds = referenceEmbed(family, weights, ids);
      const expected = referenceForward(family, weights, hfConfig(family), embeds, mask, prefix);
      const out = tf.tidy(() => model.forward({ inputsEmbeds: tf.tensor3d(embeds), attentionMask: tf.tensor2d(mask, undefined, 'int32'), prefix: tf.tensor2d(prefix) }));
      const actual = (await out.array()) as number[][][];
      out.dispose();
      expect(worstAtReal(actual, expected.hidden, mask)).toBeLessThan(1e-4);
      // And the prefix matters: without it the output differs.
      const plain = referenceForward(family, weights, hfConfig(family), embeds, mask);
      expect(worstAtReal(actual, plain.hidden, mask)).toBeGreaterThan(1e-2);
    });

    it.each(FAMILIES)('%s: a prefix holding the keys and values of real tokens gives the output of the sequence with those tokens', async (family) => {
      const { model } = models.get(family)!;
      const full = [[7, 12, 5, 30, 21, 9, 16]];
      const before = tf.memory().numTensors;
      const [whole, rest] = tf.tidy(() => {
        const ids = tf.tensor2d(full, undefined, 'int32');
        const mask = tf.onesLike(ids);
        const inputs = { inputsEmbeds: model.embed(ids), attentionMask: mask };
        const hidden = model.forward(inputs); // [1, 7, H]
        const kv = model.keyValues(inputs); // [1, 7, L * 2 * H]
        expect(kv.shape).toEqual([1, 7, WIDTH]);
        const prefix = kv.slice([0, 0, 0], [1, P, WIDTH]).reshape([P, WIDTH]) as tf.Tensor2D;
        const tailIds = ids.slice([0, P], [1, 7 - P]);
        const tail = model.forward({ inputsEmbeds: model.embed(tailIds as tf.Tensor2D), attentionMask: tf.onesLike(tailIds) as tf.Tensor2D, prefix });
        return [hidden.slice([0, P, 0], [1, 7 - P, TINY.hidden]), tail];
      });
      const [a, b] = [(await whole.array()) as number[][][], (await rest.array()) as number[][][]];
      tf.dispose([whole, rest]);
      expect(tf.memory().numTensors).toBe(before);
      expect(worstAtReal(b, a, [Array(7 - P).fill(1)])).toBeLessThan(1e-5);
    });

    it.each(FAMILIES)('%s: an empty prefix is no prefix', async (family) => {
      const { model } = models.get(family)!;
      const { ids, mask } = paddedBatch(family);
      const [withEmpty, without] = tf.tidy(() => {
        const inputs = { inputsEmbeds: model.embed(tf.tensor2d(ids, undefined, 'int32')), attentionMask: tf.tensor2d(mask, undefined, 'int32') };
        return [model.forward({ ...inputs, prefix: tf.zeros([0, WIDTH]) as tf.Tensor2D }), model.forward(inputs)];
      });
      expect(await withEmpty.array()).toEqual(await without.array());
      tf.dispose([withEmpty, without]);
    });

    if (backend === 'cpu') {
      it.each(FAMILIES)('%s: tf.grad with respect to the prefix matches central finite differences of the float64 reference', async (family) => {
        const { model } = models.get(family)!;
        const weights = randomHfWeights(family, 3);
        const { ids, mask } = paddedBatch(family);
        const r = rng(23);
        const prefix = Array.from({ length: P }, () => Array.from({ length: WIDTH }, () => 0.5 * r()));
        const R = ids.map((row) => row.map(() => Array.from({ length: TINY.hidden }, () => r())));
        const embeds = referenceEmbed(family, weights, ids);
        const refLoss = (pre: number[][]) => {
          const out = referenceForward(family, weights, hfConfig(family), embeds, mask, pre).hidden;
          let s = 0;
          out.forEach((row, b) => row.forEach((vec, t) => mask[b][t] && vec.forEach((v, h) => (s += v * R[b][t][h]))));
          return s;
        };
        const grad = tf.tidy(() => {
          const inputsEmbeds = tf.tensor3d(embeds);
          const attentionMask = tf.tensor2d(mask, undefined, 'int32');
          const weight = tf.mul(tf.tensor3d(R), tf.tensor3d(mask.map((row) => row.map((m) => [m]))));
          return tf.grad((pre: tf.Tensor) => tf.sum(tf.mul(model.forward({ inputsEmbeds, attentionMask, prefix: pre as tf.Tensor2D }), weight)) as tf.Scalar)(tf.tensor2d(prefix));
        });
        const g = (await grad.array()) as number[][];
        grad.dispose();
        const eps = 1e-5;
        // A key and a value entry of every layer, at every prefix position.
        for (let p = 0; p < P; p++) {
          for (let l = 0; l < TINY.layers; l++) {
            for (const offset of [2 * l * TINY.hidden + 1, (2 * l + 1) * TINY.hidden + 5]) {
              const up = prefix.map((row) => row.slice());
              const down = prefix.map((row) => row.slice());
              up[p][offset] += eps;
              down[p][offset] -= eps;
              const fd = (refLoss(up) - refLoss(down)) / (2 * eps);
              expect(Math.abs(g[p][offset] - fd), `position ${p}, layer ${l}, column ${offset}`).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
            }
          }
        }
      });
    }
  });
}
