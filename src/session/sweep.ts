/**
 * The sweep loop (src/shared/sweep.ts says what a sweep is): hold out the test split, run each
 * trial as an ordinary run on the rest, one after another, within the budget, stoppable; pick the
 * winner on validation; score only the winner on the held-out rows. StudioSession.sweep calls it,
 * so the page (through the worker) and the CLI run the same loop.
 *
 * A sweep keeps nothing between requests: a stopped one is resumed by sending the trials that
 * ended (`previous`) and the stopped trial's checkpoint (`resume`) with the same plan.
 */
import { DataError, stratifiedFolds, stratifiedSplit, type Row } from '../engine/data';
import { scoreGenerationHeldOut, scoreHeldOut } from '../engine/heldOut';
import { requireDecoder } from '../engine/generation';
import type { LanguageModel } from '../engine/languageModel';
import { majorityBaseline } from '../engine/metrics';
import { plannedSteps, TrainingController, type TrainingConfig, type TrainingState } from '../engine/train';
import { MAX_LISTED_ROWS, outcomeStatus } from '../shared/tasks';
import type { RequestEvents } from '../shared/protocol';
import type { TaskSpec, TrainOutcome } from '../shared/tasks';
import {
  classRecall,
  isCompared,
  labelWordConsistency,
  pickWinner,
  selectionRule,
  sweepTrials,
  trialConfig,
  trialRunId,
  trialSpec,
  meanAndSpread,
  type FoldScore,
  type GenerationHeldOutReport,
  type HeldOutReport,
  type SweepOutcome,
  type SweepPayload,
  type SweepTrialResult,
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
    options: { runId: string; controller: TrainingController; resume?: TrainingState; checkpointEverySteps?: number; /** A k-fold trial's fold: `rows` then train only. */ validationRows?: Row[] },
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

/** Each class's recall from a summary's confusion matrix (undefined when a summary carries none). */
const recallOf = (summary: { confusionMatrix?: number[][] }) => (summary.confusionMatrix ? classRecall(summary.confusionMatrix) : undefined);

/** The held-out split: stratified by class, seeded, taken before any trial splits the rest. */
export function holdOutSplit(rows: readonly Row[], labelColumn: string, testFraction: number, seed: number): { pool: Row[]; test: Row[] } {
  const { train: pool, val: test } = stratifiedSplit(rows, (r) => r[labelColumn], testFraction, seed);
  return { pool, test };
}

/**
 * One trial by k-fold cross-validation: k ordinary runs, run f validating on fold f and training
 * on the others; scored by the folds' mean (and spread). A fold that does not complete ends the
 * trial with its status. The trial's prompt and outcome are the last fold's run.
 */
async function crossValidate(
  host: SweepHost,
  spec: TaskSpec,
  config: TrainingConfig,
  pool: Row[],
  foldOf: number[],
  k: number,
  events: RequestEvents,
  o: { base: Omit<SweepTrialResult, 'status'>; runId: string; controller: TrainingController },
): Promise<{ result: SweepTrialResult; outcome: TrainOutcome | null }> {
  const scores: FoldScore[] = [];
  let steps = 0;
  let seconds = 0;
  let outcome: TrainOutcome | null = null;
  for (let f = 0; f < k; f++) {
    const validationRows = pool.filter((_, i) => foldOf[i] === f);
    outcome = await host.runTrial(spec, config, pool.filter((_, i) => foldOf[i] !== f), events, { runId: `${o.runId}/fold-${f}`, controller: o.controller, validationRows });
    steps += outcome.steps;
    seconds += outcome.seconds;
    const status = outcomeStatus(outcome);
    if (status !== 'completed' || outcome.task !== 'classification' || !outcome.tuned) {
      const message = `fold ${f + 1} of ${k}: ${outcome.message ?? status}`;
      return { result: { ...o.base, status: status === 'completed' ? 'failed' : status, message, steps, seconds }, outcome };
    }
    scores.push({ fold: f, rows: validationRows.length, accuracy: outcome.tuned.accuracy, macroF1: outcome.tuned.macroF1, loss: outcome.tuned.loss, zeroShotAccuracy: outcome.zeroShot?.accuracy ?? null, recall: recallOf(outcome.tuned), zeroShotRecall: outcome.zeroShot ? (recallOf(outcome.zeroShot) ?? null) : null });
  }
  const last = outcome as Extract<TrainOutcome, { task: 'classification' }>;
  const accuracy = meanAndSpread(scores.map((s) => s.accuracy));
  const zeroShots = scores.map((s) => s.zeroShotAccuracy);
  return {
    result: {
      ...o.base,
      status: 'completed',
      valAccuracy: accuracy.mean,
      valAccuracyStd: accuracy.std,
      valMacroF1: meanAndSpread(scores.map((s) => s.macroF1)).mean,
      valLoss: meanAndSpread(scores.map((s) => s.loss)).mean,
      zeroShotAccuracy: zeroShots.every((z) => z !== null) ? meanAndSpread(zeroShots as number[]).mean : null,
      folds: scores,
      steps,
      seconds,
      prompt: last.prompt,
      classes: last.classes,
    },
    outcome,
  };
}

export async function runSweep(host: SweepHost, payload: SweepPayload, events: RequestEvents, control: SweepControl): Promise<SweepOutcome> {
  const { sweepId, spec, config, plan } = payload;
  if (spec.task === 'generation') {
    requireDecoder(host.lm.model.config);
    if (plan.axes.labelWords?.length) throw new DataError('label-word sets are for classification sweeps; a generation sweep has no label words');
  }
  const trials = sweepTrials(plan);
  if (!(config.valFraction > 0)) throw new DataError('a sweep compares its trials on validation: set the validation fraction above 0');
  // Generation has no classes: its rows are held out (and split) as one group, as a run splits them.
  const labelOf = (r: Row) => (spec.task === 'classification' ? r[spec.labelColumn] : '');
  const { train: pool, val: test } = stratifiedSplit(host.rows, labelOf, plan.testFraction, plan.seed);
  if (plan.folds !== undefined && spec.task !== 'classification') throw new DataError('cross-validated sweeps are for classification; a generation sweep holds out a test split');
  // k-fold: each trial validates on each fold of the pool in turn (every pool row exactly once).
  const foldOf = plan.folds !== undefined ? stratifiedFolds(pool, labelOf, plan.folds, plan.seed) : null;
  if (test.length === 0 && plan.testFraction > 0) throw new DataError(`the held-out test share ${plan.testFraction} leaves no test rows out of ${host.rows.length}: use more data or a larger share`);
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
    const planned = foldOf
      ? Array.from({ length: plan.folds! }, (_, f) => plannedSteps(foldOf.filter((g) => g !== f).length, trialCfg)).reduce((a, b) => a + b, 0)
      : plannedSteps(poolTrain.length, trialCfg);
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
      if (foldOf) {
        ({ result, outcome } = await crossValidate(host, trialTask, trialCfg, pool, foldOf, plan.folds!, events, { base, runId, controller }));
      } else {
        outcome = await host.runTrial(trialTask, trialCfg, pool, events, { runId, controller, resume, checkpointEverySteps: payload.checkpointEverySteps });
        const status = outcomeStatus(outcome);
        const tuned = outcome.task === 'classification' ? outcome.tuned : null;
        // Generation: the kept prompt is the best epoch's (validation loss), so its loss is that epoch's.
        const done = outcome;
        const generationLoss = done.task === 'generation' ? ((done.epochs.find((e) => e.epoch === done.bestEpoch) ?? done.epochs.at(-1))?.valLoss ?? null) : null;
        result = {
          ...base,
          status,
          ...(outcome.message ? { message: outcome.message } : {}),
          valAccuracy: tuned?.accuracy ?? null,
          valMacroF1: tuned?.macroF1 ?? null,
          valLoss: outcome.task === 'classification' ? (tuned?.loss ?? null) : generationLoss,
          zeroShotAccuracy: outcome.task === 'classification' ? (outcome.zeroShot?.accuracy ?? null) : null,
          ...(outcome.task === 'classification' && tuned ? { valRecall: recallOf(tuned), zeroShotRecall: outcome.zeroShot ? (recallOf(outcome.zeroShot) ?? null) : null } : {}),
          ...(outcome.task === 'generation' ? { valExactMatch: outcome.after?.exactMatch ?? null, valTokenF1: outcome.after?.tokenF1 ?? null } : {}),
          steps: outcome.steps,
          seconds: outcome.seconds,
          ...(status === 'completed' ? { prompt: outcome.prompt, ...(outcome.task === 'classification' ? { classes: outcome.classes } : {}) } : {}),
        };
      }
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
  const winner = pickWinner(results, spec.task);
  let report: HeldOutReport | null = null;
  let generationReport: GenerationHeldOutReport | null = null;
  if (!stopped && winner?.prompt && spec.task === 'generation') {
    const winnerConfig = trialConfig(config, winner.settings);
    const scores = await scoreGenerationHeldOut(host.lm, { rows: test, targetColumn: spec.targetColumn, template: spec.template }, winnerConfig, winner.prompt);
    generationReport = { trialIndex: winner.index, runId: winner.runId, rows: test.length, rowNumbers: test.slice(0, MAX_LISTED_ROWS).map((r) => host.rowNumberOf(r)), ...scores };
    events.metrics({ series: 'heldOutGeneration', report: generationReport });
  }
  if (!stopped && winner?.prompt && winner.classes && spec.task === 'classification' && test.length > 0) {
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
    compared: results.filter((r) => isCompared(r, spec.task)).length,
    winner: winner?.index ?? null,
    selection: selectionRule(spec.task),
    test: report,
    ...(spec.task === 'generation' ? { generationTest: generationReport } : {}),
    ...(plan.axes.labelWords?.length ? { labelWordConsistency: labelWordConsistency(plan, results) } : {}),
    ...(foldOf
      ? { crossValidation: { folds: plan.folds!, rows: pool.length, winner: winner?.folds ? { accuracy: winner.valAccuracy!, std: winner.valAccuracyStd ?? 0, perFold: winner.folds } : null } }
      : {}),
    split: { test: test.length, pool: pool.length },
    steps,
    seconds: results.reduce((n, r) => n + r.seconds, 0),
  };
}
