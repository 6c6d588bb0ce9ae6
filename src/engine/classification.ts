/**
 * Classification end to end: prepare (template, verbalizer, split), the zero-shot and majority
 * baselines, training, evaluation (loss, accuracy, macro-F1, confusion matrix, per-example
 * predictions) and robustness under perturbed inputs.
 */
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from './languageModel';
import { DataError, requireColumns, stratifiedSplit, type Row } from './data';
import { accuracy, confusionMatrix, macroF1, majorityBaseline } from './metrics';
import { betweenBatches, encodeRows, renamed, unlessStopped, type Phase, type PhaseProgress } from './phase';
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
import type { ClassifierMode, PromptInit } from './types';
import { buildVerbalizer, type LabelWords, type Verbalizer } from './verbalizer';

export type { LanguageModel };

export interface ClassificationData {
  rows: Row[];
  labelColumn: string;
  template: string;
  /** Class -> label words. Required in verbalizer mode; in head mode used for the zero-shot baseline and the 'labels' init. */
  labelWords?: LabelWords;
  /**
   * Validation rows given by the caller (a k-fold sweep's fold): `rows` are then the training rows
   * and no split is drawn (`valFraction` and `seed` do not split them).
   */
  validationRows?: Row[];
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
  // Label words are read where the template predicts: an encoder's template without [MASK] (head mode) has no such place.
  const readable = template.lmKind === 'causal-lm' || template.hasMask;
  const verbalizer =
    labelWords && model.hasLmHead && readable
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

// Encoding progress: encodeRows (phase.ts); the constant stays importable from here.
export { ENCODE_PROGRESS_ROWS } from './phase';

/**
 * Compiles the template and verbalizer, checks the labels, splits and encodes (`onProgress`
 * hears the encoding, as the phase "encoding examples").
 */
export function prepareClassification(lm: LanguageModel, data: ClassificationData, config: TrainingConfig, onProgress?: (progress: PhaseProgress) => void): PreparedClassification {
  const { model, tokenizer } = lm;
  const columns = data.rows.length ? Object.keys(data.rows[0]) : [];
  requireColumns(columns, [data.labelColumn], 'label column');
  const template = compileTemplate(data.template, {
    tokenizer,
    config: model.config,
    columns,
    ...promptLayout(config),
    maxLength: config.maxLength,
    // The head reads [CLS]: a head-mode template needs no [MASK].
    maskRequired: config.mode !== 'head',
  });
  const allRows = data.validationRows ? [...data.rows, ...data.validationRows] : data.rows;
  allRows.forEach((r, i) => {
    if ((r[data.labelColumn] ?? '').length === 0) throw new DataError(`row ${i + 1} has an empty label (column "${data.labelColumn}")`);
  });
  const present = [...new Set(allRows.map((r) => r[data.labelColumn] ?? ''))];
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
  const { train: trainRows, val: valRows } = data.validationRows
    ? { train: data.rows, val: data.validationRows }
    : stratifiedSplit(data.rows, (r) => r[data.labelColumn], config.valFraction, config.seed);
  const encoded = encodeRows(
    [...trainRows, ...valRows],
    (r) => ({ encoded: template.encode(r, { reserve }), label: classes.indexOf(r[data.labelColumn]) }),
    'encoding examples',
    onProgress,
  );
  const train = encoded.slice(0, trainRows.length);
  const val = encoded.slice(trainRows.length);
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

/**
 * Loss and metrics of `examples` under `parts` (no gradients; one readback per batch). A list of
 * parts is a prompt ensemble: its class probabilities are the mean of the members' (Lester et al.).
 */
export async function evaluateClassifier(
  parts: ClassifierParts | readonly ClassifierParts[],
  examples: readonly LabeledExample[],
  classes: readonly string[],
  batchSize = EVAL_BATCH_SIZE,
  /** Reported after each batch; a stop ends the evaluation (StoppedError, see phase.ts). */
  phase?: Phase,
): Promise<ClassificationReport> {
  const members = Array.isArray(parts) ? (parts as readonly ClassifierParts[]) : [parts as ClassifierParts];
  return (await scoreClassifier(members, examples, classes, batchSize, phase, false)).report;
}

/**
 * An ensemble's report and each member's own, from one pass in which every member scores each
 * batch once (its log-softmax gives its own report, its softmax joins the ensemble's mean).
 */
export async function evaluateEnsemble(
  members: readonly ClassifierParts[],
  examples: readonly LabeledExample[],
  classes: readonly string[],
  batchSize = EVAL_BATCH_SIZE,
  phase?: Phase,
): Promise<{ report: ClassificationReport; members: ClassificationReport[] }> {
  const scored = await scoreClassifier(members, examples, classes, batchSize, phase, true);
  return { report: scored.report, members: scored.members };
}

/** Per-row class probabilities and losses accumulated into a report. */
class ReportBuilder {
  private readonly predicted: number[] = [];
  readonly predictions: ExamplePrediction[] = [];
  private lossSum = 0;
  constructor(private readonly classes: readonly string[]) {}
  /** `values` holds B rows of [C probabilities, nll]. */
  add(chunk: readonly LabeledExample[], first: number, values: Float32Array, offset: number): void {
    const C = this.classes.length;
    chunk.forEach((e, b) => {
      const at = offset + b * (C + 1);
      const probs = Array.from(values.subarray(at, at + C));
      const p = probs.indexOf(Math.max(...probs));
      this.predicted.push(p);
      this.lossSum += values[at + C];
      this.predictions.push({ index: first + b, gold: this.classes[e.label], predicted: this.classes[p], probabilities: probs });
    });
  }
  report(examples: readonly LabeledExample[]): ClassificationReport {
    const gold = examples.map((e) => e.label);
    const C = this.classes.length;
    return {
      loss: examples.length ? this.lossSum / examples.length : NaN,
      accuracy: accuracy(this.predicted, gold),
      macroF1: macroF1(this.predicted, gold, C),
      confusionMatrix: confusionMatrix(this.predicted, gold, C),
      predictions: this.predictions,
    };
  }
}

async function scoreClassifier(
  members: readonly ClassifierParts[],
  examples: readonly LabeledExample[],
  classes: readonly string[],
  batchSize: number,
  phase: Phase | undefined,
  withMembers: boolean,
): Promise<{ report: ClassificationReport; members: ClassificationReport[] }> {
  const first = members[0];
  const ensemble = new ReportBuilder(classes);
  // Each member's own report, when asked for and there is more than one member (one member's is the ensemble's).
  const own = withMembers && members.length > 1 ? members.map(() => new ReportBuilder(classes)) : [];
  // Verbalizer mode runs one row per scoring sequence: keep batches about `batchSize` rows.
  const rowsPerExample = first.mode === 'verbalizer' ? (first.verbalizer?.sequences.length ?? 1) : 1;
  const step = Math.max(1, Math.floor(batchSize / rowsPerExample));
  await betweenBatches(phase, 0, examples.length);
  for (let i = 0; i < examples.length; i += step) {
    const chunk = examples.slice(i, i + step);
    const batch = makeClassificationBatch(chunk, first);
    const out = tf.tidy(() => {
      const rowsOf = (logp: tf.Tensor2D) => {
        const nll = tf.neg(tf.sum(tf.mul(batch.labels, logp), -1)); // [B]
        return tf.concat([tf.exp(logp), nll.expandDims(1)], 1); // [B, C + 1]
      };
      // Each member's scores once [B, C]. One member: its log-softmax as it is (exactly what
      // training's loss sees); several: the log of the mean of their probabilities.
      const scores = members.map((m) => classScores(m, batch));
      if (scores.length === 1) return rowsOf(tf.logSoftmax(scores[0]) as tf.Tensor2D);
      const mean = tf.log(tf.div(tf.addN(scores.map((x) => tf.softmax(x))), scores.length)) as tf.Tensor2D;
      return tf.concat([rowsOf(mean), ...(own.length ? scores.map((x) => rowsOf(tf.logSoftmax(x) as tf.Tensor2D)) : [])], 0); // [(1 + K) x B, C + 1]
    });
    batch.dispose();
    const values = (await out.data()) as Float32Array;
    out.dispose();
    const block = chunk.length * (classes.length + 1);
    ensemble.add(chunk, i, values, 0);
    own.forEach((r, k) => r.add(chunk, i, values, (k + 1) * block));
    await betweenBatches(phase, i + chunk.length, examples.length);
  }
  const report = ensemble.report(examples);
  return { report, members: own.length ? own.map((r) => r.report(examples)) : [report] };
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
  /** Validation report with the kept prompt (an ensemble's: mean probabilities); null without a validation split. */
  validation: ClassificationReport | null;
  robustness: RobustnessReport | null;
  /** A prompt ensemble: each member's validation scores and how much they disagree. Null for one prompt. */
  ensemble: EnsembleReport | null;
}

export interface EnsembleReport {
  members: { loss: number; accuracy: number; macroF1: number }[];
  /** Share of validation rows on which the members do not all predict the same class. */
  disagreement: number;
  /** Mean over member pairs of the share of rows on which the two predict differently. */
  pairwiseDisagreement: number;
}

/** Members' validation reports and their disagreement (the diversity an ensemble needs to help). */
function ensembleReport(reports: readonly ClassificationReport[]): EnsembleReport {
  const rows = reports[0]?.predictions.length ?? 0;
  let split = 0;
  for (let i = 0; i < rows; i++) if (new Set(reports.map((r) => r.predictions[i].predicted)).size > 1) split++;
  let pairs = 0;
  let differ = 0;
  for (let a = 0; a < reports.length; a++)
    for (let b = a + 1; b < reports.length; b++) {
      pairs++;
      differ += reports[a].predictions.filter((p, i) => p.predicted !== reports[b].predictions[i].predicted).length / Math.max(1, rows);
    }
  return {
    members: reports.map((r) => ({ loss: r.loss, accuracy: r.accuracy, macroF1: r.macroF1 })),
    disagreement: rows ? split / rows : 0,
    pairwiseDisagreement: pairs ? differ / pairs : 0,
  };
}

export type ClassificationResult = TuneResult<LabeledExample, EpochClassification, ClassificationEvaluation> & { prepared: PreparedClassification };

export type ClassificationHooks = TuneHooks<EpochClassification, ClassificationReport | null>;

/** The init a run uses and, for 'labels', the tokens it embeds. */
export interface InitPlan {
  init: PromptInit;
  /** For 'labels': per class, the ids of its words' first tokens. */
  labelWordIds?: number[][];
  /** Set when 'labels' takes its tokens from elsewhere than scored label words, or gave way to 'vocab': says which. */
  note?: string;
}

/** First tokens (" word", as after a space) of each list's words that the tokenizer knows; undefined when none. */
function firstTokenIds(lm: LanguageModel, lists: readonly (readonly string[])[]): number[][] | undefined {
  const unk = lm.tokenizer.special.unk;
  const perList = lists.map((words) =>
    words.map((w) => lm.tokenizer.encode(' ' + w.trim())[0]).filter((id): id is number => id !== undefined && id !== unk),
  );
  return perList.some((ids) => ids.length > 0) ? perList.filter((ids) => ids.length > 0) : undefined;
}

/**
 * What `config.init` becomes for `setup`. The 'labels' init embeds the label words' first tokens;
 * when the words are not scored (head mode: no words, a checkpoint without an LM head, or an encoder
 * template without [MASK]) it takes them from the label words as written, else from the class names
 * (Lester et al.'s class-label init), and when the tokenizer knows none of those it falls back to
 * 'vocab' (frequent tokens of the training texts). Every fallback is said in `note`.
 */
export function initPlan(lm: LanguageModel, setup: ClassifierSetup, init: PromptInit, labelWords?: LabelWords): InitPlan {
  if (init !== 'labels') return { init };
  if (setup.verbalizer) return { init, labelWordIds: setup.verbalizer.labelWordIds };
  const words = labelWords && Object.values(labelWords).some((ws) => ws.some((w) => w.trim() !== '')) ? firstTokenIds(lm, Object.values(labelWords)) : undefined;
  const unscored = !lm.model.hasLmHead
    ? 'this checkpoint has no LM head to score them'
    : setup.template.lmKind === 'masked-lm' && !setup.template.hasMask
      ? 'the template has no [MASK] to read them at'
      : 'head mode does not score them';
  if (words) return { init, labelWordIds: words, note: `The 'labels' init starts from the label words' first tokens (${unscored}).` };
  const names = firstTokenIds(lm, setup.classes.map((c) => [c]));
  if (names) return { init, labelWordIds: names, note: `Without label words, the 'labels' init starts from the class names (${setup.classes.join(', ')}).` };
  return {
    init: 'vocab',
    note: `Without label words, and with class names this tokenizer does not know (${setup.classes.join(', ')}), the prompt starts from frequent tokens of the training texts (the 'vocab' init) instead of 'labels'.`,
  };
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
export async function zeroShotReport(lm: LanguageModel, prepared: PreparedClassification, rows: readonly Row[], labelColumn: string, phase?: Phase): Promise<ClassificationReport | null> {
  if (!prepared.verbalizer || rows.length === 0) return null;
  const reserve = scoringReserve(prepared, 'verbalizer');
  // Without soft tokens, so encoded again: said as part of the phase, which otherwise starts only once this is done.
  const encode = (r: Row) => ({ encoded: prepared.template.encode(r, { withSoft: false, reserve }), label: prepared.classes.indexOf(r[labelColumn]) });
  const examples = encodeRows(rows, encode, `encoding for the ${phase?.stage}`, phase?.onProgress);
  return evaluateClassifier(partsFor(lm, prepared, null, 'verbalizer'), examples, prepared.classes, EVAL_BATCH_SIZE, phase);
}

/** Each perturbation as a phase's name says it. */
const PERTURBATION_NAMES: Record<Perturbation, string> = { lowercase: 'lower-cased', typos: 'typos', droppedWords: 'dropped words' };

/** Accuracy under each perturbation of the template's columns (seeded), beside clean accuracy. */
export async function robustnessReport(
  lm: LanguageModel,
  prepared: PreparedClassification,
  prompt: SoftPrompt | readonly SoftPrompt[],
  labelColumn: string,
  seed: number,
  /** Its parts report as "<stage>: clean", "<stage>: lower-case", ... */
  phase?: Phase,
): Promise<RobustnessReport | null> {
  if (prepared.valRows.length === 0) return null;
  const parts = (Array.isArray(prompt) ? (prompt as readonly SoftPrompt[]) : [prompt as SoftPrompt]).map((p) => partsFor(lm, prepared, p, prepared.mode));
  const clean = (await evaluateClassifier(parts, prepared.val, prepared.classes, EVAL_BATCH_SIZE, renamed(phase, `${phase?.stage}: clean`))).accuracy;
  const reserve = scoringReserve(prepared, prepared.mode);
  const perturbed = {} as Record<Perturbation, number>;
  for (const kind of PERTURBATIONS) {
    const rng = seededRandom(seed, `perturb-${kind}`);
    const examples = prepared.valRows.map((r) => {
      const row = { ...r };
      for (const c of prepared.template.columns) row[c] = perturbText(r[c] ?? '', kind, rng);
      return { encoded: prepared.template.encode(row, { reserve }), label: prepared.classes.indexOf(r[labelColumn]) };
    });
    perturbed[kind] = (await evaluateClassifier(parts, examples, prepared.classes, EVAL_BATCH_SIZE, renamed(phase, `${phase?.stage}: ${PERTURBATION_NAMES[kind]}`))).accuracy;
  }
  return { clean, perturbed };
}

/** Classification as a tuning task: label words (or a head) read at the mask, cross-entropy over the classes. */
export function classificationTask(
  lm: LanguageModel,
  data: ClassificationData,
  config: TrainingConfig,
  onProgress?: (progress: PhaseProgress) => void,
): TuningTask<LabeledExample, EpochClassification, ClassificationReport | null, ClassificationEvaluation> & { prepared: PreparedClassification } {
  const prepared = prepareClassification(lm, data, config, onProgress);
  const { classes } = prepared;
  const headClasses = config.mode === 'head' ? classes.length : undefined;
  const init = initPlan(lm, prepared, config.init, data.labelWords);
  return {
    prepared,
    headClasses,
    baseline: async (phase) => (await unlessStopped(() => zeroShotReport(lm, prepared, prepared.valRows, data.labelColumn, phase))) ?? null,
    newPrompt: (seed) =>
      createSoftPrompt(lm.model, {
        length: prepared.promptLength,
        init: init.init,
        seed,
        text: config.initText,
        tokenizer: lm.tokenizer,
        labelWordIds: init.labelWordIds,
        frequentTokenIds: tokenFrequencies(prepared.train.map((e) => e.encoded.ids), lm.tokenizer),
        headClasses,
        method: config.method,
        encoderHiddenSize: config.encoderHiddenSize,
        prefixProjection: config.prefixProjection,
        encoderType: config.encoderType,
      }),
    objective(prompts) {
      const parts = prompts.map((p) => partsFor(lm, prepared, p, config.mode));
      return {
        batch(examples) {
          const batch = makeClassificationBatch(examples, parts[0]);
          // An ensemble's members learn independently: the loss is the mean of theirs (see StepOptions.groups).
          const loss = () => (parts.length === 1 ? classificationLoss(parts[0], batch) : tf.tidy(() => tf.div(tf.addN(parts.map((m) => classificationLoss(m, batch))), parts.length) as tf.Scalar));
          return { loss, tokens: batch.realTokens, dispose: batch.dispose };
        },
        validate:
          prepared.val.length > 0
            ? async (phase) => {
                const { predictions: _, ...report } = await evaluateClassifier(parts, prepared.val, classes, EVAL_BATCH_SIZE, phase);
                return report;
              }
            : undefined,
      };
    },
    async evaluate(prompts, zeroShot, phase) {
      const parts = prompts.map((p) => partsFor(lm, prepared, p, config.mode));
      // After a stop (during training) only the validation report is made; a further stop ends it too.
      // An ensemble: every member scores the validation rows once, for its own report and the mean.
      const scored = prepared.val.length ? await unlessStopped(() => evaluateEnsemble(parts, prepared.val, classes, EVAL_BATCH_SIZE, phase)) : null;
      const validation = scored?.report ?? null;
      const ensemble = parts.length > 1 && scored ? ensembleReport(scored.members) : null;
      const robustness = phase?.control?.stopped ? null : await unlessStopped(() => robustnessReport(lm, prepared, prompts, data.labelColumn, config.seed, renamed(phase, 'robustness')));
      const majority = majorityBaseline(
        prepared.train.map((e) => e.label),
        prepared.val.map((e) => e.label),
        classes.length,
      );
      return { classes, zeroShot, majority: { label: classes[majority.classIndex], accuracy: majority.accuracy }, validation, robustness, ensemble };
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
  const task = classificationTask(lm, data, config, hooks.onPhase);
  const result = await tune(task, lm.model.config, config, hooks, options);
  return { ...result, prepared: task.prepared };
}

/** Predictions for new rows with a trained prompt (the studio's "try it" box, the CLI). */
export async function classifyRows(
  lm: LanguageModel,
  prepared: ClassifierSetup,
  prompt: SoftPrompt | readonly SoftPrompt[] | null,
  rows: readonly Row[],
): Promise<ExamplePrediction[]> {
  const mode = prompt ? prepared.mode : 'verbalizer';
  const reserve = scoringReserve(prepared, mode);
  const examples = rows.map((r) => ({ encoded: prepared.template.encode(r, { withSoft: prompt !== null, reserve }), label: 0 }));
  const members = prompt === null ? [null] : Array.isArray(prompt) ? (prompt as readonly SoftPrompt[]) : [prompt as SoftPrompt];
  const report = await evaluateClassifier(members.map((p) => partsFor(lm, prepared, p, mode)), examples, prepared.classes);
  return report.predictions.map((p) => ({ ...p, gold: '' }));
}
