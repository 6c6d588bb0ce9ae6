import { describe, expect, it } from 'vitest';
import { canResume, criterionOf, formatScore, generationSummary, resumeRequest, scoreColumns, scoreValue, sweepsOf, type RunSweepTag } from './sweeps';
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

describe('a generation sweep read back from its trials’ runs', () => {
  const genPlan: SweepPlan = { axes: { learningRate: [0.03, 0.3] }, search: 'grid', seed: 1, budget: {}, testFraction: 0.2 };
  const genSpec: TaskSpec = { task: 'generation', template: 'The opposite of {input} is', targetColumn: 'target', textColumns: ['input'] };
  const genResult = (index: number, valLoss: number | null, valExactMatch: number, valTokenF1: number): SweepTrialResult => ({
    index,
    runId: `g/trial-${index}`,
    settings: { learningRate: genPlan.axes.learningRate![index] },
    status: 'completed',
    valAccuracy: null,
    valMacroF1: null,
    valLoss,
    zeroShotAccuracy: null,
    valExactMatch,
    valTokenF1,
    steps: 3,
    plannedSteps: 3,
    seconds: 2,
  });
  const final = { sweepId: 'g', status: 'completed' as const, planned: 2, compared: 2, winner: 1, selection: 'lowest validation loss', split: { test: 4, pool: 16 }, steps: 6, seconds: 4, skipped: [] };
  const heldOutGeneration = { trialIndex: 1, runId: 'g/trial-1', rows: 4, rowNumbers: [2, 5, 9, 14], loss: 2.3456, exactMatch: 0.25, tokenF1: 0.375, zeroShotExactMatch: 0, zeroShotTokenF1: 0.125 };
  const genTrial = (index: number, result: SweepTrialResult, tag: Partial<RunSweepTag>): RunRecord => ({
    ...trial(index, 'completed'),
    id: `g/trial-${index}`,
    spec: genSpec,
    sweep: { id: 'g', name: 'Sweep 2', index, plan: genPlan, baseSpec: genSpec, baseConfig: config, result, ...tag },
  });
  const runs = [genTrial(0, genResult(0, 3.1, 0, 0.1), { final }), genTrial(1, genResult(1, 2.2, 0.5, 0.6), { final, heldOutGeneration })];

  it('takes its task from the base spec, its winner and held-out loss from the records', () => {
    const [view] = sweepsOf(runs, null);
    expect(view).toMatchObject({ task: 'generation', state: 'completed', heldOut: null, heldOutGeneration });
    expect(view.winner?.index).toBe(1);
    // Without final.winner (an older record), the generation report still names the winner.
    const [older] = sweepsOf(runs.map((r) => ({ ...r, sweep: { ...r.sweep!, final: { ...final, winner: null } } })), null);
    expect(older.winner?.index).toBe(1);
  });

  it('shows the loss per target token, exact match and token F1, and the held-out loss on the winner only', () => {
    const [view] = sweepsOf(runs, null);
    const columns = scoreColumns('generation');
    expect(columns.map((c) => [c.key, c.label, c.higherIsBetter])).toEqual([
      ['valLoss', 'val. loss / token', false],
      ['valExactMatch', 'val. exact match', true],
      ['valTokenF1', 'val. token F1', true],
      ['test', 'test loss / token', false],
    ]);
    const table = view.rows.map((r) => columns.map((c) => formatScore(c, scoreValue(view, r, c.key))));
    expect(table).toEqual([
      ['3.100', '0.0%', '10.0%', '–'],
      ['2.200', '50.0%', '60.0%', '2.346'],
    ]);
    expect(view.rows.map((r) => criterionOf('generation', r.result))).toEqual([3.1, 2.2]);
    // A classification column set over the same rows has no accuracy to show.
    expect(scoreColumns('classification').map((c) => c.key)).toEqual(['valAccuracy', 'valMacroF1', 'test']);
    expect(criterionOf('classification', view.rows[0].result)).toBeNull();
  });

  it('says how the winner was picked and its held-out scores beside the template alone', () => {
    const [view] = sweepsOf(runs, null);
    expect(generationSummary(view)).toBe(
      'Winner: trial 2 (lr 0.3), picked on the lowest validation loss per target token among 2 compared trials (of 2 planned). ' +
        'On the 4 held-out rows that no trial trained or validated on: loss 2.346 per target token, exact match 25.0%, token F1 37.5% ' +
        '(the template alone: exact match 0.0%, token F1 12.5%). Its validation loss, 2.200, was the lowest of 2 and so is likely optimistic.',
    );
    // Not for a classification sweep, nor before the sweep completed.
    expect(generationSummary(sweepsOf([trial(0, 'completed', { result: result(0, 'completed') })], null)[0])).toBeNull();
    expect(generationSummary(sweepsOf([genTrial(0, genResult(0, 3.1, 0, 0.1), {})], null)[0])).toBeNull();
  });

  it('a classification winner’s test column holds its held-out accuracy', () => {
    const finalC = { sweepId: 's', status: 'completed' as const, planned: 4, compared: 2, winner: 0, selection: 'rule', split: { test: 2, pool: 8 }, steps: 20, seconds: 2, skipped: [result(2, 'skipped', null), result(3, 'skipped', null)] };
    const heldOut = { trialIndex: 0, runId: 's/trial-0', rows: 2, rowNumbers: [3, 7], classes: ['a', 'b'], accuracy: 0.5, macroF1: 0.5, loss: 0.1, confusionMatrix: [[1, 0], [1, 0]], zeroShotAccuracy: 0.5, majorityAccuracy: 0.5 };
    const [view] = sweepsOf([trial(0, 'completed', { result: result(0, 'completed', 0.75), tag: { final: finalC, heldOut } }), trial(1, 'completed', { result: result(1, 'completed', 0.5), tag: { final: finalC } })], null);
    expect(view.task).toBe('classification');
    expect(view.rows.map((r) => scoreValue(view, r, 'test'))).toEqual([0.5, null, null, null]);
    expect(view.rows.map((r) => scoreValue(view, r, 'valAccuracy'))).toEqual([0.75, 0.5, null, null]);
  });
});
