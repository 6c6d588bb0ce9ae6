/**
 * A CLI sweep that survives being stopped: while it runs, `npm run tune -- --sweep ...` keeps the
 * trials that ended and the running trial's latest checkpoint in `<out>/sweep-state.json`; run the
 * same command again with `--resume-sweep` and it continues where it stopped (the ended trials are
 * not run again, the stopped one continues exactly from its checkpoint), as the page resumes a
 * sweep from its stored runs. The session keeps nothing between requests (src/session/sweep.ts):
 * this file is what a page's run store is to the page.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { StudioSession } from '../session/StudioSession';
import type { RequestEvents } from '../shared/protocol';
import type { SweepOutcome, SweepPayload, SweepPlan, SweepTrialResult } from '../shared/sweep';
import type { PromptExportMetadata, PromptValues, TaskSpec, TrainingConfig, TrainingState, TrainOutcome } from '../shared/tasks';
import { InputError } from './args';

export const SWEEP_STATE_FILE = 'sweep-state.json';
const SWEEP_STATE_VERSION = 1;

export interface SweepStateFile {
  version: typeof SWEEP_STATE_VERSION;
  sweepId: string;
  /** What the sweep was asked for; a resume must ask for the same. */
  spec: TaskSpec;
  config: TrainingConfig;
  plan: SweepPlan;
  /** running: the process ended without saying (killed); it resumes from the last checkpoint written. */
  status: 'running' | 'stopped' | 'completed';
  /** The trials that ended, in the order they ended (a stopped one included: it is run again). */
  trials: SweepTrialResult[];
  /** The latest checkpoint of the trial that has not ended well (null once it ended or before any). */
  resume: { index: number; state: TrainingState } | null;
  /** What exporting a completed trial needs, by trial index (the winner may have run before a resume). */
  exports: Record<number, TrialExport>;
}

/** A completed trial's prompt, export metadata and run summary: enough to export it as the winner. */
export interface TrialExport {
  prompt: PromptValues;
  meta: PromptExportMetadata;
  summary: { stopReason: string; message?: string; steps: number; seconds: number; trainSize: number; valSize: number; accuracy: number | null; macroF1: number | null };
}

function trialExport(outcome: TrainOutcome): TrialExport {
  const { prompt, meta, stopReason, message, steps, seconds, trainSize, valSize } = outcome;
  const tuned = outcome.task === 'classification' ? outcome.tuned : null;
  return { prompt, meta, summary: { stopReason, ...(message ? { message } : {}), steps, seconds, trainSize, valSize, accuracy: tuned?.accuracy ?? null, macroF1: tuned?.macroF1 ?? null } };
}

// JSON has no Float32Array and no NaN/Infinity (a loss can be either); both are tagged. A float32
// printed as a JS number and read back is the same float32, so checkpoints round-trip exactly.
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Float32Array) return { $f32: Array.from(value, (x) => (Number.isFinite(x) ? x : String(x))) };
  if (typeof value === 'number' && !Number.isFinite(value)) return { $num: String(value) };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const v = value as Record<string, unknown>;
  if (Array.isArray(v.$f32) && Object.keys(v).length === 1) return Float32Array.from(v.$f32 as (number | string)[], Number);
  if (typeof v.$num === 'string' && Object.keys(v).length === 1) return Number(v.$num);
  return value;
}

export const encodeSweepState = (state: SweepStateFile): string => JSON.stringify(state, replacer);

/** A state file read back; an InputError naming the file when it is not one. */
export function decodeSweepState(text: string, file: string): SweepStateFile {
  let value: unknown;
  try {
    value = JSON.parse(text, reviver);
  } catch (e) {
    throw new InputError(`${file}: not a sweep state (${(e as Error).message})`);
  }
  const s = value as Partial<SweepStateFile> | null;
  if (!s || typeof s !== 'object' || s.version !== SWEEP_STATE_VERSION || typeof s.sweepId !== 'string' || !Array.isArray(s.trials) || !s.plan || !s.spec || !s.config || typeof s.exports !== 'object') {
    throw new InputError(`${file}: not a sweep state of this version (${SWEEP_STATE_VERSION})`);
  }
  return s as SweepStateFile;
}

/** Reads `file`; null when it does not exist. */
export async function readSweepState(file: string): Promise<SweepStateFile | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return decodeSweepState(text, file);
}

/** Written beside and renamed over, so a process killed mid-write leaves the previous state whole. */
export async function writeSweepState(file: string, state: SweepStateFile): Promise<void> {
  await writeFile(`${file}.partial`, encodeSweepState(state));
  await rename(`${file}.partial`, file);
}

/**
 * What a resume sends the session: the saved sweep's id, its ended trials and checkpoint, after
 * checking that the command asks for the same sweep (else an InputError naming what differs).
 */
export function resumeFrom(saved: SweepStateFile, asked: { spec: TaskSpec; config: TrainingConfig; plan: SweepPlan }, file: string): Pick<SweepPayload, 'sweepId' | 'previous' | 'resume'> {
  const differs = (['spec', 'config', 'plan'] as const).filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(asked[k]));
  if (differs.length) {
    const what = { spec: 'the task (columns, template, label words)', config: 'the training options', plan: 'the sweep (--sweep, --label-word-set, budget, --test-split, --seed)' };
    throw new InputError(`${file} holds a different sweep: ${differs.map((k) => what[k]).join(', ')} changed; run the stopped sweep's own command with --resume-sweep, or remove ${file} to start over`);
  }
  return { sweepId: saved.sweepId, previous: saved.trials, ...(saved.resume ? { resume: saved.resume } : {}) };
}

/**
 * Runs a sweep in the session and keeps its state in `file` as it goes: after every trial that
 * ends and every checkpoint of the running one, and once more at the end. `events` gets every
 * event as well (the CLI's lines).
 */
export async function runSavedSweep(
  session: StudioSession,
  payload: SweepPayload,
  file: string,
  events: RequestEvents,
  earlierExports: Record<number, TrialExport> = {},
): Promise<{ outcome: SweepOutcome; state: SweepStateFile }> {
  const state: SweepStateFile = {
    version: SWEEP_STATE_VERSION,
    sweepId: payload.sweepId,
    spec: payload.spec,
    config: payload.config,
    plan: payload.plan,
    status: 'running',
    trials: [...(payload.previous ?? [])],
    resume: payload.resume ?? null,
    exports: { ...earlierExports },
  };
  let running = -1;
  // Writes are chained so that they land in order; the sweep does not wait for them.
  let writes: Promise<void> = writeSweepState(file, state);
  const save = () => {
    const snapshot = { ...state };
    writes = writes.then(() => writeSweepState(file, snapshot));
  };
  let outcome: SweepOutcome;
  try {
    outcome = await session.sweep(payload, {
      progress: (p) => events.progress(p),
      metrics(m) {
        if (m.series === 'trialStart') running = m.index;
        if (m.series === 'trialEnd') {
          state.trials = [...state.trials.filter((t) => t.index !== m.result.index), m.result];
          if (m.result.status !== 'stopped' && state.resume?.index === m.result.index) state.resume = null;
          if (m.result.status === 'completed' && m.outcome) state.exports = { ...state.exports, [m.result.index]: trialExport(m.outcome) };
          save();
        }
        events.metrics(m);
      },
      checkpoint(c) {
        if (c.state && running >= 0) {
          state.resume = { index: running, state: c.state };
          save();
        }
        events.checkpoint(c);
      },
    });
  } finally {
    await writes;
  }
  state.status = outcome.status;
  if (outcome.status === 'completed') state.resume = null;
  await writeSweepState(file, state);
  return { outcome, state };
}
