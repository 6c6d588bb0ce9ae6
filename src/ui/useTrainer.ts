import { useCallback, useRef, useState } from 'react';
import type { PromptValues, TaskSpec, TrainingConfig, TrainingState, TrainOutcome } from '../shared/tasks';
import type { StudioClient } from './StudioClient';
import type { RunRecord, RunStatus } from './runStore';
import type { RunsApi } from './useRuns';
import { errorText } from './format';

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

export interface TrainerApi {
  runId: string | null;
  state: TrainerState;
  /** Why the last start, pause, resume or stop failed. */
  error: string | null;
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

function finalStatus(outcome: TrainOutcome): RunStatus {
  switch (outcome.stopReason) {
    case 'completed':
    case 'early-stopped':
      return 'completed';
    case 'stopped':
      return 'stopped';
    case 'non-finite-loss':
      return 'failed';
  }
}

/** Runs one training at a time in the worker and mirrors its events into the run's record. */
export function useTrainer(client: StudioClient | null, runs: RunsApi): TrainerApi {
  const [runId, setRunId] = useState<string | null>(null);
  const [state, setState] = useState<TrainerState>('idle');
  const [error, setError] = useState<string | null>(null);
  const active = useRef<string | null>(null);

  /** Sends the train request for `id` (already in `runs`); with `resume` it continues that checkpoint's run. */
  const drive = useCallback(
    async (id: string, spec: TaskSpec, config: TrainingConfig, start: { initial?: PromptValues; resume?: TrainingState }) => {
      if (!client) return;
      active.current = id;
      setRunId(id);
      setState('running');
      setError(null);
      try {
        const outcome = await client.call(
          'train',
          { runId: id, spec, config, checkpointEverySteps: CHECKPOINT_EVERY_STEPS, ...start },
          {
            onMetrics(m) {
              if (m.series === 'step') {
                runs.update(
                  id,
                  (r) => ({
                    ...r,
                    // Every step since the last event, with its exact loss; a pause re-sends the latest step.
                    steps: mergeSteps(r.steps, m.step, m.losses.length ? m.losses : [m.loss]),
                    progress: {
                      step: m.step,
                      totalSteps: m.totalSteps,
                      epoch: m.epoch,
                      totalEpochs: config.epochs,
                      etaSeconds: m.etaSeconds,
                      elapsedSeconds: m.elapsedSeconds,
                      examplesPerSecond: m.examplesPerSecond,
                      tokensPerSecond: m.tokensPerSecond,
                      learningRate: m.learningRate,
                      loss: m.loss,
                    },
                  }),
                  'soon',
                );
              } else if (m.series === 'epoch') {
                const { series: _, step: __, ...epoch } = m;
                runs.update(id, (r) => ({ ...r, epochs: [...r.epochs.filter((e) => e.epoch !== epoch.epoch), epoch] }), 'soon');
              } else if (m.series === 'zeroShot') {
                runs.update(id, (r) => ({ ...r, zeroShotAccuracy: m.accuracy }), 'soon');
              }
            },
            onCheckpoint(checkpoint) {
              runs.update(id, (r) => ({ ...r, checkpoint }), 'now');
            },
          },
        );
        runs.update(
          id,
          (r) => ({
            ...r,
            status: finalStatus(outcome),
            outcome,
            // The result's per-step losses are exact and complete (a resumed run's include the steps before it).
            steps: outcome.trainLosses.length ? outcome.trainLosses.map((loss, i) => ({ step: i + 1, loss })) : r.steps,
            epochs: outcome.epochs.length ? outcome.epochs : r.epochs,
            message: outcome.message ?? null,
            // A stopped run keeps its last state (taken when it stopped), so it can be resumed exactly;
            // a finished run keeps the prompt it ended with (the best epoch's).
            checkpoint:
              outcome.stopReason === 'stopped' && r.checkpoint?.state
                ? r.checkpoint
                : { step: outcome.steps, epochsDone: outcome.epochs.length, values: outcome.prompt },
            progress: r.progress ? { ...r.progress, step: outcome.steps, etaSeconds: 0 } : null,
          }),
          'now',
        );
      } catch (e) {
        const message = errorText(e);
        runs.update(id, (r) => ({ ...r, status: 'failed', message }), 'now');
        setError(message);
      } finally {
        active.current = null;
        setState('idle');
      }
    },
    [client, runs],
  );

  const start = useCallback(
    async (run: NewRun) => {
      if (active.current) return;
      const id = newRunId();
      const now = new Date().toISOString();
      runs.create({
        id,
        name: run.name,
        createdAt: now,
        updatedAt: now,
        status: 'running',
        modelId: run.modelId,
        datasetName: run.datasetName,
        datasetKey: run.datasetKey,
        spec: run.spec,
        config: run.config,
        steps: [],
        epochs: [],
        zeroShotAccuracy: null,
        progress: null,
        checkpoint: null,
        outcome: null,
        message: null,
        ...(run.importedFrom ? { importedFrom: run.importedFrom } : {}),
      });
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
        (r) => ({
          ...r,
          status: 'running',
          message: null,
          outcome: null,
          steps: r.steps.filter((p) => p.step <= state.step),
          epochs: r.epochs.filter((e) => e.epoch <= state.epochs.length),
        }),
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
      if (kind !== 'stopTraining') runs.update(id, (r) => ({ ...r, status: kind === 'pauseTraining' ? 'paused' : 'running' }), 'now');
      client.call(kind, { runId: id }).catch((e: unknown) => setError(errorText(e)));
    },
    [client, runs],
  );

  return {
    runId,
    state,
    error,
    start,
    resumeRun,
    pause: useCallback(() => control('pauseTraining'), [control]),
    resume: useCallback(() => control('resumeTraining'), [control]),
    stop: useCallback(() => control('stopTraining'), [control]),
  };
}

/** `steps` with points for the steps ending at `lastStep` whose losses are `losses` (replacing any already there). */
function mergeSteps(steps: readonly { step: number; loss: number }[], lastStep: number, losses: readonly number[]): { step: number; loss: number }[] {
  const first = lastStep - losses.length + 1;
  return [...steps.filter((p) => p.step < first || p.step > lastStep), ...losses.map((loss, i) => ({ step: first + i, loss }))];
}
