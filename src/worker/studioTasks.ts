/**
 * The worker's side of the studio's request kinds: data, template preview, label words, training
 * (with pause/resume/stop and checkpoints), evaluation, playground, export and import. The model
 * comes from the worker's loadModel (api.ts); the dataset is kept here between requests.
 */
import * as tf from '@tensorflow/tfjs';
import type { Row } from '../engine/data';
import { DataError, stratifiedSplit } from '../engine/data';
import { classifyRows, trainClassifier, type ClassificationData, type ClassificationResult, type PreparedClassification } from '../engine/classification';
import { generate, trainGenerator, type GenerationData, type GenerationResult } from '../engine/generation';
import type { LanguageModel } from '../engine/languageModel';
import { classificationExport, generationExport, type ModelSource } from '../engine/promptExport';
import { checkPromptAgainstModel, exportBundle, exportFiles, importPrompt, peftExportNotes } from '../engine/exports';
import { PROMPT_INITS, promptFromValues, type PromptValues, type SoftPrompt } from '../engine/softPrompt';
import { DEFAULT_TRAINING_CONFIG, METRICS_INTERVAL_MS, TrainingController, type TrainingConfig } from '../engine/train';
import { buildVerbalizer, suggestLabelWords } from '../engine/verbalizer';
import type { TextTokenizer } from '../model/tokenizer';
import type { FrozenLM, TransformerConfig } from '../model/types';
import type { RequestKind } from '../shared/protocol';
import { MAX_PREDICTION_ROWS } from '../shared/tasks';
import type { ClassificationOutcome, GenerationOutcome, TaskSpec, TrainControlResult, TrainOutcome } from '../shared/tasks';
import { decodeCsvBytes, parseCsvText } from './csv';
import { Dataset, labelFor } from './dataset';
import type { TaskContext, WorkerApi } from './handler';
import { checkLabelWords, compileFor, previewTemplate, spaceBeforePrediction } from './templateTools';

/** The loaded checkpoint as these tasks use it (LoadedModel plus the id it was loaded as). */
export interface ActiveModel {
  id: string;
  model: FrozenLM;
  tokenizer: TextTokenizer;
  config: TransformerConfig;
  checkpointHash: string | null;
}

type BaseKinds = 'init' | 'ping' | 'loadModel' | 'topTokens';
export type StudioKind = Exclude<RequestKind, BaseKinds>;
export type StudioTasks = Pick<WorkerApi, StudioKind>;

/** Label-word suggestion reads at most this many training examples per class. */
export const SUGGEST_EXAMPLES_PER_CLASS = 100;

/** Reads the snapshot tensors (cloned variables) into plain arrays, then frees them. */
async function readSnapshot(prompt: SoftPrompt, snapshot: tf.Tensor[]): Promise<PromptValues> {
  try {
    const [vectors, weight, bias] = await Promise.all(snapshot.map((t) => t.data() as Promise<Float32Array>));
    const values: PromptValues = { vectors, numTokens: prompt.length, dim: prompt.hiddenSize };
    if (weight && bias) values.head = { weights: weight, bias };
    return values;
  } finally {
    tf.dispose(snapshot);
  }
}

const joinInputs = (row: Row, columns: readonly string[]) => columns.map((c) => row[c] ?? '').join(' | ');

export function createStudioTasks(getModel: () => ActiveModel | null): StudioTasks {
  let dataset: Dataset | null = null;
  let training: { runId: string; controller: TrainingController } | null = null;

  const requireModel = (): ActiveModel => {
    const m = getModel();
    if (!m) throw new Error('no model is loaded: load one in the Model panel first');
    return m;
  };
  const requireDataset = (): Dataset => {
    if (!dataset) throw new Error('no dataset is loaded: load a CSV in the Data panel first');
    return dataset;
  };
  const sourceOf = (m: ActiveModel): ModelSource => ({ id: m.id, checkpointHash: m.checkpointHash, config: m.config });
  const labelColumnOf = (spec: TaskSpec) => (spec.task === 'classification' ? spec.labelColumn : spec.targetColumn);

  /** The task's rows (empty label/text left out, as datasetStats lists them). */
  const taskRows = (spec: TaskSpec) => {
    const ds = requireDataset();
    return ds.taskRows(labelColumnOf(spec), spec.textColumns).rows;
  };

  const controlResult = (runId: string, change: (c: TrainingController) => void): TrainControlResult => {
    if (!training || training.runId !== runId) return { runId, state: 'not-running' };
    change(training.controller);
    const c = training.controller;
    return { runId, state: c.stopped ? 'stopping' : c.paused ? 'paused' : 'running' };
  };

  function classificationOutcome(result: ClassificationResult, ds: Dataset, meta: TrainOutcome['meta'], prompt: PromptValues): ClassificationOutcome {
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
    const summary = (r: ClassificationResult['validation']) =>
      r ? { loss: r.loss, accuracy: r.accuracy, macroF1: r.macroF1, confusionMatrix: r.confusionMatrix } : null;
    return {
      task: 'classification',
      ...common(result, meta, prompt),
      classes: result.classes,
      zeroShot: summary(result.zeroShot),
      tuned: summary(result.validation),
      majority: result.majority,
      robustness: result.robustness,
      predictions,
      predictionsTotal: result.validation?.predictions.length ?? 0,
    };
  }

  function generationOutcome(result: GenerationResult, ds: Dataset, meta: TrainOutcome['meta'], prompt: PromptValues): GenerationOutcome {
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

  function common(result: ClassificationResult | GenerationResult, meta: TrainOutcome['meta'], prompt: PromptValues) {
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
      epochs: result.epochs.map((e) => {
        const v = e.validation as { loss: number; accuracy?: number; macroF1?: number } | null;
        return { epoch: e.epoch, trainLoss: e.trainLoss, valLoss: v?.loss ?? null, valAccuracy: v?.accuracy ?? null, valMacroF1: v?.macroF1 ?? null };
      }),
      prompt,
      meta,
    };
  }

  /** Trains (or, with `evaluateOnly`, evaluates) and turns the engine's result into an outcome. */
  async function run(
    spec: TaskSpec,
    config: TrainingConfig,
    context: TaskContext | null,
    options: { initial?: PromptValues; evaluateOnly?: boolean; controller?: TrainingController; checkpointEverySteps?: number },
  ): Promise<TrainOutcome> {
    const m = requireModel();
    const ds = requireDataset();
    const lm: LanguageModel = m;
    const rows = taskRows(spec);
    if (rows.length === 0) throw new DataError('no rows to train on: every row has an empty label or text (see the Data panel)');
    let prompt: SoftPrompt | null = null;
    let epochsDone = 0;
    let lastCheckpointStep = 0;
    // The same split the engine makes, for the step count at each epoch's end.
    const trainSize = stratifiedSplit(rows, labelFor(spec.task, labelColumnOf(spec)), config.valFraction, config.seed).train.length;
    const stepsPerEpoch = Math.max(1, Math.ceil(trainSize / config.batchSize));
    const checkpoint = (step: number) => {
      if (!prompt || !context) return;
      lastCheckpointStep = step;
      const p = prompt;
      const done = epochsDone;
      void readSnapshot(p, p.snapshot()).then((values) => context.checkpoint({ step, epochsDone: done, values }));
    };
    const hooks = {
      control: options.controller,
      onMetrics(mt: { step: number; totalSteps: number; epoch: number; loss: number; losses: number[]; learningRate: number; examplesPerSecond: number; tokensPerSecond: number; etaSeconds: number; elapsedSeconds: number }) {
        const { losses, ...values } = mt;
        context?.metrics({ step: mt.step, series: 'step', values, losses });
        const every = options.checkpointEverySteps ?? 0;
        if (every > 0 && mt.step - lastCheckpointStep >= every) checkpoint(mt.step);
      },
      onEpoch(report: { epoch: number; trainLoss: number; validation: { loss: number; accuracy?: number; macroF1?: number } | null }) {
        epochsDone = report.epoch;
        const v = report.validation;
        const values: Record<string, number> = { epoch: report.epoch, trainLoss: report.trainLoss };
        if (v) {
          values.valLoss = v.loss;
          if (v.accuracy !== undefined) values.valAccuracy = v.accuracy;
          if (v.macroF1 !== undefined) values.valMacroF1 = v.macroF1;
        }
        context?.metrics({ step: report.epoch * stepsPerEpoch, series: 'epoch', values });
        checkpoint(report.epoch * stepsPerEpoch);
      },
    };
    const onPrompt = (p: SoftPrompt) => {
      prompt = p;
    };

    if (spec.task === 'classification') {
      const data: ClassificationData = { rows, labelColumn: spec.labelColumn, template: spec.template, labelWords: spec.labelWords };
      const result = await trainClassifier(
        lm,
        data,
        config,
        {
          ...hooks,
          onZeroShot(report) {
            if (report) context?.metrics({ step: 0, series: 'zeroShot', values: { loss: report.loss, accuracy: report.accuracy, macroF1: report.macroF1 } });
          },
        },
        { initial: options.initial, onPrompt, train: !options.evaluateOnly },
      );
      try {
        const { meta } = await classificationExport(result, data, config, sourceOf(m));
        return classificationOutcome(result, ds, meta, await result.prompt.values());
      } finally {
        result.dispose();
      }
    }
    const data: GenerationData = { rows, targetColumn: spec.targetColumn, template: spec.template };
    const result = await trainGenerator(lm, data, config, hooks, { initial: options.initial, onPrompt, train: !options.evaluateOnly });
    try {
      const { meta } = await generationExport(result, data, config, sourceOf(m));
      return generationOutcome(result, ds, meta, await result.prompt.values());
    } finally {
      result.dispose();
    }
  }

  return {
    engineInfo() {
      return { defaults: { ...DEFAULT_TRAINING_CONFIG }, inits: PROMPT_INITS, metricsIntervalMs: METRICS_INTERVAL_MS };
    },

    async loadDataset({ source }, { progress }) {
      progress({ stage: 'reading file', fraction: 0 });
      let name: string;
      let bytes: Uint8Array;
      if (source.kind === 'file') {
        name = source.file.name;
        bytes = new Uint8Array(await source.file.arrayBuffer());
      } else if (source.kind === 'url') {
        name = source.name;
        const response = await fetch(new URL(source.url, self.location?.href ?? 'http://localhost/').href);
        if (!response.ok) throw new Error(`${source.url}: HTTP ${response.status} ${response.statusText}`);
        bytes = new Uint8Array(await response.arrayBuffer());
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
      dataset = ds;
      return ds.info(parsed, { bytes: bytes.length, encoding: decoded.encoding, notices: decoded.notice ? [decoded.notice] : [] });
    },

    datasetStats(payload) {
      return requireDataset().stats(payload);
    },

    previewTemplate(payload) {
      const ds = requireDataset();
      return previewTemplate(requireModel(), ds.columns, ds.rows, (r) => ds.rowNumberOf(r), payload);
    },

    checkLabelWords({ template, promptLength, labelWords }) {
      const m = requireModel();
      if (!m.model.hasLmHead) return { problems: [{ className: null, message: 'this checkpoint has no LM head, so label words cannot be scored: use the linear-head mode' }], multiTokenWords: [] };
      const columns = dataset?.columns ?? [];
      return checkLabelWords(m, labelWords, spaceBeforePrediction(m, template, columns, promptLength));
    },

    async suggestLabelWords({ template, labelColumn, textColumns, valFraction, seed, topK }, { progress }) {
      const m = requireModel();
      const ds = requireDataset();
      const rows = ds.taskRows(labelColumn, textColumns).rows;
      const { train } = stratifiedSplit(rows, labelFor('classification', labelColumn), valFraction, seed);
      const compiled = compileFor(m, template, ds.columns, 0);
      progress({ stage: 'scoring the vocabulary at the mask' });
      const classes = await suggestLabelWords(m.model, m.tokenizer, compiled, train, labelColumn, { topK, maxExamplesPerClass: SUGGEST_EXAMPLES_PER_CLASS });
      const perClass = new Map<string, number>();
      for (const r of train) perClass.set(r[labelColumn], (perClass.get(r[labelColumn]) ?? 0) + 1);
      const examples = [...perClass.values()].reduce((a, n) => a + Math.min(n, SUGGEST_EXAMPLES_PER_CLASS), 0);
      return {
        classes: Object.fromEntries(Object.entries(classes).map(([c, ws]) => [c, ws.map(({ word, score, meanProbability }) => ({ word, score, meanProbability }))])),
        examples,
      };
    },

    async train({ runId, spec, config, initial, checkpointEverySteps }, context) {
      if (training) throw new Error(`run "${training.runId}" is still training: stop it first`);
      const controller = new TrainingController();
      training = { runId, controller };
      try {
        return await run(spec, config, context, { initial, controller, checkpointEverySteps });
      } finally {
        training = null;
      }
    },

    pauseTraining({ runId }) {
      return controlResult(runId, (c) => c.pause());
    },
    resumeTraining({ runId }) {
      return controlResult(runId, (c) => c.resume());
    },
    stopTraining({ runId }) {
      return controlResult(runId, (c) => c.stop());
    },

    async evaluatePrompt({ spec, config, prompt }) {
      return run(spec, config, null, { initial: prompt, evaluateOnly: true });
    },

    async predict({ spec, mode, classes, prompt, inputs }) {
      const m = requireModel();
      const columns = [...new Set([...spec.textColumns, ...Object.keys(inputs)])];
      const template = compileFor(m, spec.template, columns, prompt?.numTokens ?? 0);
      const verbalizer =
        spec.labelWords && Object.keys(spec.labelWords).length && m.model.hasLmHead
          ? buildVerbalizer(spec.labelWords, m.tokenizer, { spaceBefore: template.spaceBeforePrediction, vocabSize: m.config.vocabSize })
          : null;
      if (mode === 'verbalizer' && !verbalizer) throw new DataError('label-words mode needs label words for each class');
      const order = verbalizer ? verbalizer.classes : classes;
      const prepared: PreparedClassification = {
        template,
        verbalizer,
        classes: order,
        trainRows: [],
        valRows: [],
        train: [],
        val: [],
        truncatedCount: 0,
        promptLength: template.softCount,
        mode,
      };
      const row: Row = Object.fromEntries(columns.map((c) => [c, inputs[c] ?? '']));
      const soft = prompt
        ? promptFromValues(prompt, { length: template.softCount, hiddenSize: m.config.hiddenSize, headClasses: mode === 'head' ? order.length : undefined, seed: 0 })
        : null;
      try {
        if (mode === 'head' && soft && !prompt?.head) throw new DataError('the prompt has no label head; head mode needs one');
        const tuned = soft ? (await classifyRows(m, prepared, soft, [row]))[0].probabilities : null;
        const zeroShot = verbalizer ? (await classifyRows(m, prepared, null, [row]))[0].probabilities : null;
        return { classes: order, tuned, zeroShot };
      } finally {
        soft?.dispose();
        verbalizer?.dispose();
      }
    },

    async generate({ spec, prompt, inputs, strategy, topK, temperature, maxNewTokens, seed }) {
      const m = requireModel();
      const columns = [...new Set([...spec.textColumns, ...Object.keys(inputs)])];
      const template = compileFor(m, spec.template, columns, prompt?.numTokens ?? 0);
      if (m.config.lmKind !== 'causal-lm') throw new DataError(`generation needs a decoder model; ${m.config.modelType} is an encoder`);
      const row: Row = Object.fromEntries(columns.map((c) => [c, inputs[c] ?? '']));
      const options = { strategy, topK, temperature, maxNewTokens, seed };
      const soft = prompt ? promptFromValues(prompt, { length: template.softCount, hiddenSize: m.config.hiddenSize, seed: 0 }) : null;
      try {
        const tuned = soft ? (await generate(m, template, soft, [row], options))[0] : null;
        const zeroShot = (await generate(m, template, null, [row], options))[0];
        return { tuned, zeroShot };
      } finally {
        soft?.dispose();
      }
    },

    exportPrompt({ prompt, meta, metrics }) {
      const vectors = { vectors: prompt.vectors, numTokens: prompt.numTokens, dim: prompt.dim };
      const files = exportFiles(vectors, meta, { metrics });
      return {
        files: Object.entries(files).map(([path, bytes]) => ({ path, bytes })),
        zip: exportBundle(vectors, meta, { metrics }),
        notes: peftExportNotes(meta),
      };
    },

    async importPrompt({ fileName, bytes }) {
      const imported = await importPrompt(fileName, bytes);
      const m = getModel();
      const compatibility = m
        ? checkPromptAgainstModel(imported, { hiddenSize: m.config.hiddenSize, modelId: m.id, checkpointHash: m.checkpointHash, modelType: m.config.modelType })
        : null;
      const prompt: PromptValues = { vectors: imported.vectors, numTokens: imported.numTokens, dim: imported.dim };
      if (imported.metadata?.head) prompt.head = imported.metadata.head;
      return {
        fileName: imported.fileName,
        format: imported.format,
        prompt,
        metadata: imported.metadata,
        modelId: imported.modelId,
        compatibility,
        warnings: imported.warnings,
      };
    },
  };
}
