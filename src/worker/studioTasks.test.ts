import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { useNodeBackend } from '../model/node';
import { loadFixture } from '../engine/testing/fixtures';
import type { LanguageModel } from '../engine/languageModel';
import { DEFAULT_TRAINING_CONFIG, type TrainingConfig } from '../engine/train';
import { handleRequest } from './handler';
import { fakeWorkerApi } from './fakeApi';
import { createStudioTasks, type ActiveModel } from './studioTasks';
import type { RequestKind, RequestPayload, RequestResult, WorkerEvent } from '../shared/protocol';
import type { ClassificationOutcome, GenerationOutcome, TaskSpec } from '../shared/tasks';

/** The real tasks behind the real handler, on the model core's tiny random checkpoints. */
function studio(model: () => ActiveModel | null) {
  const api = fakeWorkerApi(createStudioTasks(model));
  let id = 0;
  return async function call<K extends RequestKind>(kind: K, payload: RequestPayload<K>, events: WorkerEvent[] = []): Promise<RequestResult<K>> {
    const mine: WorkerEvent[] = [];
    await handleRequest(structuredClone({ kind, id: ++id, payload }), api, (e) => mine.push(structuredClone(e)));
    events.push(...mine);
    const last = mine.at(-1);
    if (last?.type === 'error') throw new Error(last.error.message);
    if (last?.type !== 'result') throw new Error(`no result for ${kind}`);
    return last.payload as RequestResult<K>;
  };
}

const active = (lm: LanguageModel, id: string): ActiveModel => ({ ...lm, id, config: lm.model.config, checkpointHash: null });

// Sentiment-like rows in the fixture vocabulary; row 6 has no label and row 9 no text.
const SENTIMENT_CSV = [
  'text;label',
  ...Array.from({ length: 24 }, (_, i) => (i % 2 ? `the movie was very good;pos` : `the film was bad;neg`)),
].map((line, i) => (i === 5 ? 'the plot;' : i === 8 ? ';pos' : line)).join('\r\n');

const config: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, promptLength: 2, init: 'random', epochs: 2, batchSize: 4, valFraction: 0.25, patience: 0, seed: 5 };
const spec: TaskSpec = { task: 'classification', template: '{text} it was [MASK].', labelColumn: 'label', textColumns: ['text'], labelWords: { neg: ['bad', 'terrible'], pos: ['good', 'great'] } };

let bert: LanguageModel;
let gpt2: LanguageModel;
beforeAll(async () => {
  await useNodeBackend('wasm');
  bert = await loadFixture('bert', { positions: 32 });
  gpt2 = await loadFixture('gpt2', { positions: 32 });
});
afterAll(() => {
  bert.model.dispose();
  gpt2.model.dispose();
});

describe('studio tasks through the handler', () => {
  it('refuses model and data work before a model and a dataset are loaded, with a message saying what to do', async () => {
    const call = studio(() => null);
    await expect(call('datasetStats', { task: 'classification', labelColumn: 'label', textColumns: ['text'], valFraction: 0.2, seed: 1 })).rejects.toThrow(
      'no dataset is loaded: load a CSV in the Data panel first',
    );
    await call('loadDataset', { source: { kind: 'text', name: 'a.csv', text: 'text,label\na,b\n' } });
    await expect(call('previewTemplate', { task: 'classification', template: '{text} [MASK]', promptLength: 2, count: 1 })).rejects.toThrow('no model is loaded');
  });

  it('loads a CSV, lists empty labels and texts by row number, and splits the rest', async () => {
    const call = studio(() => active(bert, 'fixture-bert'));
    const events: WorkerEvent[] = [];
    const info = await call('loadDataset', { source: { kind: 'text', name: 'sentiment.csv', text: SENTIMENT_CSV } }, events);
    expect(info).toMatchObject({ name: 'sentiment.csv', delimiter: ';', columns: ['text', 'label'], rowCount: 24, encoding: 'utf-8' });
    expect(info.emptyCells.label).toEqual({ count: 1, rows: [6] });
    expect(info.emptyCells.text).toEqual({ count: 1, rows: [9] });
    expect(info.preview[0]).toEqual({ row: 2, cells: ['the film was bad', 'neg'] });
    expect(events.some((e) => e.type === 'progress' && e.progress.stage === 'parsing CSV' && e.progress.fraction === 1)).toBe(true);

    const stats = await call('datasetStats', { task: 'classification', labelColumn: 'label', textColumns: ['text'], valFraction: 0.25, seed: 5 });
    expect(stats).toMatchObject({ kept: 22, emptyLabel: { count: 1, rows: [6] }, emptyText: { count: 1, rows: [9] }, distinctLabels: 2 });
    expect(stats.train + stats.val).toBe(22);
    expect(stats.classes.map((c) => [c.name, c.count, c.train + c.val])).toEqual([
      ['neg', 11, 11],
      ['pos', 11, 11],
    ]);
  });

  it('previews the template as tokens with soft tokens, the mask and truncation, and names template errors', async () => {
    const call = studio(() => active(bert, 'fixture-bert'));
    await call('loadDataset', { source: { kind: 'text', name: 's.csv', text: `text,label\nthe movie was ${'very '.repeat(30)}good,pos\nbad,neg\n` } });
    const preview = await call('previewTemplate', { task: 'classification', template: '{text} it was [MASK].', promptLength: 3, count: 2 });
    expect(preview).toMatchObject({ lmKind: 'masked-lm', softCount: 3, placement: 'after-first-token', maxLength: 32, checkedRows: 2, truncatedRows: 1 });
    const [long, short] = preview.examples;
    expect(long).toMatchObject({ row: 2, truncated: true, tokenCount: 32 });
    expect(short.tokens.map((t) => `${t.kind}:${t.text}`)).toEqual([
      'special:[CLS]', 'soft:P1', 'soft:P2', 'soft:P3', 'token:bad', 'token:it', 'token:was', 'mask:[MASK]', 'token:.', 'special:[SEP]',
    ]);
    await expect(call('previewTemplate', { task: 'classification', template: '{text} it was good.', promptLength: 3, count: 2 })).rejects.toThrow(/has no \[MASK\]/);
    await expect(call('previewTemplate', { task: 'classification', template: '{review} [MASK]', promptLength: 3, count: 2 })).rejects.toThrow(/unknown column \{review\}/);
  });

  it('checks label words class by class and names the class of each problem', async () => {
    const call = studio(() => active(bert, 'fixture-bert'));
    const check = (labelWords: Record<string, string[]>) => call('checkLabelWords', { template: '{text} it was [MASK].', promptLength: 2, labelWords });
    expect(await check({ neg: ['bad', 'terrible'], pos: ['good', 'great'] })).toEqual({ problems: [], multiTokenWords: [] });
    expect((await check({ neg: ['bad'], pos: ['zebra'] })).problems).toEqual([
      { className: 'pos', message: expect.stringContaining('label word "zebra" (class "pos") cannot be represented') },
    ]);
    expect((await check({ neg: [], pos: ['good'] })).problems).toEqual([{ className: 'neg', message: 'class "neg" has no label words' }]);
    expect((await check({ neg: ['bad', 'good'], pos: ['good'] })).problems).toEqual([
      { className: 'pos', message: expect.stringContaining('"good" is a label word of both "neg" and "pos"') },
    ]);
    const multi = await check({ neg: ['bad'], pos: ['goods'] });
    expect(multi).toEqual({ problems: [], multiTokenWords: [{ className: 'pos', word: 'goods', tokens: ['good', '##s'] }] });
  });

  it('trains with step and epoch metrics and checkpoints, then exports and imports the prompt', async () => {
    const call = studio(() => active(bert, 'fixture-bert'));
    await call('loadDataset', { source: { kind: 'text', name: 'sentiment.csv', text: SENTIMENT_CSV } });
    const tensorsBefore = tf.memory().numTensors;
    const events: WorkerEvent[] = [];
    const outcome = (await call('train', { runId: 'r1', spec, config, checkpointEverySteps: 2 }, events)) as ClassificationOutcome;
    expect(tf.memory().numTensors).toBe(tensorsBefore);

    expect(outcome).toMatchObject({ task: 'classification', classes: ['neg', 'pos'], stopReason: 'completed', trainSize: 16, valSize: 6, steps: 8, totalSteps: 8 });
    expect(outcome.trainLosses).toHaveLength(8);
    expect(outcome.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(outcome.zeroShot?.confusionMatrix.flat().reduce((a, b) => a + b)).toBe(6);
    expect(outcome.tuned?.accuracy).toBeGreaterThanOrEqual(0);
    expect(outcome.predictions).toHaveLength(6);
    expect(outcome.predictions[0]).toMatchObject({ text: expect.stringMatching(/^the (movie|film) was/), row: expect.any(Number) });
    expect(outcome.predictions.every((p) => p.zeroShotPredicted === 'neg' || p.zeroShotPredicted === 'pos')).toBe(true);
    expect(outcome.robustness?.perturbed).toHaveProperty('typos');
    expect(outcome.meta).toMatchObject({ task: 'classification', template: spec.template, mode: 'verbalizer', classNames: ['neg', 'pos'], model: { id: 'fixture-bert' } });
    expect(outcome.prompt).toMatchObject({ numTokens: 2, dim: 16 });

    const series = events.flatMap((e) => (e.type === 'metrics' ? [e.metrics.series] : []));
    expect(series[0]).toBe('zeroShot');
    expect(series.filter((s) => s === 'epoch')).toHaveLength(2);
    const epochEvent = events.find((e) => e.type === 'metrics' && e.metrics.series === 'epoch');
    expect(epochEvent?.type === 'metrics' && epochEvent.metrics).toMatchObject({ step: 4, values: { epoch: 1, valLoss: expect.any(Number), valAccuracy: expect.any(Number) } });
    const checkpoints = events.flatMap((e) => (e.type === 'checkpoint' ? [e.checkpoint] : []));
    expect(checkpoints.map((c) => [c.step, c.epochsDone])).toContainEqual([8, 2]);
    expect(checkpoints.at(-1)?.values.vectors).toHaveLength(32);

    const exported = await call('exportPrompt', { prompt: outcome.prompt, meta: outcome.meta, metrics: { accuracy: outcome.tuned?.accuracy } });
    expect(exported.files.map((f) => f.path).sort()).toEqual(['metrics.json', 'peft/adapter_config.json', 'peft/adapter_model.safetensors', 'prompt.json', 'prompt.npy', 'prompt.safetensors']);
    expect(Object.keys(unzipSync(exported.zip)).sort()).toEqual(exported.files.map((f) => f.path).sort());
    const peft = JSON.parse(new TextDecoder().decode(exported.files.find((f) => f.path === 'peft/adapter_config.json')!.bytes));
    expect(peft).toMatchObject({ peft_type: 'PROMPT_TUNING', num_virtual_tokens: 2, token_dim: 16, task_type: 'FEATURE_EXTRACTION' });

    const imported = await call('importPrompt', { fileName: 'prompt.json', bytes: exported.files.find((f) => f.path === 'prompt.json')!.bytes });
    expect(Array.from(imported.prompt.vectors)).toEqual(Array.from(outcome.prompt.vectors));
    expect(imported.compatibility?.errors).toEqual([]);
    expect(imported.metadata?.template).toBe(spec.template);

    const evaluated = (await call('evaluatePrompt', { spec, config, prompt: imported.prompt })) as ClassificationOutcome;
    expect(evaluated.steps).toBe(0);
    expect(evaluated.tuned?.accuracy).toBeCloseTo(outcome.tuned!.accuracy, 6);

    const predicted = await call('predict', { spec: spec as Extract<TaskSpec, { task: 'classification' }>, mode: 'verbalizer', classes: ['neg', 'pos'], prompt: outcome.prompt, inputs: { text: 'the movie was good' } });
    expect(predicted.classes).toEqual(['neg', 'pos']);
    expect(predicted.tuned!.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
    expect(predicted.zeroShot!.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
  });

  it('continues from given values: a resumed run starts where the checkpoint left off', async () => {
    const call = studio(() => active(bert, 'fixture-bert'));
    await call('loadDataset', { source: { kind: 'text', name: 'sentiment.csv', text: SENTIMENT_CSV } });
    const first = (await call('train', { runId: 'a', spec, config: { ...config, epochs: 1 } })) as ClassificationOutcome;
    const resumed = (await call('train', { runId: 'b', spec, config: { ...config, epochs: 1, learningRate: 1e-9 }, initial: first.prompt })) as ClassificationOutcome;
    // With a learning rate of ~0 the resumed prompt stays at the checkpoint's values.
    Array.from(resumed.prompt.vectors).forEach((v, i) => expect(v).toBeCloseTo(first.prompt.vectors[i], 4));
    await expect(call('train', { runId: 'c', spec, config: { ...config, promptLength: 3 }, initial: first.prompt })).rejects.toThrow(
      'the prompt has 2 vectors but the template and prompt length ask for 3; set the prompt length to 2',
    );
  });

  it('pauses, resumes and stops a run by its id', async () => {
    const call = studio(() => active(bert, 'fixture-bert'));
    await call('loadDataset', { source: { kind: 'text', name: 'sentiment.csv', text: SENTIMENT_CSV } });
    const events: WorkerEvent[] = [];
    const training = call('train', { runId: 'long', spec, config: { ...config, epochs: 50 } }, events);
    await new Promise((r) => setTimeout(r, 50));
    expect(await call('pauseTraining', { runId: 'other' })).toEqual({ runId: 'other', state: 'not-running' });
    expect(await call('pauseTraining', { runId: 'long' })).toEqual({ runId: 'long', state: 'paused' });
    expect(await call('resumeTraining', { runId: 'long' })).toEqual({ runId: 'long', state: 'running' });
    await expect(call('train', { runId: 'second', spec, config })).rejects.toThrow('run "long" is still training: stop it first');
    expect(await call('stopTraining', { runId: 'long' })).toEqual({ runId: 'long', state: 'stopping' });
    const outcome = await training;
    expect(outcome.stopReason).toBe('stopped');
    expect(outcome.steps).toBeLessThan(outcome.totalSteps);
  });

  it('trains a generation task on the causal LM and generates with the prompt', async () => {
    const call = studio(() => active(gpt2, 'fixture-gpt2'));
    const rows = Array.from({ length: 12 }, (_, i) => (i % 2 ? 'good,bad' : 'great,terrible'));
    await call('loadDataset', { source: { kind: 'text', name: 'antonyms.csv', text: ['input,target', ...rows].join('\n') } });
    const genSpec = { task: 'generation' as const, template: 'the {input} was', targetColumn: 'target', textColumns: ['input'] };
    const preview = await call('previewTemplate', { task: 'generation', template: genSpec.template, targetColumn: 'target', promptLength: 2, count: 1 });
    expect(preview.examples[0].tokens.filter((t) => t.kind === 'target').length).toBeGreaterThan(0);
    await expect(call('previewTemplate', { task: 'generation', template: '{input} {target}', targetColumn: 'target', promptLength: 2, count: 1 })).rejects.toThrow(/target column/);
    const outcome = (await call('train', { runId: 'g', spec: genSpec, config: { ...config, epochs: 1 } })) as GenerationOutcome;
    expect(outcome).toMatchObject({ task: 'generation', trainSize: 9, valSize: 3, meta: { task: 'generation' } });
    expect(outcome.samples[0]).toMatchObject({ input: expect.stringMatching(/good|great/), target: expect.stringMatching(/bad|terrible/) });
    const generated = await call('generate', { spec: genSpec, prompt: outcome.prompt, inputs: { input: 'good' }, strategy: 'greedy', maxNewTokens: 3 });
    expect(typeof generated.tuned).toBe('string');
    expect(typeof generated.zeroShot).toBe('string');
  });
});
