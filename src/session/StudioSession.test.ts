import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { useNodeBackend } from '../node/model';
import { loadFixture } from '../engine/testing/fixtures';
import type { LanguageModel } from '../engine/languageModel';
import { DEFAULT_TRAINING_CONFIG, type TrainingConfig } from '../engine/train';
import { handleRequest } from '../worker/handler';
import { createWorkerApi } from '../worker/api';
import { StudioSession } from './StudioSession';
import { fixtureLoader } from './testing/fixtureLoader';
import type { RequestKind, RequestPayload, RequestResult, WorkerEvent } from '../shared/protocol';
import type { ClassificationOutcome, GenerationOutcome, TaskSpec, TrainingState } from '../shared/tasks';

/** A loader that hands out one of the fixture models (never disposing it: the tests share them). */
/**
 * A session behind the worker's real handler (messages and events structured-cloned as postMessage
 * does); the model is loaded first unless `lm` is null. Events reach `events` as they are posted.
 */
async function studio(lm: LanguageModel | null, id = 'fixture') {
  const api = createWorkerApi(new StudioSession(fixtureLoader(lm, id)));
  let n = 0;
  async function call<K extends RequestKind>(kind: K, payload: RequestPayload<K>, events: WorkerEvent[] = [], onEvent?: (e: WorkerEvent) => void): Promise<RequestResult<K>> {
    let last: WorkerEvent | undefined;
    await handleRequest(structuredClone({ kind, id: ++n, payload }), api, (e) => {
      last = structuredClone(e);
      events.push(last);
      onEvent?.(last);
    });
    if (last?.type === 'error') throw new Error(last.error.message);
    if (last?.type !== 'result') throw new Error(`no result for ${kind}`);
    return last.payload as RequestResult<K>;
  }
  if (lm) await call('loadModel', { source: { kind: 'url', url: 'fixture/', id } });
  return call;
}

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
    const call = await studio(null);
    await expect(call('datasetStats', { task: 'classification', labelColumn: 'label', textColumns: ['text'], valFraction: 0.2, seed: 1 })).rejects.toThrow(
      'no dataset is loaded: load a CSV in the Data panel first',
    );
    await call('loadDataset', { source: { kind: 'text', name: 'a.csv', text: 'text,label\na,b\n' } });
    await expect(call('previewTemplate', { task: 'classification', template: '{text} [MASK]', promptLength: 2, count: 1 })).rejects.toThrow('no model is loaded');
  });

  it('answers trainingWarnings (what the page shows before Start, and the CLI stops on) for the loaded data', async () => {
    const call = await studio(null);
    const rows = [...Array.from({ length: 20 }, (_, i) => `text ${i},${i % 2 ? 'pos' : 'neg'}`), 'one more,rare', 'and another,rare'];
    await call('loadDataset', { source: { kind: 'text', name: 'w.csv', text: ['text,label', ...rows].join('\n') } });
    const payload = { task: 'classification' as const, labelColumn: 'label', textColumns: ['text'], valFraction: 0.2, seed: 1, template: '{text} [MASK]' };
    const warnings = await call('trainingWarnings', payload);
    expect(warnings.map((w) => w.kind)).toEqual(['small-classes']);
    expect(warnings[0].message).toMatch(/^1 of 3 classes have fewer than 5 examples \("rare" 2\)/);
    expect((await call('trainingWarnings', { ...payload, valFraction: 0 })).map((w) => w.kind)).toEqual(['small-classes', 'no-validation']);
  });

  it('loads a CSV, lists empty labels and texts by row number, and splits the rest', async () => {
    const call = await studio(bert, 'fixture-bert');
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
    const call = await studio(bert, 'fixture-bert');
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
    const call = await studio(bert, 'fixture-bert');
    const check = (labelWords: Record<string, string[]>) => call('checkLabelWords', { template: '{text} it was [MASK].', promptLength: 2, labelWords });
    expect(await check({ neg: ['bad', 'terrible'], pos: ['good', 'great'] })).toEqual({ problems: [], warnings: [], multiTokenWords: [], sequencesPerExample: 1 });
    expect((await check({ neg: ['bad'], pos: ['zebra'] })).problems).toEqual([
      { className: 'pos', message: expect.stringContaining('label word "zebra" (class "pos") cannot be represented') },
    ]);
    expect((await check({ neg: [], pos: ['good'] })).problems).toEqual([{ className: 'neg', message: 'class "neg" has no label words' }]);
    expect((await check({ neg: ['bad', 'good'], pos: ['good'] })).problems).toEqual([
      { className: 'pos', message: expect.stringContaining('"good" is a label word of both "neg" and "pos"') },
    ]);
    // A two-token word: scored by both tokens, at [MASK] [MASK] and at "good" [MASK]; the template's one [MASK] for "bad".
    const multi = await check({ neg: ['bad'], pos: ['goods'] });
    expect(multi).toEqual({ problems: [], warnings: [], multiTokenWords: [{ className: 'pos', word: 'goods', tokens: ['good', '##s'] }], sequencesPerExample: 3 });
  });

  it('label words of two classes that differ only in length are a warning, the same tokens an error', async () => {
    const call = await studio(bert, 'fixture-bert');
    const check = (labelWords: Record<string, string[]>) => call('checkLabelWords', { template: '{text} it was [MASK].', promptLength: 2, labelWords });
    // Scored by all tokens, "good" and "goods" are told apart (once an error: "both start with the token good").
    const prefix = await check({ neg: ['good', 'bad'], pos: ['goods'] });
    expect(prefix.problems).toEqual([]);
    expect(prefix.warnings).toEqual([
      {
        className: 'pos',
        message:
          `"goods" ("pos") is "good" ("neg") followed by ##s: the two classes' words differ only in length; both start with the same token, ` +
          'so little but ##s and the number of [MASK]s (1 against 2) tells the classes apart. Words that differ from the first token are safer.',
      },
    ]);
    // The same first token without one word being the start of the other: no warning.
    expect(await check({ neg: ['films'], pos: ['filmly'] })).toMatchObject({ problems: [], warnings: [] });
    // Different words, same tokens (the tokenizer lower-cases): an error, under the class checked last.
    expect((await check({ neg: ['Good'], pos: ['good'] })).problems).toEqual([
      { className: 'pos', message: 'label words "Good" ("neg") and "good" ("pos") are the same tokens (good), so these two cannot be told apart' },
    ]);
    // A decoder: the longer word can never score above the shorter one.
    const gpt = await studio(gpt2, 'fixture-gpt2');
    await gpt('loadDataset', { source: { kind: 'text', name: 's.csv', text: 'text,label\nthe movie,pos\na plot,neg\n' } });
    const decoder = await gpt('checkLabelWords', { template: '{text} it was', promptLength: 2, labelWords: { neg: ['the'], pos: ['theme', 'great'] } });
    expect(decoder.problems).toEqual([]);
    expect(decoder.warnings).toEqual([{ className: 'pos', message: expect.stringContaining('"theme" ("pos") is "the" ("neg") followed by m e') }]);
    expect(decoder.warnings[0].message).toContain('a decoder scores "theme" as "the" plus the log-probability of m e, so it never scores above "the"');
    expect(decoder.multiTokenWords).toEqual([
      { className: 'pos', word: 'theme', tokens: ['␣the', 'm', 'e'] },
      { className: 'pos', word: 'great', tokens: ['␣', 'great'] },
    ]);
    expect(decoder.sequencesPerExample).toBe(2); // "␣the m" serves "the" and "theme"; "␣" serves "great"
  });

  it('trains with step and epoch metrics and checkpoints, then exports and imports the prompt', async () => {
    const call = await studio(bert, 'fixture-bert');
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
    // The phases besides the steps report their progress by name: the encoding, then the zero-shot baseline first.
    expect(series.filter((s) => s !== 'phase')[0]).toBe('zeroShot');
    const phases = events.flatMap((e) => (e.type === 'metrics' && e.metrics.series === 'phase' ? [e.metrics] : []));
    const stages = phases.map((p) => p.stage);
    expect([...new Set(stages)].slice(0, 6)).toEqual([
      'encoding examples',
      'encoding for the zero-shot baseline',
      'zero-shot baseline',
      'validation after epoch 1',
      'validation after epoch 2',
      'final evaluation',
    ]);
    // The encoding says its start and its end: all 22 rows (16 train + 6 validation), then the 6 validation rows again.
    expect(phases.filter((p) => p.stage === 'encoding examples').map((p) => [p.done, p.total])).toEqual([[0, 22], [22, 22]]);
    expect(phases.filter((p) => p.stage === 'encoding for the zero-shot baseline').map((p) => [p.done, p.total])).toEqual([[0, 6], [6, 6]]);
    expect(series.filter((s) => s === 'epoch')).toHaveLength(2);
    const epochEvent = events.find((e) => e.type === 'metrics' && e.metrics.series === 'epoch');
    expect(epochEvent?.type === 'metrics' && epochEvent.metrics).toMatchObject({ series: 'epoch', step: 4, epoch: 1, valLoss: expect.any(Number), valAccuracy: expect.any(Number) });
    const stepEvent = events.find((e) => e.type === 'metrics' && e.metrics.series === 'step');
    expect(stepEvent?.type === 'metrics' && stepEvent.metrics).toMatchObject({ step: expect.any(Number), totalSteps: 8, loss: expect.any(Number), losses: expect.any(Array) });
    const checkpoints = events.flatMap((e) => (e.type === 'checkpoint' ? [e.checkpoint] : []));
    expect(checkpoints.map((c) => [c.step, c.epochsDone])).toContainEqual([8, 2]);
    expect(checkpoints.every((c) => c.state?.step === c.step)).toBe(true);
    expect(checkpoints.at(-1)?.values.vectors).toHaveLength(32);

    const exported = await call('exportPrompt', { prompt: outcome.prompt, meta: outcome.meta, metrics: { accuracy: outcome.tuned?.accuracy } });
    expect(exported.files.map((f) => f.path).sort()).toEqual(['README.md', 'metrics.json', 'peft/adapter_config.json', 'peft/adapter_model.safetensors', 'prompt.json', 'prompt.npy', 'prompt.safetensors']);
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

  it('continues from given values (an imported prompt)', async () => {
    const call = await studio(bert, 'fixture-bert');
    await call('loadDataset', { source: { kind: 'text', name: 'sentiment.csv', text: SENTIMENT_CSV } });
    const first = (await call('train', { runId: 'a', spec, config: { ...config, epochs: 1 } })) as ClassificationOutcome;
    const resumed = (await call('train', { runId: 'b', spec, config: { ...config, epochs: 1, learningRate: 1e-9 }, initial: first.prompt })) as ClassificationOutcome;
    // With a learning rate of ~0 the continued prompt stays at the given values.
    Array.from(resumed.prompt.vectors).forEach((v, i) => expect(v).toBeCloseTo(first.prompt.vectors[i], 4));
    await expect(call('train', { runId: 'c', spec, config: { ...config, promptLength: 3 }, initial: first.prompt })).rejects.toThrow(
      'the prompt has 2 vectors but the template and prompt length ask for 3; set the prompt length to 2',
    );
  });

  it.each(['cpu', 'wasm'] as const)('resumes a run exactly from a mid-epoch checkpoint, through the wire (%s)', async (backend) => {
    await tf.setBackend(backend);
    try {
      const call = await studio(bert, 'fixture-bert');
      await call('loadDataset', { source: { kind: 'text', name: 'sentiment.csv', text: SENTIMENT_CSV } });
      const cases = [
        { mode: 'verbalizer' as const, at: 3 },
        { mode: 'head' as const, at: 5 },
      ];
      for (const { mode, at } of cases) {
        const cfg = { ...config, mode, epochs: 3, warmupFraction: 0.25 };
        const events: WorkerEvent[] = [];
        const full = (await call('train', { runId: `full-${mode}`, spec, config: cfg, checkpointEverySteps: 1 }, events)) as ClassificationOutcome;
        expect(full.steps).toBe(12);
        const state = events.flatMap((e) => (e.type === 'checkpoint' && e.checkpoint.step === at ? [e.checkpoint.state as TrainingState] : []))[0];
        expect(state).toMatchObject({ step: at, epoch: 1 + Math.floor(at / 4), batchIndex: at % 4, totalSteps: 12 });
        const resumed = (await call('train', { runId: `resumed-${mode}`, spec, config: cfg, resume: state })) as ClassificationOutcome;
        expect(resumed.steps).toBe(12);
        expect(resumed.trainLosses).toHaveLength(12);
        resumed.trainLosses.forEach((loss, i) => expect(loss, `step ${i + 1}`).toBeCloseTo(full.trainLosses[i], 5));
        resumed.epochs.forEach((e, i) => expect(e.valLoss).toBeCloseTo(full.epochs[i].valLoss!, 5));
        Array.from(resumed.prompt.vectors).forEach((v, i) => expect(v).toBeCloseTo(full.prompt.vectors[i], 5));
        if (mode === 'head') Array.from(resumed.prompt.head!.weights).forEach((v, i) => expect(v).toBeCloseTo(full.prompt.head!.weights[i], 5));
        expect(resumed.tuned!.accuracy).toBe(full.tuned!.accuracy);
      }
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it('pauses (checkpointing where it paused), resumes and stops a run by its id', async () => {
    const call = await studio(bert, 'fixture-bert');
    await call('loadDataset', { source: { kind: 'text', name: 'sentiment.csv', text: SENTIMENT_CSV } });
    const events: WorkerEvent[] = [];
    let firstStep: () => void = () => {};
    const stepped = new Promise<void>((resolve) => (firstStep = resolve));
    let paused: (step: number) => void = () => {};
    const pauseCheckpoint = new Promise<number>((resolve) => (paused = resolve));
    let pauseRequested = false;
    const training = call('train', { runId: 'long', spec, config: { ...config, epochs: 50 } }, events, (e) => {
      if (e.type === 'metrics' && e.metrics.series === 'step') firstStep();
      if (e.type === 'checkpoint' && pauseRequested) paused(e.checkpoint.step);
    });
    await stepped;
    expect(await call('pauseTraining', { runId: 'other' })).toEqual({ runId: 'other', state: 'not-running' });
    pauseRequested = true;
    expect(await call('pauseTraining', { runId: 'long' })).toEqual({ runId: 'long', state: 'paused' });
    const pausedAt = await pauseCheckpoint;
    expect(pausedAt).toBeGreaterThan(0);
    expect(await call('resumeTraining', { runId: 'long' })).toEqual({ runId: 'long', state: 'running' });
    await expect(call('train', { runId: 'second', spec, config })).rejects.toThrow('run "long" is still training: stop it first');
    expect(await call('stopTraining', { runId: 'long' })).toEqual({ runId: 'long', state: 'stopping' });
    const outcome = await training;
    expect(outcome.stopReason).toBe('stopped');
    expect(outcome.steps).toBeLessThan(outcome.totalSteps);
    expect(outcome.steps).toBeGreaterThanOrEqual(pausedAt);
    // The stop's own checkpoint holds the state at the last step taken.
    const last = events.filter((e) => e.type === 'checkpoint').at(-1);
    expect(last?.type === 'checkpoint' && last.checkpoint.state?.step).toBe(outcome.steps);
  });

  it('trains a generation task on the causal LM and generates with the prompt', async () => {
    const call = await studio(gpt2, 'fixture-gpt2');
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
  it.each(['p-tuning', 'prefix'] as const)('%s: trains, exports files that import back as the same prompt, and scores it the same in evaluation and the playground', async (method) => {
    const call = await studio(bert, 'fixture-bert');
    await call('loadDataset', { source: { kind: 'text', name: 'sentiment.csv', text: SENTIMENT_CSV } });
    const cfg = { ...config, method, encoderHiddenSize: 8 };
    const outcome = (await call('train', { runId: method, spec, config: cfg })) as ClassificationOutcome;
    expect(outcome.prompt).toMatchObject({ numTokens: 2, dim: method === 'prefix' ? 2 * 2 * 16 : 16 });
    expect(outcome.meta.method).toBe(method);
    const exported = await call('exportPrompt', { prompt: outcome.prompt, meta: outcome.meta });
    const peft = JSON.parse(new TextDecoder().decode(exported.files.find((f) => f.path === 'peft/adapter_config.json')!.bytes));
    expect(peft.peft_type).toBe(method === 'prefix' ? 'PREFIX_TUNING' : 'P_TUNING');
    const imported = await call('importPrompt', { fileName: 'prompt.json', bytes: exported.files.find((f) => f.path === 'prompt.json')!.bytes });
    expect(imported.compatibility?.errors).toEqual([]);
    expect(imported.prompt.method).toBe(method === 'prefix' ? 'prefix' : undefined);
    // As the page evaluates an import: input vectors (P-tuning's encoder output) or a prefix.
    const evalConfig = { ...config, method: method === 'prefix' ? ('prefix' as const) : ('prompt' as const) };
    const evaluated = (await call('evaluatePrompt', { spec, config: evalConfig, prompt: imported.prompt })) as ClassificationOutcome;
    expect(evaluated.tuned!.loss).toBeCloseTo(outcome.tuned!.loss, 5);
    const row = outcome.predictions[0];
    const predicted = await call('predict', { spec: spec as Extract<TaskSpec, { task: 'classification' }>, mode: 'verbalizer', classes: ['neg', 'pos'], prompt: imported.prompt, inputs: { text: row.text } });
    predicted.tuned!.forEach((p, i) => expect(p).toBeCloseTo(row.probabilities[i], 5));
  });
  it("P-tuning's LSTM encoder: the export keeps it (encoder.safetensors) and an import trains on through it", async () => {
    const call = await studio(bert, 'fixture-bert');
    await call('loadDataset', { source: { kind: 'text', name: 'sentiment.csv', text: SENTIMENT_CSV } });
    const cfg = { ...config, epochs: 1, method: 'p-tuning' as const, encoderType: 'lstm' as const, encoderHiddenSize: 3 };
    const outcome = (await call('train', { runId: 'lstm', spec, config: cfg })) as ClassificationOutcome;
    expect(outcome.prompt.encoder?.type).toBe('lstm');
    expect(outcome.meta.encoderType).toBe('lstm');
    const exported = await call('exportPrompt', { prompt: outcome.prompt, meta: outcome.meta });
    const peft = JSON.parse(new TextDecoder().decode(exported.files.find((f) => f.path === 'peft/adapter_config.json')!.bytes));
    expect(peft).toMatchObject({ peft_type: 'P_TUNING', encoder_reparameterization_type: 'LSTM', encoder_hidden_size: 3, encoder_num_layers: 2 });
    expect(exported.files.map((f) => f.path)).toContain('encoder.safetensors');

    const imported = await call('importPrompt', { fileName: 'lstm.zip', bytes: exported.zip });
    const enc = imported.prompt.encoder!;
    expect(enc.tensors.map((t) => t.name)).toEqual(outcome.prompt.encoder!.tensors.map((t) => t.name));
    enc.tensors.forEach((t, k) => expect(Array.from(t.values)).toEqual(Array.from(outcome.prompt.encoder!.tensors[k].values)));
    expect(Array.from(enc.embeddings)).toEqual(Array.from(outcome.prompt.encoder!.embeddings));
    const evaluated = (await call('evaluatePrompt', { spec, config: cfg, prompt: imported.prompt })) as ClassificationOutcome;
    expect(evaluated.tuned!.loss).toBeCloseTo(outcome.tuned!.loss, 5);

    // Training on from the import moves the encoder's weights, not only the vectors it hands out.
    const onward = (await call('train', { runId: 'lstm-2', spec, config: cfg, initial: imported.prompt })) as ClassificationOutcome;
    const moved = onward.prompt.encoder!.tensors.map((t, k) => Math.max(...Array.from(t.values, (v, i) => Math.abs(v - enc.tensors[k].values[i]))));
    expect(moved.every((d) => d > 0)).toBe(true);
  });

  it('an ensemble: the outcome carries every member, the export writes each one, the playground averages them', async () => {
    const call = await studio(bert, 'fixture-bert');
    await call('loadDataset', { source: { kind: 'text', name: 'sentiment.csv', text: SENTIMENT_CSV } });
    const outcome = (await call('train', { runId: 'ens', spec, config: { ...config, ensembleSize: 2 } })) as ClassificationOutcome;
    expect(outcome.prompt.members).toHaveLength(2);
    expect(outcome.ensemble?.members).toHaveLength(2);
    const exported = await call('exportPrompt', { prompt: outcome.prompt, meta: outcome.meta });
    const paths = exported.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['prompt.json', 'members/1/prompt.json', 'members/2/prompt.json', 'members/2/peft/adapter_model.safetensors']));
    const second = JSON.parse(new TextDecoder().decode(exported.files.find((f) => f.path === 'members/2/prompt.json')!.bytes));
    expect(second.seed).toBe(config.seed + 1000);
    expect(second.vectors.flat()).toEqual(Array.from(outcome.prompt.members![1].vectors).map((x) => expect.closeTo(x, 6)));
    expect(Object.keys(unzipSync(exported.zip))).toEqual(expect.arrayContaining(['members/1/prompt.json', 'members/2/prompt.json']));
    const row = outcome.predictions[0];
    const predicted = await call('predict', { spec: spec as Extract<TaskSpec, { task: 'classification' }>, mode: 'verbalizer', classes: ['neg', 'pos'], prompt: outcome.prompt, inputs: { text: row.text } });
    predicted.tuned!.forEach((p, i) => expect(p).toBeCloseTo(row.probabilities[i], 5));
  });
  it('an ensemble export zip imports as every member and evaluates as the run did', async () => {
    const call = await studio(bert, 'fixture-bert');
    await call('loadDataset', { source: { kind: 'text', name: 'sentiment.csv', text: SENTIMENT_CSV } });
    const ensembleConfig = { ...config, ensembleSize: 3 };
    const outcome = (await call('train', { runId: 'ens3', spec, config: ensembleConfig })) as ClassificationOutcome;
    const exported = await call('exportPrompt', { prompt: outcome.prompt, meta: outcome.meta });
    const imported = await call('importPrompt', { fileName: 'ensemble.zip', bytes: exported.zip });
    expect(imported.format).toBe('zip');
    expect(imported.prompt.members).toHaveLength(3);
    outcome.prompt.members!.forEach((member, k) => {
      expect(Array.from(imported.prompt.members![k].vectors)).toEqual(Array.from(member.vectors));
      expect(imported.prompt.members![k]).toMatchObject({ numTokens: member.numTokens, dim: member.dim });
    });
    // The members differ (seeds), so reading one member three times would fail the loop above.
    expect(Array.from(imported.prompt.members![1].vectors)).not.toEqual(Array.from(imported.prompt.members![0].vectors));
    expect(Array.from(imported.prompt.vectors)).toEqual(Array.from(outcome.prompt.members![0].vectors));

    const evaluated = (await call('evaluatePrompt', { spec, config: ensembleConfig, prompt: imported.prompt })) as ClassificationOutcome;
    expect(evaluated.steps).toBe(0);
    expect(evaluated.ensemble?.members).toHaveLength(3);
    expect(evaluated.tuned!.accuracy).toBe(outcome.tuned!.accuracy);
    expect(evaluated.tuned!.loss).toBeCloseTo(outcome.tuned!.loss, 6);
    evaluated.ensemble!.members.forEach((m, k) => expect(m.loss).toBeCloseTo(outcome.ensemble!.members[k].loss, 6));
    evaluated.predictions.forEach((p, i) => p.probabilities.forEach((q, c) => expect(q).toBeCloseTo(outcome.predictions[i].probabilities[c], 6)));
  });
});
