import { describe, expect, it } from 'vitest';
import type { Checkpoint, TrainingState } from '../shared/tasks';
import { MAX_RESTARTS_PER_WINDOW, MAX_RESUMES_FROM_ONE_STEP, mayRestartWorker, planRecovery, restartLine, type RecoveryInput, type RecoveryPlan } from './recovery';

const state = (step: number, totalSteps = 36): TrainingState =>
  ({ step, totalSteps, epoch: 2, batchIndex: 0, epochs: [{ epoch: 1, step: 12, trainLoss: 0.6, validation: null }] }) as unknown as TrainingState;
const withState = (step: number, totalSteps = 36): Checkpoint => ({ step, epochsDone: 1, values: { vectors: new Float32Array(2), numTokens: 1, dim: 2 }, state: state(step, totalSteps) });
const valuesOnly: Checkpoint = { step: 12, epochsDone: 1, values: { vectors: new Float32Array(2), numTokens: 1, dim: 2 } };

describe('planRecovery: {input, plan}', () => {
  const base: RecoveryInput = { checkpoint: null, userState: 'running', resumedFrom: [], workerGone: false };
  it.each<{ name: string; input: Partial<RecoveryInput>; plan: RecoveryPlan | { action: RecoveryPlan['action'] } }>([
    { name: 'a running run resumes from its checkpoint', input: { checkpoint: withState(12) }, plan: { action: 'resume', fromStep: 12, pause: false, state: state(12) } },
    { name: 'a paused run resumes, to be paused again', input: { checkpoint: withState(7), userState: 'paused' }, plan: { action: 'resume', fromStep: 7, pause: true, state: state(7) } },
    { name: 'a run past its last step resumes to finish (its evaluation)', input: { checkpoint: withState(36) }, plan: { action: 'resume', fromStep: 36, pause: false, state: state(36) } },
    { name: 'no checkpoint yet: it starts again', input: {}, plan: { action: 'start-again', pause: false } },
    { name: 'a checkpoint without the loop state (older version) cannot resume: it starts again', input: { checkpoint: valuesOnly }, plan: { action: 'start-again', pause: false } },
    { name: 'stopping: it ends stopped', input: { checkpoint: withState(12), userState: 'stopping' }, plan: { action: 'stop' } },
    { name: 'stopping wins even when the worker is gone', input: { userState: 'stopping', workerGone: true }, plan: { action: 'stop' } },
    { name: 'the worker did not come back', input: { checkpoint: withState(12), workerGone: true }, plan: { action: 'give-up', why: 'the worker could not be restarted' } },
    { name: 'resumed from a later checkpoint before: resumes again', input: { checkpoint: withState(24), resumedFrom: [12, 12] }, plan: { action: 'resume', fromStep: 24, pause: false, state: state(24) } },
    {
      name: 'the same checkpoint failed twice: gives up',
      input: { checkpoint: withState(12), resumedFrom: Array(MAX_RESUMES_FROM_ONE_STEP).fill(12) },
      plan: { action: 'give-up', why: `the worker stopped ${MAX_RESUMES_FROM_ONE_STEP + 1} times without getting past step 12` },
    },
    { name: 'crashing before the first checkpoint twice: gives up', input: { resumedFrom: [0, 0] }, plan: { action: 'give-up', why: 'the worker stopped 3 times without getting past step 0' } },
  ])('$name', ({ input, plan }) => {
    expect(planRecovery({ ...base, ...input })).toEqual(plan);
  });
});

describe('mayRestartWorker', () => {
  it(`allows ${MAX_RESTARTS_PER_WINDOW} restarts in the window and refuses the next`, () => {
    expect([1, 2, 3, 4].map(mayRestartWorker)).toEqual([1, 2, 3, 4].map((n) => n <= MAX_RESTARTS_PER_WINDOW));
    expect(mayRestartWorker(MAX_RESTARTS_PER_WINDOW + 1)).toBe(false);
  });
});

describe('restartLine: {restart, run, line}', () => {
  const restart = { reason: 'the WebGPU device was destroyed', backend: 'WebGPU', reloaded: [{ what: 'model' as const, name: 'studio-bert-tiny' }, { what: 'dataset' as const, name: 'tiny.csv' }], gaveUp: false };
  it.each([
    {
      restart,
      run: { runName: 'tiny.csv · studio-bert-tiny · #1', outcome: 'resumed' as const, fromStep: 12 },
      line: 'The worker stopped (the WebGPU device was destroyed) and was restarted on WebGPU with studio-bert-tiny and tiny.csv; run “tiny.csv · studio-bert-tiny · #1” resumed from step 12.',
    },
    { restart, run: null, line: 'The worker stopped (the WebGPU device was destroyed) and was restarted on WebGPU with studio-bert-tiny and tiny.csv.' },
    {
      restart: { ...restart, reason: 'the worker failed: Uncaught Error: out of memory', backend: 'WASM', reloaded: [{ what: 'model' as const, name: 'org/bert', error: 'HTTP 401' }, { what: 'dataset' as const, name: 'a.csv' }] },
      run: { runName: 'r', outcome: 'interrupted' as const, why: 'the worker stopped 3 times without getting past step 4', checkpointStep: 4 },
      line:
        'The worker stopped (the worker failed: Uncaught Error: out of memory) and was restarted on WASM with a.csv; org/bert could not be loaded again (HTTP 401): load it in step 2; ' +
        'run “r” was not resumed: the worker stopped 3 times without getting past step 4; resume it from step 4 in the runs list.',
    },
    {
      restart: { ...restart, backend: null, initError: 'no backend works', reloaded: [] },
      run: { runName: 'r', outcome: 'started-again' as const },
      line: 'The worker stopped (the WebGPU device was destroyed) and was restarted; no backend started (no backend works); run “r” started again (it had no checkpoint yet).',
    },
    {
      restart: { ...restart, gaveUp: true, reloaded: [] },
      run: { runName: 'r', outcome: 'stopped' as const },
      line: 'The worker stopped (the WebGPU device was destroyed), too often to start it again: reload the page; run “r” stopped, as asked.',
    },
  ])('$line', ({ restart, run, line }) => {
    expect(restartLine(restart, run)).toBe(line);
  });
});
