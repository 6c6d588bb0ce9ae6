/**
 * Sweeps as the page keeps them: no store of their own. Each trial is an ordinary run in IndexedDB
 * whose record carries a `sweep` tag (the sweep's id, name, plan and base settings, the trial's
 * index and, once it ended, its result); the sweep's table, status and winner are read back from
 * its runs. Pure functions.
 */
import type { TaskKind, TaskSpec, TrainingConfig, TrainingState } from '../shared/tasks';
import {
  describeSettings,
  sweepTrials,
  type GenerationHeldOutReport,
  type HeldOutReport,
  type SweepOutcome,
  type SweepPlan,
  type SweepTrialResult,
  type TrialSettings,
  type TrialStatus,
} from '../shared/sweep';
import type { RunRecord } from './runStore';
import { fixed, percent, plural } from './format';

/** What a trial's run record says about its sweep. */
export interface RunSweepTag {
  id: string;
  name: string;
  index: number;
  plan: SweepPlan;
  /** The sweep's base task and settings (a trial's own are the run's `spec` and `config`). */
  baseSpec: TaskSpec;
  baseConfig: TrainingConfig;
  /** Set when the trial ended (a stopped trial's says 'stopped'). */
  result?: SweepTrialResult;
  /** The sweep's end, on every trial's record: how many were compared, the winner, the skipped trials. */
  final?: Omit<SweepOutcome, 'trials' | 'test' | 'generationTest'> & { skipped: SweepTrialResult[] };
  /** On the winner's record: its score on the held-out test rows. */
  heldOut?: HeldOutReport;
  /** A generation sweep's winner: its held-out loss and greedy generations, beside the template alone's. */
  heldOutGeneration?: GenerationHeldOutReport;
}

export type SweepState = 'running' | 'stopped' | 'interrupted' | 'completed';

/** One row of a sweep's table: a planned trial, its run (when it started) and its result (when it ended). */
export interface SweepRow {
  index: number;
  settings: TrialSettings;
  run: RunRecord | null;
  status: TrialStatus | 'running' | 'pending' | 'interrupted';
  result: SweepTrialResult | null;
}

export interface SweepView {
  id: string;
  name: string;
  /** The sweep's task: which scores its trials have and how the winner is picked (selectionRule). */
  task: TaskKind;
  plan: SweepPlan;
  baseSpec: TaskSpec;
  baseConfig: TrainingConfig;
  modelId: string;
  datasetName: string;
  createdAt: string;
  rows: SweepRow[];
  state: SweepState;
  final: RunSweepTag['final'] | null;
  winner: SweepRow | null;
  heldOut: HeldOutReport | null;
  heldOutGeneration: GenerationHeldOutReport | null;
}

/** The page's sweeps, from the runs that carry a sweep tag, oldest first. */
export function sweepsOf(runs: readonly RunRecord[], activeSweepId: string | null): SweepView[] {
  const bySweep = new Map<string, RunRecord[]>();
  for (const r of runs) {
    if (!r.sweep) continue;
    const list = bySweep.get(r.sweep.id) ?? [];
    list.push(r);
    bySweep.set(r.sweep.id, list);
  }
  return [...bySweep.values()].map((records) => viewOf(records, activeSweepId)).sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
}

function viewOf(records: RunRecord[], activeSweepId: string | null): SweepView {
  const first = records.reduce((a, b) => (a.createdAt <= b.createdAt ? a : b));
  const tag = first.sweep as RunSweepTag;
  const byIndex = new Map(records.map((r) => [(r.sweep as RunSweepTag).index, r]));
  const final = records.map((r) => r.sweep?.final).find(Boolean) ?? null;
  const skipped = new Map((final?.skipped ?? []).map((s) => [s.index, s]));
  const active = activeSweepId === tag.id;
  const rows: SweepRow[] = sweepTrials(tag.plan).map((t) => {
    const run = byIndex.get(t.index) ?? null;
    const result = run?.sweep?.result ?? skipped.get(t.index) ?? null;
    let status: SweepRow['status'];
    if (result && !(active && run?.status === 'running')) status = result.status;
    else if (run?.status === 'running' || run?.status === 'paused') status = active ? 'running' : 'interrupted';
    else if (run?.status === 'interrupted') status = 'interrupted';
    else if (run?.status === 'stopped') status = 'stopped';
    else if (run?.status === 'failed') status = 'failed';
    else status = 'pending';
    return { index: t.index, settings: t.settings, run, status, result };
  });
  const heldOut = records.map((r) => r.sweep?.heldOut).find(Boolean) ?? null;
  const heldOutGeneration = records.map((r) => r.sweep?.heldOutGeneration).find(Boolean) ?? null;
  // A stopped sweep's best trial so far is no winner: the trials left could beat it, and it is not tested.
  const winnerIndex = final?.status === 'completed' ? (final.winner ?? heldOut?.trialIndex ?? heldOutGeneration?.trialIndex ?? null) : null;
  const state: SweepState = active ? 'running' : final?.status === 'completed' ? 'completed' : rows.some((r) => r.status === 'interrupted') ? 'interrupted' : 'stopped';
  return {
    id: tag.id,
    name: tag.name,
    task: tag.baseSpec.task,
    plan: tag.plan,
    baseSpec: tag.baseSpec,
    baseConfig: tag.baseConfig,
    modelId: first.modelId,
    datasetName: first.datasetName,
    createdAt: first.createdAt,
    rows,
    state,
    final,
    winner: winnerIndex === null ? null : (rows[winnerIndex] ?? null),
    heldOut,
    heldOutGeneration,
  };
}

/** What a stopped or interrupted sweep sends to continue: the trials that ended, and the one to resume exactly. */
export function resumeRequest(view: SweepView): { previous: SweepTrialResult[]; resume?: { index: number; state: TrainingState } } {
  const previous = view.rows.flatMap((r) => (r.run?.sweep?.result && r.run.sweep.result.status !== 'stopped' ? [r.run.sweep.result] : []));
  const cut = view.rows.find((r) => r.run && (r.status === 'stopped' || r.status === 'interrupted') && r.run.checkpoint?.state);
  const state = cut?.run?.checkpoint?.state;
  return state && state.step < state.totalSteps ? { previous, resume: { index: cut!.index, state } } : { previous };
}

/** A sweep can continue: it was stopped or cut off by a reload, and some planned trial has not ended. */
export function canResume(view: SweepView): boolean {
  return (view.state === 'stopped' || view.state === 'interrupted') && view.rows.some((r) => r.status !== 'completed' && r.status !== 'failed' && r.status !== 'skipped');
}

// ---------------------------------------------------------------------------------------------
// The table's score columns, by task

/** A score column of the trials' table: what it holds, how it reads, and which way is better. */
export interface SweepScoreColumn {
  key: 'valAccuracy' | 'valMacroF1' | 'valLoss' | 'valExactMatch' | 'valTokenF1' | 'test';
  label: string;
  format: 'percent' | 'loss';
  /** Sorting by it puts the best first: descending when higher is better. */
  higherIsBetter: boolean;
}

/**
 * Classification: validation accuracy and macro-F1, the winner's test accuracy. Generation: the
 * criterion first (validation loss per target token, lower is better), then the kept prompt's
 * greedy generations on validation (exact match, token F1), the winner's held-out loss.
 */
export function scoreColumns(task: TaskKind): SweepScoreColumn[] {
  return task === 'generation'
    ? [
        { key: 'valLoss', label: 'val. loss / token', format: 'loss', higherIsBetter: false },
        { key: 'valExactMatch', label: 'val. exact match', format: 'percent', higherIsBetter: true },
        { key: 'valTokenF1', label: 'val. token F1', format: 'percent', higherIsBetter: true },
        { key: 'test', label: 'test loss / token', format: 'loss', higherIsBetter: false },
      ]
    : [
        { key: 'valAccuracy', label: 'val. accuracy', format: 'percent', higherIsBetter: true },
        { key: 'valMacroF1', label: 'val. macro-F1', format: 'percent', higherIsBetter: true },
        { key: 'test', label: 'test accuracy', format: 'percent', higherIsBetter: true },
      ];
}

/** A row's value in a score column (null: none yet, or not the winner for `test`). */
export function scoreValue(view: SweepView, row: SweepRow, key: SweepScoreColumn['key']): number | null {
  if (key === 'test') {
    if (view.task === 'generation') return view.heldOutGeneration?.trialIndex === row.index ? view.heldOutGeneration.loss : null;
    return view.heldOut?.trialIndex === row.index ? view.heldOut.accuracy : null;
  }
  const v = row.result?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** A score as the table shows it: a percentage, or a loss in nats per token. */
export function formatScore(column: SweepScoreColumn, value: number | null): string {
  return column.format === 'percent' ? percent(value) : fixed(value);
}

/** The criterion a trial is compared on (validation accuracy, or generation's validation loss), for plots. */
export function criterionOf(task: TaskKind, result: SweepTrialResult | null): number | null {
  const v = task === 'generation' ? result?.valLoss : result?.valAccuracy;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * A completed generation sweep in words: the winner, how it was picked, and its held-out loss,
 * exact match and token F1 beside the template alone's on the same rows. Null for classification
 * or a sweep that has not completed.
 */
export function generationSummary(view: SweepView): string | null {
  if (view.task !== 'generation' || view.state !== 'completed' || !view.final) return null;
  const { final, winner } = view;
  if (!winner) return `No trial completed, so there is no winner to test (${final.planned} planned).`;
  const picked = `Winner: trial ${winner.index + 1} (${describeSettings(view.plan, winner.settings)}), picked on the lowest validation loss per target token among ${plural(final.compared, 'compared trial')} (of ${final.planned} planned).`;
  const test = view.heldOutGeneration;
  if (!test) return `${picked} It has no held-out score.`;
  return (
    `${picked} On the ${plural(test.rows, 'held-out row')} that no trial trained or validated on: loss ${fixed(test.loss)} per target token, ` +
    `exact match ${percent(test.exactMatch)}, token F1 ${percent(test.tokenF1)} (the template alone: exact match ${percent(test.zeroShotExactMatch)}, token F1 ${percent(test.zeroShotTokenF1)}). ` +
    `Its validation loss, ${fixed(winner.result?.valLoss)}, was the lowest of ${final.compared} and so is likely optimistic.`
  );
}
