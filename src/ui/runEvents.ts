/**
 * How a run's record follows its training events: the step, epoch and zero-shot metrics, and the
 * outcome at the end. Pure functions over a RunRecord, shared by a single training (useTrainer) and
 * a sweep's trials (useSweep), so a trial's record is an ordinary run's.
 */
import { outcomeStatus, type TrainingConfig, type TrainingEvent, type TrainOutcome } from '../shared/tasks';
import type { RunRecord } from './runStore';

/** A run record about to start training: nothing recorded yet. `fields` name it and say what it trains. */
export function startingRun(
  id: string,
  fields: Pick<RunRecord, 'name' | 'modelId' | 'datasetName' | 'datasetKey' | 'spec' | 'config'> & Partial<Pick<RunRecord, 'importedFrom' | 'sweep'>>,
): RunRecord {
  const now = new Date().toISOString();
  return {
    id,
    createdAt: now,
    updatedAt: now,
    status: 'running',
    steps: [],
    epochs: [],
    zeroShotAccuracy: null,
    progress: null,
    checkpoint: null,
    outcome: null,
    message: null,
    ...fields,
  };
}

/** `run` after one of its training's metrics events (a sweep's own events leave it as it is). */
export function applyTrainingEvent(run: RunRecord, m: TrainingEvent, config: TrainingConfig): RunRecord {
  if (m.series === 'step') {
    return {
      ...run,
      // Every step since the last event, with its exact loss; a pause re-sends the latest step.
      steps: mergeSteps(run.steps, m.step, m.losses.length ? m.losses : [m.loss]),
      progress: {
        step: m.step,
        totalSteps: m.totalSteps,
        epoch: m.epoch,
        totalEpochs: config.epochs,
        etaSeconds: m.etaSeconds,
        etaFromFirstStep: m.etaFromFirstStep,
        elapsedSeconds: m.elapsedSeconds,
        examplesPerSecond: m.examplesPerSecond,
        tokensPerSecond: m.tokensPerSecond,
        learningRate: m.learningRate,
        loss: m.loss,
      },
    };
  }
  if (m.series === 'epoch') {
    const { series: _, step: __, ...epoch } = m;
    return { ...run, epochs: [...run.epochs.filter((e) => e.epoch !== epoch.epoch), epoch] };
  }
  if (m.series === 'zeroShot') return { ...run, zeroShotAccuracy: m.accuracy };
  return run;
}

/** `run` when its training answered with `outcome`. */
export function finishedRun(run: RunRecord, outcome: TrainOutcome): RunRecord {
  return {
    ...run,
    status: outcomeStatus(outcome),
    outcome,
    // The result's per-step losses are exact and complete (a resumed run's include the steps before it).
    steps: outcome.trainLosses.length ? outcome.trainLosses.map((loss, i) => ({ step: i + 1, loss })) : run.steps,
    epochs: outcome.epochs.length ? outcome.epochs : run.epochs,
    message: outcome.message ?? null,
    // A stopped run keeps its last state (taken when it stopped), so it can be resumed exactly;
    // a finished run keeps the prompt it ended with (the best epoch's).
    checkpoint:
      outcome.stopReason === 'stopped' && run.checkpoint?.state
        ? run.checkpoint
        : { step: outcome.steps, epochsDone: outcome.epochs.length, values: outcome.prompt },
    progress: run.progress ? { ...run.progress, step: outcome.steps, etaSeconds: 0 } : null,
  };
}

/** `run` about to continue from its checkpoint at `step` (`epochsDone` epochs): later points dropped. */
export function resumingRun(run: RunRecord, step: number, epochsDone: number): RunRecord {
  return {
    ...run,
    status: 'running',
    message: null,
    outcome: null,
    steps: run.steps.filter((p) => p.step <= step),
    epochs: run.epochs.filter((e) => e.epoch <= epochsDone),
  };
}

/** `steps` with points for the steps ending at `lastStep` whose losses are `losses` (replacing any already there). */
function mergeSteps(steps: readonly { step: number; loss: number }[], lastStep: number, losses: readonly number[]): { step: number; loss: number }[] {
  const first = lastStep - losses.length + 1;
  return [...steps.filter((p) => p.step < first || p.step > lastStep), ...losses.map((loss, i) => ({ step: first + i, loss }))];
}
