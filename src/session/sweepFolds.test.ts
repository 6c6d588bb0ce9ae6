/**
 * k-fold cross-validated sweeps (small datasets): the stratified fold assignment, every row
 * validated exactly once per trial, the trial's score the mean over its folds with their spread;
 * the loop with a fake run (which records what each fold trained and validated on), then once through
 * the real session on a tiny BERT (the folds' validation rows reach the engine as given).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stratifiedFolds, type Row } from '../engine/data';
import { useNodeBackend } from '../node/model';
import { loadFixture } from '../engine/testing/fixtures';
import type { LanguageModel } from '../engine/languageModel';
import { DEFAULT_TRAINING_CONFIG, type TrainingConfig } from '../engine/train';
import type { RequestEvents, TrainingEvent } from '../shared/protocol';
import type { ClassificationOutcome, TaskSpec, TrainOutcome } from '../shared/tasks';
import { checkSweepPlan, type SweepPlan } from '../shared/sweep';
import { runSweep, SweepControl, type SweepHost } from './sweep';
import { StudioSession } from './StudioSession';

const quiet: RequestEvents = { progress: () => {}, metrics: () => {}, checkpoint: () => {} };
const config: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, promptLength: 2, init: 'random', epochs: 1, batchSize: 4, valFraction: 0.2, patience: 0, seed: 3 };
const spec: TaskSpec = { task: 'classification', template: '{text} it was [MASK].', labelColumn: 'label', textColumns: ['text'], labelWords: { a: ['good'], b: ['bad'], c: ['not'] } };

describe('stratifiedFolds', () => {
  // 23 items: classes of 10, 8 and 5.
  const labels = [...Array(10).fill('a'), ...Array(8).fill('b'), ...Array(5).fill('c')].map((l, i) => ({ l, i }));
  const shuffled = [...labels].sort((x, y) => ((x.i * 7) % 23) - ((y.i * 7) % 23));

  it.each([2, 3, 4, 5])('k=%i: each item in one fold, each class spread to within one, fold sizes to within one', (k) => {
    const fold = stratifiedFolds(shuffled, (x) => x.l, k, 1);
    expect(fold.every((f) => Number.isInteger(f) && f >= 0 && f < k)).toBe(true);
    const sizes = Array.from({ length: k }, (_, f) => fold.filter((g) => g === f).length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    for (const c of ['a', 'b', 'c']) {
      const perFold = Array.from({ length: k }, (_, f) => shuffled.filter((x, i) => x.l === c && fold[i] === f).length);
      expect(Math.max(...perFold) - Math.min(...perFold)).toBeLessThanOrEqual(1);
      expect(perFold.reduce((s, n) => s + n, 0)).toBe(shuffled.filter((x) => x.l === c).length);
    }
  });

  it('is seeded: the same seed gives the same folds, another seed others', () => {
    expect(stratifiedFolds(shuffled, (x) => x.l, 3, 7)).toEqual(stratifiedFolds(shuffled, (x) => x.l, 3, 7));
    expect(stratifiedFolds(shuffled, (x) => x.l, 3, 7)).not.toEqual(stratifiedFolds(shuffled, (x) => x.l, 3, 8));
  });

  it('refuses fewer than 2 folds or fewer rows than folds', () => {
    expect(() => stratifiedFolds(shuffled, (x) => x.l, 1, 1)).toThrow('k-fold cross-validation needs k >= 2 folds, got 1');
    expect(() => stratifiedFolds(shuffled.slice(0, 3), (x) => x.l, 4, 1)).toThrow('4 folds need at least 4 rows; there are 3');
  });
});

describe('a cross-validated sweep (fake runs)', () => {
  const rows: Row[] = Array.from({ length: 21 }, (_, i) => ({ id: String(i), text: `row ${i}`, label: ['a', 'b', 'c'][i % 3] }));
  const plan: SweepPlan = { axes: { learningRate: [0.01, 0.1] }, search: 'grid', seed: 5, budget: {}, testFraction: 0, folds: 3 };

  it('validates every row exactly once per trial, trains on the rest, and scores the trial by the folds\' mean and spread', async () => {
    const calls: { runId: string; lr: number; train: string[]; val: string[] }[] = [];
    // Each fold's accuracy is made up from the trial and the fold, so the mean and spread are known.
    const accuracyOf = (lr: number, fold: number) => (lr === 0.01 ? [0.5, 0.7, 0.9][fold] : [0.6, 0.6, 0.9][fold]);
    const host: SweepHost = {
      lm: {} as SweepHost['lm'],
      rows,
      rowNumberOf: (r) => Number(r.id) + 2,
      async runTrial(_spec, cfg, trainRows, _events, o) {
        const fold = Number(o.runId.split('fold-')[1]);
        calls.push({ runId: o.runId, lr: cfg.learningRate, train: trainRows.map((r) => r.id), val: (o.validationRows ?? []).map((r) => r.id) });
        const accuracy = accuracyOf(cfg.learningRate, fold);
        return {
          task: 'classification', stopReason: 'completed', steps: 5, seconds: 1, classes: ['a', 'b', 'c'],
          tuned: { accuracy, macroF1: accuracy / 2, loss: 1 - accuracy }, zeroShot: { accuracy: 1 / 3 },
          prompt: { vectors: new Float32Array(4), numTokens: 2, dim: 2 },
        } as unknown as TrainOutcome;
      },
    };
    const outcome = await runSweep(host, { sweepId: 'cv', spec, config, plan }, quiet, new SweepControl());
    expect(outcome).toMatchObject({ status: 'completed', planned: 2, compared: 2, split: { test: 0, pool: 21 }, test: null });
    expect(calls.map((c) => c.runId)).toEqual(['cv/trial-0/fold-0', 'cv/trial-0/fold-1', 'cv/trial-0/fold-2', 'cv/trial-1/fold-0', 'cv/trial-1/fold-1', 'cv/trial-1/fold-2']);
    for (const trial of [0, 1]) {
      const folds = calls.slice(trial * 3, trial * 3 + 3);
      // Every row validated exactly once; each fold trains on the others, never on its own.
      expect(folds.flatMap((f) => f.val).sort()).toEqual(rows.map((r) => r.id).sort());
      for (const f of folds) {
        expect(f.train.filter((id) => f.val.includes(id))).toEqual([]);
        expect(f.train.length + f.val.length).toBe(21);
        // Stratified: 7 of each class, so each fold validates on 2 or 3 of each.
        for (const c of ['a', 'b', 'c']) expect([2, 3]).toContain(f.val.filter((id) => rows[Number(id)].label === c).length);
      }
    }
    // The same folds for every trial (the sweep's seed), so the trials are compared on the same splits.
    expect(calls.slice(0, 3).map((c) => c.val)).toEqual(calls.slice(3).map((c) => c.val));
    const [t0, t1] = outcome.trials;
    expect(t0.folds!.map((f) => f.accuracy)).toEqual([0.5, 0.7, 0.9]);
    expect(t0.valAccuracy).toBeCloseTo(0.7, 12);
    expect(t0.valAccuracyStd).toBeCloseTo(0.2, 12); // sample std of 0.5, 0.7, 0.9
    expect(t1.valAccuracy).toBeCloseTo(0.7, 12);
    expect(t1.valAccuracyStd).toBeCloseTo(Math.sqrt((0.1 ** 2 * 2 + 0.2 ** 2) / 2), 12);
    expect(t0.valMacroF1).toBeCloseTo(0.35, 12);
    expect(t0.steps).toBe(15);
    // Equal mean accuracy, macro-F1 and loss: the earlier trial wins.
    expect(outcome.winner).toBe(0);
    expect(outcome.crossValidation).toEqual({ folds: 3, rows: 21, winner: { accuracy: t0.valAccuracy, std: t0.valAccuracyStd, perFold: t0.folds } });
  });

  it('checks the number of folds and allows no test split only with folds', () => {
    expect(() => checkSweepPlan({ ...plan, folds: 1 })).toThrow('cross-validation needs a whole number of folds from 2 to 10, not 1');
    expect(() => checkSweepPlan({ ...plan, folds: undefined })).toThrow('the held-out test share must be above 0 and below 0.5 (0 only with cross-validation), not 0');
    expect(() => checkSweepPlan({ ...plan, testFraction: 0.2 })).not.toThrow();
  });
});

describe('a cross-validated sweep through the session', () => {
  let bert: LanguageModel;
  beforeAll(async () => {
    await useNodeBackend('wasm');
    bert = await loadFixture('bert', { positions: 32 });
  });
  afterAll(() => bert.model.dispose());

  it('each fold run validates on exactly its fold\'s rows', async () => {
    const words = ['movie', 'film', 'plot', 'very'];
    const csv = ['text,label', ...Array.from({ length: 18 }, (_, i) => `${words[i % 4]} ${words[(i * 3) % 4]} ${['good', 'bad', 'not'][i % 3]},${['a', 'b', 'c'][i % 3]}`)].join('\n');
    const session = new StudioSession({
      load: async () => ({ model: { ...bert, model: Object.assign(Object.create(bert.model) as typeof bert.model, { dispose() {} }), config: bert.model.config, checkpointHash: '0'.repeat(64), weightBytes: 0, parameters: 0 }, id: 'fixture-bert' }),
      cancel: () => false,
    });
    await session.loadModel({ source: { kind: 'url', url: 'fixture/', id: 'fixture-bert' } }, quiet);
    await session.loadDataset({ source: { kind: 'text', name: 'rows.csv', text: csv } }, quiet);
    const ends: TrainingEvent[] = [];
    const plan: SweepPlan = { axes: { learningRate: [0.1] }, search: 'grid', seed: 2, budget: {}, testFraction: 0, folds: 3 };
    const outcome = await session.sweep({ sweepId: 'cv', spec, config, plan }, { ...quiet, metrics: (m) => m.series === 'trialEnd' && ends.push(m) });
    const trial = outcome.trials[0];
    expect(trial.message ?? trial.status).toBe('completed');
    expect(trial.folds!.map((f) => f.rows)).toEqual([6, 6, 6]);
    // The trial's outcome is its last fold's run: trained on 12 rows, validated on the 6 of fold 3.
    const last = (ends[0] as Extract<TrainingEvent, { series: 'trialEnd' }>).outcome as ClassificationOutcome;
    expect(last).toMatchObject({ trainSize: 12, valSize: 6 });
    const rows = csv.split('\n').slice(1).map((line, i) => ({ label: line.split(',')[1], row: i + 2 }));
    const fold = stratifiedFolds(rows, (r) => r.label, 3, plan.seed);
    expect(last.predictions.map((p) => p.row).sort((a, b) => a - b)).toEqual(rows.filter((_, i) => fold[i] === 2).map((r) => r.row));
    expect(last.tuned!.accuracy).toBe(trial.folds![2].accuracy);
    const mean = trial.folds!.reduce((s, f) => s + f.accuracy, 0) / 3;
    expect(trial.valAccuracy).toBeCloseTo(mean, 12);
  }, 240_000);
});
