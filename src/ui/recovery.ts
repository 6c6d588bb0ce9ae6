/**
 * What the page does when its worker crashes or loses its WebGPU device: whether to start another
 * worker, whether and from where the run that was training goes on, and the one line that says
 * what happened. Pure functions; StudioClient restarts the worker and useTrainer resumes the run.
 */
import type { Checkpoint, TrainingState } from '../shared/tasks';

/** Restarts counted over this long a window... */
export const RESTART_WINDOW_MS = 10 * 60_000;
/** ...at most this many; one more and the client gives up (a worker that keeps crashing needs a reload, or a bug report). */
export const MAX_RESTARTS_PER_WINDOW = 3;

/** `restartsInWindow` includes the one being decided. */
export function mayRestartWorker(restartsInWindow: number): boolean {
  return restartsInWindow <= MAX_RESTARTS_PER_WINDOW;
}

/** A run is resumed from the same checkpoint at most this many times: a fault that comes back before the next checkpoint stops it. */
export const MAX_RESUMES_FROM_ONE_STEP = 2;

export interface RecoveryInput {
  /** The run's latest checkpoint (with the loop's whole state unless saved by an older version). */
  checkpoint: Checkpoint | null;
  /** What the user had asked of the run when the worker went: running, paused, or stopping. */
  userState: 'running' | 'paused' | 'stopping';
  /** The steps earlier recoveries of this run resumed from (this page's lifetime). */
  resumedFrom: readonly number[];
  /** The client gave up restarting (or the worker never came back). */
  workerGone: boolean;
}

export type RecoveryPlan =
  /** Train on from the checkpoint's state (`step` may equal `totalSteps`: then only the end of the run is redone); `pause` when it was paused. */
  | { action: 'resume'; state: TrainingState; fromStep: number; pause: boolean }
  /** No resumable checkpoint yet: the run starts again as it first started. */
  | { action: 'start-again'; pause: boolean }
  /** The user had pressed Stop: the run ends as stopped, at its last checkpoint. */
  | { action: 'stop' }
  /** The run ends as interrupted (resumable later, by hand, when it has a checkpoint). */
  | { action: 'give-up'; why: string };

export function planRecovery({ checkpoint, userState, resumedFrom, workerGone }: RecoveryInput): RecoveryPlan {
  if (userState === 'stopping') return { action: 'stop' };
  if (workerGone) return { action: 'give-up', why: 'the worker could not be restarted' };
  const state = checkpoint?.state;
  const fromStep = state?.step ?? 0;
  const tries = resumedFrom.filter((s) => s === fromStep).length;
  if (tries >= MAX_RESUMES_FROM_ONE_STEP) {
    return { action: 'give-up', why: `the worker stopped ${tries + 1} times without getting past step ${fromStep}` };
  }
  const pause = userState === 'paused';
  return state ? { action: 'resume', state, fromStep, pause } : { action: 'start-again', pause };
}

/** What a restart reloaded, as StudioClient reports it (the fields this line needs). */
export interface RestartSummary {
  reason: string;
  backend: string | null;
  initError?: string;
  reloaded: { what: 'model' | 'dataset'; name: string; error?: string }[];
  gaveUp: boolean;
}

/** What became of the run that was training. */
export type RunRecovery =
  | { runName: string; outcome: 'resumed'; fromStep: number }
  | { runName: string; outcome: 'started-again' }
  | { runName: string; outcome: 'stopped' }
  | { runName: string; outcome: 'interrupted'; why: string; checkpointStep: number | null };

const quoted = (name: string) => `“${name}”`;

/**
 * The one line the page shows after a worker restart, e.g. "The worker stopped (the WebGPU device
 * was lost (destroyed)) and was restarted on WebGPU with studio-bert-tiny and tiny.csv; run
 * “tiny.csv · studio-bert-tiny · #1” resumed from step 12."
 */
export function restartLine(restart: RestartSummary, run: RunRecovery | null): string {
  const head = `The worker stopped (${restart.reason})`;
  if (restart.gaveUp) return `${head}, too often to start it again: reload the page${run ? `; ${runPart(run)}` : ''}.`;
  const loaded = restart.reloaded.filter((r) => !r.error).map((r) => r.name);
  const on = restart.backend ? ` on ${restart.backend}` : '';
  let line = `${head} and was restarted${on}${loaded.length ? ` with ${loaded.join(' and ')}` : ''}`;
  const failed = [
    ...(restart.initError ? [`no backend started (${restart.initError})`] : []),
    ...restart.reloaded.filter((r) => r.error).map((r) => `${r.name} could not be loaded again (${r.error}): load it in step ${r.what === 'model' ? 2 : 1}`),
  ];
  if (failed.length) line += `; ${failed.join('; ')}`;
  return `${line}${run ? `; ${runPart(run)}` : ''}.`;
}

function runPart(run: RunRecovery): string {
  switch (run.outcome) {
    case 'resumed':
      return `run ${quoted(run.runName)} resumed from step ${run.fromStep}`;
    case 'started-again':
      return `run ${quoted(run.runName)} started again (it had no checkpoint yet)`;
    case 'stopped':
      return `run ${quoted(run.runName)} stopped, as asked`;
    case 'interrupted':
      return `run ${quoted(run.runName)} was not resumed: ${run.why}${run.checkpointStep !== null ? `; resume it from step ${run.checkpointStep} in the runs list` : ''}`;
  }
}
