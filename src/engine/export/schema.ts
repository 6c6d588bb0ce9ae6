/**
 * What an export records and how it is checked: the file names and format constants, the metadata
 * types, the two error classes, and the validator that export (bugs in the caller) and import (bad
 * files) share. The writers and readers of each file format live beside this file.
 */
import { prefixWidth, SUPPORTED_MODEL_TYPES, type ModelType, type TransformerConfig } from '../../model/types';
import { PROMPT_ENCODER_TYPES, PROMPT_INITS, PROMPT_METHODS, PROMPT_PLACEMENTS, type ClassifierMode, type PromptEncoderType, type PromptInit, type PromptMethod, type PromptPlacement, type TaskKind } from '../types';

/** Identifies prompt.json (and the safetensors metadata) as ours; bumped on incompatible changes. */
export const PROMPT_FORMAT = 'prompt-tuning-studio/prompt';
export const PROMPT_FORMAT_VERSION = 1;
/** The tensor name PEFT uses for a prompt-tuning adapter; our safetensors use it too. */
export const PROMPT_EMBEDDINGS_KEY = 'prompt_embeddings';
/** Safetensors metadata key holding prompt.json's metadata (everything but the vectors) as JSON. */
export const SAFETENSORS_METADATA_KEY = 'prompt_tuning_studio';

export const EXPORT_FILE_NAMES = {
  promptJson: 'prompt.json',
  promptSafetensors: 'prompt.safetensors',
  promptNpy: 'prompt.npy',
  peftConfig: 'peft/adapter_config.json',
  peftWeights: 'peft/adapter_model.safetensors',
  metrics: 'metrics.json',
  /** What each file is and how to load the PEFT adapter (readme.ts). */
  readme: 'README.md',
} as const;

/** A soft prompt as a row-major [numTokens, dim] matrix. */
/** The checkpoint a prompt belongs to: what exports record and imports are checked against. */
export interface ModelIdentity {
  /** Hub id, URL or folder it was loaded from. */
  id: string;
  /** LoadedModel.checkpointHash (SHA-256 over the weight files), or null when unknown. */
  checkpointHash: string | null;
  config: Pick<TransformerConfig, 'modelType' | 'hiddenSize' | 'numLayers' | 'numHeads' | 'vocabSize' | 'numKeyValueHeads' | 'headDim'>;
}

/** The export metadata's `model` record for a loaded model (grouped-query sizes only where the model has them). */
export function exportedModel(model: ModelIdentity): PromptExportMetadata['model'] {
  const { config } = model;
  return {
    id: model.id,
    checkpointHash: model.checkpointHash,
    modelType: config.modelType,
    hiddenSize: config.hiddenSize,
    numLayers: config.numLayers,
    numHeads: config.numHeads,
    vocabSize: config.vocabSize,
    ...(config.numKeyValueHeads !== undefined && config.headDim !== undefined ? { numKeyValueHeads: config.numKeyValueHeads, headDim: config.headDim } : {}),
  };
}

export interface PromptVectors {
  vectors: Float32Array;
  numTokens: number;
  dim: number;
}

/**
 * A prompt encoder's trainable values as plain arrays (the studio's encoder.safetensors): what
 * P-tuning's or a projected prefix's vectors are computed from, so training can go on after an import.
 */
export interface EncoderValues {
  type: PromptEncoderType;
  activation: 'relu' | 'tanh';
  /** The trainable embeddings the encoder reads, [numTokens, inputDim] row-major. */
  embeddings: Float32Array;
  inputDim: number;
  /**
   * Every encoder tensor in the variables' order: per LSTM layer `lstm.<l>.<forward|backward>.<input_weight
   * [in, 4E] | recurrent_weight [E, 4E] | bias [4E]>`, then `mlp.<i>.weight` [in, out] and `mlp.<i>.bias` [out].
   */
  tensors: { name: string; shape: number[]; values: Float32Array }[];
}

export interface PromptModelInfo {
  /** Hub id, URL or folder the model was loaded from. */
  id: string;
  /** SHA-256 hex over the weight files (LoadedModel.checkpointHash); null when unknown. */
  checkpointHash: string | null;
  modelType: ModelType;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  vocabSize: number;
  /**
   * Llama family (grouped-query attention): key/value heads and head width, so a prefix is
   * [N, numLayers x 2 x numKeyValueHeads x headDim] (types.ts keyValueWidth). Absent for the other families.
   */
  numKeyValueHeads?: number;
  headDim?: number;
}

/** How the prompt was initialised (TrainingConfig.init and .initText). */
export interface PromptInitMetadata {
  kind: PromptInit;
  /** The init text for kind 'text'. */
  text?: string;
}

export interface PromptHyperparameters {
  promptLength: number;
  learningRate: number;
  batchSize: number;
  epochs: number;
  /** Linear warmup length in optimizer steps (0 = none). */
  warmupSteps: number;
  /** Global gradient-norm clip; null = no clipping. */
  clipNorm: number | null;
  /** Fraction of the data held out for validation. */
  valSplit: number;
  /** Epochs without validation-loss improvement before stopping; null = no early stopping. */
  earlyStoppingPatience: number | null;
}

/** Fractions in [0, 1]; zero-shot numbers are null when they were not measured. */
export interface ClassificationMetrics {
  kind: 'classification';
  zeroShotAccuracy: number | null;
  accuracy: number;
  zeroShotMacroF1: number | null;
  macroF1: number;
}

export interface GenerationMetrics {
  kind: 'generation';
  zeroShotExactMatch: number | null;
  exactMatch: number;
  zeroShotTokenF1: number | null;
  tokenF1: number;
}

export type PromptMetrics = ClassificationMetrics | GenerationMetrics;

/** The linear label head of 'head' mode: logits [B, C] = h0 [B, H] x weights [H, C] + bias [C]. */
export interface LabelHead {
  /** [H, C] row-major, C = classNames.length. */
  weights: Float32Array;
  /** [C]. */
  bias: Float32Array;
}

/** Everything recorded beside the vectors. */
export interface PromptExportMetadata {
  model: PromptModelInfo;
  task: TaskKind;
  /** The template as written, with its {column}, [MASK] and [SOFT] parts. */
  template: string;
  placement: PromptPlacement;
  mode: ClassifierMode;
  /** Classes in the order of the head's columns and the metrics; empty for generation. */
  classNames: string[];
  /** Label words per class name (verbalizer mode); may be empty in head mode and for generation. */
  labelWords: Record<string, string[]>;
  /** Present exactly when mode is 'head'. */
  head?: LabelHead;
  /**
   * What was trained; absent in files from before methods existed ('prompt'). For 'prefix' the
   * vectors are the per-layer keys and values, [N, numLayers x 2 x hiddenSize] in PEFT's
   * past_key_values layout; for 'p-tuning' they are the prompt encoder's output, [N, hiddenSize].
   */
  method?: PromptMethod;
  /** P-tuning's encoder / prefix tuning's projection: its hidden width (recorded for PEFT's config). */
  encoderHiddenSize?: number;
  /** P-tuning's encoder: 'lstm' (bidirectional LSTM + MLP); absent: the MLP. Recorded for PEFT's encoder_reparameterization_type. */
  encoderType?: PromptEncoderType;
  init: PromptInitMetadata;
  hyperparameters: PromptHyperparameters;
  seed: number;
  metrics: PromptMetrics | null;
  /** ISO 8601, e.g. new Date().toISOString(). */
  createdAt: string;
}

/** prompt.json as stored: the metadata with typed arrays as nested number arrays. */
export interface PromptJson extends Omit<PromptExportMetadata, 'head'> {
  format: typeof PROMPT_FORMAT;
  formatVersion: number;
  numTokens: number;
  dim: number;
  head?: { weights: number[][]; bias: number[] };
  /** [N][H]. */
  vectors: number[][];
}

export type ImportedFormat = 'prompt.json' | 'safetensors' | 'npy' | 'zip';

/** A "Train at scale" project's metrics.json as train.py writes it (format "prompt-tuning-studio/project-metrics"). */
export interface ProjectMetrics {
  /** The model train.py loaded (its id or folder) and its family. */
  modelId: string;
  method: string;
  mode: string;
  classes: string[];
  trainSize: number;
  valSize: number;
  /** Processes it ran on (accelerate's num_processes). */
  processes: number;
  /** Validation scores of the prompt it kept (the best epoch's), and of the template alone. */
  validation: { loss: number; accuracy: number; macroF1: number } | null;
  zeroShot: { loss: number; accuracy: number; macroF1: number } | null;
  bestEpoch: number | null;
  steps: number;
  totalSteps: number;
  stopReason: string;
  seconds: number;
}

export interface ImportedPrompt extends PromptVectors {
  fileName: string;
  format: ImportedFormat;
  /** Full metadata when the file carries it (prompt.json, our prompt.safetensors); otherwise null. */
  metadata: PromptExportMetadata | null;
  /** What the file says it was tuned on, when it says (from metadata or safetensors fields). */
  modelId: string | null;
  checkpointHash: string | null;
  warnings: string[];
  /** A project output's metrics.json, when the import held one (see project.ts). */
  projectMetrics?: ProjectMetrics | null;
  /** The studio's encoder.safetensors beside the vectors (P-tuning, a projected prefix), when the import held one. */
  encoder?: EncoderValues;
  /**
   * A prompt ensemble's export zip: every member read from members/<k>/ in order (k from 1); the
   * values above are the first member's. Absent for a single prompt.
   */
  members?: ImportedMember[];
}

/** One member of an imported ensemble: its vectors and its own metadata (seed, head). */
export interface ImportedMember extends PromptVectors {
  metadata: PromptExportMetadata | null;
  encoder?: EncoderValues;
}

export class PromptExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptExportError';
  }
}

export class PromptImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptImportError';
  }
}

// ---------------------------------------------------------------------------------------------
// Validation shared by export (bugs in the caller) and import (bad files).

function checkMatrix(values: Float32Array, rows: number, cols: number, what: string, fail: (m: string) => never): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) fail(`${what}: shape [${rows}, ${cols}] is not positive`);
  if (values.length !== rows * cols) fail(`${what}: ${values.length} values for shape [${rows}, ${cols}] (expected ${rows * cols})`);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      const r = Math.floor(i / cols);
      fail(`${what}: ${values[i]} at [${r}, ${i - r * cols}]; values must be finite`);
    }
  }
}

export function checkPrompt(prompt: PromptVectors, fail: (m: string) => never, what = 'prompt vectors'): void {
  checkMatrix(prompt.vectors, prompt.numTokens, prompt.dim, what, fail);
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks the metadata against itself and the vectors. */
export function checkMetadata(meta: PromptExportMetadata, prompt: PromptVectors, fail: (m: string) => never): void {
  const m = meta.model;
  if (typeof m?.id !== 'string' || m.id === '') fail('model.id is missing');
  if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(m.modelType)) {
    fail(`model.modelType ${JSON.stringify(m.modelType)} is not one of ${SUPPORTED_MODEL_TYPES.join(', ')}`);
  }
  for (const key of ['hiddenSize', 'numLayers', 'numHeads', 'vocabSize'] as const) {
    if (!Number.isInteger(m[key]) || m[key] < 1) fail(`model.${key} ${JSON.stringify(m[key])} is not a positive integer`);
  }
  if (m.checkpointHash !== null && !/^[0-9a-f]{64}$/.test(m.checkpointHash)) {
    fail(`model.checkpointHash ${JSON.stringify(m.checkpointHash)} is not a lowercase hex SHA-256 (or null)`);
  }
  if (meta.method !== undefined && !(PROMPT_METHODS as readonly string[]).includes(meta.method)) {
    fail(`method ${JSON.stringify(meta.method)} is not one of ${PROMPT_METHODS.join(', ')}`);
  }
  for (const key of ['numKeyValueHeads', 'headDim'] as const) {
    if (m[key] !== undefined && !(Number.isInteger(m[key]) && (m[key] as number) >= 1)) fail(`model.${key} ${JSON.stringify(m[key])} is not a positive integer`);
  }
  if (meta.method === 'prefix') {
    const width = prefixWidth(m);
    const kv = m.numKeyValueHeads !== undefined && m.headDim !== undefined ? `numKeyValueHeads x headDim = ${m.numLayers} x 2 x ${m.numKeyValueHeads} x ${m.headDim}` : 'hiddenSize';
    if (prompt.dim !== width) fail(`a prefix has numLayers x 2 x ${kv} = ${width} values per virtual token, but these vectors have ${prompt.dim}`);
  } else if (m.hiddenSize !== prompt.dim) {
    fail(`model.hiddenSize is ${m.hiddenSize} but the prompt vectors are ${prompt.dim}-dimensional`);
  }
  if (meta.encoderType !== undefined && !(PROMPT_ENCODER_TYPES as readonly string[]).includes(meta.encoderType)) {
    fail(`encoderType ${JSON.stringify(meta.encoderType)} is not one of ${PROMPT_ENCODER_TYPES.join(', ')}`);
  }
  if (meta.encoderHiddenSize !== undefined && !(Number.isInteger(meta.encoderHiddenSize) && meta.encoderHiddenSize >= 1)) {
    fail(`encoderHiddenSize ${JSON.stringify(meta.encoderHiddenSize)} is not a positive integer`);
  }
  const hp = meta.hyperparameters;
  if (typeof hp !== 'object' || hp === null) fail('hyperparameters are missing');
  for (const key of ['promptLength', 'learningRate', 'batchSize', 'epochs', 'warmupSteps', 'valSplit'] as const) {
    if (!isNumber(hp[key])) fail(`hyperparameters.${key} ${JSON.stringify(hp[key])} is not a number`);
  }
  for (const key of ['clipNorm', 'earlyStoppingPatience'] as const) {
    if (hp[key] !== null && !isNumber(hp[key])) fail(`hyperparameters.${key} ${JSON.stringify(hp[key])} is not a number or null`);
  }
  if (hp.promptLength !== prompt.numTokens) {
    fail(`hyperparameters.promptLength is ${hp.promptLength} but the prompt has ${prompt.numTokens} vectors`);
  }
  if (meta.task !== 'classification' && meta.task !== 'generation') fail(`task ${JSON.stringify(meta.task)} is not classification or generation`);
  if (meta.mode !== 'verbalizer' && meta.mode !== 'head') fail(`mode ${JSON.stringify(meta.mode)} is not verbalizer or head`);
  if (!PROMPT_PLACEMENTS.includes(meta.placement)) fail(`placement ${JSON.stringify(meta.placement)} is not one of ${PROMPT_PLACEMENTS.join(', ')}`);
  if (typeof meta.template !== 'string') fail('template is missing');
  if (!Array.isArray(meta.classNames) || !meta.classNames.every((c) => typeof c === 'string')) fail('classNames is not a list of strings');
  if (new Set(meta.classNames).size !== meta.classNames.length) fail(`classNames ${JSON.stringify(meta.classNames)} has duplicates`);
  if (meta.task === 'classification' && meta.classNames.length < 2) fail(`a classification prompt needs at least 2 classes, got ${meta.classNames.length}`);
  if (typeof meta.labelWords !== 'object' || meta.labelWords === null) fail('labelWords is not an object');
  for (const [cls, words] of Object.entries(meta.labelWords)) {
    if (!meta.classNames.includes(cls)) fail(`labelWords names class "${cls}", which is not in classNames`);
    if (!Array.isArray(words) || !words.every((w) => typeof w === 'string')) fail(`labelWords["${cls}"] is not a list of strings`);
  }
  if (meta.task === 'classification' && meta.mode === 'verbalizer') {
    for (const cls of meta.classNames) {
      if (!meta.labelWords[cls]?.length) fail(`verbalizer mode: class "${cls}" has no label words`);
    }
  }
  if (meta.mode === 'head') {
    if (meta.task !== 'classification') fail('head mode needs a classification task');
    if (!meta.head) fail('mode is head but no head weights were given');
    const c = meta.classNames.length;
    checkMatrix(meta.head!.weights, m.hiddenSize, c, `head weights [H=${m.hiddenSize}, C=${c}]`, fail);
    checkMatrix(meta.head!.bias, 1, c, `head bias [C=${c}]`, fail);
  } else if (meta.head) {
    fail('head weights were given but mode is verbalizer');
  }
  if (!(PROMPT_INITS as readonly string[]).includes(meta.init?.kind)) fail(`init.kind ${JSON.stringify(meta.init?.kind)} is not random, vocab, text or labels`);
  if (!isNumber(meta.seed)) fail(`seed ${JSON.stringify(meta.seed)} is not a number`);
  if (typeof meta.createdAt !== 'string' || Number.isNaN(Date.parse(meta.createdAt))) fail(`createdAt ${JSON.stringify(meta.createdAt)} is not an ISO date`);
  if (meta.metrics === undefined) fail('metrics are missing (null when not measured)');
  if (meta.metrics !== null && meta.metrics.kind !== meta.task) {
    fail(`metrics.kind ${JSON.stringify(meta.metrics.kind)} does not match task ${meta.task}`);
  }
}

function exportFail(m: string): never {
  throw new PromptExportError(`export: ${m}`);
}

export function checkExport(prompt: PromptVectors, meta?: PromptExportMetadata): void {
  checkPrompt(prompt, exportFail);
  if (meta) checkMetadata(meta, prompt, exportFail);
}

// ---------------------------------------------------------------------------------------------
// Untyped JSON

/** A value parsed from (or about to become) JSON, its shape not yet checked. */
export type Json = unknown;

export function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
