/**
 * One tuning run, whatever the task: prepare (the task did that), measure the baseline, make the
 * prompt (fresh, from given values, or from a checkpoint), train it with the loop in train.ts,
 * evaluate the kept prompt. Classification and generation implement `TuningTask`; nothing else
 * differs between them here.
 */
import * as tf from '@tensorflow/tfjs';
import { keptActivationBytes } from '../model/memory';
import { DataError, type Row } from './data';
import { startPhase, stopsSoFar, type Phase } from './phase';
import { promptFromValues, type PromptValues, type SoftPrompt } from './softPrompt';
import type { TransformerConfig } from '../model/types';
import type { Template } from './template';
import {
  runTraining,
  untrainedLoop,
  type EpochValidation,
  type LoopHooks,
  type LoopResult,
  ENSEMBLE_SEED_STEP,
  type TrainingConfig,
  type TrainingState,
  type TuningObjective,
} from './train';

/** What every task prepares: the compiled template, the split rows and their encoded examples. */
export interface PreparedTask<E> {
  template: Template;
  trainRows: Row[];
  valRows: Row[];
  train: E[];
  val: E[];
  /** Rows (train + validation) whose text was cut to fit. */
  truncatedCount: number;
  /** Soft tokens N (from the template's slots, or `config.promptLength`). */
  promptLength: number;
}

/**
 * A task the engine can tune a prompt for. `Baseline` is measured before training (zero-shot, the
 * template alone); `Outcome` is what the task reports after it (fields merged into the result).
 */
export interface TuningTask<E, V extends EpochValidation, Baseline, Outcome extends object> {
  readonly prepared: PreparedTask<E>;
  /** Classes of the label head in head mode (the prompt then carries a head); undefined otherwise. */
  readonly headClasses?: number;
  /**
   * The baseline, its batches reporting to `phase` ("zero-shot baseline"); a stop during it gives
   * what the task reports without one (the run then neither trains nor evaluates).
   */
  baseline(phase?: Phase): Promise<Baseline>;
  /** A fresh prompt as `config.init` says, its init drawn with `seed`. */
  newPrompt(seed: number): Promise<SoftPrompt>;
  /**
   * Batch loss and per-epoch validation for the run's prompts (the loop adds their variables): one
   * prompt, or the members of an ensemble (loss: the mean of the members'; validation: the ensemble's).
   */
  objective(prompts: readonly SoftPrompt[]): Omit<TuningObjective<E, V>, 'variables' | 'groups'>;
  /**
   * The report on the kept prompt(s), its batches reporting to `phase` ("final evaluation"); a
   * part cut short by a stop is left out (null). After a stop during training it evaluates no more
   * than the validation split (no robustness).
   */
  evaluate(prompts: readonly SoftPrompt[], baseline: Baseline, phase?: Phase): Promise<Outcome>;
  /** Frees what the task holds on the device (a verbalizer's tensors). */
  dispose(): void;
}

/** A checkpoint of a run: the loop's whole state and the prompt it holds. */
export interface TuneCheckpoint<V extends EpochValidation = EpochValidation> {
  state: TrainingState<V>;
  /** The prompt (an ensemble's first member, with every member in `members`). */
  prompt: PromptValues;
}

export interface TuneHooks<V extends EpochValidation, Baseline> extends Omit<LoopHooks<V>, 'onCheckpoint'> {
  /** Before training: the task's baseline. */
  onBaseline?(baseline: Baseline): void;
  onCheckpoint?(checkpoint: TuneCheckpoint<V>): void;
}

export interface TuneOptions<V extends EpochValidation = EpochValidation> {
  /** Start from these values (an imported prompt; its `method` decides input vectors or prefix) instead of `config.init`. */
  initial?: PromptValues;
  /** Continue the run this checkpoint came from (same data and config). */
  resume?: TrainingState<V>;
  /** false: evaluate the starting prompt on the validation split without a step of training. */
  train?: boolean;
}

/** The loop's record plus what every task reports, plus the task's own outcome. */
export type TuneResult<E, V extends EpochValidation, Outcome extends object> = LoopResult<V> &
  Outcome & {
    /** The prompt; for an ensemble its first member (the run's own seed), every member in `members`. */
    prompt: SoftPrompt;
    members: SoftPrompt[];
    promptLength: number;
    trainSize: number;
    valSize: number;
    truncatedCount: number;
    prepared: PreparedTask<E>;
    /** The prompt's values read from the device (an ensemble's with every member in `members`). */
    values(): Promise<PromptValues>;
    /** Frees the prompts and the task's tensors. */
    dispose(): void;
  };

/**
 * Activations kept for the backward pass above which layers are recomputed when the run does not
 * say (TrainingConfig.recomputeLayers absent): wasm's heap is at most 4 GiB and BERT-base at batch 8
 * aborts there with every activation on the tape; a GPU has more room and recomputation costs about a
 * third more compute, so it is turned on only for far larger runs there.
 */
export const AUTO_RECOMPUTE_ABOVE_BYTES: Readonly<Record<'webgpu' | 'other', number>> = { webgpu: 4 * 2 ** 30, other: 512 * 2 ** 20 };

/** Whether a run recomputes layers: as configured, else by the activation estimate for its batch and longest example. */
export function recomputeLayersFor(
  model: Pick<TransformerConfig, 'hiddenSize' | 'hiddenAct' | 'intermediateSize' | 'numHeads' | 'numLayers'>,
  config: Pick<TrainingConfig, 'recomputeLayers' | 'batchSize'>,
  sequenceLength: number,
  backend: string,
): boolean {
  if (config.recomputeLayers !== undefined) return config.recomputeLayers;
  const limit = AUTO_RECOMPUTE_ABOVE_BYTES[backend === 'webgpu' ? 'webgpu' : 'other'];
  return keptActivationBytes(model, config.batchSize, sequenceLength) > limit;
}

/** Trains (or only evaluates) a prompt for `task`; the task is disposed with the result. */
export async function tune<E, V extends EpochValidation, Baseline, Outcome extends object>(
  task: TuningTask<E, V, Baseline, Outcome>,
  model: Pick<TransformerConfig, 'hiddenSize' | 'numLayers' | 'numKeyValueHeads' | 'headDim' | 'hiddenAct' | 'intermediateSize' | 'numHeads'>,
  config: TrainingConfig,
  hooks: TuneHooks<V, Baseline> = {},
  options: TuneOptions<V> = {},
): Promise<TuneResult<E, V, Outcome>> {
  const { prepared } = task;
  const { hiddenSize, numLayers, numKeyValueHeads, headDim } = model;
  const K = config.ensembleSize ?? 1;
  const members: SoftPrompt[] = [];
  try {
    if (options.train === false && prepared.val.length === 0) {
      throw new DataError('evaluating a prompt needs a validation split: set the validation fraction above 0');
    }
    const phase = (stage: string) => startPhase(stage, hooks.control, hooks.onPhase);
    const baseline = await task.baseline(phase('zero-shot baseline'));
    // A stop during the baseline ends the run there: no training, no evaluation.
    const stoppedAtBaseline = stopsSoFar(hooks.control) > 0;
    if (!stoppedAtBaseline) hooks.onBaseline?.(baseline);
    const needs = { length: prepared.promptLength, hiddenSize, numLayers, numKeyValueHeads, headDim, headClasses: task.headClasses, seed: config.seed };
    if (options.initial && !options.resume) {
      // Given values: one prompt, or an ensemble's members as they were exported.
      for (const values of options.initial.members ?? [options.initial]) members.push(promptFromValues(values, needs));
    } else {
      // A resumed run starts from prompts of the run's own method and shapes; the loop then assigns
      // the checkpoint's variables (embeddings, encoder, head; member by member) to them.
      for (let k = 0; k < K; k++) members.push(await task.newPrompt(config.seed + k * ENSEMBLE_SEED_STEP));
    }
    const p = members[0];
    const valuesOf = async (): Promise<PromptValues> => {
      const values = await Promise.all(members.map((m) => m.values()));
      return values.length > 1 ? { ...values[0], members: values } : values[0];
    };
    const { onCheckpoint, onBaseline: _, ...loopHooks } = hooks;
    const loop: LoopResult<V> =
      options.train === false
        ? untrainedLoop<V>()
        : stoppedAtBaseline
          ? { ...untrainedLoop<V>(), stopReason: 'stopped', message: 'stopped by request during the zero-shot baseline, before training' }
          : await runTraining<E, V>(
            {
              variables: members.flatMap((m) => m.trainableVariables()),
              groups: members.length > 1 ? members.map((m) => m.trainableVariables().length) : undefined,
              ...task.objective(members),
            },
            prepared.train,
            { ...config, recomputeLayers: recomputeLayersFor(model, config, prepared.template.maxLength, tf.getBackend()) },
            {
              ...loopHooks,
              onCheckpoint: onCheckpoint ? async (state) => onCheckpoint({ state, prompt: await valuesOf() }) : undefined,
            },
            options.resume,
          );
    const evaluation = phase('final evaluation');
    if (stoppedAtBaseline) evaluation.stopsBefore = 0; // nothing to evaluate: every part ends at once
    const outcome = await task.evaluate(members, baseline, evaluation);
    const stoppedInEvaluation = !stoppedAtBaseline && stopsSoFar(hooks.control) > (evaluation.stopsBefore ?? 0);
    const ending: Partial<Pick<LoopResult<V>, 'stopReason' | 'message'>> = !stoppedInEvaluation
      ? {}
      : loop.stopReason === 'stopped'
        ? { message: `${loop.message}; stopped again during the evaluation that follows, so its results are partial` }
        : { stopReason: 'stopped', message: `stopped by request during the final evaluation, after all ${loop.steps} steps: the prompt is trained; its results are partial` };
    return {
      ...loop, // losses, epochs, stop reason, steps, seconds
      ...ending,
      ...outcome,
      prompt: p,
      members,
      promptLength: prepared.promptLength,
      trainSize: prepared.train.length,
      valSize: prepared.val.length,
      truncatedCount: prepared.truncatedCount,
      prepared,
      values: valuesOf,
      dispose() {
        members.forEach((m) => m.dispose());
        task.dispose();
      },
    };
  } catch (e) {
    members.forEach((m) => m.dispose());
    task.dispose();
    throw e;
  }
}
