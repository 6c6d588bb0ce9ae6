import { useCallback, useRef, useState } from 'react';
import type { PromptValues, TaskSpec, TrainingConfig, TrainOutcome } from '../shared/tasks';
import type { StudioClient } from './StudioClient';
import type { RunRecord, RunStatus } from './runStore';
import type { RunsApi } from './useRuns';
import { errorText } from './format';

/** Prompt values are also checkpointed every this many steps (and at every epoch's end). */
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
  /** Continues `run` from its last checkpoint for the epochs it has left. */
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

  /** Sends the train request for `id` (already in `runs`); steps and epochs continue after the offsets. */
  const drive = useCallback(
    async (id: string, spec: TaskSpec, config: TrainingConfig, offsets: { step: number; epoch: number }, initial?: PromptValues) => {
      if (!client) return;
      active.current = id;
      setRunId(id);
      setState('running');
      setError(null);
      try {
        const outcome = await client.call(
          'train',
          { runId: id, spec, config, checkpointEverySteps: CHECKPOINT_EVERY_STEPS, ...(initial ? { initial } : {}) },
          {
            onMetrics(m) {
              const v = m.values;
              if (m.series === 'step') {
                runs.update(
                  id,
                  (r) => ({
                    ...r,
                    // Every step since the last event, with its exact loss (so a run resumed after a
                    // reload charts every step up to its checkpoint); a pause re-sends the latest step.
                    steps: mergeSteps(r.steps, offsets.step + v.step, m.losses?.length ? m.losses : [v.loss]),
                    progress: {
                      step: offsets.step + v.step,
                      totalSteps: offsets.step + v.totalSteps,
                      epoch: offsets.epoch + v.epoch,
                      totalEpochs: offsets.epoch + config.epochs,
                      etaSeconds: v.etaSeconds,
                      elapsedSeconds: v.elapsedSeconds,
                      examplesPerSecond: v.examplesPerSecond,
                      tokensPerSecond: v.tokensPerSecond,
                      learningRate: v.learningRate,
                      loss: v.loss,
                    },
                  }),
                  'soon',
                );
              } else if (m.series === 'epoch') {
                const epoch = {
                  epoch: offsets.epoch + v.epoch,
                  trainLoss: v.trainLoss,
                  valLoss: v.valLoss ?? null,
                  valAccuracy: v.valAccuracy ?? null,
                  valMacroF1: v.valMacroF1 ?? null,
                };
                runs.update(id, (r) => ({ ...r, epochs: [...r.epochs.filter((e) => e.epoch !== epoch.epoch), epoch] }), 'soon');
              } else if (m.series === 'zeroShot' && offsets.step === 0) {
                runs.update(id, (r) => ({ ...r, zeroShotAccuracy: v.accuracy }), 'soon');
              }
            },
            onCheckpoint(c) {
              runs.update(id, (r) => ({ ...r, checkpoint: { ...c, step: offsets.step + c.step, epochsDone: offsets.epoch + c.epochsDone } }), 'now');
            },
          },
        );
        runs.update(
          id,
          (r) => {
            // The result's per-step losses are exact; the live series holds throttled means.
            const exact = outcome.trainLosses.map((loss, i) => ({ step: offsets.step + i + 1, loss }));
            const steps = exact.length ? [...r.steps.filter((p) => p.step <= offsets.step), ...exact] : r.steps;
            const total = offsets.step + outcome.steps;
            return {
              ...r,
              status: finalStatus(outcome),
              outcome,
              steps,
              message: outcome.message ?? null,
              checkpoint: { step: total, epochsDone: offsets.epoch + outcome.epochs.length, values: outcome.prompt },
              progress: r.progress ? { ...r.progress, step: total, etaSeconds: 0 } : null,
            };
          },
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
      await drive(id, run.spec, run.config, { step: 0, epoch: 0 }, run.initial);
    },
    [drive, runs],
  );

  const resumeRun = useCallback(
    async (run: RunRecord) => {
      if (active.current) return;
      const cp = run.checkpoint;
      if (!cp) {
        setError(`run "${run.name}" has no checkpoint to resume from`);
        return;
      }
      const left = run.config.epochs - cp.epochsDone;
      if (left < 1) {
        setError(`run "${run.name}" has finished all ${run.config.epochs} epochs`);
        return;
      }
      runs.update(
        run.id,
        (r) => ({
          ...r,
          status: 'running',
          message: null,
          outcome: null,
          steps: r.steps.filter((p) => p.step <= cp.step),
          epochs: r.epochs.filter((e) => e.epoch <= cp.epochsDone),
        }),
        'now',
      );
      // The remaining epochs, from the checkpoint's values; no second warmup.
      await drive(run.id, run.spec, { ...run.config, epochs: left, warmupFraction: 0 }, { step: cp.step, epoch: cp.epochsDone }, cp.values);
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
