/**
 * The studio's session: what lives between requests (the loaded model, the dataset, the run in
 * training) and one method per request kind, each taking its payload and the request's event sink.
 * The worker turns messages into calls of these methods; the CLI and tests call them in-process.
 */
import type { Row } from '../engine/data';
import { DataError, stratifiedSplit } from '../engine/data';
import { classificationTask, classifierSetup, classifyRows, initPlan, prepareClassification, trainClassifier, type ClassificationResult } from '../engine/classification';
import { generate, generationTask, requireDecoder, trainGenerator, type GenerationResult } from '../engine/generation';
import type { LanguageModel } from '../engine/languageModel';
import {
  checkPromptAgainstModel,
  classificationExport,
  ensembleFiles,
  exportFiles,
  generationExport,
  importPrompt,
  peftExportNotes,
  projectFiles,
  zipFiles,
  type ImportedMember,
} from '../engine/export';
import { zipSync } from 'fflate';
import { promptFromValues, type PromptValues } from '../engine/softPrompt';
import { checkTrainingConfig, DEFAULT_LEARNING_RATES, DEFAULT_TRAINING_CONFIG, ENSEMBLE_SEED_STEP, METRICS_INTERVAL_MS, TrainingController, type EpochReport, type TrainingConfig, type TrainingState } from '../engine/train';
import type { TuneCheckpoint, TuneHooks } from '../engine/tune';
import { PROMPT_INITS, PROMPT_METHODS } from '../engine/types';
import { suggestLabelWords } from '../engine/labelWordSuggestions';
import type { LoadedModel } from '../model/loader';
import { isLlamaFamily, prefixWidth as prefixWidthOf } from '../model/types';
import { topTokens } from '../model/predict';
import { REQUEST_KINDS } from '../shared/protocol';
import type { DecoderSummary, ModelSource, ModelSummary, RequestEvents, RequestKind, StudioApi } from '../shared/protocol';
import { chatTemplateOption } from './chatTemplate';
import { MAX_PREDICTION_ROWS } from '../shared/tasks';
import type { CheckTrainingPayload, ClassificationOutcome, EpochMetrics, GenerationOutcome, TaskSpec, TrainControlResult, TrainingCheck, TrainOutcome } from '../shared/tasks';
import { decodeCsvBytes, parseCsvText } from './csv';
import { Dataset, labelFor } from './dataset';
import { checkLabelWords, compileFor, previewTemplate, spaceBeforePrediction } from './templateTools';
import { trainingWarnings, type TrainingWarning, type TrainingWarningsPayload } from './warnings';
import { runSweep, SweepControl } from './sweep';
import type { StopSweepPayload, StopSweepResult, SweepOutcome, SweepPayload } from '../shared/sweep';

/** How the session gets a checkpoint: the page loads from the Hub, URLs or files; Node from a folder. */
export interface ModelLoader {
  load(source: ModelSource, progress: RequestEvents['progress']): Promise<{ model: LoadedModel; id: string }>;
  /** Aborts the load in flight; false when there was none. */
  cancel(): boolean;
}

/** The loaded checkpoint as the session uses it (LoadedModel plus the id it was loaded as). */
export type ActiveModel = LoadedModel & { id: string };

/** The session's request kinds: every kind but the worker's own (backend choice and ping). */
export type SessionKind = Exclude<RequestKind, 'init' | 'ping'>;
export type SessionApi = Pick<StudioApi, SessionKind>;

/** The check before Start runs the run's preparation on this many rows of each class (generation: of the task). */
export const CHECK_ROWS_PER_CLASS = 8;

/** Label-word suggestion reads at most this many training examples per class. */
export const SUGGEST_EXAMPLES_PER_CLASS = 100;

const joinInputs = (row: Row, columns: readonly string[]) => columns.map((c) => row[c] ?? '').join(' | ');

const epochMetrics = (report: EpochReport<{ loss: number; accuracy?: number; macroF1?: number }>): EpochMetrics => ({
  epoch: report.epoch,
  trainLoss: report.trainLoss,
  valLoss: report.validation?.loss ?? null,
  valAccuracy: report.validation?.accuracy ?? null,
  valMacroF1: report.validation?.macroF1 ?? null,
});

export class StudioSession implements SessionApi {
  private active: ActiveModel | null = null;
  private dataset: Dataset | null = null;
  private training: { runId: string; controller: TrainingController } | null = null;
  private sweeping: { sweepId: string; control: SweepControl } | null = null;

  constructor(private readonly models: ModelLoader) {}

  /** The loaded model, for callers in the same process (the CLI). */
  get model(): ActiveModel | null {
    return this.active;
  }

  private requireModel(): ActiveModel {
    if (!this.active) throw new Error('no model is loaded: load one in the Model panel first');
    return this.active;
  }

  private requireDataset(): Dataset {
    if (!this.dataset) throw new Error('no dataset is loaded: load a CSV in the Data panel first');
    return this.dataset;
  }

  /** The task's rows (empty label/text left out, as datasetStats lists them). */
  private taskRows(spec: TaskSpec): Row[] {
    return this.requireDataset().taskRows(spec.task === 'classification' ? spec.labelColumn : spec.targetColumn, spec.textColumns).rows;
  }

  // -------------------------------------------------------------------------------------------
  // Model

  async loadModel({ source }: { source: ModelSource }, { progress }: RequestEvents): Promise<ModelSummary> {
    const { model, id } = await this.models.load(source, progress);
    this.active?.model.dispose();
    this.active = { ...model, id };
    return summarize(this.active);
  }

  cancelModelLoad(): { cancelled: boolean } {
    return { cancelled: this.models.cancel() };
  }

  topTokens({ text, k }: { text: string; k: number }) {
    return topTokens(this.requireModel(), text, k);
  }

  engineInfo() {
    return { defaults: { ...DEFAULT_TRAINING_CONFIG }, inits: PROMPT_INITS, methods: PROMPT_METHODS, learningRates: DEFAULT_LEARNING_RATES, metricsIntervalMs: METRICS_INTERVAL_MS };
  }

  // -------------------------------------------------------------------------------------------
  // Data, template, label words

  async loadDataset({ source }: Parameters<SessionApi['loadDataset']>[0], { progress }: RequestEvents) {
    progress({ stage: 'reading file', fraction: 0 });
    let name: string;
    let bytes: Uint8Array;
    if (source.kind === 'file') {
      name = source.file.name;
      bytes = new Uint8Array(await source.file.arrayBuffer());
    } else if (source.kind === 'url') {
      name = source.name;
      const response = await fetch(new URL(source.url, globalThis.location?.href ?? 'http://localhost/').href);
      if (!response.ok) throw new Error(`${source.url}: HTTP ${response.status} ${response.statusText}`);
      bytes = new Uint8Array(await response.arrayBuffer());
    } else if (source.kind === 'bytes') {
      name = source.name;
      bytes = source.bytes;
    } else {
      name = source.name;
      bytes = new TextEncoder().encode(source.text);
    }
    const decoded = decodeCsvBytes(bytes, name);
    progress({ stage: 'parsing CSV', fraction: 0 });
    let lastReport = 0;
    const parsed = parseCsvText(decoded.text, name, {
      onProgress(fraction) {
        const now = Date.now();
        if (now - lastReport >= METRICS_INTERVAL_MS || fraction >= 1) {
          lastReport = now;
          progress({ stage: 'parsing CSV', fraction });
        }
      },
    });
    const ds = Dataset.fromParsed(name, parsed);
    this.dataset = ds;
    return ds.info(parsed, { bytes: bytes.length, encoding: decoded.encoding, notices: decoded.notice ? [decoded.notice] : [] });
  }

  datasetStats(payload: Parameters<SessionApi['datasetStats']>[0]) {
    return this.requireDataset().stats(payload);
  }

  /** What would make a run on the loaded data meaningless (one class, no validation rows, ...), said before training. */
  trainingWarnings(payload: TrainingWarningsPayload): TrainingWarning[] {
    return trainingWarnings(this.requireDataset(), payload);
  }

  previewTemplate(payload: Parameters<SessionApi['previewTemplate']>[0]) {
    const ds = this.requireDataset();
    return previewTemplate(this.requireModel(), ds.columns, ds.rows, (r) => ds.rowNumberOf(r), payload);
  }

  checkLabelWords({ template, promptLength, labelWords, mode }: Parameters<SessionApi['checkLabelWords']>[0]) {
    const m = this.requireModel();
    const columns = this.dataset?.columns ?? [];
    const unscored = (why: string) => ({
      problems: [],
      warnings: [{ className: null, message: `These label words are not scored (${why}): in head mode they only seed the 'labels' init, with their first tokens.` }],
      multiTokenWords: [],
      sequencesPerExample: 1,
    });
    if (!m.model.hasLmHead) {
      if (mode === 'head') return unscored('this checkpoint has no LM head');
      return { problems: [{ className: null, message: 'this checkpoint has no LM head, so label words cannot be scored: use the linear-head mode' }], warnings: [], multiTokenWords: [], sequencesPerExample: 1 };
    }
    if (mode === 'head' && m.config.lmKind === 'masked-lm') {
      try {
        if (!compileFor(m, template, columns, promptLength, { mode }).hasMask) return unscored('the template has no [MASK] to read them at');
      } catch {
        // The template's own error shows under it; the words are checked as for a [MASK].
      }
    }
    return checkLabelWords(m, labelWords, spaceBeforePrediction(m, template, columns, promptLength));
  }

  /**
   * What Start would meet with these settings: the run's own preparation (template, label words or
   * head, classes, split, the prompt's init) tried on the first rows of each class, so that every
   * refusal the run would make shows before it starts, worded as the run would word it; and where
   * the 'labels' init takes its tokens from when it cannot take them from scored label words.
   */
  async checkTraining({ spec, config }: CheckTrainingPayload): Promise<TrainingCheck> {
    const problems: string[] = [];
    const notes: string[] = [];
    const refused = (e: unknown) => problems.push(e instanceof Error ? e.message : String(e));
    try {
      checkTrainingConfig(config);
    } catch (e) {
      refused(e);
    }
    const m = this.requireModel();
    const rows = this.taskRows(spec);
    if (rows.length === 0) {
      problems.push('no rows to train on: every row has an empty label or text (see the Data panel)');
      return { problems, notes };
    }
    try {
      if (spec.task === 'classification') {
        const seen = new Map<string, number>();
        const sample = rows.filter((r) => {
          const n = seen.get(r[spec.labelColumn]) ?? 0;
          seen.set(r[spec.labelColumn], n + 1);
          return n < CHECK_ROWS_PER_CLASS;
        });
        const task = classificationTask(m, { rows: sample, labelColumn: spec.labelColumn, template: spec.template, labelWords: spec.labelWords }, config);
        try {
          const plan = initPlan(m, task.prepared, config.init, spec.labelWords);
          if (plan.note) notes.push(plan.note);
          (await task.newPrompt(config.seed)).dispose();
        } finally {
          task.dispose();
        }
      } else {
        const task = generationTask(m, { rows: rows.slice(0, CHECK_ROWS_PER_CLASS), targetColumn: spec.targetColumn, template: spec.template }, config);
        try {
          if (config.init === 'labels') notes.push("A generation task has no label words: the 'labels' init starts from frequent tokens of the training texts (the 'vocab' init).");
          (await task.newPrompt(config.seed)).dispose();
        } finally {
          task.dispose();
        }
      }
    } catch (e) {
      refused(e);
    }
    return { problems: [...new Set(problems)], notes };
  }

  async suggestLabelWords({ template, labelColumn, textColumns, valFraction, seed, topK }: Parameters<SessionApi['suggestLabelWords']>[0], { progress }: RequestEvents) {
    const m = this.requireModel();
    const ds = this.requireDataset();
    const rows = ds.taskRows(labelColumn, textColumns).rows;
    const { train } = stratifiedSplit(rows, labelFor('classification', labelColumn), valFraction, seed);
    const compiled = compileFor(m, template, ds.columns, 0);
    const stage = 'scoring the vocabulary at the mask';
    progress({ stage, fraction: 0 });
    let lastReport = 0;
    const s = await suggestLabelWords(m.model, m.tokenizer, compiled, train, labelColumn, {
      topK,
      maxExamplesPerClass: SUGGEST_EXAMPLES_PER_CLASS,
      onProgress(fraction) {
        const now = Date.now();
        if (now - lastReport >= METRICS_INTERVAL_MS || fraction >= 1) {
          lastReport = now;
          progress({ stage, fraction });
        }
      },
    });
    return {
      classes: Object.fromEntries(
        Object.entries(s.classes).map(([c, ws]) => [c, ws.map(({ word, score, rise, meanProbability, accuracy }) => ({ word, score, rise, meanProbability, accuracy }))]),
      ),
      sets: s.sets,
      best: s.best,
      examples: s.examples,
      majority: s.majority,
      convincing: s.convincing,
      verdict: s.verdict,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Training and evaluation

  async train({ runId, spec, config, initial, resume, checkpointEverySteps }: Parameters<SessionApi['train']>[0], events: RequestEvents): Promise<TrainOutcome> {
    if (this.sweeping) throw new Error(`sweep "${this.sweeping.sweepId}" is running: stop it first`);
    if (this.training) throw new Error(`run "${this.training.runId}" is still training: stop it first`);
    const controller = new TrainingController();
    this.training = { runId, controller };
    try {
      return await this.run(spec, config, events, { initial, resume, controller, checkpointEverySteps });
    } finally {
      this.training = null;
    }
  }

  pauseTraining({ runId }: { runId: string }): TrainControlResult {
    return this.control(runId, (c) => c.pause());
  }

  resumeTraining({ runId }: { runId: string }): TrainControlResult {
    return this.control(runId, (c) => c.resume());
  }

  stopTraining({ runId }: { runId: string }): TrainControlResult {
    return this.control(runId, (c) => c.stop());
  }

  /** Trials one after another on the loaded model and data (src/session/sweep.ts); each is an ordinary run. */
  async sweep(payload: SweepPayload, events: RequestEvents): Promise<SweepOutcome> {
    if (this.sweeping) throw new Error(`sweep "${this.sweeping.sweepId}" is still running: stop it first`);
    if (this.training) throw new Error(`run "${this.training.runId}" is still training: stop it first`);
    const lm = this.requireModel();
    const ds = this.requireDataset();
    const control = new SweepControl();
    this.sweeping = { sweepId: payload.sweepId, control };
    try {
      const host = {
        lm,
        rows: this.taskRows(payload.spec),
        rowNumberOf: (r: Row) => ds.rowNumberOf(r),
        runTrial: async (spec: TaskSpec, config: TrainingConfig, rows: Row[], trialEvents: RequestEvents, o: { runId: string; controller: TrainingController; resume?: TrainingState; checkpointEverySteps?: number; validationRows?: Row[] }) => {
          this.training = { runId: o.runId, controller: o.controller };
          try {
            return await this.run(spec, config, trialEvents, { rows, validationRows: o.validationRows, controller: o.controller, resume: o.resume, checkpointEverySteps: o.checkpointEverySteps });
          } finally {
            this.training = null;
          }
        },
      };
      return await runSweep(host, payload, events, control);
    } finally {
      this.sweeping = null;
    }
  }

  stopSweep({ sweepId }: StopSweepPayload): StopSweepResult {
    if (!this.sweeping || this.sweeping.sweepId !== sweepId) return { sweepId, state: 'not-running' };
    this.sweeping.control.stop();
    return { sweepId, state: 'stopping' };
  }

  private control(runId: string, change: (c: TrainingController) => void): TrainControlResult {
    if (!this.training || this.training.runId !== runId) return { runId, state: 'not-running' };
    const c = this.training.controller;
    change(c);
    return { runId, state: c.stopped ? 'stopping' : c.paused ? 'paused' : 'running' };
  }

  /** Zero-shot against a given prompt on the validation split, without training (an import). */
  async evaluatePrompt({ spec, config, prompt }: Parameters<SessionApi['evaluatePrompt']>[0]): Promise<TrainOutcome> {
    return this.run(spec, config, null, { initial: prompt, evaluateOnly: true });
  }

  /** Trains (or, with `evaluateOnly`, evaluates) and turns the engine's result into an outcome. */
  private async run(
    spec: TaskSpec,
    config: TrainingConfig,
    events: RequestEvents | null,
    options: { initial?: PromptValues; resume?: Parameters<SessionApi['train']>[0]['resume']; evaluateOnly?: boolean; controller?: TrainingController; checkpointEverySteps?: number; /** Instead of the task's rows (a sweep's rows less its held-out test). */ rows?: Row[]; /** A k-fold sweep's fold: validation rows given, `rows` then only train. */ validationRows?: Row[] },
  ): Promise<TrainOutcome> {
    const m = this.requireModel();
    const ds = this.requireDataset();
    const rows = options.rows ?? this.taskRows(spec);
    if (rows.length === 0) throw new DataError('no rows to train on: every row has an empty label or text (see the Data panel)');
    let lastPhase = { stage: '', at: 0 };
    const hooks: TuneHooks<{ loss: number; accuracy?: number; macroF1?: number }, unknown> = {
      control: options.controller,
      checkpointEverySteps: options.checkpointEverySteps,
      onMetrics: (metrics) => events?.metrics({ series: 'step', ...metrics }),
      // A phase's start and end always, in between at most every METRICS_INTERVAL_MS.
      onPhase: (progress) => {
        const now = Date.now();
        if (progress.stage === lastPhase.stage && progress.done > 0 && progress.done < progress.total && now - lastPhase.at < METRICS_INTERVAL_MS) return;
        lastPhase = { stage: progress.stage, at: now };
        events?.metrics({ series: 'phase', ...progress });
      },
      onEpoch: (report) => events?.metrics({ series: 'epoch', step: report.step, ...epochMetrics(report) }),
      onCheckpoint: ({ state, prompt }: TuneCheckpoint) => events?.checkpoint({ step: state.step, epochsDone: state.epochs.length, values: prompt, state }),
    };
    // A resumed state comes from a checkpoint of this same spec (the UI keeps it with the run), so
    // its epochs carry this task's validation fields.
    const tuneOptions = { initial: options.initial, resume: options.resume as TrainingState<never> | undefined, train: !options.evaluateOnly };
    if (spec.task === 'classification') {
      const data = { rows, labelColumn: spec.labelColumn, template: spec.template, labelWords: spec.labelWords, ...(options.validationRows ? { validationRows: options.validationRows } : {}) };
      const result = await trainClassifier(
        m,
        data,
        config,
        {
          ...hooks,
          onBaseline(report) {
            if (report) events?.metrics({ series: 'zeroShot', loss: report.loss, accuracy: report.accuracy, macroF1: report.macroF1 });
          },
        },
        tuneOptions,
      );
      try {
        const { meta } = await classificationExport(result, data, config, m);
        return classificationOutcome(result, ds, meta, await result.values());
      } finally {
        result.dispose();
      }
    }
    const data = { rows, targetColumn: spec.targetColumn, template: spec.template };
    const result = await trainGenerator(m, data, config, hooks, tuneOptions);
    try {
      const { meta } = await generationExport(result, data, config, m);
      return generationOutcome(result, ds, meta, await result.values());
    } finally {
      result.dispose();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Playground

  async predict({ spec, mode, classes, prompt, inputs }: Parameters<SessionApi['predict']>[0]) {
    const m = this.requireModel();
    const columns = [...new Set([...spec.textColumns, ...Object.keys(inputs)])];
    // A prefix sits at every layer, not in the input: the template then has no soft positions.
    const template = compileFor(m, spec.template, columns, prompt && prompt.method !== 'prefix' ? prompt.numTokens : 0, { mode });
    const setup = classifierSetup(m, template, { mode, labelWords: spec.labelWords, classes });
    const row: Row = Object.fromEntries(columns.map((c) => [c, inputs[c] ?? '']));
    // An ensemble scores with every member (their mean probabilities).
    const soft = prompt
      ? (prompt.members ?? [prompt]).map((values) =>
          promptFromValues(values, { length: values.numTokens, hiddenSize: m.config.hiddenSize, numLayers: m.config.numLayers, numKeyValueHeads: m.config.numKeyValueHeads, headDim: m.config.headDim, headClasses: mode === 'head' ? setup.classes.length : undefined, seed: 0 }),
        )
      : null;
    try {
      if (mode === 'head' && soft && !prompt?.head) throw new DataError('the prompt has no label head; head mode needs one');
      const tuned = soft ? (await classifyRows(m, setup, soft, [row]))[0].probabilities : null;
      const zeroShot = setup.verbalizer ? (await classifyRows(m, setup, null, [row]))[0].probabilities : null;
      return { classes: setup.classes, tuned, zeroShot };
    } finally {
      soft?.forEach((p) => p.dispose());
      setup.verbalizer?.dispose();
    }
  }

  async generate({ spec, prompt, inputs, strategy, topK, temperature, maxNewTokens, seed }: Parameters<SessionApi['generate']>[0]) {
    const m = this.requireModel();
    const columns = [...new Set([...spec.textColumns, ...Object.keys(inputs)])];
    // A prefix sits at every layer, not in the input: the template then has no soft positions.
    const template = compileFor(m, spec.template, columns, prompt && prompt.method !== 'prefix' ? prompt.numTokens : 0);
    requireDecoder(m.config);
    const row: Row = Object.fromEntries(columns.map((c) => [c, inputs[c] ?? '']));
    const options = { strategy, topK, temperature, maxNewTokens, seed };
    const soft = prompt ? promptFromValues(prompt, { length: prompt.numTokens, hiddenSize: m.config.hiddenSize, numLayers: m.config.numLayers, numKeyValueHeads: m.config.numKeyValueHeads, headDim: m.config.headDim, seed: 0 }) : null;
    try {
      const tuned = soft ? (await generate(m, template, soft, [row], options))[0] : null;
      const zeroShot = (await generate(m, template, null, [row], options))[0];
      return { tuned, zeroShot };
    } finally {
      soft?.dispose();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Export and import

  exportPrompt({ prompt, meta, metrics }: Parameters<SessionApi['exportPrompt']>[0]) {
    const vectors = { vectors: prompt.vectors, numTokens: prompt.numTokens, dim: prompt.dim };
    // An ensemble: every member's files too (members/<k>/), the first member's where one prompt's go.
    const files = prompt.members?.length
      ? ensembleFiles(prompt.members, meta, ENSEMBLE_SEED_STEP, { metrics })
      : exportFiles(vectors, meta, { metrics, encoder: prompt.encoder });
    return {
      files: Object.entries(files).map(([path, bytes]) => ({ path, bytes })),
      zip: zipFiles(files, meta),
      notes: prompt.members?.length ? [...peftExportNotes(meta), `An ensemble of ${prompt.members.length} prompts: each member's files are in members/<k>/; the ensemble averages their class probabilities.`] : peftExportNotes(meta),
    };
  }

  /**
   * "Train at scale": the run's own preparation on the loaded data and model (template, classes,
   * the split as training makes it, the init's fallback), written as a transformers + PEFT +
   * Accelerate project (src/engine/export/project.ts).
   */
  exportProject({ spec, config, prompt }: Parameters<SessionApi['exportProject']>[0]) {
    if (spec.task !== 'classification') throw new DataError('a "Train at scale" project is made for classification runs; generation is not exported as a project yet');
    const m = this.requireModel();
    const ds = this.requireDataset();
    checkTrainingConfig(config);
    const rows = this.taskRows(spec);
    if (rows.length === 0) throw new DataError('no rows to export: every row has an empty label or text (see the Data panel)');
    const data = { rows, labelColumn: spec.labelColumn, template: spec.template, labelWords: spec.labelWords };
    const prepared = prepareClassification(m, data, config);
    try {
      const width = config.method === 'prefix' ? m.config.numLayers * 2 * m.config.hiddenSize : m.config.hiddenSize;
      if (prompt && (prompt.numTokens !== prepared.promptLength || prompt.dim !== width)) {
        throw new DataError(
          `the current prompt is [${prompt.numTokens}, ${prompt.dim}] but these settings train [${prepared.promptLength}, ${width}]: export without it, or with its own settings`,
        );
      }
      const headless = prompt && config.mode === 'head' && !prompt.head;
      const initial = prompt && !headless ? (config.mode === 'head' ? prompt : withoutHead(prompt)) : null;
      const plan = initPlan(m, prepared, config.init, spec.labelWords);
      const createdAt = new Date().toISOString();
      const files = projectFiles({
        template: spec.template,
        columns: [...ds.columns],
        labelColumn: spec.labelColumn,
        textColumns: spec.textColumns,
        classes: prepared.classes,
        labelWords: spec.labelWords ?? {},
        train: prepared.trainRows,
        validation: prepared.valRows,
        config,
        model: {
          id: m.id,
          checkpointHash: m.checkpointHash,
          config: m.config,
          special: m.tokenizer.special,
          addBos: m.tokenizer.addBos,
          tokenizerVocabSize: m.tokenizer.vocabSize,
          hasLmHead: m.model.hasLmHead,
        },
        placement: prepared.template.placement,
        promptLength: prepared.promptLength,
        init: { kind: plan.init, ...(plan.init === 'text' ? { text: config.initText } : {}), ...(plan.labelWordIds ? { labelWordIds: plan.labelWordIds } : {}) },
        initialPrompt: initial,
        createdAt,
      });
      const notes = [
        `${prepared.trainRows.length} training and ${prepared.valRows.length} validation rows, split as the studio splits them (seed ${config.seed}).`,
        initial ? 'It starts from the current prompt (initial_prompt/prompt.json).' : `It starts from the '${plan.init}' init, drawn as the studio draws it.`,
        ...(plan.note ? [plan.note] : []),
        'Run it: pip install -r requirements.txt, then accelerate launch --config_file accelerate/ddp.yaml train.py; import output/ (zipped) here afterwards.',
      ];
      return { files: Object.entries(files).map(([path, bytes]) => ({ path, bytes })), zip: zipSync(files, { mtime: new Date(createdAt) }), notes };
    } finally {
      prepared.verbalizer?.dispose();
    }
  }

  async importPrompt({ fileName, bytes }: Parameters<SessionApi['importPrompt']>[0]) {
    const imported = await importPrompt(fileName, bytes);
    const m = this.active;
    const compatibility = m
      ? checkPromptAgainstModel(imported, m)
      : null;
    // A prefix says so in its metadata; a bare PEFT file is one when it is as wide as the model's keys and values.
    const prefixWidth = m ? prefixWidthOf(m.config) : -1;
    const valuesOf = (v: ImportedMember): PromptValues => {
      const values: PromptValues = { vectors: v.vectors, numTokens: v.numTokens, dim: v.dim };
      if (v.metadata?.head) values.head = v.metadata.head;
      if (v.metadata?.method === 'prefix' || (!v.metadata && v.dim === prefixWidth)) values.method = 'prefix';
      // The studio's encoder.safetensors: training goes on through the encoder (P-tuning, a projected prefix).
      if (v.encoder) values.encoder = v.encoder;
      return values;
    };
    // An ensemble export: every member (members/<k>/), the first also where one prompt's values go.
    const members = imported.members?.map(valuesOf);
    const prompt: PromptValues = members ? { ...members[0], members } : valuesOf(imported);
    return {
      fileName: imported.fileName,
      format: imported.format,
      prompt,
      metadata: imported.metadata,
      modelId: imported.modelId,
      compatibility,
      warnings: imported.warnings,
      ...(imported.projectMetrics ? { projectMetrics: imported.projectMetrics } : {}),
    };
  }
}

/** Every request kind but the worker's own: the class `implements SessionApi`, so each has its method. */
const SESSION_KINDS = (Object.keys(REQUEST_KINDS) as RequestKind[]).filter((k): k is SessionKind => k !== 'init' && k !== 'ping');

/** The session's methods bound to it: the worker spreads these into its request handlers. */
export function sessionApi(session: StudioSession): SessionApi {
  const api = {} as Record<SessionKind, unknown>;
  for (const kind of SESSION_KINDS) api[kind] = (session[kind] as (...args: unknown[]) => unknown).bind(session);
  return api as SessionApi;
}


function summarize({ id, config, tokenizer, model, checkpointHash, weightBytes, weightDtypes, parameters }: ActiveModel): ModelSummary {
  return {
    id,
    modelType: config.modelType,
    lmKind: config.lmKind,
    hiddenSize: config.hiddenSize,
    numLayers: config.numLayers,
    numHeads: config.numHeads,
    vocabSize: config.vocabSize,
    maxPositions: config.maxPositions,
    parameters,
    weightBytes,
    hasLmHead: model.hasLmHead,
    checkpointHash,
    maskToken: tokenizer.maskToken,
    chatTemplate: chatTemplateOption(tokenizer),
    weightDtypes,
    decoder: decoderSummary(config),
  };
}

function decoderSummary(c: ActiveModel['config']): DecoderSummary | undefined {
  if (!isLlamaFamily(c.modelType) || c.numKeyValueHeads === undefined || c.headDim === undefined || c.ropeTheta === undefined) return undefined;
  return {
    numKeyValueHeads: c.numKeyValueHeads,
    headDim: c.headDim,
    ropeTheta: c.ropeTheta,
    ropeScaling: c.ropeScaling ?? null,
    tiedHead: c.tieWordEmbeddings === true,
    slidingWindow: c.slidingWindow ?? null,
    attentionBias: c.attentionBias ?? 'none',
    qkNorm: c.qkNorm === true,
  };
}

type OutcomeMeta = TrainOutcome['meta'];

function classificationOutcome(result: ClassificationResult, ds: Dataset, meta: OutcomeMeta, prompt: PromptValues): ClassificationOutcome {
  const valRows = result.prepared.valRows;
  const zeroShotPredictions = result.zeroShot?.predictions ?? null;
  const predictions = (result.validation?.predictions ?? []).slice(0, MAX_PREDICTION_ROWS).map((p) => ({
    row: ds.rowNumberOf(valRows[p.index]),
    text: joinInputs(valRows[p.index], result.prepared.template.columns),
    gold: p.gold,
    predicted: p.predicted,
    probabilities: p.probabilities,
    zeroShotPredicted: zeroShotPredictions?.[p.index]?.predicted ?? null,
  }));
  const summary = (r: ClassificationResult['validation']) => (r ? { loss: r.loss, accuracy: r.accuracy, macroF1: r.macroF1, confusionMatrix: r.confusionMatrix } : null);
  return {
    task: 'classification',
    ...common(result, meta, prompt),
    classes: result.classes,
    zeroShot: summary(result.zeroShot),
    tuned: summary(result.validation),
    majority: result.majority,
    robustness: result.robustness,
    ensemble: result.ensemble,
    predictions,
    predictionsTotal: result.validation?.predictions.length ?? 0,
  };
}

function generationOutcome(result: GenerationResult, ds: Dataset, meta: OutcomeMeta, prompt: PromptValues): GenerationOutcome {
  const valRows = result.prepared.valRows;
  return {
    task: 'generation',
    ...common(result, meta, prompt),
    before: result.before,
    after: result.after,
    samples: result.samples.slice(0, MAX_PREDICTION_ROWS).map((s) => ({
      row: ds.rowNumberOf(valRows[s.index]),
      input: joinInputs(valRows[s.index], result.prepared.template.columns),
      target: s.target,
      before: s.before,
      after: s.after,
    })),
  };
}

/** What every outcome carries, from the loop's record. */
function common(result: ClassificationResult | GenerationResult, meta: OutcomeMeta, prompt: PromptValues) {
  const epochs = (result.epochs as EpochReport<{ loss: number; accuracy?: number; macroF1?: number }>[]).map(epochMetrics);
  return {
    stopReason: result.stopReason,
    ...(result.message ? { message: result.message } : {}),
    bestEpoch: result.bestEpoch,
    steps: result.steps,
    totalSteps: result.totalSteps,
    seconds: result.seconds,
    trainSize: result.trainSize,
    valSize: result.valSize,
    truncatedCount: result.truncatedCount,
    trainLosses: result.trainLosses,
    epochs,
    prompt,
    meta,
  };
}

/** A prompt's values without a label head (a verbalizer-mode project starts from the vectors alone). */
function withoutHead(prompt: PromptValues): PromptValues {
  const { head: _, members, ...rest } = prompt;
  return { ...rest, ...(members ? { members: members.map(withoutHead) } : {}) };
}
