import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import { syntheticStep } from './benchmarkStep';
import type { LanguageModel } from './languageModel';
import { loadFixture } from './testing/fixtures';

describe('syntheticStep (what the benchmark times)', () => {
  const lms: Record<string, LanguageModel> = {};
  beforeAll(async () => {
    await useNodeBackend('wasm');
    lms.bert = await loadFixture('bert', { positions: 32 });
    lms.gpt2 = await loadFixture('gpt2', { positions: 32 });
  });
  afterAll(() => Object.values(lms).forEach((lm) => lm.model.dispose()));

  for (const family of ['bert', 'gpt2'] as const) {
    for (const mode of ['verbalizer', 'head'] as const) {
      it(`${family}, ${mode}: steps lower the loss, move only the prompt, keep the tensor count flat`, async () => {
        const lm = lms[family];
        const table = await lm.model.wordEmbeddings.data();
        const s = await syntheticStep(lm.model, { batchSize: 4, sequenceLength: 16, promptLength: 4, mode, learningRate: 0.05 });
        expect(s.tokensPerStep).toBe(64);
        const first = s.step();
        const firstLoss = (await first.data())[0];
        first.dispose();
        const counts: number[] = [];
        let last = NaN;
        for (let i = 0; i < 30; i++) {
          const l = s.step();
          last = (await l.data())[0];
          l.dispose();
          counts.push(tf.memory().numTensors);
        }
        expect(new Set(counts).size).toBe(1);
        expect(last).toBeLessThan(firstLoss);
        expect(await lm.model.wordEmbeddings.data()).toEqual(table);
        const before = tf.memory().numTensors;
        s.dispose();
        expect(tf.memory().numTensors).toBeLessThan(before);
      });
    }

    it(`${family}: with layer recomputation the steps give the same losses and prompt, tensor count flat`, async () => {
      const lm = lms[family];
      const run = async (recomputeLayers: boolean) => {
        const s = await syntheticStep(lm.model, { batchSize: 4, sequenceLength: 16, promptLength: 4, learningRate: 0.05, recomputeLayers });
        const losses: number[] = [];
        const counts: number[] = [];
        for (let i = 0; i < 4; i++) {
          const l = s.step();
          losses.push((await l.data())[0]);
          l.dispose();
          counts.push(tf.memory().numTensors);
        }
        const prompt = Array.from(await s.prompt.vectors.data());
        s.dispose();
        return { losses, prompt, counts };
      };
      const plain = await run(false);
      const recomputed = await run(true);
      expect(new Set(recomputed.counts).size).toBe(1);
      recomputed.losses.forEach((l, i) => expect(l).toBeCloseTo(plain.losses[i], 5));
      recomputed.prompt.forEach((v, i) => expect(v).toBeCloseTo(plain.prompt[i], 5));
      expect(plain.losses[3]).not.toBeCloseTo(plain.losses[0], 3); // the prompt did move
    });
  }
});
