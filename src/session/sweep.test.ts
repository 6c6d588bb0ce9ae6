/**
 * Sweeps through the worker's real handler on a tiny random BERT: trials as ordinary runs with their
 * own events, the budget, the winner scored on rows no trial trained or validated on (the model's
 * embedding lookups are watched to prove it), a stopped sweep resumed with the trials it had left,
 * and no tensors left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import { loadFixture } from '../engine/testing/fixtures';
import type { LanguageModel } from '../engine/languageModel';
import { DEFAULT_TRAINING_CONFIG, type TrainingConfig } from '../engine/train';
import { handleRequest } from '../worker/handler';
import { createWorkerApi } from '../worker/api';
import { StudioSession, type ModelLoader } from './StudioSession';
import type { RequestKind, RequestPayload, RequestResult, TrainingEvent, WorkerEvent } from '../shared/protocol';
import type { ClassificationOutcome, TaskSpec, TrainingState } from '../shared/tasks';
import type { SweepOutcome, SweepPlan, SweepTrialResult } from '../shared/sweep';

/** Words that make up the rows' texts: three of them per row, a different three for every row. */
const TEXT_WORDS = ['movie', 'film', 'plot', 'very', 'not', 'a', 'the', 'and'];
const ROWS = 40;
const CSV = [
  'text,label',
  ...Array.from({ length: ROWS }, (_, i) => {
    const words = [Math.floor(i / 64) % 8, Math.floor(i / 8) % 8, i % 8].map((k) => TEXT_WORDS[k]);
    return `${words.join(' ')} ${i % 2 ? 'good' : 'bad'},${i % 2 ? 'pos' : 'neg'}`;
  }),
].join('\n');

const config: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, promptLength: 2, init: 'random', epochs: 2, batchSize: 4, valFraction: 0.2, patience: 0, seed: 3 };
const spec: TaskSpec = { task: 'classification', template: '{text} it was [MASK].', labelColumn: 'label', textColumns: ['text'], labelWords: { neg: ['bad'], pos: ['good'] } };
// 40 rows: 8 held out for the test (0.2 of each class), 32 left; 0.2 of those validate (6), 26 train:
// 7 batches of 4 per epoch, 14 steps per trial.
const plan: SweepPlan = { axes: { learningRate: [0.01, 0.3], promptLength: [1, 2] }, search: 'grid', seed: 11, budget: {}, testFraction: 0.2 };
const STEPS_PER_TRIAL = 14;

let bert: LanguageModel;
/** Every row's text signature the model embedded, by phase: while a trial ran, or after the last one ended. */
let seen: { phase: 'idle' | 'trial' | 'after'; trial: Set<string>; after: Set<string> };

/** The row's words among TEXT_WORDS, in order: which row a sequence of token ids holds. */
function signature(ids: number[], textIds: Map<number, string>): string {
  return ids.flatMap((id) => (textIds.has(id) ? [textIds.get(id)] : [])).join(' ');
}

/** A loader handing out the fixture BERT with its embedding lookup watched. */
function watchedLoader(lm: LanguageModel): ModelLoader {
  const textIds = new Map(TEXT_WORDS.map((w) => [lm.tokenizer.encode(w)[0], w]));
  return {
    async load() {
      const shared = Object.assign(Object.create(lm.model) as typeof lm.model, {
        dispose() {},
        embed(ids: tf.Tensor2D) {
          if (seen.phase !== 'idle') {
            for (const row of ids.arraySync()) {
              const s = signature(row, textIds);
              if (s) (seen.phase === 'trial' ? seen.trial : seen.after).add(s);
            }
          }
          return lm.model.embed(ids);
        },
      });
      return { model: { ...lm, model: shared, config: lm.model.config, checkpointHash: '0'.repeat(64), weightBytes: 0, parameters: 0 }, id: 'fixture-bert' };
    },
    cancel: () => false,
  };
}

async function studio() {
  const api = createWorkerApi(new StudioSession(watchedLoader(bert)));
  let n = 0;
  async function call<K extends RequestKind>(kind: K, payload: RequestPayload<K>, onEvent?: (e: WorkerEvent) => void): Promise<RequestResult<K>> {
    let last: WorkerEvent | undefined;
    await handleRequest(structuredClone({ kind, id: ++n, payload }), api, (e) => {
      last = structuredClone(e);
      onEvent?.(last);
    });
    if (last?.type === 'error') throw new Error(last.error.message);
    if (last?.type !== 'result') throw new Error(`no result for ${kind}`);
    return last.payload as RequestResult<K>;
  }
  await call('loadModel', { source: { kind: 'url', url: 'fixture/', id: 'fixture-bert' } });
  await call('loadDataset', { source: { kind: 'text', name: 'rows.csv', text: CSV } });
  return call;
}

type Call = Awaited<ReturnType<typeof studio>>;

/** Runs a sweep, collecting its metrics events (phases tracked for the embedding watch). */
async function sweep(call: Call, payload: Partial<RequestPayload<'sweep'>> & { sweepId: string }) {
  const metrics: TrainingEvent[] = [];
  const checkpoints: { trial: number; state: TrainingState }[] = [];
  let trial = -1;
  seen = { phase: 'idle', trial: new Set(), after: new Set() };
  const outcome = await call('sweep', { spec, config, plan, checkpointEverySteps: 5, ...payload }, (e) => {
    if (e.type === 'checkpoint' && e.checkpoint.state) checkpoints.push({ trial, state: e.checkpoint.state });
    if (e.type !== 'metrics') return;
    metrics.push(e.metrics);
    if (e.metrics.series === 'trialStart') {
      trial = e.metrics.index;
      seen.phase = 'trial';
    } else if (e.metrics.series === 'trialEnd') seen.phase = 'after';
  });
  seen.phase = 'idle';
  return { outcome, metrics, checkpoints };
}

const ended = (metrics: TrainingEvent[]) => metrics.flatMap((m) => (m.series === 'trialEnd' ? [m] : []));

let full: Awaited<ReturnType<typeof sweep>>;
/** The watch's record of the full sweep (other sweeps reset it). */
let fullSeen: typeof seen;

beforeAll(async () => {
  await useNodeBackend('wasm');
  bert = await loadFixture('bert', { positions: 32 });
  const call = await studio();
  const before = tf.memory().numTensors;
  full = await sweep(call, { sweepId: 'full' });
  fullSeen = seen;
  full = { ...full, leaked: tf.memory().numTensors - before } as typeof full & { leaked: number };
}, 240_000);
afterAll(() => bert.model.dispose());

describe('a sweep through the handler', () => {
  it('runs every trial as an ordinary run, one after another, each between its trialStart and trialEnd', () => {
    const { outcome, metrics } = full;
    expect(outcome).toMatchObject({ sweepId: 'full', status: 'completed', planned: 4, compared: 4, split: { test: 8, pool: 32 }, steps: 4 * STEPS_PER_TRIAL });
    expect(outcome.trials.map((t) => [t.index, t.runId, t.status, t.steps])).toEqual([0, 1, 2, 3].map((i) => [i, `full/trial-${i}`, 'completed', STEPS_PER_TRIAL]));
    expect(outcome.trials.map((t) => t.settings)).toEqual([
      { learningRate: 0.01, promptLength: 1 },
      { learningRate: 0.01, promptLength: 2 },
      { learningRate: 0.3, promptLength: 1 },
      { learningRate: 0.3, promptLength: 2 },
    ]);
    // The event stream: per trial a start, the run's zero-shot, steps and epochs, an end; then the held-out test.
    // (Step events are throttled, so how many fall in each epoch varies; other series are a run's own.)
    const kept = ['trialStart', 'zeroShot', 'epoch', 'trialEnd', 'heldOut'];
    const series = metrics.map((m) => m.series).filter((s) => kept.includes(s)).filter((s, i, all) => s !== all[i - 1]);
    expect(series).toEqual([...Array(4).fill(['trialStart', 'zeroShot', 'epoch', 'trialEnd']).flat(), 'heldOut']);
    expect(metrics.filter((m) => m.series === 'epoch')).toHaveLength(4 * 2);
    expect(metrics.at(-2)?.series).toBe('trialEnd');
    for (const end of ended(metrics)) {
      const run = end.outcome as ClassificationOutcome;
      expect(end.result.valAccuracy).toBe(run.tuned?.accuracy);
      expect(run.meta.hyperparameters).toMatchObject({ learningRate: end.result.settings.learningRate, promptLength: end.result.settings.promptLength });
      expect(run.trainSize + run.valSize).toBe(32);
    }
    expect((full as typeof full & { leaked: number }).leaked).toBe(0);
  });

  it('picks the winner on validation and scores only the winner on held-out rows that no trial trained or validated on', () => {
    const { outcome, metrics } = full;
    const best = Math.max(...outcome.trials.map((t) => t.valAccuracy ?? -1));
    expect(outcome.winner).not.toBeNull();
    expect(outcome.trials[outcome.winner!].valAccuracy).toBe(best);
    const test = outcome.test!;
    expect(test).toMatchObject({ trialIndex: outcome.winner, runId: `full/trial-${outcome.winner}`, rows: 8, classes: ['neg', 'pos'] });
    expect(test.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(8);
    expect(test.accuracy).toBeCloseTo((test.confusionMatrix[0][0] + test.confusionMatrix[1][1]) / 8, 10);
    expect(test.zeroShotAccuracy).not.toBeNull();
    expect(metrics.filter((m) => m.series === 'heldOut')).toEqual([{ series: 'heldOut', report: test }]);
    // The trials embedded exactly the 32 pool rows (training and validation; the robustness check's
    // perturbed copies lose a word, so they have fewer than three); the test, after the last trial,
    // exactly 8 others.
    const whole = (set: Set<string>) => [...set].filter((s) => s.split(' ').length === 3);
    expect(whole(fullSeen.trial)).toHaveLength(32);
    expect(whole(fullSeen.after)).toHaveLength(8);
    expect(fullSeen.after.size).toBe(8);
    for (const s of fullSeen.after) expect(fullSeen.trial.has(s)).toBe(false);
    // No validation prediction of any trial is a test row.
    const validated = new Set(ended(metrics).flatMap((m) => (m.outcome as ClassificationOutcome).predictions.map((p) => p.row)));
    expect(validated.size).toBe(6);
    for (const row of test.rowNumbers) expect(validated.has(row)).toBe(false);
  });

  it('a step budget skips the trials that no longer fit, never cutting one short', async () => {
    const call = await studio();
    const { outcome, metrics } = await sweep(call, { sweepId: 'budget', plan: { ...plan, budget: { steps: 2 * STEPS_PER_TRIAL + 5 } } });
    expect(outcome.trials.map((t) => t.status)).toEqual(['completed', 'completed', 'skipped', 'skipped']);
    expect(outcome.trials[2].message).toBe(`skipped: it plans ${STEPS_PER_TRIAL} steps and 5 of the ${2 * STEPS_PER_TRIAL + 5}-step budget are left`);
    expect(outcome).toMatchObject({ status: 'completed', compared: 2, steps: 2 * STEPS_PER_TRIAL });
    expect([0, 1]).toContain(outcome.winner);
    expect(outcome.test?.rows).toBe(8);
    expect(metrics.filter((m) => m.series === 'trialStart')).toHaveLength(2);
    // A time budget already spent starts nothing.
    const late = await sweep(call, { sweepId: 'late', plan: { ...plan, budget: { minutes: 1 } }, previous: [{ ...(outcome.trials[0] as SweepTrialResult), seconds: 61 }] });
    expect(late.outcome.trials.map((t) => t.status)).toEqual(['completed', 'skipped', 'skipped', 'skipped']);
    expect(late.outcome.trials[1].message).toBe('skipped: the 1-minute budget was spent');
  }, 240_000);

  it('a stopped sweep resumed runs only the trials it had left, the stopped one continued exactly from its checkpoint', async () => {
    const call = await studio();
    let stopAsked = false;
    // Stop in trial 1, at its first checkpoint (step 5, mid-epoch).
    const stopped = await (async () => {
      const metrics: TrainingEvent[] = [];
      let state: TrainingState | null = null;
      let trial = -1;
      const outcome = await call('sweep', { sweepId: 'stopme', spec, config, plan, checkpointEverySteps: 5 }, (e) => {
        if (e.type === 'metrics') {
          metrics.push(e.metrics);
          if (e.metrics.series === 'trialStart') trial = e.metrics.index;
        }
        if (e.type === 'checkpoint' && trial === 1) {
          state = e.checkpoint.state ?? null;
          if (!stopAsked) {
            stopAsked = true;
            void call('stopSweep', { sweepId: 'stopme' });
          }
        }
      });
      return { outcome, metrics, state: state as TrainingState | null };
    })();
    expect(stopped.outcome.status).toBe('stopped');
    expect(stopped.outcome.test).toBeNull();
    expect(stopped.outcome.trials.map((t) => [t.index, t.status])).toEqual([
      [0, 'completed'],
      [1, 'stopped'],
    ]);
    expect(stopped.state).not.toBeNull();
    const stoppedAt = stopped.state!.step;
    expect(stoppedAt).toBeGreaterThanOrEqual(5);
    expect(stoppedAt).toBeLessThan(STEPS_PER_TRIAL);
    expect(await call('stopSweep', { sweepId: 'stopme' })).toEqual({ sweepId: 'stopme', state: 'not-running' });

    const resumed = await sweep(call, { sweepId: 'stopme', previous: stopped.outcome.trials, resume: { index: 1, state: stopped.state! } });
    const starts = resumed.metrics.flatMap((m) => (m.series === 'trialStart' ? [[m.index, m.resumed]] : []));
    expect(starts).toEqual([
      [1, true],
      [2, false],
      [3, false],
    ]);
    expect(resumed.outcome).toMatchObject({ status: 'completed', planned: 4, compared: 4 });
    expect(resumed.outcome.trials[0]).toEqual(stopped.outcome.trials[0]);
    // The resumed trial took exactly the steps an uninterrupted one takes, with the same losses.
    const trial1 = (metrics: TrainingEvent[]) => (ended(metrics).find((m) => m.result.index === 1)!.outcome as ClassificationOutcome).trainLosses;
    const again = trial1(resumed.metrics);
    const uninterrupted = trial1(full.metrics);
    expect(again).toHaveLength(STEPS_PER_TRIAL);
    again.forEach((loss, i) => expect(loss).toBeCloseTo(uninterrupted[i], 5));
    // Same trials, same data, same winner and test as the sweep that was never stopped.
    expect(resumed.outcome.winner).toBe(full.outcome.winner);
    expect(resumed.outcome.test?.accuracy).toBeCloseTo(full.outcome.test!.accuracy, 5);
  }, 240_000);

  it('refuses a sweep while one runs, a generation sweep on an encoder, and a plan that does not match the earlier trials', async () => {
    const call = await studio();
    const running = call('sweep', { sweepId: 'first', spec, config, plan });
    await expect(call('sweep', { sweepId: 'second', spec, config, plan })).rejects.toThrow('sweep "first" is still running: stop it first');
    await expect(call('train', { runId: 'r', spec, config })).rejects.toThrow('sweep "first" is running: stop it first');
    expect(await call('stopSweep', { sweepId: 'first' })).toEqual({ sweepId: 'first', state: 'stopping' });
    expect((await running).status).toBe('stopped');
    await expect(call('sweep', { sweepId: 'g', spec: { task: 'generation', template: '{text}', targetColumn: 'label', textColumns: ['text'] }, config, plan })).rejects.toThrow(
      'generation needs a decoder model',
    );
    await expect(call('sweep', { sweepId: 'v', spec, config: { ...config, valFraction: 0 }, plan })).rejects.toThrow('set the validation fraction above 0');
    const wrong: SweepTrialResult = { ...full.outcome.trials[0], settings: { learningRate: 5, promptLength: 1 } };
    await expect(call('sweep', { sweepId: 'w', spec, config, plan, previous: [wrong] })).rejects.toThrow('trial 0 of the earlier sweep does not match this plan');
  });
});
