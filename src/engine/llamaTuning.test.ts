/**
 * The engine on a Llama-family checkpoint (tiny, random, grouped-query attention, byte-level BPE
 * tokenizer): classification with label words at the next-token position and with the linear head
 * at the last token, prefix tuning in PEFT's grouped-query layout, and generation, each tuning a few
 * steps with a falling loss and a flat tensor count, then exporting a CAUSAL_LM PEFT adapter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import { loadPretrained } from '../model/loader';
import { memFolder } from '../model/testing/hfCheckpoint';
import { LLAMA_CASES, llamaCheckpointFiles } from '../model/testing/llamaCheckpoint';
import { prefixWidth } from '../model/types';
import { trainClassifier, type ClassificationData } from './classification';
import { generate, trainGenerator } from './generation';
import type { LanguageModel } from './languageModel';
import { classificationExport, generationExport } from './export/fromResult';
import { peftAdapterConfig } from './export/peft';
import { goodTask } from './testing/fixtures';
import { DEFAULT_TRAINING_CONFIG, type TrainingConfig } from './train';

const data: ClassificationData = {
  rows: goodTask(32, 5),
  labelColumn: 'label',
  template: '{text} It was',
  labelWords: { pos: ['great'], neg: ['terrible'] },
};
const config: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, promptLength: 4, init: 'random', epochs: 3, batchSize: 8, learningRate: 0.1, valFraction: 0.25, patience: 0, seed: 2 };

let lm: LanguageModel;
let identity: { id: string; checkpointHash: string; config: LanguageModel['model']['config'] };
beforeAll(async () => {
  await useNodeBackend('wasm');
  const loaded = await loadPretrained(memFolder(llamaCheckpointFiles(LLAMA_CASES.llamaGqa, { seed: 3 }), 'studio-test/tiny-llama'));
  lm = { model: loaded.model, tokenizer: loaded.tokenizer };
  identity = { id: 'studio-test/tiny-llama', checkpointHash: loaded.checkpointHash, config: loaded.config };
});
afterAll(() => lm.model.dispose());

describe('tuning a tiny random Llama (GQA: 4 query heads, 2 key/value heads)', () => {
  it.each([
    { name: 'label words, prompt tuning', changes: { mode: 'verbalizer' } },
    { name: 'linear head at the last token', changes: { mode: 'head', learningRate: 0.03 } },
    { name: 'label words, prefix tuning', changes: { mode: 'verbalizer', method: 'prefix', learningRate: 0.03 } },
  ] as const)('classification ($name): the loss falls, the tensor count stays flat, the PEFT adapter is CAUSAL_LM', async ({ changes }) => {
    const before = tf.memory().numTensors;
    const perEpoch: number[] = [];
    const run = { ...config, ...changes } as TrainingConfig;
    const r = await trainClassifier(lm, data, run, { onEpoch: () => perEpoch.push(tf.memory().numTensors) });
    expect(r.stopReason).toBe('completed');
    expect(r.steps).toBe(9); // 24 train rows / 8 x 3 epochs
    expect(new Set(perEpoch.slice(1)).size).toBe(1);
    expect(r.epochs[r.epochs.length - 1].trainLoss).toBeLessThan(r.epochs[0].trainLoss);
    // Label words are read at the last real token (the next-token position); the template ends there.
    const example = r.prepared.train[0].encoded;
    expect(example.maskPosition).toBe(example.ids.length - 1);
    const { prompt, meta } = await classificationExport(r, data, run, identity, '2026-01-01T00:00:00.000Z');
    const adapter = peftAdapterConfig(prompt, meta);
    expect(adapter.task_type).toBe('CAUSAL_LM');
    if (run.method === 'prefix') {
      expect(prompt.dim).toBe(prefixWidth(lm.model.config)); // 2 layers x 2 x (2 kv heads x 4)
      expect(prompt.dim).toBe(2 * 2 * 2 * 4);
      expect(adapter).toMatchObject({ peft_type: 'PREFIX_TUNING', token_dim: 8, num_attention_heads: 2, num_layers: 2 });
    } else {
      expect(adapter).toMatchObject({ token_dim: 16, num_attention_heads: 4 });
    }
    r.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('generation: the loss falls, greedy decoding runs, the tensor count stays flat', async () => {
    const before = tf.memory().numTensors;
    const perEpoch: number[] = [];
    const rows = Array.from({ length: 16 }, (_, i) => ({ input: ['the plot', 'a film', 'it was', 'very good'][i % 4], target: 'great' }));
    const gen = { rows, targetColumn: 'target', template: 'Q: {input} A:' };
    const run = { ...config, learningRate: 0.3, epochs: 3, batchSize: 4 };
    const r = await trainGenerator(lm, gen, run, { onEpoch: () => perEpoch.push(tf.memory().numTensors) });
    expect(r.stopReason).toBe('completed');
    expect(new Set(perEpoch.slice(1)).size).toBe(1);
    expect(r.epochs[r.epochs.length - 1].trainLoss).toBeLessThan(r.epochs[0].trainLoss);
    const texts = await generate(lm, r.prepared.template, r.prompt, [{ input: 'the plot' }], { maxNewTokens: 4 });
    expect(texts).toHaveLength(1);
    expect(typeof texts[0]).toBe('string');
    // Decoding stops at any of the checkpoint's end ids (generation_config.json may list several):
    // with every id an end id nothing is generated; with none, all 4 new tokens are.
    const withEnds = (eosIds: number[]): LanguageModel => ({ model: lm.model, tokenizer: Object.create(lm.tokenizer, { eosIds: { value: eosIds } }) });
    const everyId = Array.from({ length: lm.model.config.vocabSize }, (_, i) => i);
    expect(await generate(withEnds(everyId), r.prepared.template, r.prompt, [{ input: 'the plot' }], { maxNewTokens: 4 })).toEqual(['']);
    const free = await generate(withEnds([]), r.prepared.template, r.prompt, [{ input: 'the plot' }], { maxNewTokens: 4 });
    expect(lm.tokenizer.encode(free[0]).length).toBeGreaterThan(0);
    const { prompt, meta } = await generationExport(r, gen, run, identity, '2026-01-01T00:00:00.000Z');
    expect(peftAdapterConfig(prompt, meta)).toMatchObject({ task_type: 'CAUSAL_LM', peft_type: 'PROMPT_TUNING', base_model_name_or_path: 'studio-test/tiny-llama' });
    r.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
