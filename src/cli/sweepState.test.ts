/**
 * A CLI sweep stopped and resumed from its state file (what `npm run tune -- --sweep ... --resume-sweep`
 * does): stopped in trial 2 of 4, written to disk, read back and continued, its trial list is the
 * one a sweep that was never stopped gives, trial 2's losses included.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../node/model';
import { loadFixture } from '../engine/testing/fixtures';
import type { LanguageModel } from '../engine/languageModel';
import { DEFAULT_TRAINING_CONFIG, type TrainingConfig } from '../engine/train';
import { StudioSession } from '../session/StudioSession';
import type { RequestEvents, TrainingEvent } from '../shared/protocol';
import type { ClassificationOutcome, TaskSpec } from '../shared/tasks';
import type { SweepPlan, SweepTrialResult } from '../shared/sweep';
import { decodeSweepState, encodeSweepState, readSweepState, resumeFrom, runSavedSweep, SWEEP_STATE_FILE, type SweepStateFile } from './sweepState';
import { InputError } from './args';

const WORDS = ['movie', 'film', 'plot', 'very', 'not', 'a', 'the', 'and'];
const CSV = ['text,label', ...Array.from({ length: 30 }, (_, i) => `${WORDS[i % 8]} ${WORDS[(i * 3) % 8]} ${i % 2 ? 'good' : 'bad'},${i % 2 ? 'pos' : 'neg'}`)].join('\n');
const config: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, promptLength: 2, init: 'random', epochs: 2, batchSize: 4, valFraction: 0.2, patience: 0, seed: 5 };
const spec: TaskSpec = { task: 'classification', template: '{text} it was [MASK].', labelColumn: 'label', textColumns: ['text'], labelWords: { neg: ['bad'], pos: ['good'] } };
const plan: SweepPlan = { axes: { learningRate: [0.01, 0.3], promptLength: [1, 2] }, search: 'grid', seed: 4, budget: {}, testFraction: 0.2 };

let bert: LanguageModel;

async function session(): Promise<StudioSession> {
  const s = new StudioSession({
    load: async () => ({ model: { ...bert, model: Object.assign(Object.create(bert.model) as typeof bert.model, { dispose() {} }), config: bert.model.config, checkpointHash: '0'.repeat(64), weightBytes: 0, parameters: 0 }, id: 'fixture-bert' }),
    cancel: () => false,
  });
  const quiet: RequestEvents = { progress: () => {}, metrics: () => {}, checkpoint: () => {} };
  await s.loadModel({ source: { kind: 'url', url: 'fixture/', id: 'fixture-bert' } }, quiet);
  await s.loadDataset({ source: { kind: 'text', name: 'rows.csv', text: CSV } }, quiet);
  return s;
}

/** The trial list without what differs between processes (time) and the prompt values (compared apart). */
const comparable = (trials: SweepTrialResult[]) =>
  trials.map(({ seconds: _s, prompt: _p, ...t }) => ({ ...t, valLoss: t.valLoss === null ? null : Number(t.valLoss.toFixed(5)), valAccuracy: t.valAccuracy, valMacroF1: t.valMacroF1 }));

const trialLosses = (metrics: TrainingEvent[], index: number) =>
  (metrics.flatMap((m) => (m.series === 'trialEnd' && m.result.index === index ? [m.outcome as ClassificationOutcome] : []))[0]).trainLosses;

function collect(onMetrics?: (m: TrainingEvent) => void, onCheckpoint?: () => void) {
  const metrics: TrainingEvent[] = [];
  const events: RequestEvents = {
    progress: () => {},
    metrics: (m) => {
      metrics.push(m);
      onMetrics?.(m);
    },
    checkpoint: () => onCheckpoint?.(),
  };
  return { metrics, events };
}

const dir = mkdtempSync(join(tmpdir(), 'sweep-state-'));
let full: { trials: SweepTrialResult[]; metrics: TrainingEvent[]; winner: number | null; testAccuracy: number | null };

beforeAll(async () => {
  await useNodeBackend('wasm');
  bert = await loadFixture('bert', { positions: 32 });
  const s = await session();
  const { metrics, events } = collect();
  const { outcome } = await runSavedSweep(s, { sweepId: 'cli-full', spec, config, plan }, join(dir, 'full.json'), events);
  full = { trials: outcome.trials, metrics, winner: outcome.winner, testAccuracy: outcome.test?.accuracy ?? null };
}, 240_000);
afterAll(() => bert.model.dispose());

describe('a CLI sweep stopped and resumed from its state file', () => {
  it('continues where it stopped: the trial list equals an uninterrupted sweep\'s', async () => {
    expect(full.trials.map((t) => t.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    const file = join(dir, SWEEP_STATE_FILE);
    // Stop trial 2 (the third of four) at its first checkpoint (the end of epoch 1): trials 0 and 1
    // have ended, trial 2 stops at its next step, mid-epoch 2, and checkpoints.
    const first = await session();
    let stopAsked = false;
    let running = -1;
    const stopped = collect(
      (m) => {
        if (m.series === 'trialStart') running = m.index;
      },
      () => {
        if (running === 2 && !stopAsked) {
          stopAsked = true;
          first.stopSweep({ sweepId: 'cli-1' });
        }
      },
    );
    const { outcome: stoppedOutcome } = await runSavedSweep(first, { sweepId: 'cli-1', spec, config, plan }, file, stopped.events);
    expect(stoppedOutcome.status).toBe('stopped');
    expect(stoppedOutcome.trials.map((t) => [t.index, t.status])).toEqual([[0, 'completed'], [1, 'completed'], [2, 'stopped']]);

    // A new process: only the file is left.
    const saved = (await readSweepState(file))!;
    expect(saved.status).toBe('stopped');
    expect(saved.resume?.index).toBe(2);
    const stoppedAt = saved.resume!.state.step;
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeLessThan(full.trials[2].steps);
    expect(Object.keys(saved.exports).sort()).toEqual(['0', '1']);
    const second = await session();
    const resumed = collect();
    const earlier = resumeFrom(saved, { spec, config, plan }, file);
    const { outcome, state } = await runSavedSweep(second, { ...earlier, spec, config, plan }, file, resumed.events, saved.exports);
    // Only trials 2 (continued) and 3 ran again.
    expect(resumed.metrics.flatMap((m) => (m.series === 'trialStart' ? [[m.index, m.resumed]] : []))).toEqual([[2, true], [3, false]]);
    expect(outcome.status).toBe('completed');
    expect(comparable(outcome.trials)).toEqual(comparable(full.trials).map((t) => ({ ...t, runId: t.runId.replace('cli-full', 'cli-1') })));
    outcome.trials.forEach((t, i) => {
      const expected = full.trials[i].prompt!.vectors;
      expect(t.prompt!.vectors).toHaveLength(expected.length);
      t.prompt!.vectors.forEach((x, j) => expect(x).toBeCloseTo(expected[j], 5));
    });
    // Trial 2 continued from its checkpoint: the same losses as when it ran straight through.
    const again = trialLosses(resumed.metrics, 2);
    const straight = trialLosses(full.metrics, 2);
    expect(again).toHaveLength(straight.length);
    again.forEach((loss, i) => expect(loss).toBeCloseTo(straight[i], 5));
    expect(outcome.winner).toBe(full.winner);
    expect(outcome.test?.accuracy).toBeCloseTo(full.testAccuracy!, 5);
    // The file says the sweep completed and holds every compared trial's export (the winner's among them).
    expect(state.status).toBe('completed');
    expect(state.resume).toBeNull();
    expect(Object.keys(state.exports).sort()).toEqual(['0', '1', '2', '3']);
    expect(JSON.parse(readFileSync(file, 'utf8')).status).toBe('completed');
  }, 240_000);

  it('refuses to resume a different sweep, naming what changed', () => {
    const saved: SweepStateFile = { version: 1, sweepId: 'cli-1', spec, config, plan, status: 'stopped', trials: [], resume: null, exports: {} };
    expect(() => resumeFrom(saved, { spec, config: { ...config, epochs: 3 }, plan }, 'out/sweep-state.json')).toThrow(InputError);
    expect(() => resumeFrom(saved, { spec, config, plan: { ...plan, testFraction: 0.3 } }, 'out/sweep-state.json')).toThrow(
      'out/sweep-state.json holds a different sweep: the sweep (--sweep, --label-word-set, budget, --test-split, --seed) changed',
    );
    expect(resumeFrom(saved, { spec, config, plan }, 'f')).toEqual({ sweepId: 'cli-1', previous: [] });
  });

  it('round-trips checkpoints exactly, NaN and Infinity included', () => {
    const values = Float32Array.from([0.1, -1e-8, 3.4e38, Math.fround(1 / 3), NaN, -Infinity]);
    const saved: SweepStateFile = {
      version: 1, sweepId: 's', spec, config, plan, status: 'running', trials: [], exports: {},
      resume: { index: 0, state: { step: 1, totalSteps: 2, epoch: 1, batchIndex: 1, shuffleState: 7, variables: [values], optimizer: { iterations: 1, firstMoments: [values], secondMoments: [values] }, best: { loss: Infinity, epoch: 0, variables: [values] }, epochsSinceBest: 0, trainLosses: [NaN, 0.5], epochs: [], examplesSeen: 4, tokensSeen: 20, busySeconds: 0.5 } },
    };
    const back = decodeSweepState(encodeSweepState(saved), 'f');
    expect(back.resume!.state.variables[0]).toBeInstanceOf(Float32Array);
    expect(Array.from(back.resume!.state.variables[0])).toEqual(Array.from(values));
    expect(back.resume!.state.best!.loss).toBe(Infinity);
    expect(back.resume!.state.trainLosses).toEqual([NaN, 0.5]);
    expect(back).toEqual(saved);
    expect(() => decodeSweepState('{"version": 2}', 'out/sweep-state.json')).toThrow('out/sweep-state.json: not a sweep state of this version (1)');
  });
});
