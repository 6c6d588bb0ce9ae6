import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import type { Row } from './data';
import { generate, generationLoss, makeGenerationBatch, prepareGeneration, scoreGenerations, trainGenerator } from './generation';
import { ENCODE_PROGRESS_ROWS, type PhaseProgress } from './phase';
import type { LanguageModel } from './languageModel';
import { seededRandom } from './random';
import { loadFixture } from './testing/fixtures';
import { DEFAULT_TRAINING_CONFIG, type TrainingConfig } from './train';

let gpt: LanguageModel;
const config: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, promptLength: 8, init: 'random', epochs: 12, batchSize: 8, learningRate: 0.3, valFraction: 0.25, patience: 0, seed: 1 };

/** Inputs of random fixture-vocabulary words; the target is always "great" (learnable by a prompt alone). */
function constantTask(n: number): Row[] {
  const r = seededRandom(3, 'gen');
  const words = ['the', 'a', 'e', 'o'];
  return Array.from({ length: n }, () => ({ input: ['o', words[r.int(4)], 'u'].join(' '), target: 'great' }));
}

beforeAll(async () => {
  await useNodeBackend('wasm');
  gpt = await loadFixture('gpt2', { positions: 32 });
});
afterAll(() => gpt.model.dispose());

describe('generation metrics', () => {
  it('exact match and token F1 averaged over the split (hand-computed)', () => {
    const s = scoreGenerations(['a b', 'x', 'The Cat.'], ['a b', 'x y', 'the cat']);
    expect(s.exactMatch).toBeCloseTo(2 / 3, 12);
    expect(s.tokenF1).toBeCloseTo((1 + 2 / 3 + 1) / 3, 12); // "x" vs "x y": P 1, R 1/2
  });
});

describe('generation on the tiny random GPT-2', () => {
  it('the loss covers target tokens only (teacher forcing), matching a direct computation', async () => {
    const rows = [{ input: 'o the u', target: 'great' }, { input: 'e', target: 'the great a' }]; // targets of different lengths
    const p = prepareGeneration(gpt, { rows, targetColumn: 'target', template: '{input} a' }, { ...config, promptLength: 0, valFraction: 0 });
    const examples = p.train;
    expect(examples[0].targetIds.length).toBeLessThan(examples[1].targetIds.length);
    const batch = makeGenerationBatch(examples, gpt, 0);
    const loss = generationLoss(gpt, null, batch);
    const got = (await loss.data())[0];
    // Direct: each sequence alone, full logits, sum log p(target_j | prefix) over target tokens.
    let sum = 0;
    let count = 0;
    for (const e of examples) {
      const ids = [...e.prompt.ids, ...e.targetIds];
      const logp = tf.tidy(() => {
        const idsT = tf.tensor2d([ids], undefined, 'int32');
        const h = gpt.model.forward({ inputsEmbeds: gpt.model.embed(idsT), attentionMask: tf.onesLike(idsT) });
        return tf.logSoftmax(gpt.model.lmLogits(h));
      });
      const lp = ((await logp.array()) as number[][][])[0];
      logp.dispose();
      e.targetIds.forEach((id, j) => {
        sum -= lp[e.prompt.ids.length - 1 + j][id];
        count++;
      });
    }
    expect(examples[0].targetIds[examples[0].targetIds.length - 1]).toBe(gpt.tokenizer.special.eos); // EOS is a target
    expect(got).toBeCloseTo(sum / count, 4);
    loss.dispose();
    batch.dispose();
  });

  it('the batch holds no vocabulary-sized one-hot: targets are B x K indices into the read logits', async () => {
    const rows = [{ input: 'o the u', target: 'great' }, { input: 'e', target: 'the great a' }];
    const p = prepareGeneration(gpt, { rows, targetColumn: 'target', template: '{input} a' }, { ...config, promptLength: 0, valFraction: 0 });
    const batch = makeGenerationBatch(p.train, gpt, 0);
    const V = gpt.model.config.vocabSize;
    const K = batch.readsPerExample;
    expect(K).toBe(Math.max(...p.train.map((e) => e.targetIds.length)));
    const tensors = Object.values(batch).filter((x): x is tf.Tensor => x instanceof tf.Tensor);
    expect(tensors.length).toBeGreaterThan(3);
    // The largest tensor is [B, K, T]-sized (one-hot reads on wasm), far below B x K x V.
    const largest = Math.max(...tensors.map((t) => t.size));
    expect(largest).toBeLessThanOrEqual(batch.size * K * batch.length);
    expect(batch.size * K * batch.length).toBeLessThan(batch.size * K * V);
    expect(batch.targetIndex.shape).toEqual([batch.size * K]);
    const index = Array.from(await batch.targetIndex.data());
    p.train.forEach((e, b) => e.targetIds.forEach((id, j) => expect(index[b * K + j]).toBe((b * K + j) * V + id)));
    batch.dispose();
  });

  it('tuning makes greedy decoding produce the target; exact match and F1 before and after', async () => {
    const before = tf.memory().numTensors;
    const r = await trainGenerator(gpt, { rows: constantTask(48), targetColumn: 'target', template: '{input} a' }, config);
    expect(r.valSize).toBe(12);
    expect(r.trainLosses[r.trainLosses.length - 1]).toBeLessThan(r.trainLosses[0] / 2);
    expect(r.before!.exactMatch).toBe(0);
    expect(r.after!.exactMatch).toBeGreaterThanOrEqual(0.75);
    expect(r.after!.tokenF1).toBeGreaterThanOrEqual(r.after!.exactMatch);
    expect(r.samples.filter((s) => s.after === 'great').length / r.valSize).toBeCloseTo(r.after!.exactMatch, 12);
    r.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('greedy is deterministic and bounded by maxNewTokens; top-1 sampling equals greedy; sampling is seeded', async () => {
    const p = prepareGeneration(gpt, { rows: constantTask(6), targetColumn: 'target', template: '{input} a' }, { ...config, promptLength: 0 });
    const rows = p.trainRows;
    const greedy = await generate(gpt, p.template, null, rows, { maxNewTokens: 3 });
    expect(await generate(gpt, p.template, null, rows, { maxNewTokens: 3 })).toEqual(greedy);
    for (const g of greedy) expect(gpt.tokenizer.encode(g).length).toBeLessThanOrEqual(3);
    expect(await generate(gpt, p.template, null, rows, { maxNewTokens: 3, strategy: 'sample', topK: 1 })).toEqual(greedy);
    const s1 = await generate(gpt, p.template, null, rows, { maxNewTokens: 4, strategy: 'sample', topK: 20, temperature: 2, seed: 9 });
    expect(await generate(gpt, p.template, null, rows, { maxNewTokens: 4, strategy: 'sample', topK: 20, temperature: 2, seed: 9 })).toEqual(s1);
    expect(await generate(gpt, p.template, null, rows, { maxNewTokens: 4, strategy: 'sample', topK: 20, temperature: 2, seed: 10 })).not.toEqual(s1);
  });

  it(`reports the encoding every ${ENCODE_PROGRESS_ROWS} rows, and its start and end (a large file is not silent)`, async () => {
    const rows = constantTask(2 * ENCODE_PROGRESS_ROWS + 100);
    const n = rows.length;
    const expected = [0, ENCODE_PROGRESS_ROWS, 2 * ENCODE_PROGRESS_ROWS, n].map((done) => ({ stage: 'encoding examples', done, total: n }));
    const heard: PhaseProgress[] = [];
    const p = prepareGeneration(gpt, { rows, targetColumn: 'target', template: '{input} a' }, config, (progress) => heard.push(progress));
    expect(heard).toEqual(expected);
    expect(p.train.length + p.val.length).toBe(n);
    // A run hears it through its onPhase hook, before the zero-shot baseline (8 rows: start and end only).
    const phases: PhaseProgress[] = [];
    const r = await trainGenerator(gpt, { rows: constantTask(8), targetColumn: 'target', template: '{input} a' }, config, { onPhase: (progress) => phases.push(progress) }, { train: false });
    expect(phases.slice(0, 3)).toEqual([
      { stage: 'encoding examples', done: 0, total: 8 },
      { stage: 'encoding examples', done: 8, total: 8 },
      expect.objectContaining({ stage: 'zero-shot baseline', done: 0 }),
    ]);
    r.dispose();
  });

  it('errors: an encoder model; a template that shows the target', async () => {
    expect(() => prepareGeneration(gpt, { rows: constantTask(4), targetColumn: 'target', template: '{input} {target}' }, config)).toThrow(/contains the target column \{target\}/);
    const bert = await loadFixture('bert');
    expect(() => prepareGeneration(bert, { rows: constantTask(4), targetColumn: 'target', template: '{input} [MASK]' }, config)).toThrow(/generation needs a decoder model \(gpt2, llama, mistral, qwen2, qwen3\); the loaded bert is an encoder/);
    bert.model.dispose();
  });
});
