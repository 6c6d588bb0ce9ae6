/**
 * A generation sweep on a tiny random GPT-2: every trial an ordinary generation run on the rows
 * left after the held-out split, the winner the trial with the lowest validation loss per target
 * token, and only the winner scored on the held-out rows (its loss, greedy generations, and the
 * template alone's on the same rows). No tensors left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import { loadFixture } from '../engine/testing/fixtures';
import type { LanguageModel } from '../engine/languageModel';
import { DEFAULT_TRAINING_CONFIG, type TrainingConfig } from '../engine/train';
import { stratifiedSplit } from '../engine/data';
import { generationValidationLoss, prepareGeneration } from '../engine/generation';
import { promptFromValues } from '../engine/softPrompt';
import { StudioSession } from './StudioSession';
import { fixtureLoader } from './testing/fixtureLoader';
import type { RequestEvents, TrainingEvent } from '../shared/protocol';
import type { GenerationOutcome, TaskSpec } from '../shared/tasks';
import { GENERATION_SELECTION_RULE, type SweepPlan } from '../shared/sweep';

const WORDS = ['movie', 'film', 'plot', 'very', 'not', 'a', 'the', 'and'];
const ROWS = 30;
const CSV = ['input,target', ...Array.from({ length: ROWS }, (_, i) => `${WORDS[i % 8]} ${WORDS[(i * 5 + 1) % 8]},${i % 3 ? 'good' : 'bad movie'}`)].join('\n');
const config: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, promptLength: 2, init: 'random', epochs: 2, batchSize: 4, valFraction: 0.25, patience: 0, seed: 2 };
const spec: TaskSpec = { task: 'generation', template: 'the {input} was', targetColumn: 'target', textColumns: ['input'] };
const plan: SweepPlan = { axes: { learningRate: [0.01, 0.3], promptLength: [1, 2] }, search: 'grid', seed: 6, budget: {}, testFraction: 0.2 };

let gpt2: LanguageModel;

beforeAll(async () => {
  await useNodeBackend('wasm');
  gpt2 = await loadFixture('gpt2', { positions: 32 });
});
afterAll(() => gpt2.model.dispose());

describe('a generation sweep', () => {
  it('compares trials on validation loss and scores only the winner on the held-out rows', async () => {
    const session = new StudioSession(fixtureLoader(gpt2, 'fixture-gpt2'));
    const quiet: RequestEvents = { progress: () => {}, metrics: () => {}, checkpoint: () => {} };
    await session.loadModel({ source: { kind: 'url', url: 'fixture/', id: 'fixture-gpt2' } }, quiet);
    await session.loadDataset({ source: { kind: 'text', name: 'pairs.csv', text: CSV } }, quiet);
    const metrics: TrainingEvent[] = [];
    const before = tf.memory().numTensors;
    const outcome = await session.sweep({ sweepId: 'gen', spec, config, plan }, { ...quiet, metrics: (m) => metrics.push(m) });
    expect(tf.memory().numTensors).toBe(before);

    // 30 rows: 6 held out, 24 left; each trial validates on 6 of them and trains on 18 (5 batches of 4, 2 epochs).
    expect(outcome).toMatchObject({ status: 'completed', planned: 4, compared: 4, split: { test: 6, pool: 24 }, selection: GENERATION_SELECTION_RULE, test: null });
    expect(outcome.trials.map((t) => [t.index, t.status, t.steps])).toEqual([0, 1, 2, 3].map((i) => [i, 'completed', 10]));
    const runs = metrics.flatMap((m) => (m.series === 'trialEnd' ? [m.outcome as GenerationOutcome] : []));
    runs.forEach((run, i) => {
      const t = outcome.trials[i];
      expect(run).toMatchObject({ task: 'generation', trainSize: 18, valSize: 6 });
      expect(run.meta.hyperparameters).toMatchObject({ learningRate: t.settings.learningRate, promptLength: t.settings.promptLength });
      // The trial's validation loss is its kept (best) epoch's; its scores are the run's greedy generations.
      expect(t.valLoss).toBe(run.epochs.find((e) => e.epoch === run.bestEpoch)!.valLoss);
      expect(t.valExactMatch).toBe(run.after!.exactMatch);
      expect(t.valTokenF1).toBe(run.after!.tokenF1);
      expect(t.valAccuracy).toBeNull();
    });
    // The winner: the lowest validation loss.
    const losses = outcome.trials.map((t) => t.valLoss!);
    expect(outcome.winner).toBe(losses.indexOf(Math.min(...losses)));

    // The held-out rows: the sweep's seeded split of the rows, none of them trained or validated on.
    const report = outcome.generationTest!;
    expect(report).toMatchObject({ trialIndex: outcome.winner, runId: `gen/trial-${outcome.winner}`, rows: 6 });
    const rows = CSV.split('\n').slice(1).map((line, i) => ({ input: line.split(',')[0], target: line.split(',')[1], row: i + 2 }));
    const test = stratifiedSplit(rows, () => '', plan.testFraction, plan.seed).val;
    expect(report.rowNumbers).toEqual(test.map((r) => r.row));
    // Its loss: the winner's prompt on exactly those rows, computed apart from the sweep.
    const winner = outcome.trials[outcome.winner!];
    const winnerConfig = { ...config, ...winner.settings };
    const prepared = prepareGeneration(gpt2, { rows: test.map(({ input, target }) => ({ input, target })), targetColumn: 'target', template: spec.template }, { ...winnerConfig, valFraction: 0 });
    const soft = promptFromValues(winner.prompt!, { length: prepared.promptLength, hiddenSize: gpt2.model.config.hiddenSize, numLayers: gpt2.model.config.numLayers, numKeyValueHeads: gpt2.model.config.numKeyValueHeads, headDim: gpt2.model.config.headDim, seed: 0 });
    const loss = await generationValidationLoss(gpt2, soft, prepared.train);
    soft.dispose();
    expect(prepared.train).toHaveLength(6);
    expect(report.loss).toBeCloseTo(loss, 6);
    for (const k of ['exactMatch', 'tokenF1', 'zeroShotExactMatch', 'zeroShotTokenF1'] as const) {
      expect(report[k]).toBeGreaterThanOrEqual(0);
      expect(report[k]).toBeLessThanOrEqual(1);
    }
    expect(metrics.filter((m) => m.series === 'heldOutGeneration')).toEqual([{ series: 'heldOutGeneration', report }]);
  }, 240_000);
});
