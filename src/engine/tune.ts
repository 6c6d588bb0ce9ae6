/**
 * One tuning run, whatever the task: prepare (the task did that), measure the baseline, make the
 * prompt (fresh, from given values, or from a checkpoint), train it with the loop in train.ts,
 * evaluate the kept prompt. Classification and generation implement `TuningTask`; nothing else
 * differs between them here.
 */
import { DataError, type Row } from './data';
import { promptFromValues, type PromptValues, type SoftPrompt } from './softPrompt';
import type { Template } from './template';
import {
  runTraining,
  untrainedLoop,
  type EpochValidation,
  type LoopHooks,
  type LoopResult,
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
  baseline(): Promise<Baseline>;
  /** A fresh prompt as `config.init` says. */
  newPrompt(): Promise<SoftPrompt>;
  /** Batch loss and per-epoch validation for `prompt` (the loop adds its variables). */
  objective(prompt: SoftPrompt): Omit<TuningObjective<E, V>, 'variables'>;
  /** The report on the kept prompt. */
  evaluate(prompt: SoftPrompt, baseline: Baseline): Promise<Outcome>;
  /** Frees what the task holds on the device (a verbalizer's tensors). */
  dispose(): void;
}

/** A checkpoint of a run: the loop's whole state and the prompt it holds. */
export interface TuneCheckpoint<V extends EpochValidation = EpochValidation> {
  state: TrainingState<V>;
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
    prompt: SoftPrompt;
    promptLength: number;
    trainSize: number;
    valSize: number;
    truncatedCount: number;
    prepared: PreparedTask<E>;
    /** Frees the prompt and the task's tensors. */
    dispose(): void;
  };

/** Trains (or only evaluates) a prompt for `task`; the task is disposed with the result. */
export async function tune<E, V extends EpochValidation, Baseline, Outcome extends object>(
  task: TuningTask<E, V, Baseline, Outcome>,
  model: { hiddenSize: number; numLayers: number },
  config: TrainingConfig,
  hooks: TuneHooks<V, Baseline> = {},
  options: TuneOptions<V> = {},
): Promise<TuneResult<E, V, Outcome>> {
  const { prepared } = task;
  const { hiddenSize, numLayers } = model;
  let prompt: SoftPrompt | null = null;
  try {
    if (options.train === false && prepared.val.length === 0) {
      throw new DataError('evaluating a prompt needs a validation split: set the validation fraction above 0');
    }
    const baseline = await task.baseline();
    hooks.onBaseline?.(baseline);
    // A resumed run starts from a prompt of the run's own method and shapes; the loop then assigns the
    // checkpoint's variables (embeddings, encoder, head) to it.
    const p = (prompt =
      options.initial && !options.resume
        ? promptFromValues(options.initial, { length: prepared.promptLength, hiddenSize, numLayers, headClasses: task.headClasses, seed: config.seed })
        : await task.newPrompt());
    const { onCheckpoint, onBaseline: _, ...loopHooks } = hooks;
    const loop =
      options.train === false
        ? untrainedLoop<V>()
        : await runTraining<E, V>(
            { variables: p.trainableVariables(), ...task.objective(p) },
            prepared.train,
            config,
            {
              ...loopHooks,
              onCheckpoint: onCheckpoint ? async (state) => onCheckpoint({ state, prompt: await p.values() }) : undefined,
            },
            options.resume,
          );
    const outcome = await task.evaluate(p, baseline);
    return {
      ...loop, // losses, epochs, stop reason, steps, seconds
      ...outcome,
      prompt: p,
      promptLength: prepared.promptLength,
      trainSize: prepared.train.length,
      valSize: prepared.val.length,
      truncatedCount: prepared.truncatedCount,
      prepared,
      dispose() {
        p.dispose();
        task.dispose();
      },
    };
  } catch (e) {
    prompt?.dispose();
    task.dispose();
    throw e;
  }
}
