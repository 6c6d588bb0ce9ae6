/**
 * Sweeps: many ordinary runs over a small set of settings, compared fairly. What a sweep asks for
 * (the axes, grid or seeded random search, a budget, the held-out test share), the trial list it
 * makes, the text syntax the CLI and the page share ("lr=0.01,0.03;prompt-length=5,20"), how the
 * winner is picked, and what the session reports back. Pure functions and types: the UI, the
 * session and the CLI import them; nothing runs on import.
 *
 * Fair selection: before any trial runs, a stratified, seeded share of the task's rows is held out
 * as a test split; every trial splits only the rest into train and validation (its usual split).
 * Trials are compared on validation; only the winner is scored on the test split, so the number
 * reported for it is not the best of several noisy validation scores (Cawley & Talbot 2010).
 */
import type { PromptInit, PromptMethod, PromptValues, TaskKind, TaskSpec, TrainingConfig, TrainingState, TrainOutcome } from './tasks';
import { PROMPT_INITS, PROMPT_METHODS } from '../engine/types';

/** The settings a sweep can vary, in the order a grid nests them (the last varies fastest). */
export const SWEEP_AXES = ['learningRate', 'promptLength', 'batchSize', 'epochs', 'init', 'method', 'labelWords'] as const;
export type SweepAxis = (typeof SWEEP_AXES)[number];

/** One alternative set of label words (class -> words), with a short name for tables. */
export interface LabelWordSet {
  name: string;
  words: Record<string, string[]>;
}

/** The values each swept setting takes; an axis left out keeps the base config's value. */
export interface SweepAxes {
  learningRate?: number[];
  promptLength?: number[];
  batchSize?: number[];
  epochs?: number[];
  init?: PromptInit[];
  method?: PromptMethod[];
  /** Alternative label-word sets (classification, label-word mode). */
  labelWords?: LabelWordSet[];
}

export interface SweepBudget {
  /** Training steps over all trials: a trial whose planned steps no longer fit is skipped, never cut short. */
  steps?: number;
  /** Wall-clock minutes: no trial starts after they are spent; the one running then finishes (as Optuna's timeout). */
  minutes?: number;
}

export interface SweepPlan {
  axes: SweepAxes;
  /** 'grid': every combination; 'random': `randomTrials` distinct combinations drawn with `seed`. */
  search: 'grid' | 'random';
  randomTrials?: number;
  /** Seeds the random search and the held-out split (the base config's seed by default). */
  seed: number;
  budget: SweepBudget;
  /** Share of each class held out as the test split, before any trial's train/validation split (0: none, only with `folds`). */
  testFraction: number;
  /**
   * k-fold cross-validation (small datasets): each trial trains k times, each time validating on one
   * of k stratified folds of the rows not held out, and is scored by the mean over the folds (with
   * its spread), so every row validates exactly once. Classification only. A stopped trial runs again from fold 1.
   */
  folds?: number;
}

/** The most folds a sweep may ask for (each fold is a whole training run). */
export const MAX_SWEEP_FOLDS = 10;

/** One trial's settings: only the swept ones; `labelWords` indexes `axes.labelWords`. */
export interface TrialSettings {
  learningRate?: number;
  promptLength?: number;
  batchSize?: number;
  epochs?: number;
  init?: PromptInit;
  method?: PromptMethod;
  labelWords?: number;
}

export interface SweepTrial {
  index: number;
  settings: TrialSettings;
}

/** A grid larger than this is refused (each trial is a whole training run). */
export const MAX_SWEEP_TRIALS = 100;
/** The held-out test share when none is given. */
export const DEFAULT_TEST_FRACTION = 0.2;

export class SweepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SweepError';
  }
}

// ---------------------------------------------------------------------------------------------
// Axes in text: "lr=0.01,0.03,0.1;prompt-length=5,20"

type AxisRule =
  | { kind: 'number'; integer: boolean; min: number; minExclusive?: boolean }
  | { kind: 'choice'; allowed: readonly string[] };

/** Each numeric or choice axis: its name in text (as the CLI's own option) and what its values may be. */
export const AXIS_TEXT: Record<Exclude<SweepAxis, 'labelWords'>, { name: string; label: string; rule: AxisRule }> = {
  learningRate: { name: 'lr', label: 'learning rate', rule: { kind: 'number', integer: false, min: 0, minExclusive: true } },
  promptLength: { name: 'prompt-length', label: 'prompt length', rule: { kind: 'number', integer: true, min: 1 } },
  batchSize: { name: 'batch', label: 'batch size', rule: { kind: 'number', integer: true, min: 1 } },
  epochs: { name: 'epochs', label: 'epochs', rule: { kind: 'number', integer: true, min: 1 } },
  init: { name: 'init', label: 'init', rule: { kind: 'choice', allowed: PROMPT_INITS } },
  method: { name: 'method', label: 'method', rule: { kind: 'choice', allowed: PROMPT_METHODS } },
};

/** Names accepted in text for each axis (the CLI option's name, and a few spelled out). */
const AXIS_ALIASES: Record<string, Exclude<SweepAxis, 'labelWords'>> = {
  lr: 'learningRate',
  'learning-rate': 'learningRate',
  'prompt-length': 'promptLength',
  batch: 'batchSize',
  'batch-size': 'batchSize',
  epochs: 'epochs',
  init: 'init',
  method: 'method',
};

/** One axis's values from text ("0.01, 0.03"): each checked, no repeats. */
export function parseAxisValues<A extends Exclude<SweepAxis, 'labelWords'>>(axis: A, text: string): NonNullable<SweepAxes[A]> {
  const { name, rule } = AXIS_TEXT[axis];
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.every((p) => p === '')) throw new SweepError(`${name}: give at least one value`);
  const values: (number | string)[] = [];
  for (const part of parts) {
    if (part === '') throw new SweepError(`${name}: an empty value in "${text}"`);
    let value: number | string;
    if (rule.kind === 'number') {
      const n = Number(part);
      const ok = Number.isFinite(n) && (!rule.integer || Number.isInteger(n)) && (rule.minExclusive ? n > rule.min : n >= rule.min);
      if (!ok) throw new SweepError(`${name}: "${part}" is not ${rule.integer ? 'a whole number' : 'a number'} ${rule.minExclusive ? '>' : '>='} ${rule.min}`);
      value = n;
    } else {
      if (!rule.allowed.includes(part)) throw new SweepError(`${name}: "${part}" is not one of ${rule.allowed.join(', ')}`);
      value = part;
    }
    if (values.includes(value)) throw new SweepError(`${name}: ${part} is given twice`);
    values.push(value);
  }
  return values as NonNullable<SweepAxes[A]>;
}

/**
 * "lr=0.01,0.03,0.1;prompt-length=5,20" -> { learningRate: [...], promptLength: [...] }. Axes are
 * separated by ";", values by ","; names as the CLI's options (lr, prompt-length, batch, epochs,
 * init, method). Label-word sets are given apart (they contain commas themselves).
 */
export function parseSweepAxes(text: string): SweepAxes {
  const axes: SweepAxes = {};
  const entries = text.split(';').map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) throw new SweepError('no axes: write e.g. "lr=0.01,0.03;prompt-length=5,20"');
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const name = (eq < 0 ? entry : entry.slice(0, eq)).trim();
    if (eq < 0) throw new SweepError(`"${entry}" is not <setting>=<value>,<value>`);
    if (name === 'label-words') throw new SweepError('label words are swept with --label-word-set (one per alternative set), not in --sweep');
    const axis = AXIS_ALIASES[name];
    if (!axis) throw new SweepError(`unknown setting "${name}" (sweepable: ${Object.values(AXIS_TEXT).map((a) => a.name).join(', ')})`);
    if (axes[axis] !== undefined) throw new SweepError(`${AXIS_TEXT[axis].name} is given twice`);
    (axes as Record<string, unknown>)[axis] = parseAxisValues(axis, entry.slice(eq + 1));
  }
  return axes;
}

/** "positive=good,great;negative=bad,terrible" -> one label-word set (named after its words). */
export function parseLabelWordSet(text: string): LabelWordSet {
  const words: Record<string, string[]> = {};
  for (const part of text.split(';').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const label = part.slice(0, Math.max(0, eq)).trim();
    const list = part.slice(eq + 1).split(',').map((w) => w.trim()).filter(Boolean);
    if (eq <= 0 || label === '') throw new SweepError(`label-word set "${text}": "${part}" is not <class>=<word>,<word>`);
    if (list.length === 0) throw new SweepError(`label-word set "${text}": class "${label}" has no words`);
    if (words[label]) throw new SweepError(`label-word set "${text}": class "${label}" is given twice`);
    words[label] = list;
  }
  if (Object.keys(words).length === 0) throw new SweepError('an empty label-word set');
  return { name: labelWordSetName(words), words };
}

/** "good,great / bad,terrible": the words, class by class, in class-name order. */
export function labelWordSetName(words: Record<string, string[]>): string {
  return Object.keys(words)
    .sort()
    .map((c) => words[c].join(','))
    .join(' / ');
}

// ---------------------------------------------------------------------------------------------
// The trial list

/** The axes that vary (two or more values, or label-word sets), in grid order. */
export function sweptAxes(axes: SweepAxes): SweepAxis[] {
  return SWEEP_AXES.filter((a) => (axes[a]?.length ?? 0) > 0);
}

/** How many combinations the grid has. */
export function gridSize(axes: SweepAxes): number {
  return sweptAxes(axes).reduce((n, a) => n * (axes[a]?.length ?? 1), 1);
}

/** How many trials `plan` runs. */
export function trialCount(plan: Pick<SweepPlan, 'axes' | 'search' | 'randomTrials'>): number {
  const grid = gridSize(plan.axes);
  return plan.search === 'random' ? Math.min(grid, plan.randomTrials ?? grid) : grid;
}

/** mulberry32 (as engine/random.ts), so a seed gives the same draw in the page, the worker and Node. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Checks a plan; throws a SweepError naming the first problem. */
export function checkSweepPlan(plan: SweepPlan): void {
  const axes = sweptAxes(plan.axes);
  if (axes.length === 0) throw new SweepError('a sweep needs at least one setting with values to try');
  for (const a of axes) {
    const values = plan.axes[a] as unknown[];
    if (new Set(a === 'labelWords' ? (values as LabelWordSet[]).map((s) => s.name) : values).size !== values.length) {
      throw new SweepError(`${a === 'labelWords' ? 'label words' : AXIS_TEXT[a].label}: a value is given twice`);
    }
  }
  const grid = gridSize(plan.axes);
  if (plan.search === 'random') {
    if (!(Number.isInteger(plan.randomTrials) && (plan.randomTrials as number) >= 1)) throw new SweepError(`random search needs a number of trials >= 1, not ${plan.randomTrials}`);
  }
  const n = trialCount(plan);
  if (n > MAX_SWEEP_TRIALS) throw new SweepError(`${n} trials (${grid} combinations) is more than ${MAX_SWEEP_TRIALS}: use fewer values or a random search`);
  if (plan.folds !== undefined && !(Number.isInteger(plan.folds) && plan.folds >= 2 && plan.folds <= MAX_SWEEP_FOLDS)) {
    throw new SweepError(`cross-validation needs a whole number of folds from 2 to ${MAX_SWEEP_FOLDS}, not ${plan.folds}`);
  }
  if (!((plan.testFraction > 0 || (plan.folds !== undefined && plan.testFraction === 0)) && plan.testFraction < 0.5)) {
    throw new SweepError(`the held-out test share must be above 0 and below 0.5 (0 only with cross-validation), not ${plan.testFraction}`);
  }
  if (!Number.isFinite(plan.seed)) throw new SweepError(`the sweep's seed must be a number, not ${plan.seed}`);
  const { steps, minutes } = plan.budget;
  if (steps !== undefined && !(Number.isInteger(steps) && steps >= 1)) throw new SweepError(`a step budget must be a whole number >= 1, not ${steps}`);
  if (minutes !== undefined && !(minutes > 0)) throw new SweepError(`a time budget must be more than 0 minutes, not ${minutes}`);
}

/**
 * The trials of `plan`, numbered from 0. Grid: every combination, the first axis outermost. Random:
 * `randomTrials` distinct combinations drawn without replacement (a seeded partial Fisher-Yates
 * over the grid's indices), in the order drawn.
 */
export function sweepTrials(plan: SweepPlan): SweepTrial[] {
  checkSweepPlan(plan);
  const axes = sweptAxes(plan.axes);
  const grid = gridSize(plan.axes);
  const settingsAt = (k: number): TrialSettings => {
    const s: Record<string, unknown> = {};
    for (let i = axes.length - 1; i >= 0; i--) {
      const a = axes[i];
      const values = plan.axes[a] as unknown[];
      const j = k % values.length;
      k = Math.floor(k / values.length);
      s[a] = a === 'labelWords' ? j : values[j];
    }
    return Object.fromEntries(SWEEP_AXES.filter((a) => a in s).map((a) => [a, s[a]])) as TrialSettings;
  };
  let order = Array.from({ length: grid }, (_, i) => i);
  if (plan.search === 'random') {
    const rand = mulberry32(Math.floor(plan.seed) ^ 0x5eed5eed);
    const n = trialCount(plan);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(rand() * (grid - i));
      [order[i], order[j]] = [order[j], order[i]];
    }
    order = order.slice(0, n);
  }
  return order.map((k, index) => ({ index, settings: settingsAt(k) }));
}

/** The base config with a trial's settings. */
export function trialConfig(base: TrainingConfig, settings: TrialSettings): TrainingConfig {
  const { labelWords: _, ...rest } = settings;
  return { ...base, ...rest };
}

/** The base spec with a trial's label-word set, when label words are swept. */
export function trialSpec(base: TaskSpec, plan: SweepPlan, settings: TrialSettings): TaskSpec {
  const set = settings.labelWords === undefined ? undefined : plan.axes.labelWords?.[settings.labelWords];
  if (!set || base.task !== 'classification') return base;
  return { ...base, labelWords: set.words };
}

/** A trial's value of `axis`, for tables and plots (the set's name for label words). */
export function settingValue(plan: SweepPlan, settings: TrialSettings, axis: SweepAxis): string | number | undefined {
  if (axis === 'labelWords') return settings.labelWords === undefined ? undefined : plan.axes.labelWords?.[settings.labelWords]?.name;
  return settings[axis];
}

/** Column headings for the swept axes. */
export function axisLabel(axis: SweepAxis): string {
  return axis === 'labelWords' ? 'label words' : AXIS_TEXT[axis].label;
}

/** "lr 0.03 · prompt length 5 · label words good / bad". */
export function describeSettings(plan: SweepPlan, settings: TrialSettings): string {
  return sweptAxes(plan.axes)
    .map((a) => `${a === 'learningRate' ? 'lr' : axisLabel(a)} ${settingValue(plan, settings, a)}`)
    .join(' · ');
}

// ---------------------------------------------------------------------------------------------
// Results and selection

/**
 * completed: the trial ran its schedule (or stopped early on validation) and is compared.
 * stopped: stopped by request (resumable from its checkpoint). failed: a non-finite loss or an
 * error (its message says which). skipped: the budget left no room for it.
 */
export type TrialStatus = 'completed' | 'stopped' | 'failed' | 'skipped';

export interface SweepTrialResult {
  index: number;
  /** The trial's run: `${sweepId}/trial-${index}`. */
  runId: string;
  settings: TrialSettings;
  status: TrialStatus;
  message?: string;
  /** The kept prompt on the validation split (null when it did not get that far). */
  valAccuracy: number | null;
  valMacroF1: number | null;
  valLoss: number | null;
  zeroShotAccuracy: number | null;
  /** Cross-validation: each fold's validation scores (the val* fields are their means); absent without folds. */
  folds?: FoldScore[];
  /** Cross-validation: the sample standard deviation of the folds' accuracies. */
  valAccuracyStd?: number;
  /** Generation: the kept prompt's greedy generations on the validation split (absent for classification). */
  valExactMatch?: number | null;
  valTokenF1?: number | null;
  /** Classification without folds: each class's validation recall, tuned and zero-shot (FoldScore says how). */
  valRecall?: (number | null)[];
  zeroShotRecall?: (number | null)[] | null;
  steps: number;
  plannedSteps: number;
  seconds: number;
  /** Completed trials: the kept prompt and its class order, which the winner's test needs. */
  prompt?: PromptValues;
  classes?: string[];
}

/** One fold of a cross-validated trial: its validation rows' scores. */
export interface FoldScore {
  fold: number;
  rows: number;
  accuracy: number;
  macroF1: number;
  loss: number;
  zeroShotAccuracy: number | null;
  /** Each class's recall on the fold's validation rows (class order as the trial's `classes`; null: no row of that class). */
  recall?: (number | null)[];
  /** The same for the template and label words without a prompt (null without a zero-shot baseline). */
  zeroShotRecall?: (number | null)[] | null;
}

/** Mean and sample standard deviation (n - 1; 0 for a single value). */
export function meanAndSpread(values: readonly number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, std };
}

/** How the winner is picked, in words (the table and the CLI say it). */
export const SELECTION_RULE = 'highest validation accuracy; ties: higher validation macro-F1, then lower validation loss, then the earlier trial';
/** Generation: the target tokens' validation loss decides (greedy decoding is too coarse on a small split to rank by). */
export const GENERATION_SELECTION_RULE = 'lowest validation loss (per target token); ties: higher validation token F1, then the earlier trial';

export const selectionRule = (task: TaskKind) => (task === 'generation' ? GENERATION_SELECTION_RULE : SELECTION_RULE);

/** A trial that takes part in the comparison: it completed with a validation score. */
export function isCompared(r: SweepTrialResult, task: TaskKind = 'classification'): boolean {
  return r.status === 'completed' && (task === 'generation' ? r.valLoss !== null && Number.isFinite(r.valLoss) : r.valAccuracy !== null);
}

/** The compared trial with the best validation score (selectionRule(task)), or null when none completed. */
export function pickWinner(results: readonly SweepTrialResult[], task: TaskKind = 'classification'): SweepTrialResult | null {
  if (task === 'generation') {
    let best: SweepTrialResult | null = null;
    for (const r of results) {
      if (!isCompared(r, task)) continue;
      const b = best;
      if (!b || r.valLoss! < b.valLoss! || (r.valLoss === b.valLoss && ((r.valTokenF1 ?? -1) > (b.valTokenF1 ?? -1) || ((r.valTokenF1 ?? -1) === (b.valTokenF1 ?? -1) && r.index < b.index)))) best = r;
    }
    return best;
  }
  let best: SweepTrialResult | null = null;
  for (const r of results) {
    if (!isCompared(r, task) || r.valAccuracy === null) continue;
    if (!best) {
      best = r;
      continue;
    }
    const b = best;
    const better =
      r.valAccuracy !== b.valAccuracy
        ? r.valAccuracy > (b.valAccuracy ?? -1)
        : (r.valMacroF1 ?? -1) !== (b.valMacroF1 ?? -1)
          ? (r.valMacroF1 ?? -1) > (b.valMacroF1 ?? -1)
          : (r.valLoss ?? Infinity) !== (b.valLoss ?? Infinity)
            ? (r.valLoss ?? Infinity) < (b.valLoss ?? Infinity)
            : r.index < b.index;
    if (better) best = r;
  }
  return best;
}

/** The winner on rows that no trial trained or validated on. */
export interface HeldOutReport {
  trialIndex: number;
  runId: string;
  /** Test rows, and the first of their spreadsheet row numbers (at most MAX_LISTED_ROWS). */
  rows: number;
  rowNumbers: number[];
  classes: string[];
  accuracy: number;
  macroF1: number;
  loss: number;
  /** counts[gold][predicted], in class order. */
  confusionMatrix: number[][];
  /** The winner's template and label words without a prompt, on the same rows (null in head mode without words). */
  zeroShotAccuracy: number | null;
  /** The training split's most frequent class, on the test rows. */
  majorityAccuracy: number;
}

/** A generation winner on the held-out rows: its loss and greedy generations, beside the template alone's. */
export interface GenerationHeldOutReport {
  trialIndex: number;
  runId: string;
  rows: number;
  rowNumbers: number[];
  /** Mean negative log-likelihood per target token. */
  loss: number;
  exactMatch: number;
  tokenF1: number;
  zeroShotExactMatch: number;
  zeroShotTokenF1: number;
}

export interface SweepPayload {
  /** The UI's id for the sweep; stopSweep names it, and each trial's run id starts with it. */
  sweepId: string;
  /** The base task; a trial's label-word set replaces its label words. */
  spec: TaskSpec;
  /** The base settings; a trial's settings replace the swept ones. */
  config: TrainingConfig;
  plan: SweepPlan;
  /** A resumed sweep: the trials that already ended (completed, failed or skipped); they are not run again. */
  previous?: SweepTrialResult[];
  /** A resumed sweep: the trial that was stopped, continued exactly from its checkpoint. */
  resume?: { index: number; state: TrainingState };
  /** Each trial also checkpoints every this many steps (every epoch always). */
  checkpointEverySteps?: number;
}

/**
 * completed: every trial ran, was skipped by the budget or failed, and the winner was tested.
 * stopped: stopped by request; resumable (the trials left and the stopped one's checkpoint).
 */
export type SweepStatus = 'completed' | 'stopped';

export interface SweepOutcome {
  sweepId: string;
  status: SweepStatus;
  /** Every planned trial that ended (this request's and `previous`), in trial order. */
  trials: SweepTrialResult[];
  planned: number;
  /** Trials compared on validation (the completed ones). */
  compared: number;
  /** The winner's trial index (among the compared), or null. */
  winner: number | null;
  selection: string;
  /** The winner on the held-out rows; null for a stopped sweep or when no trial completed. */
  test: HeldOutReport | null;
  /** Cross-validation: k, the rows the folds were cut from, and the winner's mean and spread over its folds. */
  crossValidation?: { folds: number; rows: number; winner: { accuracy: number; std: number; perFold: FoldScore[] } | null };
  /** A generation sweep's winner on the held-out rows (absent for classification). */
  generationTest?: GenerationHeldOutReport | null;
  /** Label-word sets swept: whether each class's best set is the same in every fold / trial group (labelWordConsistency). */
  labelWordConsistency?: LabelWordConsistency | null;
  /** Rows: held out for the test, and the rest that each trial splits into train and validation. */
  split: { test: number; pool: number };
  /** Steps and busy seconds over all trials, for the budget. */
  steps: number;
  seconds: number;
}

export interface StopSweepPayload {
  sweepId: string;
}

export interface StopSweepResult {
  sweepId: string;
  state: 'stopping' | 'not-running';
}

/**
 * What a sweep's metrics events add to a run's (which follow a `trialStart` and belong to that
 * trial until its `trialEnd`): the trial beginning (settings, the run id, its spec and config),
 * the trial ending (its result and the run's outcome, null when it failed before one), and the
 * winner's held-out test.
 */
export type SweepEvent =
  | { series: 'trialStart'; index: number; runId: string; settings: TrialSettings; spec: TaskSpec; config: TrainingConfig; plannedSteps: number; resumed: boolean }
  | { series: 'trialEnd'; result: SweepTrialResult; outcome: TrainOutcome | null }
  | { series: 'heldOut'; report: HeldOutReport }
  | { series: 'heldOutGeneration'; report: GenerationHeldOutReport };

/** A trial's run id: the sweep's id and the trial's index. */
export const trialRunId = (sweepId: string, index: number) => `${sweepId}/trial-${index}`;

// ---------------------------------------------------------------------------------------------
// Label-word consistency: is a class's best word set the same everywhere, or did it win by luck?

/** Each class's recall (the diagonal over the row sums of counts[gold][predicted]); null for a class with no rows. */
export function classRecall(confusion: readonly (readonly number[])[]): (number | null)[] {
  return confusion.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total > 0 ? row[c] / total : null;
  });
}

/** One candidate set for one class: how often it was that class's best, and its mean recall. */
export interface LabelWordSetConsistency {
  /** The set's name (axes.labelWords order). */
  name: string;
  /** Comparisons in which this set alone had the highest recall for the class, tuned and zero-shot. */
  tunedWins: number;
  zeroShotWins: number;
  /** Mean recall for the class over the set's folds / trials (null: never measured). */
  tunedRecall: number | null;
  zeroShotRecall: number | null;
}

export type ConsistencyVerdict = 'stable' | 'lucky' | 'undecided';

export interface ClassConsistency {
  label: string;
  /** Comparisons (a fold, or a group of trials differing only in label words) with two or more sets measured for this class. */
  comparisons: number;
  /** Comparisons whose best tuned recall was shared by two or more sets (no winner). */
  tunedTies: number;
  sets: LabelWordSetConsistency[];
  /** stable: one set wins every comparison (tuned); lucky: different sets win; undecided: ties, or too few comparisons. */
  verdict: ConsistencyVerdict;
  /** The verdict in words: "stable: good wins in 3 of 3 folds". */
  summary: string;
}

export interface LabelWordConsistency {
  /** What a comparison is: a fold; a group of trials sharing their other settings; or a fold of such a group. */
  over: 'folds' | 'trial groups' | 'folds × trial groups';
  /** Comparisons with two or more sets measured (for any class). */
  comparisons: number;
  classes: ClassConsistency[];
}

/**
 * For each class, which label-word set gives it the highest validation recall, tuned and zero-shot,
 * in each comparison: with folds, each fold of each group of trials that differ only in their label
 * words (every set validates on the same rows there); without, each such group. A set "wins" a
 * comparison when its recall is strictly the highest; a shared best is a tie. Only completed trials
 * count; null when fewer than two label-word sets are swept or none completed.
 */
export function labelWordConsistency(plan: SweepPlan, trials: readonly SweepTrialResult[]): LabelWordConsistency | null {
  const sets = plan.axes.labelWords ?? [];
  if (sets.length < 2) return null;
  const done = trials.filter((t) => t.status === 'completed' && t.classes && t.settings.labelWords !== undefined);
  if (done.length === 0) return null;
  const classes = done[0].classes!;
  const groups = new Map<string, SweepTrialResult[]>();
  for (const t of done) {
    const { labelWords: _, ...others } = t.settings;
    const key = JSON.stringify(others);
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  // comparisons[i][set] = { tuned, zeroShot } recall per class (in `classes` order), or absent.
  type Point = { tuned: (number | null)[]; zeroShot: (number | null)[] | null };
  const comparisons: Map<number, Point>[] = [];
  const recallIn = (t: SweepTrialResult, c: string, recall: (number | null)[] | null | undefined) => {
    const i = t.classes!.indexOf(c);
    return i < 0 || !recall ? null : (recall[i] ?? null);
  };
  const aligned = (t: SweepTrialResult, recall: (number | null)[] | null | undefined) => (recall ? classes.map((c) => recallIn(t, c, recall)) : null);
  for (const group of groups.values()) {
    if (plan.folds !== undefined) {
      for (let f = 0; f < plan.folds; f++) {
        const point = new Map<number, Point>();
        for (const t of group) {
          const fold = t.folds?.find((s) => s.fold === f);
          if (fold?.recall) point.set(t.settings.labelWords!, { tuned: aligned(t, fold.recall)!, zeroShot: aligned(t, fold.zeroShotRecall) });
        }
        comparisons.push(point);
      }
    } else {
      const point = new Map<number, Point>();
      for (const t of group) if (t.valRecall) point.set(t.settings.labelWords!, { tuned: aligned(t, t.valRecall)!, zeroShot: aligned(t, t.zeroShotRecall) });
      comparisons.push(point);
    }
  }
  const over: LabelWordConsistency['over'] = plan.folds === undefined ? 'trial groups' : groups.size > 1 ? 'folds × trial groups' : 'folds';
  const unit = over === 'folds' ? 'folds' : over === 'trial groups' ? 'trial groups' : 'fold comparisons';
  /** The set with the strictly highest recall among `scores` (set index -> recall), 'tie' when shared, null with fewer than two. */
  const best = (scores: [number, number][]): number | 'tie' | null => {
    if (scores.length < 2) return null;
    const top = Math.max(...scores.map(([, r]) => r));
    const at = scores.filter(([, r]) => r === top);
    return at.length === 1 ? at[0][0] : 'tie';
  };
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  let anyComparisons = 0;
  const perClass = classes.map((label, c): ClassConsistency => {
    const tunedWins = sets.map(() => 0);
    const zeroShotWins = sets.map(() => 0);
    const tunedAll: number[][] = sets.map(() => []);
    const zeroShotAll: number[][] = sets.map(() => []);
    let count = 0;
    let ties = 0;
    for (const point of comparisons) {
      const tuned: [number, number][] = [];
      const zeroShot: [number, number][] = [];
      for (const [s, p] of point) {
        const r = p.tuned[c];
        if (r !== null) {
          tuned.push([s, r]);
          tunedAll[s].push(r);
        }
        const z = p.zeroShot?.[c] ?? null;
        if (z !== null) {
          zeroShot.push([s, z]);
          zeroShotAll[s].push(z);
        }
      }
      const t = best(tuned);
      if (t === null) continue;
      count++;
      if (t === 'tie') ties++;
      else tunedWins[t]++;
      const z = best(zeroShot);
      if (typeof z === 'number') zeroShotWins[z]++;
    }
    anyComparisons = Math.max(anyComparisons, count);
    const winners = sets.map((_, s) => s).filter((s) => tunedWins[s] > 0);
    const name = (s: number) => sets[s].name;
    let verdict: ConsistencyVerdict;
    let summary: string;
    if (count < 2) {
      verdict = 'undecided';
      summary = `undecided: ${count === 0 ? 'no comparison' : `one comparison only (${oneComparison(winners, tunedWins, name, ties)})`}; sweep with folds to tell stable from lucky`;
    } else if (winners.length >= 2) {
      verdict = 'lucky';
      summary = `lucky: winners differ (${winners.map((s) => `${name(s)} ${tunedWins[s]}`).join(', ')}${ties ? `, ${ties} tied` : ''} of ${count} ${unit})`;
    } else if (winners.length === 1 && tunedWins[winners[0]] === count) {
      verdict = 'stable';
      summary = `stable: ${name(winners[0])} wins in ${count} of ${count} ${unit}`;
    } else {
      verdict = 'undecided';
      summary =
        winners.length === 1 ? `undecided: ${name(winners[0])} wins in ${tunedWins[winners[0]]} of ${count} ${unit}, ${ties} tied` : `undecided: tied in all ${count} ${unit}`;
    }
    return {
      label,
      comparisons: count,
      tunedTies: ties,
      sets: sets.map((set, s) => ({ name: set.name, tunedWins: tunedWins[s], zeroShotWins: zeroShotWins[s], tunedRecall: mean(tunedAll[s]), zeroShotRecall: mean(zeroShotAll[s]) })),
      verdict,
      summary,
    };
  });
  return { over, comparisons: anyComparisons, classes: perClass };
}

/** One comparison's outcome in words: "good / bad wins" or "tied". */
function oneComparison(winners: number[], wins: number[], name: (s: number) => string, ties: number): string {
  return ties > 0 ? 'tied' : winners.length === 1 && wins[winners[0]] > 0 ? `${name(winners[0])} wins` : 'no winner';
}
