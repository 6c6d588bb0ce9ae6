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
import { createSoftPrompt, tokenFrequencies, type SoftPrompt } from './softPrompt';
import {
  classificationLoss,
  classScores,
  makeClassificationBatch,
  type ClassifierParts,
  type LabeledExample,
} from './step';
import { compileTemplate, type Template } from './template';
import { promptLayout, type TrainingConfig } from './train';
import { tune, type PreparedTask, type TuneHooks, type TuneOptions, type TuneResult, type TuningTask } from './tune';
import type { ClassifierMode } from './types';
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

/**
 * What turns rows into class probabilities besides the prompt: the compiled template, the label
 * words' verbalizer (or the head mode) and the class order. Training, evaluation, the playground
 * and imported prompts all score through one of these.
 */
export interface ClassifierSetup {
  template: Template;
  /** Null without label words, or for a checkpoint without an LM head. */
  verbalizer: Verbalizer | null;
  classes: string[];
  mode: ClassifierMode;
}

/** A setup for `template`; the classes are the label words' (or `classes` in head mode without words). Dispose the verbalizer. */
export function classifierSetup(
  lm: LanguageModel,
  template: Template,
  options: { mode: ClassifierMode; labelWords?: LabelWords; classes?: readonly string[] },
): ClassifierSetup {
  const { model, tokenizer } = lm;
  const labelWords = options.labelWords && Object.keys(options.labelWords).length ? options.labelWords : undefined;
  if (options.mode === 'verbalizer' && !labelWords) throw new DataError('verbalizer mode needs label words for each class');
  if (options.mode === 'verbalizer' && !model.hasLmHead) {
    throw new DataError('this checkpoint has no LM head, so label words cannot be scored: use the linear-head mode');
  }
  const verbalizer =
    labelWords && model.hasLmHead
      ? buildVerbalizer(labelWords, tokenizer, { spaceBefore: template.spaceBeforePrediction, vocabSize: model.config.vocabSize, lmKind: model.config.lmKind })
      : null;
  return { template, verbalizer, classes: labelWords ? Object.keys(labelWords) : [...(options.classes ?? [])], mode: options.mode };
}

/**
 * Positions to keep free when encoding for `mode`: label words of k tokens are scored on the
 * template plus k-1 more positions (verbalizer.ts), which must still fit the model.
 */
export function scoringReserve(setup: ClassifierSetup, mode: ClassifierMode): number {
  return mode === 'verbalizer' ? (setup.verbalizer?.extraPositions ?? 0) : 0;
}

export interface PreparedClassification extends PreparedTask<LabeledExample>, ClassifierSetup {}

/** Compiles the template and verbalizer, checks the labels, splits and encodes. */
export function prepareClassification(lm: LanguageModel, data: ClassificationData, config: TrainingConfig): PreparedClassification {
  const { model, tokenizer } = lm;
  const columns = data.rows.length ? Object.keys(data.rows[0]) : [];
  requireColumns(columns, [data.labelColumn], 'label column');
  const template = compileTemplate(data.template, {
    tokenizer,
    config: model.config,
    columns,
    ...promptLayout(config),
    maxLength: config.maxLength,
  });
  data.rows.forEach((r, i) => {
    if ((r[data.labelColumn] ?? '').length === 0) throw new DataError(`row ${i + 1} has an empty label (column "${data.labelColumn}")`);
  });
  const present = [...new Set(data.rows.map((r) => r[data.labelColumn] ?? ''))];
  const setup = classifierSetup(lm, template, { mode: config.mode, labelWords: data.labelWords, classes: present.sort() });
  const { classes } = setup;
  const reserve = scoringReserve(setup, config.mode);
  try {
    const unknown = present.filter((l) => !classes.includes(l));
    if (unknown.length) {
      throw new DataError(`labels ${unknown.map((l) => `"${l}"`).join(', ')} have no label words (classes with label words: ${classes.join(', ')})`);
    }
    if (classes.length < 2) throw new DataError(`classification needs at least two classes; column "${data.labelColumn}" has ${classes.length}`);
  } catch (e) {
    setup.verbalizer?.dispose();
    throw e;
  }
  const { train: trainRows, val: valRows } = stratifiedSplit(data.rows, (r) => r[data.labelColumn], config.valFraction, config.seed);
  const encode = (rows: Row[]) => rows.map((r) => ({ encoded: template.encode(r, { reserve }), label: classes.indexOf(r[data.labelColumn]) }));
  const train = encode(trainRows);
  const val = encode(valRows);
  return {
    ...setup,
    trainRows,
    valRows,
    train,
    val,
    truncatedCount: [...train, ...val].filter((e) => e.encoded.truncated).length,
    promptLength: config.method === 'prefix' ? config.promptLength : template.softCount,
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
  // Verbalizer mode runs one row per scoring sequence: keep batches about `batchSize` rows.
  const rowsPerExample = parts.mode === 'verbalizer' ? (parts.verbalizer?.sequences.length ?? 1) : 1;
  const step = Math.max(1, Math.floor(batchSize / rowsPerExample));
  for (let i = 0; i < examples.length; i += step) {
    const chunk = examples.slice(i, i + step);
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

/** What classification reports after tuning (beside the loop's record and the prompt). */
export interface ClassificationEvaluation {
  classes: string[];
  /** Template + label words, no soft prompt, on the same validation split; null without label words or validation. */
  zeroShot: ClassificationReport | null;
  majority: { label: string; accuracy: number };
  /** Validation report with the kept prompt; null without a validation split. */
  validation: ClassificationReport | null;
  robustness: RobustnessReport | null;
}

export type ClassificationResult = TuneResult<LabeledExample, EpochClassification, ClassificationEvaluation> & { prepared: PreparedClassification };

export type ClassificationHooks = TuneHooks<EpochClassification, ClassificationReport | null>;

/**
 * Head mode without label words: the 'labels' init uses the class names themselves (their first
 * token, when the tokenizer knows it), which is what Lester et al.'s class-label init is.
 */
function classNameIds(lm: LanguageModel, classes: readonly string[]): number[][] | undefined {
  const unk = lm.tokenizer.special.unk;
  const ids = classes.map((c) => lm.tokenizer.encode(' ' + c)[0]).filter((id) => id !== undefined && id !== unk);
  return ids.length ? ids.map((id) => [id]) : undefined;
}

function partsFor(lm: LanguageModel, prepared: ClassifierSetup, prompt: SoftPrompt | null, mode: ClassifierMode): ClassifierParts {
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
  const reserve = scoringReserve(prepared, 'verbalizer');
  const examples = rows.map((r) => ({ encoded: prepared.template.encode(r, { withSoft: false, reserve }), label: prepared.classes.indexOf(r[labelColumn]) }));
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
  const reserve = scoringReserve(prepared, prepared.mode);
  const perturbed = {} as Record<Perturbation, number>;
  for (const kind of PERTURBATIONS) {
    const rng = seededRandom(seed, `perturb-${kind}`);
    const examples = prepared.valRows.map((r) => {
      const row = { ...r };
      for (const c of prepared.template.columns) row[c] = perturbText(r[c] ?? '', kind, rng);
      return { encoded: prepared.template.encode(row, { reserve }), label: prepared.classes.indexOf(r[labelColumn]) };
    });
    perturbed[kind] = (await evaluateClassifier(parts, examples, prepared.classes)).accuracy;
  }
  return { clean, perturbed };
}

/** Classification as a tuning task: label words (or a head) read at the mask, cross-entropy over the classes. */
export function classificationTask(
  lm: LanguageModel,
  data: ClassificationData,
  config: TrainingConfig,
): TuningTask<LabeledExample, EpochClassification, ClassificationReport | null, ClassificationEvaluation> & { prepared: PreparedClassification } {
  const prepared = prepareClassification(lm, data, config);
  const { classes } = prepared;
  const headClasses = config.mode === 'head' ? classes.length : undefined;
  return {
    prepared,
    headClasses,
    baseline: () => zeroShotReport(lm, prepared, prepared.valRows, data.labelColumn),
    newPrompt: () =>
      createSoftPrompt(lm.model, {
        length: prepared.promptLength,
        init: config.init,
        seed: config.seed,
        text: config.initText,
        tokenizer: lm.tokenizer,
        labelWordIds: prepared.verbalizer?.labelWordIds ?? classNameIds(lm, classes),
        frequentTokenIds: tokenFrequencies(prepared.train.map((e) => e.encoded.ids), lm.tokenizer),
        headClasses,
        method: config.method,
        encoderHiddenSize: config.encoderHiddenSize,
        prefixProjection: config.prefixProjection,
      }),
    objective(prompt) {
      const parts = partsFor(lm, prepared, prompt, config.mode);
      return {
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
      };
    },
    async evaluate(prompt, zeroShot) {
      const parts = partsFor(lm, prepared, prompt, config.mode);
      const validation = prepared.val.length ? await evaluateClassifier(parts, prepared.val, classes) : null;
      const robustness = await robustnessReport(lm, prepared, prompt, data.labelColumn, config.seed);
      const majority = majorityBaseline(
        prepared.train.map((e) => e.label),
        prepared.val.map((e) => e.label),
        classes.length,
      );
      return { classes, zeroShot, majority: { label: classes[majority.classIndex], accuracy: majority.accuracy }, validation, robustness };
    },
    dispose: () => prepared.verbalizer?.dispose(),
  };
}

/**
 * Prepares, measures the baselines, trains the prompt (or prompt + head), evaluates. With
 * `options.initial` it starts from those values, with `options.resume` it continues a checkpoint;
 * with `options.train === false` it only evaluates the starting prompt.
 */
export async function trainClassifier(
  lm: LanguageModel,
  data: ClassificationData,
  config: TrainingConfig,
  hooks: ClassificationHooks = {},
  options: TuneOptions<EpochClassification> = {},
): Promise<ClassificationResult> {
  const task = classificationTask(lm, data, config);
  const result = await tune(task, lm.model.config, config, hooks, options);
  return { ...result, prepared: task.prepared };
}

/** Predictions for new rows with a trained prompt (the studio's "try it" box, the CLI). */
export async function classifyRows(
  lm: LanguageModel,
  prepared: ClassifierSetup,
  prompt: SoftPrompt | null,
  rows: readonly Row[],
): Promise<ExamplePrediction[]> {
  const mode = prompt ? prepared.mode : 'verbalizer';
  const reserve = scoringReserve(prepared, mode);
  const examples = rows.map((r) => ({ encoded: prepared.template.encode(r, { withSoft: prompt !== null, reserve }), label: 0 }));
  const report = await evaluateClassifier(partsFor(lm, prepared, prompt, mode), examples, prepared.classes);
  return report.predictions.map((p) => ({ ...p, gold: '' }));
}
