/**
 * The phases of a run besides the training steps (the zero-shot baseline, each epoch's validation,
 * the final evaluation, robustness) run batch by batch too, so Stop must reach them between
 * batches and the page must see how far they are. A phase's code gets a `Phase` and calls
 * `betweenBatches` after each batch: it reports progress, yields to the event loop (so a worker
 * hears the stop message), and throws `StoppedError` once stopped. Pause is left to the loop: it
 * takes effect before the next step, where the run's whole state is checkpointed (a phase has no
 * state of its own to keep), so a phase runs on to its end while a pause waits for that step.
 */
import type { Row } from './data';
import { yieldToEventLoop, type TrainingControl } from './train';

/** How far a phase is: `done` of `total` examples of the phase named `stage`. */
export interface PhaseProgress {
  stage: string;
  done: number;
  total: number;
}

export interface Phase {
  /** What the user is told is happening: "zero-shot baseline", "final evaluation", ... */
  stage: string;
  /** The run's control (absent: nobody can stop it, e.g. the playground). */
  control?: TrainingControl;
  /** Called at the phase's start and after each batch. */
  onProgress?(progress: PhaseProgress): void;
  /**
   * Stop requests made before the phase began (it ends at the next one): a run stopped during
   * training is still evaluated, and a second stop ends that. Absent: 0, any stop ends it.
   */
  stopsBefore?: number;
}

/** Stop requests `control` has had so far. */
export function stopsSoFar(control: TrainingControl | undefined): number {
  return control?.stopRequests ?? (control?.stopped ? 1 : 0);
}

/** A phase named `stage` that ends at the next stop request from now on. */
export function startPhase(stage: string, control: TrainingControl | undefined, onProgress?: (progress: PhaseProgress) => void): Phase {
  return { stage, control, onProgress, stopsBefore: stopsSoFar(control) };
}

/** A phase ended because the run was stopped. */
export class StoppedError extends Error {
  constructor(readonly stage: string) {
    super(`stopped by request during the ${stage}`);
    this.name = 'StoppedError';
  }
}

/** The same control and listener under another stage name. */
export function renamed(phase: Phase | undefined, stage: string): Phase | undefined {
  return phase ? { ...phase, stage } : undefined;
}

/** Reports `done` of `total` and lets queued messages in; throws StoppedError when stopped. */
export async function betweenBatches(phase: Phase | undefined, done: number, total: number): Promise<void> {
  if (!phase) return;
  phase.onProgress?.({ stage: phase.stage, done, total });
  if (!phase.control) return;
  await yieldToEventLoop();
  if (stopsSoFar(phase.control) > (phase.stopsBefore ?? 0)) throw new StoppedError(phase.stage);
}

/** `run`'s value, or null when the run was stopped during it. */
export async function unlessStopped<T>(run: () => Promise<T>): Promise<T | null> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof StoppedError) return null;
    throw e;
  }
}

/** Encoding (tokenizing) reports its progress every this many rows: a 200k-row file takes a while and says so. */
export const ENCODE_PROGRESS_ROWS = 2000;

/**
 * `rows` encoded one by one, reporting `{stage, done, total}` at the start, every
 * ENCODE_PROGRESS_ROWS rows and at the end. Synchronous: the reports are what a listener (the CLI,
 * the page through its worker) hears while it runs.
 */
export function encodeRows<T>(rows: readonly Row[], encode: (row: Row) => T, stage: string, onProgress?: (progress: PhaseProgress) => void): T[] {
  const total = rows.length;
  onProgress?.({ stage, done: 0, total });
  return rows.map((row, i) => {
    const encoded = encode(row);
    if (onProgress && (i + 1 === total || (i + 1) % ENCODE_PROGRESS_ROWS === 0)) onProgress({ stage, done: i + 1, total });
    return encoded;
  });
}
