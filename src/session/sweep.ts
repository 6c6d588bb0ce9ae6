/**
 * The sweep loop (src/shared/sweep.ts says what a sweep is): hold out the test split, run each
 * trial as an ordinary run on the rest, one after another, within the budget, stoppable; pick the
 * winner on validation; score only the winner on the held-out rows. StudioSession.sweep calls it,
 * so the page (through the worker) and the CLI run the same loop.
 *
 * A sweep keeps nothing between requests: a stopped one is resumed by sending the trials that
 * ended (`previous`) and the stopped trial's checkpoint (`resume`) with the same plan.
 */
import { DataError, stratifiedSplit, type Row } from '../engine/data';
import { scoreHeldOut } from '../engine/heldOut';
import type { LanguageModel } from '../engine/languageModel';
import { majorityBaseline } from '../engine/metrics';
import { plannedSteps, TrainingController, type TrainingConfig, type TrainingState } from '../engine/train';
import { MAX_LISTED_ROWS } from '../shared/tasks';
import type { RequestEvents } from '../shared/protocol';
import type { TaskSpec, TrainOutcome } from '../shared/tasks';
import {
  pickWinner,
  SELECTION_RULE,
  sweepTrials,
  trialConfig,
  trialRunId,
  trialSpec,
  type HeldOutReport,
  type SweepOutcome,
  type SweepPayload,
  type SweepTrialResult,
  type TrialStatus,
} from '../shared/sweep';

/** What the loop needs from the session. */
export interface SweepHost {
  lm: LanguageModel;
  /** The task's rows (empty labels and texts left out). */
  rows: Row[];
  rowNumberOf(row: Row): number;
  /** One trial: an ordinary run on `rows` (split into train and validation as any run is), with the request's events. */
  runTrial(
    spec: TaskSpec,
    config: TrainingConfig,
    rows: Row[],
    events: RequestEvents,
    options: { runId: string; controller: TrainingController; resume?: TrainingState; checkpointEverySteps?: number },
  ): Promise<TrainOutcome>;
}

/** Stop for a sweep in flight: no trial starts after it, and the running one stops (and checkpoints). */
export class SweepControl {
  private trial: TrainingController | null = null;
  private stopRequested = false;

  get stopped(): boolean {
    return this.stopRequested;
  }

  stop(): void {
    this.stopRequested = true;
    this.trial?.stop();
  }

  /** The controller of the trial about to run. */
  startTrial(): TrainingController {
    this.trial = new TrainingController();
    if (this.stopRequested) this.trial.stop();
    return this.trial;
  }

  endTrial(): void {
    this.trial = null;
  }
}

function trialStatus(outcome: TrainOutcome): TrialStatus {
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

/** The held-out split: stratified by class, seeded, taken before any trial splits the rest. */
export function holdOutSplit(rows: readonly Row[], labelColumn: string, testFraction: number, seed: number): { pool: Row[]; test: Row[] } {
  const { train: pool, val: test } = stratifiedSplit(rows, (r) => r[labelColumn], testFraction, seed);
  return { pool, test };
}

export async function runSweep(host: SweepHost, payload: SweepPayload, events: RequestEvents, control: SweepControl): Promise<SweepOutcome> {
  const { sweepId, spec, config, plan } = payload;
  if (spec.task !== 'classification') throw new DataError('sweeps compare classification runs (validation accuracy, then the winner on a held-out test split); generation is not swept yet');
  const trials = sweepTrials(plan);
  if (!(config.valFraction > 0)) throw new DataError('a sweep compares its trials on validation: set the validation fraction above 0');
  const { pool, test } = holdOutSplit(host.rows, spec.labelColumn, plan.testFraction, plan.seed);
  if (test.length === 0) throw new DataError(`the held-out test share ${plan.testFraction} leaves no test rows out of ${host.rows.length}: use more data or a larger share`);
  const labelOf = (r: Row) => r[spec.labelColumn];
  // valFraction and seed are not swept: every trial splits the pool the same way.
  const poolTrain = stratifiedSplit(pool, labelOf, config.valFraction, config.seed).train;

  const previous = new Map<number, SweepTrialResult>();
  for (const r of payload.previous ?? []) {
    const planned = trials[r.index];
    if (!planned || JSON.stringify(planned.settings) !== JSON.stringify(r.settings)) {
      throw new DataError(`trial ${r.index} of the earlier sweep does not match this plan's (${JSON.stringify(r.settings)} vs ${JSON.stringify(planned?.settings ?? null)}): resume with the sweep's own plan`);
    }
    if (r.status === 'stopped') continue; // run again (from `resume` when given)
    previous.set(r.index, r);
  }
  const results: SweepTrialResult[] = [...previous.values()];
  let steps = results.reduce((n, r) => n + r.steps, 0);
  const earlierSeconds = results.reduce((n, r) => n + r.seconds, 0);
  const started = Date.now();
  const budgetSeconds = plan.budget.minutes === undefined ? Infinity : plan.budget.minutes * 60;

  for (const trial of trials) {
    if (previous.has(trial.index)) continue;
    if (control.stopped) break;
    const runId = trialRunId(sweepId, trial.index);
    const trialCfg = trialConfig(config, trial.settings);
    const trialTask = trialSpec(spec, plan, trial.settings);
    const planned = plannedSteps(poolTrain.length, trialCfg);
    const base = { index: trial.index, runId, settings: trial.settings, valAccuracy: null, valMacroF1: null, valLoss: null, zeroShotAccuracy: null, steps: 0, plannedSteps: planned, seconds: 0 };
    const elapsed = earlierSeconds + (Date.now() - started) / 1000;
    const stepsLeft = (plan.budget.steps ?? Infinity) - steps;
    if (elapsed >= budgetSeconds || planned > stepsLeft) {
      const message =
        elapsed >= budgetSeconds
          ? `skipped: the ${plan.budget.minutes}-minute budget was spent`
          : `skipped: it plans ${planned} steps and ${stepsLeft} of the ${plan.budget.steps}-step budget are left`;
      const skipped: SweepTrialResult = { ...base, status: 'skipped', message };
      results.push(skipped);
      events.metrics({ series: 'trialEnd', result: skipped, outcome: null });
      continue;
    }
    const resume = payload.resume?.index === trial.index ? payload.resume.state : undefined;
    events.metrics({ series: 'trialStart', index: trial.index, runId, settings: trial.settings, spec: trialTask, config: trialCfg, plannedSteps: planned, resumed: resume !== undefined });
    const controller = control.startTrial();
    let result: SweepTrialResult;
    let outcome: TrainOutcome | null = null;
    try {
      outcome = await host.runTrial(trialTask, trialCfg, pool, events, { runId, controller, resume, checkpointEverySteps: payload.checkpointEverySteps });
      const status = trialStatus(outcome);
      const tuned = outcome.task === 'classification' ? outcome.tuned : null;
      result = {
        ...base,
        status,
        ...(outcome.message ? { message: outcome.message } : {}),
        valAccuracy: tuned?.accuracy ?? null,
        valMacroF1: tuned?.macroF1 ?? null,
        valLoss: tuned?.loss ?? null,
        zeroShotAccuracy: outcome.task === 'classification' ? (outcome.zeroShot?.accuracy ?? null) : null,
        steps: outcome.steps,
        seconds: outcome.seconds,
        ...(status === 'completed' && outcome.task === 'classification' ? { prompt: outcome.prompt, classes: outcome.classes } : {}),
      };
    } catch (e) {
      // One trial's settings can be impossible (a label-word set the tokenizer cannot represent, a
      // prompt too long for the model): it fails, the others still run.
      result = { ...base, status: 'failed', message: e instanceof Error ? e.message : String(e) };
    } finally {
      control.endTrial();
    }
    steps += result.steps;
    results.push(result);
    events.metrics({ series: 'trialEnd', result, outcome });
    // A trial stopped by request (the sweep's stop, or its own run's) stops the sweep.
    if (result.status === 'stopped') break;
  }

  results.sort((a, b) => a.index - b.index);
  const stopped = control.stopped || results.some((r) => r.status === 'stopped') || results.length < trials.length;
  const winner = pickWinner(results);
  let report: HeldOutReport | null = null;
  if (!stopped && winner?.prompt && winner.classes) {
    const winnerSpec = trialSpec(spec, plan, winner.settings);
    const winnerConfig = trialConfig(config, winner.settings);
    const labelWords = winnerSpec.task === 'classification' ? winnerSpec.labelWords : undefined;
    const scores = await scoreHeldOut(host.lm, { rows: test, labelColumn: spec.labelColumn, template: winnerSpec.template, labelWords }, winnerConfig, winner.prompt, winner.classes);
    const classIndex = (r: Row) => winner.classes!.indexOf(labelOf(r));
    const majority = majorityBaseline(poolTrain.map(classIndex), test.map(classIndex), winner.classes.length);
    report = {
      trialIndex: winner.index,
      runId: winner.runId,
      rows: test.length,
      rowNumbers: test.slice(0, MAX_LISTED_ROWS).map((r) => host.rowNumberOf(r)),
      classes: winner.classes,
      ...scores,
      majorityAccuracy: majority.accuracy,
    };
    events.metrics({ series: 'heldOut', report });
  }
  return {
    sweepId,
    status: stopped ? 'stopped' : 'completed',
    trials: results,
    planned: trials.length,
    compared: results.filter((r) => r.status === 'completed' && r.valAccuracy !== null).length,
    winner: winner?.index ?? null,
    selection: SELECTION_RULE,
    test: report,
    split: { test: test.length, pool: pool.length },
    steps,
    seconds: results.reduce((n, r) => n + r.seconds, 0),
  };
}
