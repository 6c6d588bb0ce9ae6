import { describe, expect, it } from 'vitest';
import { canResume, resumeRequest, sweepsOf, type RunSweepTag } from './sweeps';
import type { RunRecord, RunStatus } from './runStore';
import type { SweepPlan, SweepTrialResult } from '../shared/sweep';
import type { TaskSpec, TrainingConfig, TrainingState } from '../shared/tasks';

const plan: SweepPlan = { axes: { learningRate: [0.01, 0.1], promptLength: [2, 4] }, search: 'grid', seed: 1, budget: {}, testFraction: 0.2 };
const spec: TaskSpec = { task: 'classification', template: '{t} [MASK]', labelColumn: 'l', textColumns: ['t'], labelWords: { a: ['x'], b: ['y'] } };
const config = { learningRate: 0.1, promptLength: 20 } as TrainingConfig;
const state = (step: number, totalSteps = 10) => ({ step, totalSteps, epochs: [] }) as unknown as TrainingState;

const result = (index: number, status: SweepTrialResult['status'], valAccuracy: number | null = 0.5): SweepTrialResult => ({
  index,
  runId: `s/trial-${index}`,
  settings: {},
  status,
  valAccuracy,
  valMacroF1: valAccuracy,
  valLoss: 0.7,
  zeroShotAccuracy: 0.5,
  steps: status === 'completed' ? 10 : 4,
  plannedSteps: 10,
  seconds: 1,
});

function trial(index: number, status: RunStatus, extra: { result?: SweepTrialResult; checkpointStep?: number; tag?: Partial<RunSweepTag> } = {}): RunRecord {
  const at = `2026-11-29T12:00:0${index}.000Z`;
  return {
    id: `s/trial-${index}`,
    name: `Sweep 1 · trial ${index + 1}`,
    createdAt: at,
    updatedAt: at,
    status,
    modelId: 'm',
    datasetName: 'd.csv',
    datasetKey: 'text:d.csv:10',
    spec,
    config,
    steps: [],
    epochs: [],
    zeroShotAccuracy: null,
    progress: null,
    checkpoint: extra.checkpointStep === undefined ? null : { step: extra.checkpointStep, epochsDone: 0, values: { vectors: new Float32Array(2), numTokens: 1, dim: 2 }, state: state(extra.checkpointStep) },
    outcome: null,
    message: null,
    sweep: { id: 's', name: 'Sweep 1', index, plan, baseSpec: spec, baseConfig: config, ...(extra.result ? { result: extra.result } : {}), ...extra.tag },
  };
}

describe('sweeps read back from their trials’ runs', () => {
  it('a sweep stopped in trial 2: rows for every planned trial, resumable with the ended trial and the stopped one’s checkpoint', () => {
    const runs = [trial(0, 'completed', { result: result(0, 'completed') }), trial(1, 'stopped', { result: result(1, 'stopped'), checkpointStep: 4 }), { ...trial(9, 'completed'), sweep: undefined }];
    const [view] = sweepsOf(runs, null);
    expect(view).toMatchObject({ id: 's', name: 'Sweep 1', state: 'stopped', winner: null, heldOut: null });
    expect(view.rows.map((r) => [r.index, r.status, r.run?.id ?? null])).toEqual([
      [0, 'completed', 's/trial-0'],
      [1, 'stopped', 's/trial-1'],
      [2, 'pending', null],
      [3, 'pending', null],
    ]);
    expect(view.rows[3].settings).toEqual({ learningRate: 0.1, promptLength: 4 });
    expect(canResume(view)).toBe(true);
    expect(resumeRequest(view)).toEqual({ previous: [result(0, 'completed')], resume: { index: 1, state: state(4) } });
  });

  it('a trial cut off by a reload (its run interrupted) resumes from its checkpoint; one without a checkpoint starts again', () => {
    const [cut] = sweepsOf([trial(0, 'completed', { result: result(0, 'completed') }), trial(1, 'interrupted', { checkpointStep: 6 })], null);
    expect(cut.state).toBe('interrupted');
    expect(resumeRequest(cut)).toEqual({ previous: [result(0, 'completed')], resume: { index: 1, state: state(6) } });
    const [early] = sweepsOf([trial(0, 'interrupted')], null);
    expect(resumeRequest(early)).toEqual({ previous: [] });
    // While its sweep runs, a running trial is running, not interrupted, and nothing offers to resume.
    const [live] = sweepsOf([trial(0, 'running')], 's');
    expect(live.state).toBe('running');
    expect(live.rows[0].status).toBe('running');
  });

  it('a completed sweep: skipped trials from its end, the winner and its held-out test, nothing to resume', () => {
    const final = { sweepId: 's', status: 'completed' as const, planned: 4, compared: 2, winner: 1, selection: 'rule', split: { test: 2, pool: 8 }, steps: 20, seconds: 2, skipped: [result(2, 'skipped', null), result(3, 'skipped', null)] };
    const heldOut = { trialIndex: 1, runId: 's/trial-1', rows: 2, rowNumbers: [3, 7], classes: ['a', 'b'], accuracy: 1, macroF1: 1, loss: 0.1, confusionMatrix: [[1, 0], [0, 1]], zeroShotAccuracy: 0.5, majorityAccuracy: 0.5 };
    const runs = [trial(0, 'completed', { result: result(0, 'completed', 0.5), tag: { final } }), trial(1, 'completed', { result: result(1, 'completed', 0.75), tag: { final, heldOut } })];
    const [view] = sweepsOf(runs, null);
    expect(view.state).toBe('completed');
    expect(view.rows.map((r) => r.status)).toEqual(['completed', 'completed', 'skipped', 'skipped']);
    expect(view.winner?.index).toBe(1);
    expect(view.heldOut).toEqual(heldOut);
    expect(canResume(view)).toBe(false);
  });
});
