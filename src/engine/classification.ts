/**
 * Classification end to end: prepare (template, verbalizer, split), the zero-shot and majority
 * baselines, training, evaluation (loss, accuracy, macro-F1, confusion matrix, per-example
 * predictions) and robustness under perturbed inputs.
 */
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from './languageModel';
import { DataError, requireColumns, stratifiedSplit, type Row } from './data';
import { accuracy, confusionMatrix, macroF1, majorityBaseline } from './metrics';
import { PERTURBATIONS, perturbText, type Perturbation } from './perturb';
import { seededRandom } from './random';
import { createSoftPrompt, promptFromValues, tokenFrequencies, type PromptValues, type SoftPrompt, type TuneOptions } from './softPrompt';
import {
  classificationLoss,
  classScores,
  makeClassificationBatch,
  type ClassifierMode,
  type ClassifierParts,
  type LabeledExample,
} from './step';
import { compileTemplate, type Template } from './template';
import { runTraining, untrainedLoop, type LoopHooks, type LoopResult, type TrainingConfig } from './train';
import { buildVerbalizer, type LabelWords, type Verbalizer } from './verbalizer';

export type { LanguageModel };

export interface ClassificationData {
  rows: Row[];
  labelColumn: string;
  template: string;
  /** Class -> label words. Required in verbalizer mode; in head mode used for the zero-shot baseline and the 'labels' init. */
  labelWords?: LabelWords;
}

/** Evaluation batches are this big (no gradients, so larger than training batches is fine). */
export const EVAL_BATCH_SIZE = 32;

export interface PreparedClassification {
  template: Template;
  verbalizer: Verbalizer | null;
  classes: string[];
  trainRows: Row[];
  valRows: Row[];
  train: LabeledExample[];
  val: LabeledExample[];
  /** Rows (train + validation) whose column text was cut to fit. */
  truncatedCount: number;
  /** Soft tokens N (from the template's slots, or `config.promptLength`). */
  promptLength: number;
  mode: ClassifierMode;
}

/** Compiles the template and verbalizer, checks the labels, splits and encodes. */
export function prepareClassification(lm: LanguageModel, data: ClassificationData, config: TrainingConfig): PreparedClassification {
  const { model, tokenizer } = lm;
  const columns = data.rows.length ? Object.keys(data.rows[0]) : [];
  requireColumns(columns, [data.labelColumn], 'label column');
  const template = compileTemplate(data.template, {
    tokenizer,
    config: model.config,
    columns,
    promptLength: config.promptLength,
    maxLength: config.maxLength,
  });
  if (config.mode === 'verbalizer' && !data.labelWords) throw new DataError('verbalizer mode needs label words for each class');
  if (config.mode === 'verbalizer' && !model.hasLmHead) {
    throw new DataError('this checkpoint has no LM head, so label words cannot be scored: use the linear-head mode');
  }
  const verbalizer =
    data.labelWords && model.hasLmHead
      ? buildVerbalizer(data.labelWords, tokenizer, { spaceBefore: template.spaceBeforePrediction, vocabSize: model.config.vocabSize })
      : null;
  const present = [...new Set(data.rows.map((r) => r[data.labelColumn] ?? ''))];
  data.rows.forEach((r, i) => {
    if ((r[data.labelColumn] ?? '').length === 0) throw new DataError(`row ${i + 1} has an empty label (column "${data.labelColumn}")`);
  });
  const classes = data.labelWords ? Object.keys(data.labelWords) : present.sort();
  const unknown = present.filter((l) => !classes.includes(l));
  if (unknown.length) {
    throw new DataError(`labels ${unknown.map((l) => `"${l}"`).join(', ')} have no label words (classes with label words: ${classes.join(', ')})`);
  }
  if (classes.length < 2) throw new DataError(`classification needs at least two classes; column "${data.labelColumn}" has ${classes.length}`);
  const { train: trainRows, val: valRows } = stratifiedSplit(data.rows, (r) => r[data.labelColumn], config.valFraction, config.seed);
  const encode = (rows: Row[]) => rows.map((r) => ({ encoded: template.encode(r), label: classes.indexOf(r[data.labelColumn]) }));
  const train = encode(trainRows);
  const val = encode(valRows);
  return {
    template,
    verbalizer,
    classes,
    trainRows,
    valRows,
    train,
    val,
    truncatedCount: [...train, ...val].filter((e) => e.encoded.truncated).length,
    promptLength: template.softCount,
    mode: config.mode,
  };
}

export interface ExamplePrediction {
  /** Index into the evaluated rows. */
  index: number;
  gold: string;
  predicted: string;
  /** Softmax over class scores, in class order. */
  probabilities: number[];
}

export interface ClassificationReport {
  loss: number;
  accuracy: number;
  macroF1: number;
  /** counts[gold][predicted], in class order. */
  confusionMatrix: number[][];
  predictions: ExamplePrediction[];
}

/** Loss and metrics of `examples` under `parts` (no gradients; one readback per batch). */
export async function evaluateClassifier(
  parts: ClassifierParts,
  examples: readonly LabeledExample[],
  classes: readonly string[],
  batchSize = EVAL_BATCH_SIZE,
): Promise<ClassificationReport> {
  const predicted: number[] = [];
  const predictions: ExamplePrediction[] = [];
  let lossSum = 0;
  for (let i = 0; i < examples.length; i += batchSize) {
    const chunk = examples.slice(i, i + batchSize);
    const batch = makeClassificationBatch(chunk, parts);
    const out = tf.tidy(() => {
      const scores = classScores(parts, batch);
      const logp = tf.logSoftmax(scores);
      const nll = tf.neg(tf.sum(tf.mul(batch.labels, logp), -1)); // [B]
      return tf.concat([tf.exp(logp), nll.expandDims(1)], 1); // [B, C + 1]
    });
    batch.dispose();
    const values = await out.data();
    out.dispose();
    const C = classes.length;
    chunk.forEach((e, b) => {
      const probs = Array.from(values.slice(b * (C + 1), b * (C + 1) + C));
      const p = probs.indexOf(Math.max(...probs));
      predicted.push(p);
      lossSum += values[b * (C + 1) + C];
      predictions.push({ index: i + b, gold: classes[e.label], predicted: classes[p], probabilities: probs });
    });
  }
  const gold = examples.map((e) => e.label);
  return {
    loss: examples.length ? lossSum / examples.length : NaN,
    accuracy: accuracy(predicted, gold),
    macroF1: macroF1(predicted, gold, classes.length),
    confusionMatrix: confusionMatrix(predicted, gold, classes.length),
    predictions,
  };
}

/** Per-epoch validation: the report without per-example predictions. */
export type EpochClassification = Omit<ClassificationReport, 'predictions'>;

export interface RobustnessReport {
  clean: number;
  /** Accuracy on the validation split with every template column perturbed. */
  perturbed: Record<Perturbation, number>;
}

/** The loop's record (losses, epochs, stop reason, steps, seconds) and what the task adds. */
export interface ClassificationResult extends LoopResult<EpochClassification> {
  classes: string[];
  prompt: SoftPrompt;
  promptLength: number;
  trainSize: number;
  valSize: number;
  truncatedCount: number;
  /** Template + label words, no soft prompt, on the same validation split; null without label words or validation. */
  zeroShot: ClassificationReport | null;
  majority: { label: string; accuracy: number };
  /** Validation report with the kept prompt; null without a validation split. */
  validation: ClassificationReport | null;
  robustness: RobustnessReport | null;
  /** Frees the prompt and the verbalizer's tensors. */
  dispose(): void;
  prepared: PreparedClassification;
}

export interface ClassificationHooks extends LoopHooks<EpochClassification> {
  /** Before training: the zero-shot report (or null). */
  onZeroShot?(report: ClassificationReport | null): void;
}

/**
 * Head mode without label words: the 'labels' init uses the class names themselves (their first
 * token, when the tokenizer knows it), which is what Lester et al.'s class-label init is.
 */
function classNameIds(lm: LanguageModel, classes: readonly string[]): number[][] | undefined {
  const unk = lm.tokenizer.special.unk;
  const ids = classes.map((c) => lm.tokenizer.encode(' ' + c)[0]).filter((id) => id !== undefined && id !== unk);
  return ids.length ? ids.map((id) => [id]) : undefined;
}

function partsFor(lm: LanguageModel, prepared: PreparedClassification, prompt: SoftPrompt | null, mode: ClassifierMode): ClassifierParts {
  return {
    model: lm.model,
    mode,
    verbalizer: prepared.verbalizer,
    prompt,
    numClasses: prepared.classes.length,
    padId: lm.tokenizer.special.pad ?? 0,
  };
}

/** The zero-shot baseline: template + label words, soft slots left out. */
export async function zeroShotReport(lm: LanguageModel, prepared: PreparedClassification, rows: readonly Row[], labelColumn: string): Promise<ClassificationReport | null> {
  if (!prepared.verbalizer || rows.length === 0) return null;
  const examples = rows.map((r) => ({ encoded: prepared.template.encode(r, { withSoft: false }), label: prepared.classes.indexOf(r[labelColumn]) }));
  return evaluateClassifier(partsFor(lm, prepared, null, 'verbalizer'), examples, prepared.classes);
}

/** Accuracy under each perturbation of the template's columns (seeded), beside clean accuracy. */
export async function robustnessReport(
  lm: LanguageModel,
  prepared: PreparedClassification,
  prompt: SoftPrompt,
  labelColumn: string,
  seed: number,
): Promise<RobustnessReport | null> {
  if (prepared.valRows.length === 0) return null;
  const parts = partsFor(lm, prepared, prompt, prepared.mode);
  const clean = (await evaluateClassifier(parts, prepared.val, prepared.classes)).accuracy;
  const perturbed = {} as Record<Perturbation, number>;
  for (const kind of PERTURBATIONS) {
    const rng = seededRandom(seed, `perturb-${kind}`);
    const examples = prepared.valRows.map((r) => {
      const row = { ...r };
      for (const c of prepared.template.columns) row[c] = perturbText(r[c] ?? '', kind, rng);
      return { encoded: prepared.template.encode(row), label: prepared.classes.indexOf(r[labelColumn]) };
    });
    perturbed[kind] = (await evaluateClassifier(parts, examples, prepared.classes)).accuracy;
  }
  return { clean, perturbed };
}

/** The run's prompt: `options.initial` when given, else a fresh one from `config.init`. */
async function classificationPrompt(lm: LanguageModel, prepared: PreparedClassification, config: TrainingConfig, initial?: PromptValues): Promise<SoftPrompt> {
  const headClasses = config.mode === 'head' ? prepared.classes.length : undefined;
  if (initial) return promptFromValues(initial, { length: prepared.promptLength, hiddenSize: lm.model.config.hiddenSize, headClasses, seed: config.seed });
  return createSoftPrompt(lm.model, {
    length: prepared.promptLength,
    init: config.init,
    seed: config.seed,
    text: config.initText,
    tokenizer: lm.tokenizer,
    labelWordIds: prepared.verbalizer?.labelWordIds ?? classNameIds(lm, prepared.classes),
    frequentTokenIds: tokenFrequencies(prepared.train.map((e) => e.encoded.ids), lm.tokenizer),
    headClasses,
  });
}

/**
 * Prepares, measures the baselines, trains the prompt (or prompt + head), evaluates. With
 * `options.initial` it starts from those values; with `options.train === false` it only evaluates them.
 */
export async function trainClassifier(
  lm: LanguageModel,
  data: ClassificationData,
  config: TrainingConfig,
  hooks: ClassificationHooks = {},
  options: TuneOptions = {},
): Promise<ClassificationResult> {
  const prepared = prepareClassification(lm, data, config);
  const { classes } = prepared;
  let prompt: SoftPrompt | null = null;
  try {
    if (options.train === false && prepared.val.length === 0) {
      throw new DataError('evaluating a prompt needs a validation split: set the validation fraction above 0');
    }
    const zeroShot = await zeroShotReport(lm, prepared, prepared.valRows, data.labelColumn);
    hooks.onZeroShot?.(zeroShot);
    const p = (prompt = await classificationPrompt(lm, prepared, config, options.initial));
    options.onPrompt?.(p);
    const parts = partsFor(lm, prepared, p, config.mode);
    const loop =
      options.train === false
        ? untrainedLoop<EpochClassification>()
        : await runTraining<LabeledExample, EpochClassification>(
            {
              variables: p.trainableVariables(),
              batch(examples) {
                const batch = makeClassificationBatch(examples, parts);
                return { loss: () => classificationLoss(parts, batch), tokens: batch.realTokens, dispose: batch.dispose };
              },
              validate:
                prepared.val.length > 0
                  ? async () => {
                      const { predictions: _, ...report } = await evaluateClassifier(parts, prepared.val, classes);
                      return report;
                    }
                  : undefined,
              snapshot: () => p.snapshot(),
              restore: (s) => p.restore(s),
            },
            prepared.train,
            config,
            hooks,
          );
    const validation = prepared.val.length ? await evaluateClassifier(parts, prepared.val, classes) : null;
    const robustness = await robustnessReport(lm, prepared, p, data.labelColumn, config.seed);
    const majority = majorityBaseline(
      prepared.train.map((e) => e.label),
      prepared.val.map((e) => e.label),
      classes.length,
    );
    return {
      classes,
      prompt: p,
      promptLength: prepared.promptLength,
      trainSize: prepared.train.length,
      valSize: prepared.val.length,
      truncatedCount: prepared.truncatedCount,
      ...loop, // losses, epochs, stop reason, steps, seconds
      zeroShot,
      majority: { label: classes[majority.classIndex], accuracy: majority.accuracy },
      validation,
      robustness,
      prepared,
      dispose() {
        p.dispose();
        prepared.verbalizer?.dispose();
      },
    };
  } catch (e) {
    prompt?.dispose();
    prepared.verbalizer?.dispose();
    throw e;
  }
}

/** Predictions for new rows with a trained prompt (the studio's "try it" box, the CLI). */
export async function classifyRows(
  lm: LanguageModel,
  prepared: PreparedClassification,
  prompt: SoftPrompt | null,
  rows: readonly Row[],
): Promise<ExamplePrediction[]> {
  const examples = rows.map((r) => ({ encoded: prepared.template.encode(r, { withSoft: prompt !== null }), label: 0 }));
  const report = await evaluateClassifier(partsFor(lm, prepared, prompt, prompt ? prepared.mode : 'verbalizer'), examples, prepared.classes);
  return report.predictions.map((p) => ({ ...p, gold: '' }));
}
