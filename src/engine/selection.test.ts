/**
 * The two ways a batch selects rows (batch.ts: gather, one-hot matmul) give the same losses and the
 * same gradients for the prompt, on the real tiny checkpoints, on cpu and on Node WebGPU (Dawn on
 * SwiftShader: every op a WGSL kernel).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend, useSoftwareVulkan } from '../node/model';
import { gpuWorkCounts } from '../model/webgpu';
import { forwardWithPrompt, makeBatch, padSideFor, readHidden, type BatchInput, type Selection } from './batch';
import type { LanguageModel } from './languageModel';
import { SoftPrompt } from './softPrompt';
import { loadFixture } from './testing/fixtures';
import { Verbalizer } from './verbalizer';

/** Three rows of different lengths with soft positions; reads of different counts. */
function rows(V: number): { inputs: BatchInput[]; reads: number[][] } {
  const ids = (n: number, seed: number) => Array.from({ length: n }, (_, i) => 5 + ((seed * 7 + i * 3) % (V - 5)));
  const soft = (n: number, at: number[]) => Array.from({ length: n }, (_, i) => at.indexOf(i));
  const lengths = [6, 4, 7];
  const softAt = [[1, 2], [1, 2], [2, 3]];
  const inputs = lengths.map((n, b) => ({ ids: ids(n, b), softIndex: soft(n, softAt[b]), tokenTypes: Array(n).fill(0) }));
  return { inputs, reads: [[5], [2, 3], [6, 4]] };
}

for (const backend of ['cpu', 'webgpu'] as const) {
  describe(`gather and one-hot selections agree (${backend})`, () => {
    beforeAll(async () => {
      if (backend === 'webgpu') useSoftwareVulkan();
      expect(await useNodeBackend(backend)).toBe(backend);
      // Tiny tensors would otherwise run on tfjs's CPU kernels inside the webgpu backend.
      if (backend === 'webgpu') tf.env().set('WEBGPU_CPU_FORWARD', false);
    });

    it('verbalizer class scores: same values and gradients', async () => {
      const V = 30;
      // Multi-piece words on a decoder: two scoring sequences, reads 0..2.
      const words = [[{ word: 'a', tokenIds: [3] }, { word: 'bc', tokenIds: [4, 5] }], [{ word: 'de', tokenIds: [6, 7, 8] }]];
      const verbalizer = new Verbalizer(['x', 'y'], words, { vocabSize: V, lmKind: 'causal-lm' });
      const reads = verbalizer.sequences.length * Math.max(...verbalizer.sequences.map((q) => q.reads.length));
      const logits = tf.randomNormal([2 * reads, V], 0, 1, 'float32', 5) as tf.Tensor2D;
      const weights = tf.tensor2d([[1, -2], [0.5, 3]]);
      const run = async (selection: Selection) => {
        const { value, grad } = tf.valueAndGrad((l: tf.Tensor) => tf.sum(tf.mul(verbalizer.classScores(tf.logSoftmax(l as tf.Tensor2D), selection), weights)) as tf.Scalar)(logits);
        const out = { loss: (await value.data())[0], grad: Array.from(await grad.data()) };
        tf.dispose([value, grad]);
        return out;
      };
      const oneHot = await run('one-hot');
      const gather = await run('gather');
      expect(gather.loss).toBeCloseTo(oneHot.loss, 4);
      expect(Math.max(...oneHot.grad.map(Math.abs))).toBeGreaterThan(0.1);
      oneHot.grad.forEach((g, i) => expect(gather.grad[i]).toBeCloseTo(g, 5));
      tf.dispose([logits, weights]);
      verbalizer.dispose();
    });

    for (const family of ['bert', 'gpt2'] as const) {
      let lm: LanguageModel;
      beforeAll(async () => {
        lm = await loadFixture(family);
      });
      afterAll(() => lm.model.dispose());

      it(`${family}: same loss and prompt gradient`, async () => {
        const { config } = lm.model;
        const { inputs, reads } = rows(config.vocabSize);
        const promptValues = tf.randomNormal([2, config.hiddenSize], 0, 0.5, 'float32', 3) as tf.Tensor2D;
        const before = tf.memory().numTensors;
        const run = async (selection: Selection) => {
          const batch = makeBatch(inputs, { side: padSideFor(config.lmKind), padId: 0, promptLength: 2, reads, selection });
          const { value, grad } = tf.valueAndGrad((p: tf.Tensor) => {
            const hidden = forwardWithPrompt(lm.model, batch, new SoftPrompt(p as tf.Variable<tf.Rank.R2>));
            const read = readHidden(hidden, batch); // [B, K, H]
            const logp = tf.logSoftmax(lm.model.lmLogits(read.reshape([-1, config.hiddenSize])) as tf.Tensor2D); // [B*K, V]
            // A loss that weighs every vocabulary entry differently, over the real reads only.
            const perRead = tf.sum(tf.mul(logp, tf.linspace(-1, 1, config.vocabSize)), -1).reshape([batch.size, -1]);
            return tf.sum(tf.mul(perRead, batch.readWeights)) as tf.Scalar;
          })(promptValues);
          const out = { loss: (await value.data())[0], grad: Array.from(await grad.data()) };
          tf.dispose([value, grad]);
          batch.dispose();
          return out;
        };
        const dispatchesBefore = gpuWorkCounts()?.dispatches ?? 0;
        const oneHot = await run('one-hot');
        const gather = await run('gather');
        if (backend === 'webgpu') expect((gpuWorkCounts()?.dispatches ?? 0) - dispatchesBefore).toBeGreaterThan(20);
        expect(Math.abs(gather.loss - oneHot.loss)).toBeLessThan(1e-4 * Math.max(1, Math.abs(oneHot.loss)));
        const scale = Math.max(...oneHot.grad.map(Math.abs));
        expect(scale).toBeGreaterThan(1e-3); // the prompt does reach the loss
        oneHot.grad.forEach((g, i) => expect(Math.abs(gather.grad[i] - g)).toBeLessThan(1e-4 * scale));
        promptValues.dispose();
        expect(tf.memory().numTensors).toBe(before - 1);
      });
    }
  });
}
