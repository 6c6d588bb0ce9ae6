import { startTransition, useCallback, useRef, useState } from 'react';
import type { PromptValues, TaskSpec, TrainingConfig, TrainingState } from '../shared/tasks';
import { StudioError, type RestartReport, type StudioClient } from './StudioClient';
import type { RunRecord } from './runStore';
import { planRecovery, type RunRecovery } from './recovery';
import type { RunsApi } from './useRuns';
import { errorText } from './format';
import { applyTrainingEvent, finishedRun, resumingRun, startingRun } from './runEvents';

/** The run's whole state is also checkpointed every this many steps (always at each epoch's end, on pause and on stop). */
export const CHECKPOINT_EVERY_STEPS = 25;

export type TrainerState = 'idle' | 'running' | 'paused' | 'stopping';

export interface NewRun {
  name: string;
  spec: TaskSpec;
  config: TrainingConfig;
  modelId: string;
  datasetName: string;
  datasetKey: string | null;
  initial?: PromptValues;
  importedFrom?: string;
}

/** A phase of the run besides its steps (zero-shot baseline, validation, final evaluation, robustness), as last reported. */
export interface TrainerPhase {
  stage: string;
  done: number;
  total: number;
  /** When this stage was first reported (ms, performance.now()), for its own ETA. */
  startedAt: number;
}

export interface TrainerApi {
  runId: string | null;
  state: TrainerState;
  /** The phase the live run is in when it is not taking steps; null while it steps (or when idle). */
  phase: TrainerPhase | null;
  /** Why the last start, pause, resume or stop failed. */
  error: string | null;
  /** What became of the run that was training when the worker crashed, and after which restart. */
  recovery: { run: RunRecovery; after: RestartReport | null } | null;
  start(run: NewRun): Promise<void>;
  /** Continues `run` exactly from its last checkpoint (the steps it has left). */
  resumeRun(run: RunRecord): Promise<void>;
  pause(): void;
  resume(): void;
  stop(): void;
}

export function newRunId(): string {
  return typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `run-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

/** Runs one training at a time in the worker and mirrors its events into the run's record. */
export function useTrainer(client: StudioClient | null, runs: RunsApi): TrainerApi {
  const [runId, setRunId] = useState<string | null>(null);
  const [state, setState] = useState<TrainerState>('idle');
  const [error, setError] = useState<string | null>(null);
  const [recovery, setRecovery] = useState<TrainerApi['recovery']>(null);
  const [phase, setPhase] = useState<TrainerPhase | null>(null);
  const active = useRef<string | null>(null);
  // What the user last asked of the active run, read when the worker crashes under it.
  const asked = useRef<'running' | 'paused' | 'stopping'>('running');

  /** One train request: 'done' when the run has ended (or failed), or the crash that cut it off. */
  const trainOnce = useCallback(
    async (id: string, spec: TaskSpec, config: TrainingConfig, start: { initial?: PromptValues; resume?: TrainingState }, pauseFirst: boolean): Promise<'done' | StudioError> => {
      if (!client) return 'done';
      try {
        const call = client.call(
          'train',
          { runId: id, spec, config, checkpointEverySteps: CHECKPOINT_EVERY_STEPS, ...start },
          {
            onMetrics(m) {
              if (m.series === 'phase') {
                const { series: _, ...p } = m;
                const now = performance.now();
                // Like the metrics (useRuns' 'soon'), a phase's progress re-renders as a transition.
                startTransition(() => setPhase((prev) => ({ ...p, startedAt: prev?.stage === p.stage ? prev.startedAt : now })));
                return;
              }
              if (m.series === 'step') startTransition(() => setPhase((prev) => (prev === null ? prev : null)));
              // Step, epoch and zero-shot events update the record as a sweep's trials do (runEvents.ts).
              runs.update(id, (r) => applyTrainingEvent(r, m, config), 'soon');
            },
            onCheckpoint(checkpoint) {
              runs.update(id, (r) => ({ ...r, checkpoint }), 'now');
            },
          },
        );
        // A run that was paused when the worker went stays paused in the new one (it stops before its first step).
        if (pauseFirst) client.call('pauseTraining', { runId: id }).catch((e: unknown) => setError(errorText(e)));
        const outcome = await call;
        runs.update(id, (r) => finishedRun(r, outcome), 'now');
      } catch (e) {
        if (e instanceof StudioError && e.code === 'worker-crashed') return e;
        const message = errorText(e);
        runs.update(id, (r) => ({ ...r, status: 'failed', message }), 'now');
        setError(message);
      }
      return 'done';
    },
    [client, runs],
  );

  /**
   * Sends the train request for `id` (already in `runs`); with `resume` it continues that checkpoint's run.
   * When the worker crashes meanwhile, the run goes on in the new one from its last checkpoint (planRecovery).
   */
  const drive = useCallback(
    async (id: string, spec: TaskSpec, config: TrainingConfig, start: { initial?: PromptValues; resume?: TrainingState }) => {
      if (!client) return;
      active.current = id;
      asked.current = 'running';
      setRunId(id);
      setState('running');
      setError(null);
      const resumedFrom: number[] = [];
      let from: { initial?: PromptValues; resume?: TrainingState } | null = start;
      let pauseFirst = false;
      try {
        while (from) {
          const crash = await trainOnce(id, spec, config, from, pauseFirst);
          from = null;
          if (crash === 'done') break;
          // The worker crashed under the run: a new one has been started (or the client gave up).
          const restart = await client.whenRestarted();
          const run = runs.get(id);
          const name = run?.name ?? id;
          const plan = planRecovery({
            checkpoint: run?.checkpoint ?? null,
            userState: asked.current,
            resumedFrom,
            workerGone: !restart || restart.gaveUp || restart.init === null,
          });
          const said = `the worker stopped (${restart?.reason ?? crash.message})`;
          switch (plan.action) {
            case 'resume':
              resumedFrom.push(plan.fromStep);
              runs.update(
                id,
                (r) => ({ ...resumingRun(r, plan.fromStep, plan.state.epochs.length), status: r.status }),
                'now',
              );
              setRecovery({ after: restart, run: { runName: name, outcome: 'resumed', fromStep: plan.fromStep } });
              from = { resume: plan.state };
              pauseFirst = plan.pause;
              break;
            case 'start-again':
              resumedFrom.push(0);
              runs.update(id, (r) => ({ ...r, steps: [], epochs: [], zeroShotAccuracy: null, progress: null, message: null }), 'now');
              setRecovery({ after: restart, run: { runName: name, outcome: 'started-again' } });
              from = start;
              pauseFirst = plan.pause;
              break;
            case 'stop':
              runs.update(id, (r) => ({ ...r, status: 'stopped', message: `Stopped at step ${r.checkpoint?.step ?? 0}: ${said} before the stop was answered.` }), 'now');
              setRecovery({ after: restart, run: { runName: name, outcome: 'stopped' } });
              break;
            case 'give-up': {
              const step = run?.checkpoint?.state ? run.checkpoint.step : null;
              runs.update(id, (r) => ({ ...r, status: 'interrupted', message: `Interrupted: ${said}, and ${plan.why}.${step !== null ? ` The last checkpoint is at step ${step}.` : ''}` }), 'now');
              setRecovery({ after: restart, run: { runName: name, outcome: 'interrupted', why: plan.why, checkpointStep: step } });
              break;
            }
          }
        }
      } finally {
        active.current = null;
        setPhase(null);
        setState('idle');
      }
    },
    [client, runs, trainOnce],
  );

  const start = useCallback(
    async (run: NewRun) => {
      if (active.current) return;
      const id = newRunId();
      runs.create(
        startingRun(id, {
          name: run.name,
          modelId: run.modelId,
          datasetName: run.datasetName,
          datasetKey: run.datasetKey,
          spec: run.spec,
          config: run.config,
          ...(run.importedFrom ? { importedFrom: run.importedFrom } : {}),
        }),
      );
      await drive(id, run.spec, run.config, { initial: run.initial });
    },
    [drive, runs],
  );

  const resumeRun = useCallback(
    async (run: RunRecord) => {
      if (active.current) return;
      const cp = run.checkpoint;
      const state = cp?.state;
      if (!cp || !state) {
        setError(`run "${run.name}" has no resumable checkpoint${cp ? ' (it was saved by an older version of the studio: export its prompt and continue it as a new run)' : ''}`);
        return;
      }
      if (state.step >= state.totalSteps) {
        setError(`run "${run.name}" has taken all ${state.totalSteps} planned steps`);
        return;
      }
      runs.update(
        run.id,
        (r) => resumingRun(r, state.step, state.epochs.length),
        'now',
      );
      // The same spec and settings: the state continues the schedule, Adam and the shuffle where they were.
      await drive(run.id, run.spec, run.config, { resume: state });
    },
    [drive, runs],
  );

  const control = useCallback(
    (kind: 'pauseTraining' | 'resumeTraining' | 'stopTraining') => {
      const id = active.current;
      if (!client || !id) return;
      const next: Record<typeof kind, TrainerState> = { pauseTraining: 'paused', resumeTraining: 'running', stopTraining: 'stopping' };
      setState(next[kind]);
      asked.current = next[kind] as 'paused' | 'running' | 'stopping';
      if (kind !== 'stopTraining') runs.update(id, (r) => ({ ...r, status: kind === 'pauseTraining' ? 'paused' : 'running' }), 'now');
      client.call(kind, { runId: id }).catch((e: unknown) => setError(errorText(e)));
    },
    [client, runs],
  );

  return {
    runId,
    state,
    phase,
    error,
    recovery,
    start,
    resumeRun,
    pause: useCallback(() => control('pauseTraining'), [control]),
    resume: useCallback(() => control('resumeTraining'), [control]),
    stop: useCallback(() => control('stopTraining'), [control]),
  };
}

