/**
 * Prompt tuning from the command line through the studio's own session (src/session): the same CSV
 * reader, row filtering, training and export files as the page.
 *
 *   npm run tune -- --model public/models/studio-bert-tiny --csv public/samples/sentiment.csv \
 *     --text text --label label --template "{text} It was [MASK]." \
 *     --label-words "positive=good,great" --label-words "negative=bad,terrible" --out runs/sentiment
 *
 * Generation (decoder models): --target <column> instead of --label/--label-words.
 * Every option is checked first (src/cli/commands.ts), then the CSV is read and its columns,
 * classes and warnings (src/session/warnings.ts) checked, all before the model loads.
 * Prints one JSON line per event (progress, notice, warning, start, phase, zeroShot, metrics, epoch, done),
 * then writes the exports (prompt.json, prompt.safetensors, prompt.npy, peft/) and metrics.json to --out.
 * With --export-project DIR it trains nothing and writes the run as a "Train at scale" project
 * (src/engine/export/project.ts) to DIR.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { loadPretrained, urlFolder } from '../model/loader';
import { dirFolder, nodeWebGpuAdapter, selectNodeBackend } from '../node/model';
import { describeAdapter } from '../model/webgpu';
import { parseTemplate } from '../engine';
import { CsvError } from '../session/csv';
import { StudioSession, type ModelLoader } from '../session/StudioSession';
import type { Progress, RequestEvents, TaskSpec } from '../shared/protocol';
import type { PhaseProgress } from '../engine/phase';
import { settingValue, sweptAxes, type SweepOutcome, type SweepPayload, type SweepPlan, type SweepTrialResult } from '../shared/sweep';
import type { SweepStateFile } from './sweepState';
import { InputError, startCommand, UsageError } from './args';
import { readSweepState, resumeFrom, runSavedSweep, SWEEP_STATE_FILE } from './sweepState';
import { parseTuneArgs, TUNE } from './commands';

/** Progress lines (reading and parsing a large CSV) at most this often. */
const PROGRESS_INTERVAL_MS = 1000;

const args = startCommand(TUNE, parseTuneArgs);

/**
 * The phases besides the steps (encoding examples, the zero-shot baseline, each validation, the
 * final evaluation, robustness), which take minutes on a large CSV: each phase's start and end,
 * and in between at most one line every PROGRESS_INTERVAL_MS.
 */
function phasePrinter(print: (progress: PhaseProgress) => void): (progress: PhaseProgress) => void {
  let last = { stage: '', at: 0 };
  return (progress) => {
    const now = Date.now();
    const edge = progress.stage !== last.stage || progress.done === 0 || progress.done === progress.total;
    if (!edge && now - last.at < PROGRESS_INTERVAL_MS) return;
    last = { stage: progress.stage, at: now };
    print(progress);
  };
}

/** Checkpoints from a folder or a URL, as the studio session loads them. */
function nodeModels(): ModelLoader {
  return {
    async load(source, progress) {
      if (source.kind !== 'url') throw new Error(`the CLI loads folders and URLs, not ${source.kind} sources`);
      const folder = /^https?:\/\//.test(source.url) ? urlFolder(source.url) : await dirFolder(resolve(source.url));
      return { model: await loadPretrained(folder, { onProgress: (stage) => progress({ stage: `reading ${stage}`, message: folder.label }) }), id: source.id };
    },
    cancel: () => false,
  };
}

const templateColumns = (template: string) => [...new Set(parseTemplate(template).flatMap((p) => (p.kind === 'column' ? [p.column] : [])))];

async function main(): Promise<void> {
  const line = (event: string, data: object) => console.log(JSON.stringify({ event, ...data }));
  // Nothing for a file read within a second; then a line a second, and the last one.
  let lastProgress = Date.now();
  let reported = false;
  const progress = (p: Progress) => {
    const now = Date.now();
    if (now - lastProgress < PROGRESS_INTERVAL_MS && !(reported && p.fraction === 1)) return;
    lastProgress = now;
    reported = true;
    line('progress', p);
  };
  const quiet: RequestEvents = { progress: () => {}, metrics: () => {}, checkpoint: () => {} };
  const { spec: task, config, textColumn } = args;
  // The studio's own session, in-process: the same CSV reader, row filtering, training and exports as the page.
  const session = new StudioSession(nodeModels());

  // The data first, read as the page reads it: a bad file, column or class fails before the model loads.
  const csvName = basename(args.csv);
  let dataset;
  try {
    dataset = await session.loadDataset({ source: { kind: 'bytes', name: csvName, bytes: new Uint8Array(await readFile(args.csv)) } }, { ...quiet, progress });
  } catch (e) {
    throw e instanceof CsvError ? new InputError(e.message) : e;
  }
  for (const message of dataset.notices) line('notice', { message });
  const labelColumn = task.task === 'classification' ? task.labelColumn : task.targetColumn;
  // The default template depends on the model's kind, but its only column is --text either way.
  const textColumns = args.template === undefined ? [textColumn] : templateColumns(args.template);
  const notColumn = (what: string, c: string) => new UsageError(`${what} "${c}" is not a column of ${csvName} (columns: ${dataset.columns.join(', ')})`);
  if (!dataset.columns.includes(labelColumn)) throw notColumn(task.task === 'classification' ? '--label' : '--target', labelColumn);
  for (const c of textColumns) if (!dataset.columns.includes(c)) throw notColumn(args.template === undefined ? '--text' : 'the template\'s column', c);
  if (textColumns.includes(labelColumn)) throw new UsageError(`the template reads the ${task.task === 'classification' ? 'label' : 'target'} column "${labelColumn}" itself`);
  const statsPayload = { task: task.task, labelColumn, textColumns, valFraction: config.valFraction, seed: config.seed };
  const stats = session.datasetStats(statsPayload);
  if (stats.kept === 0) {
    throw new InputError(`${csvName}: no rows to train on (${stats.emptyLabel.count} with an empty "${labelColumn}", ${stats.emptyText.count} with no text in ${textColumns.join(', ')})`);
  }
  if (task.task === 'classification' && task.labelWords && stats.classes.length === stats.distinctLabels) {
    const missing = stats.classes.map((c) => c.name).filter((c) => !(c in (task.labelWords as Record<string, string[]>)));
    if (missing.length) throw new UsageError(`--label-words: classes ${missing.map((c) => `"${c}"`).join(', ')} of ${csvName} have no label words`);
  }
  const warnings = session.trainingWarnings({ ...statsPayload, template: args.template ?? `{${textColumn}}` });
  if (warnings.length > 0 && !args.force) {
    throw new InputError([...warnings.map((w) => `warning: ${w.message}`), `${csvName}: not training on this (--force trains anyway)`].join('\n'));
  }
  for (const w of warnings) line('warning', w);

  const { backend } = await selectNodeBackend(args.backends);
  // A line per stage (config, tokenizer, weights): a big checkpoint takes a while, and the CLI said nothing meanwhile.
  const model = await session.loadModel({ source: { kind: 'url', url: args.model, id: args.model } }, { ...quiet, progress: (p) => line('progress', p) });
  const template = args.template ?? (model.lmKind === 'masked-lm' ? `{${textColumn}} It was [MASK].` : `{${textColumn}} It was`);
  const spec: TaskSpec =
    task.task === 'generation'
      ? { task: 'generation', template, targetColumn: task.targetColumn, textColumns }
      : { task: 'classification', template, labelColumn: task.labelColumn, textColumns, labelWords: task.labelWords };
  // What the page checks before Start: the run's own preparation on a few rows (template, label words
  // or head, classes, init), so a refusal is one line per problem and exit 2, and a fallback is said.
  const check = await session.checkTraining({ spec, config });
  if (check.problems.length > 0) throw new InputError(check.problems.join('\n'));
  for (const message of check.notes) line('notice', { message });
  if (args.exportProject) {
    // "Train at scale": the run's preparation (split, init) written as a transformers + PEFT + Accelerate project.
    const project = session.exportProject({ spec, config });
    for (const { path, bytes } of project.files) {
      await mkdir(dirname(join(args.out, path)), { recursive: true });
      await writeFile(join(args.out, path), bytes);
    }
    line('project', { dir: args.out, files: project.files.map((f) => f.path), notes: project.notes });
    session.model?.model.dispose();
    return;
  }
  const gpu = backend === 'webgpu' && nodeWebGpuAdapter ? { gpu: describeAdapter(nodeWebGpuAdapter) } : {};
  const leftOut = { emptyLabel: stats.emptyLabel, emptyText: stats.emptyText };
  line('start', { backend, ...gpu, model: args.model, rows: dataset.rowCount, kept: stats.kept, ...leftOut, template, config, ...(args.sweep ? { sweep: args.sweep } : {}) });
  if (args.sweep) {
    await sweep(session, spec, args.sweep, line);
    session.model?.model.dispose();
    return;
  }

  const phase = phasePrinter((progress) => line('phase', progress));
  const outcome = await session.train(
    { runId: 'cli', spec, config },
    {
      progress: () => {},
      metrics(m) {
        const { series, ...values } = m;
        if (m.series === 'phase') phase({ stage: m.stage, done: m.done, total: m.total });
        else line(series === 'step' ? 'metrics' : series, values);
      },
      checkpoint: () => {},
    },
  );
  const metrics: Record<string, unknown> =
    outcome.task === 'generation'
      ? {
          task: 'generation',
          ...runSummary(outcome),
          zeroShotExactMatch: outcome.before?.exactMatch ?? null,
          exactMatch: outcome.after?.exactMatch ?? null,
          zeroShotTokenF1: outcome.before?.tokenF1 ?? null,
          tokenF1: outcome.after?.tokenF1 ?? null,
          samples: outcome.samples.slice(0, 20),
          epochs: outcome.epochs,
        }
      : {
          task: 'classification',
          ...runSummary(outcome),
          truncated: outcome.truncatedCount,
          classes: outcome.classes,
          majority: outcome.majority,
          zeroShotAccuracy: outcome.zeroShot?.accuracy ?? null,
          zeroShotMacroF1: outcome.zeroShot?.macroF1 ?? null,
          accuracy: outcome.tuned?.accuracy ?? null,
          macroF1: outcome.tuned?.macroF1 ?? null,
          confusionMatrix: outcome.tuned?.confusionMatrix ?? null,
          robustness: outcome.robustness,
          epochs: outcome.epochs,
        };
  const { files } = session.exportPrompt({ prompt: outcome.prompt, meta: outcome.meta, metrics });
  const out = resolve(args.out);
  for (const { path, bytes } of files) {
    await mkdir(dirname(join(out, path)), { recursive: true });
    await writeFile(join(out, path), bytes);
  }
  line('done', { out, files: files.map((f) => f.path), ...pick(metrics) });
  session.model?.model.dispose();
}

/**
 * A sweep through the session: one JSON line per trial, the winner's held-out test, a final line
 * with the table; the winner's exports (its metrics.json holding the table and the test) and
 * sweep.json in --out. Ctrl-C stops the running trial and starts no more.
 */
async function sweep(session: StudioSession, spec: TaskSpec, plan: SweepPlan, line: (event: string, data: object) => void): Promise<void> {
  const out = resolve(args.out);
  await mkdir(out, { recursive: true });
  const stateFile = join(out, SWEEP_STATE_FILE);
  const saved = await readSweepState(stateFile);
  let resumed: Pick<SweepPayload, 'sweepId' | 'previous' | 'resume'> = { sweepId: `cli-${Date.now()}` };
  if (args.resumeSweep) {
    if (!saved) throw new InputError(`--resume-sweep: ${stateFile} does not exist (a sweep keeps its state in its --out folder)`);
    if (saved.status === 'completed') throw new InputError(`--resume-sweep: the sweep in ${stateFile} has completed; nothing is left to run`);
    resumed = resumeFrom(saved, { spec, config: args.config, plan }, stateFile);
    const ended = (resumed.previous ?? []).filter((t) => t.status !== 'stopped').length;
    line('notice', { message: `resuming sweep ${resumed.sweepId}: ${ended} of its trials ended before${resumed.resume ? `, trial ${resumed.resume.index} continues from step ${resumed.resume.state.step}` : ''}` });
  } else if (saved && saved.status !== 'completed') {
    throw new InputError(`${stateFile} holds a sweep that did not finish: --resume-sweep continues it; remove the file (or use another --out) to start over`);
  }
  const sweepId = resumed.sweepId;
  const stop = () => {
    line('notice', { message: 'stopping the sweep: the running trial stops at its next step, no other starts' });
    session.stopSweep({ sweepId });
  };
  process.once('SIGINT', stop);
  let result: SweepOutcome;
  let exports: SweepStateFile['exports'];
  try {
    ({ outcome: result, state: { exports } } = await runSavedSweep(
      session,
      { ...resumed, spec, config: args.config, plan },
      stateFile,
      {
        progress: () => {},
        metrics(m) {
          if (m.series === 'trialEnd') {
            line('trial', trialLine(plan, m.result));
          } else if (m.series === 'heldOut' || m.series === 'heldOutGeneration') {
            const { rowNumbers: _, ...report } = m.report;
            line('heldOut', report);
          }
        },
        checkpoint: () => {},
      },
      resumed.previous ? (saved?.exports ?? {}) : {},
    ));
  } finally {
    process.off('SIGINT', stop);
  }
  const table = result.trials.map((t) => trialLine(plan, t));
  const summary = {
    status: result.status,
    planned: result.planned,
    compared: result.compared,
    selection: result.selection,
    winner: result.winner,
    split: result.split,
    steps: result.steps,
    seconds: result.seconds,
    test: result.test
      ? { rows: result.test.rows, accuracy: result.test.accuracy, macroF1: result.test.macroF1, zeroShotAccuracy: result.test.zeroShotAccuracy, majorityAccuracy: result.test.majorityAccuracy }
      : result.generationTest
        ? (({ rowNumbers: _, trialIndex: _t, runId: _r, ...scores }) => scores)(result.generationTest)
        : null,
    ...(result.crossValidation ? { crossValidation: result.crossValidation } : {}),
    ...(result.labelWordConsistency ? { labelWordConsistency: result.labelWordConsistency } : {}),
  };
  await writeFile(join(out, 'sweep.json'), JSON.stringify({ ...summary, plan, trials: table, heldOutRows: (result.test ?? result.generationTest)?.rowNumbers ?? [] }, null, 2));
  const winner = result.winner === null ? undefined : exports[result.winner];
  const files: string[] = ['sweep.json', SWEEP_STATE_FILE];
  if (winner && result.status === 'completed') {
    const metrics = { ...winner.summary, sweep: { ...summary, trials: table } };
    const exported = session.exportPrompt({ prompt: winner.prompt, meta: winner.meta, metrics });
    for (const { path, bytes } of exported.files) {
      await mkdir(dirname(join(out, path)), { recursive: true });
      await writeFile(join(out, path), bytes);
      files.push(path);
    }
  }
  line('sweep', { ...summary, table, out, files });
}

/** One trial as the CLI prints it: its index, the swept settings by name, status and scores. */
function trialLine(plan: SweepPlan, t: SweepTrialResult) {
  const settings = Object.fromEntries(sweptAxes(plan.axes).map((a) => [a, settingValue(plan, t.settings, a)]));
  return {
    index: t.index,
    settings,
    status: t.status,
    ...(t.message ? { message: t.message } : {}),
    valAccuracy: t.valAccuracy,
    valMacroF1: t.valMacroF1,
    valLoss: t.valLoss,
    zeroShotAccuracy: t.zeroShotAccuracy,
    ...(t.valTokenF1 !== undefined ? { valExactMatch: t.valExactMatch, valTokenF1: t.valTokenF1 } : {}),
    ...(t.folds ? { valAccuracyStd: t.valAccuracyStd, folds: t.folds } : {}),
    steps: t.steps,
    seconds: t.seconds,
  };
}

/** What every run reports, classification or generation. */
function runSummary(r: { stopReason: string; message?: string; steps: number; seconds: number; trainSize: number; valSize: number }) {
  return { stopReason: r.stopReason, message: r.message, steps: r.steps, seconds: r.seconds, trainSize: r.trainSize, valSize: r.valSize };
}

function pick(m: Record<string, unknown>) {
  const keys = ['stopReason', 'message', 'accuracy', 'zeroShotAccuracy', 'macroF1', 'exactMatch', 'zeroShotExactMatch', 'tokenF1'];
  return Object.fromEntries(keys.filter((k) => m[k] !== undefined).map((k) => [k, m[k]]));
}

void main();
