/**
 * Vocabulary tables split into binding-sized shards: lookups and projections equal the unsplit
 * table's, and every family's outputs and input gradients are unchanged under an artificially low
 * binding limit (cpu, and Node WebGPU on SwiftShader, where the limit is otherwise the device's).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { nodeWebGpuAdapter, useNodeBackend, useSoftwareVulkan } from '../node/model';
import { loadPretrained } from './loader';
import { hfCheckpointFiles, memFolder, rng, TINY, type Family } from './testing/hfCheckpoint';
import { maxBindingBytes, setBindingLimitOverride, VocabTable } from './vocabShards';

afterEach(() => setBindingLimitOverride(null));

async function values(t: tf.Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

describe('VocabTable (cpu)', () => {
  beforeAll(async () => {
    expect(await useNodeBackend('cpu')).toBe('cpu');
  });

  it('splits by rows under the limit; gather and project equal the whole table', async () => {
    const table = tf.tensor2d(Array.from({ length: 10 }, (_, v) => [v, 1 - v, v * v / 10])); // [10, 3]
    const before = tf.memory().numTensors;
    const t = VocabTable.split(table, 'test.table', 4 * 3 * 4 + 5); // 4 rows of 3 floats fit
    expect(t.shards.map((s) => s.shape[0])).toEqual([4, 4, 2]);
    expect(t.starts).toEqual([0, 4, 8]);
    expect([t.rows, t.width]).toEqual([10, 3]);
    const ids = tf.tensor2d([[0, 3, 4], [9, 7, 8]], undefined, 'int32'); // both sides of each boundary
    const got = t.gather(ids);
    expect(got.shape).toEqual([2, 3, 3]);
    const direct = tf.gather(table, ids);
    expect(await values(got)).toEqual(await values(direct));
    const x = tf.tensor3d([[[1, 2, 3], [0.5, -1, 2]]]); // [1, 2, 3]
    const logits = t.project(x);
    expect(logits.shape).toEqual([1, 2, 10]);
    const product = tf.tidy(() => tf.matMul(x.reshape([2, 3]) as tf.Tensor2D, table, false, true));
    const expected = await values(product);
    (await values(logits)).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    tf.dispose([got, direct, ids, x, logits, product]);
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
    table.dispose();
  });

  it('a table under the limit is its own only shard (nothing copied); a row over it is an error naming the table', () => {
    const table = tf.zeros([10, 3]) as tf.Tensor2D;
    const t = VocabTable.split(table, 'test.table', 10 * 3 * 4);
    expect(t.shards).toEqual([table]);
    t.dispose();
    expect(table.isDisposed).toBe(false);
    expect(() => VocabTable.split(table, 'wte.weight', 8)).toThrow(/wte\.weight: one row of 3 floats exceeds the 8-byte binding limit/);
    table.dispose();
  });
});

const FAMILIES: Family[] = ['bert', 'distilbert', 'gpt2'];

for (const backend of ['cpu', 'webgpu'] as const) {
  describe(`models with sharded vocabulary tables (${backend})`, () => {
    beforeAll(async () => {
      if (backend === 'webgpu') useSoftwareVulkan();
      expect(await useNodeBackend(backend)).toBe(backend);
      if (backend === 'webgpu') tf.env().set('WEBGPU_CPU_FORWARD', false);
    });

    if (backend === 'webgpu') {
      it('the limit is the WebGPU device\'s maxStorageBufferBindingSize', () => {
        expect(nodeWebGpuAdapter).not.toBeNull();
        expect(maxBindingBytes()).toBe(nodeWebGpuAdapter!.maxStorageBufferBindingSize);
      });
    }

    it.each(FAMILIES)('%s: hidden states, logits and input gradients equal the unsharded model', async (family) => {
      const files = hfCheckpointFiles(family, { seed: 6 });
      const whole = await loadPretrained(memFolder(files));
      // TINY.vocab = 40 rows of 16 floats (2560 bytes): 15 rows per shard -> 3 shards.
      setBindingLimitOverride(15 * TINY.hidden * 4);
      const sharded = await loadPretrained(memFolder(files));
      setBindingLimitOverride(null);
      const r = rng(4);
      const ids = tf.tensor2d([[2, 14, 15, 29], [30, 39, 0, 16]], undefined, 'int32');
      const mask = tf.tensor2d([[1, 1, 1, 1], [1, 1, 1, 0]], undefined, 'int32');
      const weights = tf.tensor3d(Array.from({ length: 2 }, () => Array.from({ length: 4 }, () => Array.from({ length: TINY.vocab }, () => r()))));
      const run = async (model: typeof whole.model) => {
        const embeds = model.embed(ids);
        const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => {
          const h = model.forward({ inputsEmbeds: e as tf.Tensor3D, attentionMask: mask });
          return tf.sum(tf.mul(model.lmLogits(h), weights)) as tf.Scalar;
        })(embeds);
        const out = { embeds: await values(embeds), loss: (await value.data())[0], grad: await values(grad) };
        tf.dispose([embeds, value, grad]);
        return out;
      };
      const before = tf.memory().numTensors;
      const a = await run(whole.model);
      const b = await run(sharded.model);
      expect(tf.memory().numTensors).toBe(before);
      expect(b.embeds).toEqual(a.embeds);
      expect(Math.abs(b.loss - a.loss)).toBeLessThan(1e-4 * Math.max(1, Math.abs(a.loss)));
      const scale = Math.max(...a.grad.map(Math.abs));
      expect(scale).toBeGreaterThan(1e-3);
      a.grad.forEach((g, i) => expect(Math.abs(b.grad[i] - g)).toBeLessThan(1e-4 * scale));
      tf.dispose([ids, mask, weights]);
      whole.model.dispose();
      sharded.model.dispose();
    });
  });
}
