/**
 * Payloads and results of the studio's request kinds (data, templates, label words, training,
 * evaluation, playground, export and import). Data only: the engine types used here are imported
 * with `import type`, so nothing from the engine runs on the UI side.
 */
import type { ImportedFormat, ProjectMetrics, PromptCompatibility, PromptExportMetadata, PromptVectors } from '../engine/export';
import type { GenerationScores } from '../engine/generation';
import type { EnsembleReport } from '../engine/classification';
import type { PromptValues } from '../engine/softPrompt';
import type { EpochValidation, LoopResult, StopReason, TrainingConfig, TrainingMetrics, TrainingState } from '../engine/train';
import type { Perturbation } from '../engine/perturb';
import type { ClassifierMode, PromptEncoderType, PromptInit, PromptMethod, PromptPlacement, TaskKind } from '../engine/types';
import type { PhaseProgress } from '../engine/phase';
import type { LmKind } from '../model/types';
import type { SweepEvent } from './sweep';

export type { TrainingMetrics, TrainingState };
export type { PromptCompatibility, PromptEncoderType, PromptExportMetadata, PromptInit, PromptMethod, PromptValues, PromptVectors, StopReason, TaskKind, TrainingConfig, Perturbation };

// ---------------------------------------------------------------------------------------------
// Datasets

/** Where a CSV comes from: a picked or dropped file, pasted text, or a sample served with the page. */
export type DatasetSource =
  | { kind: 'file'; file: File }
  | { kind: 'text'; name: string; text: string }
  | { kind: 'url'; name: string; url: string }
  /** A file's bytes read by the caller (the CLI), decoded like a picked file. */
  | { kind: 'bytes'; name: string; bytes: Uint8Array };

export interface LoadDatasetPayload {
  source: DatasetSource;
}

/** Some rows, by their spreadsheet row number (the header is row 1, the first data row is row 2). */
export interface RowIssues {
  count: number;
  /** The first row numbers (at most `MAX_LISTED_ROWS`). */
  rows: number[];
}

/** How many row numbers an issue list carries; `count` says how many there are in all. */
export const MAX_LISTED_ROWS = 200;

export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

export interface DatasetInfo {
  name: string;
  bytes: number;
  encoding: TextEncodingName;
  /** What the user should know although the file loaded: an encoding fallback, renamed columns. */
  notices: string[];
  /** The detected field delimiter: ",", ";" or "\t". */
  delimiter: string;
  columns: string[];
  /** Data rows kept (malformed rows excluded). */
  rowCount: number;
  /** The first rows, cells in column order. */
  preview: { row: number; cells: string[] }[];
  /** Rows whose number of fields differs from the header's: not loaded, listed here. */
  malformedRows: RowIssues;
  /** Per column, the rows where that cell is empty (after trimming). */
  emptyCells: Record<string, RowIssues>;
}

export interface DatasetStatsPayload {
  task: TaskKind;
  /** Label column (classification) or target column (generation). */
  labelColumn: string;
  /** The input columns (the template's placeholders). */
  textColumns: string[];
  valFraction: number;
  seed: number;
}

export interface ClassCount {
  name: string;
  count: number;
  train: number;
  val: number;
}

export interface DatasetStats {
  /** Rows used for training and validation. */
  kept: number;
  train: number;
  val: number;
  /** Rows left out because the label/target cell is empty. */
  emptyLabel: RowIssues;
  /** Rows left out because a text column is empty (and the label is not). */
  emptyText: RowIssues;
  /** Classification: classes by descending count (at most `MAX_LISTED_CLASSES`). */
  classes: ClassCount[];
  /** Distinct labels in all (may exceed `classes.length`). */
  distinctLabels: number;
}

export const MAX_LISTED_CLASSES = 50;

export type TrainingWarningKind = 'one-class' | 'no-validation' | 'small-classes' | 'no-text';

/** Data that would train nonsense (src/session/warnings.ts): the CLI stops on it unless forced, the page asks first. */
export interface TrainingWarning {
  kind: TrainingWarningKind;
  message: string;
}

export interface TrainingWarningsPayload extends DatasetStatsPayload {
  template: string;
}

// ---------------------------------------------------------------------------------------------
// Tasks: what is trained, on which columns

export type TaskSpec =
  | {
      task: 'classification';
      template: string;
      labelColumn: string;
      textColumns: string[];
      /** Class -> label words. Required in verbalizer mode; optional in head mode (zero-shot, 'labels' init). */
      labelWords?: Record<string, string[]>;
    }
  | {
      task: 'generation';
      template: string;
      targetColumn: string;
      textColumns: string[];
    };

// ---------------------------------------------------------------------------------------------
// Template preview and label words

export interface PreviewTemplatePayload {
  task: TaskKind;
  template: string;
  /** Generation: the target column (shown after the template, and never allowed inside it). */
  targetColumn?: string;
  promptLength: number;
  maxLength?: number;
  /** Classification's mode: in head mode an encoder's template needs no [MASK] (the head reads [CLS]). Absent: label words. */
  mode?: ClassifierMode;
  /** How many rows to render (from the first). */
  count: number;
}

export type PreviewTokenKind = 'token' | 'special' | 'soft' | 'mask' | 'target';

export interface PreviewToken {
  text: string;
  kind: PreviewTokenKind;
}

export interface PreviewExample {
  row: number;
  tokens: PreviewToken[];
  /** Tokens the model reads (soft tokens included, target excluded). */
  tokenCount: number;
  /** A column's text was cut to fit the model's positions. */
  truncated: boolean;
}

export interface TemplatePreview {
  lmKind: LmKind;
  softCount: number;
  /** Tokens the template takes besides column text. */
  fixedLength: number;
  maxLength: number;
  placement: PromptPlacement;
  /** The predicted word follows a space (byte-level BPE: label words are encoded as " word"). */
  spaceBeforePrediction: boolean;
  examples: PreviewExample[];
  /** Rows tokenised for the counts below (the first ones, at most `MAX_PREVIEW_STATS_ROWS`). */
  checkedRows: number;
  truncatedRows: number;
  meanTokens: number;
  maxTokens: number;
}

export const MAX_PREVIEW_STATS_ROWS = 2000;

export interface CheckLabelWordsPayload {
  template: string;
  promptLength: number;
  labelWords: Record<string, string[]>;
  /**
   * Head mode: words that cannot be scored (no LM head, or an encoder template without [MASK]) are
   * no error, only a note that they seed the 'labels' init. Absent: label words.
   */
  mode?: ClassifierMode;
}

export interface LabelWordProblem {
  /** The class the problem belongs to, when it belongs to one. */
  className: string | null;
  message: string;
}

export interface LabelWordsCheck {
  /** Errors: training refuses these words. */
  problems: LabelWordProblem[];
  /** Allowed but worth a second look: two classes' words that differ only in length ("good" / "goods"). */
  warnings: LabelWordProblem[];
  /** Words longer than one token: scored by all their tokens, shown so the user sees how. */
  multiTokenWords: { className: string; word: string; tokens: string[] }[];
  /** Rows the model runs per example to score the words: 1 when every word is one token. */
  sequencesPerExample: number;
}

export interface SuggestLabelWordsPayload {
  template: string;
  labelColumn: string;
  textColumns: string[];
  valFraction: number;
  seed: number;
  topK: number;
}

export interface SuggestedLabelWord {
  word: string;
  /** How many standard deviations log P(word) rises on this class's rows against the other classes' (the ranking). */
  score: number;
  /** That rise in nats: exp(rise) is how many times likelier the word is there (geometric mean). */
  rise: number;
  /** Mean P(word) at the prediction point over this class's rows. */
  meanProbability: number;
  /** Zero-shot accuracy on the examined rows with this word for its class and every other class's top word; null when a class has no candidate. */
  accuracy: number | null;
}

export interface LabelWordSuggestions {
  /** Per class, its candidates, best first (possibly none). */
  classes: Record<string, SuggestedLabelWord[]>;
  /** The top k words of every class (k = 1, 2, ...) with the zero-shot accuracy each set gives on the examined rows. */
  sets: { wordsPerClass: number; words: Record<string, string[]>; accuracy: number }[];
  /** Index into `sets` of the most accurate set; null when some class has no candidate. */
  best: number | null;
  /** Training-split rows the suggestion looked at. */
  examples: number;
  /** Always answering the most frequent class of those rows. */
  majority: { label: string; accuracy: number };
  /** Every class has a word that clearly rises for it and the best set beats the majority class by more than chance. */
  convincing: boolean;
  /** Why (not) convincing, in words. */
  verdict: string;
}

// ---------------------------------------------------------------------------------------------
// Training and results

export interface TrainPayload {
  /** The UI's id for the run; pause/resume/stop name it. */
  runId: string;
  spec: TaskSpec;
  config: TrainingConfig;
  /** Start from these values instead of `config.init` (continuing an imported prompt). */
  initial?: PromptValues;
  /** Continue the run this state was checkpointed from (the same spec, config and dataset). */
  resume?: TrainingState;
  /** Also checkpoint every this many steps (every epoch always). */
  checkpointEverySteps?: number;
}

/**
 * What the metrics events of a training request carry, told apart by `series`: the loop's step
 * metrics (throttled; `losses` holds every step's loss since the previous one), each epoch's
 * validation, and the zero-shot baseline before training.
 */
export type TrainingEvent =
  | ({ series: 'step' } & TrainingMetrics)
  | ({ series: 'epoch'; /** Steps done at the epoch's end. */ step: number } & EpochMetrics)
  | { series: 'zeroShot'; loss: number; accuracy: number; macroF1: number }
  /** How far a phase besides the steps is (the zero-shot baseline, an epoch's validation, the final evaluation, robustness). */
  | ({ series: 'phase' } & PhaseProgress)
  /** A sweep's: a trial begins or ends, the winner's held-out test (src/shared/sweep.ts). */
  | SweepEvent;

export interface CheckTrainingPayload {
  spec: TaskSpec;
  config: TrainingConfig;
}

/** What Start would meet: the run's own preparation tried on a few rows of each class. */
export interface TrainingCheck {
  /** What the run would refuse, each as the run would say it. */
  problems: string[];
  /** What the run would do differently from the settings as given (the 'labels' init's fallback). */
  notes: string[];
}

export interface TrainControlPayload {
  runId: string;
}

export interface TrainControlResult {
  runId: string;
  state: 'running' | 'paused' | 'stopping' | 'not-running';
}

/** A run's state after some steps, for the UI to keep (IndexedDB) so a reload can resume exactly. */
export interface Checkpoint {
  step: number;
  /** Epochs finished when the checkpoint was taken. */
  epochsDone: number;
  /** The prompt then (for the playground and export). */
  values: PromptValues;
  /** Everything to continue the run exactly (Adam, schedule, shuffle, best epoch). Absent for an imported prompt. */
  state?: TrainingState;
}

export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  valLoss: number | null;
  valAccuracy: number | null;
  valMacroF1: number | null;
}

export interface EvalSummary {
  loss: number;
  accuracy: number;
  macroF1: number;
  /** counts[gold][predicted], in class order. */
  confusionMatrix: number[][];
}

export interface PredictionRow {
  row: number;
  /** The input columns' text, joined. */
  text: string;
  gold: string;
  predicted: string;
  /** Softmax over the classes, in class order. */
  probabilities: number[];
  /** The zero-shot prediction for the same row, when there is a zero-shot baseline. */
  zeroShotPredicted: string | null;
}

export interface GenerationSampleRow {
  row: number;
  input: string;
  target: string;
  before: string;
  after: string;
}

/** The loop's record as the engine reports it (losses, stop reason, steps, seconds), and what every task adds. */
interface OutcomeCommon extends Pick<LoopResult<EpochValidation>, 'stopReason' | 'message' | 'bestEpoch' | 'steps' | 'totalSteps' | 'seconds' | 'trainLosses'> {
  trainSize: number;
  valSize: number;
  truncatedCount: number;
  epochs: EpochMetrics[];
  /** The kept values, for playground, export and resuming. */
  prompt: PromptValues;
  /** Export metadata (model, template, label words, hyperparameters, metrics, date). */
  meta: PromptExportMetadata;
}

export interface ClassificationOutcome extends OutcomeCommon {
  task: 'classification';
  classes: string[];
  zeroShot: EvalSummary | null;
  tuned: EvalSummary | null;
  majority: { label: string; accuracy: number };
  robustness: { clean: number; perturbed: Record<Perturbation, number> } | null;
  /** A prompt ensemble: each member's validation scores and how often they disagree; null for one prompt. */
  ensemble?: EnsembleReport | null;
  /** Validation predictions (at most `MAX_PREDICTION_ROWS`). */
  predictions: PredictionRow[];
  predictionsTotal: number;
}

export interface GenerationOutcome extends OutcomeCommon {
  task: 'generation';
  before: GenerationScores | null;
  after: GenerationScores | null;
  samples: GenerationSampleRow[];
}

export type TrainOutcome = ClassificationOutcome | GenerationOutcome;

/** How a run (or a sweep's trial) ended, from its training's stop reason: one rule for both. */
export function outcomeStatus(outcome: Pick<TrainOutcome, 'stopReason'>): 'completed' | 'stopped' | 'failed' {
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

export const MAX_PREDICTION_ROWS = 5000;

export interface EvaluatePromptPayload {
  spec: TaskSpec;
  config: TrainingConfig;
  prompt: PromptValues;
  /** Metadata of the imported file, kept in the outcome's export metadata when given. */
  meta?: PromptExportMetadata;
}

// ---------------------------------------------------------------------------------------------
// Playground

export interface PredictPayload {
  spec: Extract<TaskSpec, { task: 'classification' }>;
  mode: TrainingConfig['mode'];
  /** Class order of the prompt's head (head mode) and of the probabilities. */
  classes: string[];
  /** Null: the template and label words alone (zero-shot). */
  prompt: PromptValues | null;
  /** Column -> text, for the template's placeholders. */
  inputs: Record<string, string>;
}

export interface PredictResult {
  classes: string[];
  tuned: number[] | null;
  zeroShot: number[] | null;
}

export interface GeneratePayload {
  spec: Extract<TaskSpec, { task: 'generation' }>;
  prompt: PromptValues | null;
  inputs: Record<string, string>;
  strategy: 'greedy' | 'sample';
  topK?: number;
  temperature?: number;
  maxNewTokens?: number;
  seed?: number;
}

export interface GenerateResult {
  tuned: string | null;
  zeroShot: string;
}

// ---------------------------------------------------------------------------------------------
// Export and import

export interface ExportPromptPayload {
  /** The prompt; an ensemble's `members` are exported too. */
  prompt: PromptValues;
  meta: PromptExportMetadata;
  /** Written as metrics.json in the zip. */
  metrics?: unknown;
}

export interface ExportedFile {
  /** Path in the bundle, e.g. "peft/adapter_config.json". */
  path: string;
  bytes: Uint8Array;
}

export interface ExportPromptResult {
  files: ExportedFile[];
  zip: Uint8Array;
  /** Where the PEFT adapter behaves differently from the studio. */
  notes: string[];
}

/** "Train at scale": the run's settings as a transformers + PEFT + Accelerate project, on the loaded data and model. */
export interface ExportProjectPayload {
  spec: TaskSpec;
  config: TrainingConfig;
  /** The current prompt, which the project starts from (initial_prompt/); absent: the settings' init. */
  prompt?: PromptValues | null;
}

export interface ExportProjectResult {
  /** The project's files by path (train.py, studio_config.json, data/*.csv, accelerate/*.yaml, ...). */
  files: ExportedFile[];
  zip: Uint8Array;
  /** What the project holds, in words (rows, where the soft tokens go, the starting prompt). */
  notes: string[];
}

export interface ImportPromptPayload {
  fileName: string;
  bytes: Uint8Array;
}

export interface ImportPromptResult {
  fileName: string;
  format: ImportedFormat;
  prompt: PromptValues;
  metadata: PromptExportMetadata | null;
  modelId: string | null;
  /** Null when no model is loaded to check against. */
  compatibility: PromptCompatibility | null;
  warnings: string[];
  /** A "Train at scale" project's output: its metrics.json (train.py's own validation), when the zip holds one. */
  projectMetrics?: ProjectMetrics | null;
}

export interface EngineInfo {
  defaults: TrainingConfig;
  inits: readonly PromptInit[];
  methods: readonly PromptMethod[];
  /** The measured default learning rate of each method in each mode. */
  learningRates: Readonly<Record<PromptMethod, Readonly<Record<TrainingConfig['mode'], number>>>>;
  metricsIntervalMs: number;
}
