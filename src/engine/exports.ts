/**
 * Export and import of tuned soft prompts. Pure functions from vectors + metadata to bytes and back:
 * no tfjs, no DOM, so the worker, the CLI and Node tests share them.
 *
 * Files (all hold the same [N, H] float32 matrix, N soft tokens of the model's hidden size H):
 * - prompt.json: the vectors as nested arrays plus everything needed to reproduce and reuse them.
 * - prompt.safetensors: tensor `prompt_embeddings` F32 [N, H]; string metadata incl. the JSON metadata.
 * - prompt.npy: numpy float32 (N, H).
 * - peft/adapter_config.json + peft/adapter_model.safetensors: a PEFT prompt-tuning adapter that
 *   `PeftModel.from_pretrained(base_model, "peft")` loads.
 */
import { strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import {
  bytesSource,
  readSafetensorsHeader,
  readTensorData,
  READABLE_DTYPES,
  writeSafetensors,
  type SafetensorsHeader,
} from '../model/safetensors';
import { SUPPORTED_MODEL_TYPES, type ModelType } from '../model/types';
import { readNpy, writeNpy } from './npy';

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
} as const;

/** A soft prompt as a row-major [numTokens, dim] matrix. */
export interface PromptVectors {
  vectors: Float32Array;
  numTokens: number;
  dim: number;
}

export type PromptTask = 'classification' | 'generation';
/** 'verbalizer': classes scored by their label words at the mask; 'head': a linear head on position 0. */
export type PromptMode = 'verbalizer' | 'head';
export type PromptInitKind = 'random' | 'vocab' | 'text' | 'labels';
/**
 * Where the soft tokens sat in the input during tuning. PEFT always prepends them before every
 * token, so only 'prefix' is reproduced exactly by the PEFT adapter (see peftExportNotes).
 * - 'prefix': before all tokens, [CLS]/BOS included.
 * - 'after-first-token': right after [CLS]/BOS (the engine's default for a template without slots).
 * - 'template': at the template's [SOFT] slots.
 */
export type PromptPlacement = 'prefix' | 'after-first-token' | 'template';
export const PROMPT_PLACEMENTS: readonly PromptPlacement[] = ['prefix', 'after-first-token', 'template'];

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
}

export interface PromptInit {
  kind: PromptInitKind;
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
  task: PromptTask;
  /** The template as written, with its {column}, [MASK] and [SOFT] parts. */
  template: string;
  placement: PromptPlacement;
  mode: PromptMode;
  /** Classes in the order of the head's columns and the metrics; empty for generation. */
  classNames: string[];
  /** Label words per class name (verbalizer mode); may be empty in head mode and for generation. */
  labelWords: Record<string, string[]>;
  /** Present exactly when mode is 'head'. */
  head?: LabelHead;
  init: PromptInit;
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

function checkPrompt(prompt: PromptVectors, fail: (m: string) => never, what = 'prompt vectors'): void {
  checkMatrix(prompt.vectors, prompt.numTokens, prompt.dim, what, fail);
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks the metadata against itself and the vectors. */
function checkMetadata(meta: PromptExportMetadata, prompt: PromptVectors, fail: (m: string) => never): void {
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
  if (m.hiddenSize !== prompt.dim) fail(`model.hiddenSize is ${m.hiddenSize} but the prompt vectors are ${prompt.dim}-dimensional`);
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
    checkMatrix(meta.head!.weights, prompt.dim, c, `head weights [H=${prompt.dim}, C=${c}]`, fail);
    checkMatrix(meta.head!.bias, 1, c, `head bias [C=${c}]`, fail);
  } else if (meta.head) {
    fail('head weights were given but mode is verbalizer');
  }
  if (!['random', 'vocab', 'text', 'labels'].includes(meta.init?.kind)) fail(`init.kind ${JSON.stringify(meta.init?.kind)} is not random, vocab, text or labels`);
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

function checkExport(prompt: PromptVectors, meta?: PromptExportMetadata): void {
  checkPrompt(prompt, exportFail);
  if (meta) checkMetadata(meta, prompt, exportFail);
}

// ---------------------------------------------------------------------------------------------
// prompt.json

/** The shortest decimal that reads back as the same float32 (so files stay small and exact). */
export function formatFloat32(v: number): string {
  if (Object.is(v, -0)) return '-0';
  for (let p = 1; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9))); // 9 significant digits always identify a float32
}

function matrixJson(values: Float32Array, rows: number, cols: number, indent: string): string {
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) {
    const row: string[] = [];
    for (let c = 0; c < cols; c++) row.push(formatFloat32(values[r * cols + c]));
    lines.push(`${indent}  [${row.join(', ')}]`);
  }
  return `[\n${lines.join(',\n')}\n${indent}]`;
}

/** prompt.json's text: metadata first (2-space JSON), then the head and the vectors one row per line. */
export function promptJsonText(prompt: PromptVectors, meta: PromptExportMetadata): string {
  checkExport(prompt, meta);
  const { head, ...rest } = meta;
  const header = {
    format: PROMPT_FORMAT,
    formatVersion: PROMPT_FORMAT_VERSION,
    numTokens: prompt.numTokens,
    dim: prompt.dim,
    ...rest,
  };
  const text = JSON.stringify(header, null, 2);
  const tail: string[] = [];
  if (head) {
    const c = meta.classNames.length;
    tail.push(
      `  "head": {\n    "weights": ${matrixJson(head.weights, prompt.dim, c, '    ')},\n` +
        `    "bias": [${Array.from(head.bias, formatFloat32).join(', ')}]\n  }`,
    );
  }
  tail.push(`  "vectors": ${matrixJson(prompt.vectors, prompt.numTokens, prompt.dim, '  ')}`);
  // `text` ends in "\n}"; the numeric blocks go last so the metadata reads first.
  return `${text.slice(0, -2)},\n${tail.join(',\n')}\n}\n`;
}

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Nested number arrays [rows][cols] -> row-major float32, or a message saying what is wrong. */
function readMatrix(v: Json, what: string, fail: (m: string) => never): { data: Float32Array; rows: number; cols: number } {
  if (!Array.isArray(v)) fail(`${what} is not an array (expected [rows][cols] numbers)`);
  const rowsArr = v as Json[];
  if (rowsArr.length === 0) fail(`${what} is empty`);
  if (!Array.isArray(rowsArr[0])) fail(`${what} has rank 1; expected a 2-D [rows][cols] array`);
  const cols = (rowsArr[0] as Json[]).length;
  const data = new Float32Array(rowsArr.length * cols);
  rowsArr.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== cols) {
      fail(`${what}: row ${r} has ${Array.isArray(row) ? row.length : 'no'} values, row 0 has ${cols}`);
    }
    (row as Json[]).forEach((x, c) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) fail(`${what}: ${JSON.stringify(x)} at [${r}, ${c}] is not a finite number`);
      data[r * cols + c] = x as number;
    });
  });
  return { data, rows: rowsArr.length, cols };
}

/** Parses prompt.json text; every problem is an error naming the file. */
export function parsePromptJson(text: string, fileName = 'prompt.json'): { prompt: PromptVectors; metadata: PromptExportMetadata } {
  const fail = (m: string): never => {
    throw new PromptImportError(`${fileName}: ${m}`);
  };
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return fail(`not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) return fail('not a JSON object');
  if (doc.peft_type !== undefined) {
    fail('this is a PEFT adapter_config.json, which holds no vectors; import adapter_model.safetensors instead');
  }
  if (doc.format !== PROMPT_FORMAT) fail(`not a prompt export: "format" is ${JSON.stringify(doc.format)}, expected "${PROMPT_FORMAT}"`);
  if (doc.formatVersion !== PROMPT_FORMAT_VERSION) {
    fail(`formatVersion ${JSON.stringify(doc.formatVersion)} is not supported (this version reads ${PROMPT_FORMAT_VERSION})`);
  }
  if (doc.vectors === undefined) fail('has no "vectors"');
  const v = readMatrix(doc.vectors, '"vectors"', fail);
  if (doc.numTokens !== v.rows || doc.dim !== v.cols) {
    fail(`numTokens/dim say [${doc.numTokens}, ${doc.dim}] but "vectors" is [${v.rows}, ${v.cols}]`);
  }
  const prompt: PromptVectors = { vectors: v.data, numTokens: v.rows, dim: v.cols };
  const { format: _f, formatVersion: _v, numTokens: _n, dim: _d, vectors: _vec, head: rawHead, ...rest } = doc;
  const metadata = rest as unknown as PromptExportMetadata;
  if (rawHead !== undefined) {
    if (!isObject(rawHead)) fail('"head" is not an object with weights and bias');
    const { weights, bias } = rawHead as Record<string, Json>;
    const hw = readMatrix(weights, '"head.weights"', fail);
    if (!Array.isArray(bias)) fail('"head.bias" is not an array');
    const hb = readMatrix([bias], '"head.bias"', fail);
    metadata.head = { weights: hw.data, bias: hb.data };
  }
  if (!isObject(doc.model)) fail('has no "model" object');
  if (!isObject(doc.hyperparameters)) fail('has no "hyperparameters" object');
  if (!isObject(doc.init)) fail('has no "init" object');
  checkMetadata(metadata, prompt, fail);
  return { prompt, metadata };
}

// ---------------------------------------------------------------------------------------------
// prompt.safetensors and prompt.npy

/** prompt.safetensors: `prompt_embeddings` F32 [N, H] plus string metadata. */
export function promptSafetensors(prompt: PromptVectors, meta: PromptExportMetadata): Uint8Array {
  checkExport(prompt, meta);
  const { head, ...rest } = meta;
  const embedded = {
    format: PROMPT_FORMAT,
    formatVersion: PROMPT_FORMAT_VERSION,
    ...rest,
    ...(head ? { head: { weights: Array.from(head.weights), bias: Array.from(head.bias) } } : {}),
  };
  return writeSafetensors(
    { [PROMPT_EMBEDDINGS_KEY]: { data: prompt.vectors, shape: [prompt.numTokens, prompt.dim] } },
    {
      // "pt" is what safetensors' torch helpers write and check; values must all be strings.
      format: 'pt',
      model_id: meta.model.id,
      model_type: meta.model.modelType,
      checkpoint_hash: meta.model.checkpointHash ?? '',
      num_virtual_tokens: String(prompt.numTokens),
      token_dim: String(prompt.dim),
      created_at: meta.createdAt,
      [SAFETENSORS_METADATA_KEY]: JSON.stringify(embedded),
    },
  );
}

/** prompt.npy: float32 (N, H), C order. */
export function promptNpy(prompt: PromptVectors): Uint8Array {
  checkExport(prompt);
  return writeNpy(prompt.vectors, [prompt.numTokens, prompt.dim]);
}

// ---------------------------------------------------------------------------------------------
// PEFT prompt-tuning adapter

export type PeftTaskType = 'CAUSAL_LM' | 'FEATURE_EXTRACTION';

/**
 * The PEFT task_type decides which PeftModel subclass `PeftModel.from_pretrained` builds, and only
 * some of them prepend the prompt to a masked or causal LM:
 * - gpt2 -> CAUSAL_LM: PeftModelForCausalLM prepends the virtual tokens (and pads labels with -100)
 *   in forward and in generate(), on the AutoModelForCausalLM we tuned against.
 * - bert / distilbert / roberta -> FEATURE_EXTRACTION: PeftModelForFeatureExtraction prepends the
 *   virtual tokens and extends the attention mask, then calls whatever base model it wraps, so an
 *   AutoModelForMaskedLM still returns its MLM logits (the [MASK] is at its token index + N).
 * The others fail for an MLM (checked with PEFT 0.21 / transformers 5.17 on a BertForMaskedLM):
 * CAUSAL_LM raises (no prepare_inputs_for_generation); SEQ_CLS and TOKEN_CLS need a classifier
 * this adapter does not hold (KeyError 'base_model.classifier.weight'); a null task_type builds the
 * plain PeftModel, whose forward never prepends the prompt (logits come back [B, T, V]).
 */
export function peftTaskType(modelType: ModelType): PeftTaskType {
  return modelType === 'gpt2' ? 'CAUSAL_LM' : 'FEATURE_EXTRACTION';
}

/**
 * adapter_config.json as PEFT's PromptTuningConfig writes it (`asdict`, keys sorted). Newer PEFT
 * also writes `peft_version` and `modules_to_save`; both default to None and are left out because
 * older PEFT releases reject keys their dataclass lacks.
 */
export interface PeftPromptTuningConfig {
  auto_mapping: null;
  base_model_name_or_path: string;
  inference_mode: true;
  num_attention_heads: number;
  num_layers: number;
  num_transformer_submodules: 1;
  num_virtual_tokens: number;
  peft_type: 'PROMPT_TUNING';
  prompt_tuning_init: 'RANDOM';
  prompt_tuning_init_text: null;
  revision: null;
  task_type: PeftTaskType;
  token_dim: number;
  tokenizer_kwargs: null;
  tokenizer_name_or_path: null;
}

export function peftAdapterConfig(prompt: PromptVectors, meta: PromptExportMetadata): PeftPromptTuningConfig {
  checkExport(prompt, meta);
  return {
    auto_mapping: null, // only written when task_type is null
    base_model_name_or_path: meta.model.id,
    inference_mode: true,
    num_attention_heads: meta.model.numHeads,
    num_layers: meta.model.numLayers,
    // One embedding block: encoder-only and decoder-only models (seq2seq would need 2).
    num_transformer_submodules: 1,
    num_virtual_tokens: prompt.numTokens,
    peft_type: 'PROMPT_TUNING',
    // The stored weights replace the init on load; TEXT would make PEFT demand a tokenizer and text.
    prompt_tuning_init: 'RANDOM',
    prompt_tuning_init_text: null,
    revision: null,
    task_type: peftTaskType(meta.model.modelType),
    token_dim: prompt.dim,
    tokenizer_kwargs: null,
    tokenizer_name_or_path: null,
  };
}

/** JSON text as Python's `json.dumps(d, indent=2, sort_keys=True)` writes it (ASCII-only, no final newline). */
export function pythonJsonDumps(value: Json): string {
  const sortKeys = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (isObject(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
    return v;
  };
  return JSON.stringify(sortKeys(value), null, 2).replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function peftAdapterConfigJson(prompt: PromptVectors, meta: PromptExportMetadata): string {
  return pythonJsonDumps(peftAdapterConfig(prompt, meta));
}

/** adapter_model.safetensors exactly as PEFT saves a prompt-tuning adapter. */
export function peftAdapterSafetensors(prompt: PromptVectors): Uint8Array {
  checkExport(prompt);
  return writeSafetensors({ [PROMPT_EMBEDDINGS_KEY]: { data: prompt.vectors, shape: [prompt.numTokens, prompt.dim] } }, { format: 'pt' });
}

/** Where running the PEFT adapter differs from the studio's own scoring; shown beside the export. */
export function peftExportNotes(meta: PromptExportMetadata): string[] {
  const n = meta.hyperparameters.promptLength;
  const notes: string[] = [];
  if (meta.placement === 'after-first-token') {
    notes.push(
      `PEFT prepends the ${n} virtual tokens before every input token, including [CLS]/BOS; this prompt was tuned ` +
        'right after [CLS]/BOS, so under PEFT its positions shift by one and results may differ slightly.',
    );
  } else if (meta.placement === 'template') {
    notes.push(
      'This prompt was tuned at [SOFT] slots inside the template; PEFT can only prepend all virtual tokens ' +
        'at the start, so the adapter does not reproduce the tuned behaviour.',
    );
  }
  if (meta.mode === 'head') {
    notes.push('The linear label head is not part of the PEFT adapter; it is in prompt.json ("head": weights [H, C], bias [C]).');
  } else if (meta.task === 'classification') {
    notes.push('PEFT returns logits only: score classes with the label words in prompt.json at the mask/next-token position.');
  }
  return notes;
}

// ---------------------------------------------------------------------------------------------
// Bundle

export interface ExportFilesOptions {
  /** Written as metrics.json when given (any JSON-serialisable object). */
  metrics?: unknown;
}

/** Every export file by its path in the bundle. */
export function exportFiles(prompt: PromptVectors, meta: PromptExportMetadata, options: ExportFilesOptions = {}): Record<string, Uint8Array> {
  checkExport(prompt, meta);
  const files: Record<string, Uint8Array> = {
    [EXPORT_FILE_NAMES.promptJson]: strToU8(promptJsonText(prompt, meta)),
    [EXPORT_FILE_NAMES.promptSafetensors]: promptSafetensors(prompt, meta),
    [EXPORT_FILE_NAMES.promptNpy]: promptNpy(prompt),
    [EXPORT_FILE_NAMES.peftConfig]: strToU8(peftAdapterConfigJson(prompt, meta)),
    [EXPORT_FILE_NAMES.peftWeights]: peftAdapterSafetensors(prompt),
  };
  if (options.metrics !== undefined) files[EXPORT_FILE_NAMES.metrics] = strToU8(`${JSON.stringify(options.metrics, null, 2)}\n`);
  return files;
}

/**
 * A zip of exportFiles(). Entry times are metadata.createdAt (zip stores local time), so the same
 * inputs give the same bytes on the same machine.
 */
export function exportBundle(prompt: PromptVectors, meta: PromptExportMetadata, options: ExportFilesOptions = {}): Uint8Array {
  const files = exportFiles(prompt, meta, options);
  const zippable: Zippable = {};
  for (const [path, bytes] of Object.entries(files)) zippable[path] = bytes;
  return zipSync(zippable, { mtime: new Date(meta.createdAt) });
}

// ---------------------------------------------------------------------------------------------
// Import

export type ImportedFormat = 'prompt.json' | 'safetensors' | 'npy' | 'zip';

export interface ImportedPrompt extends PromptVectors {
  fileName: string;
  format: ImportedFormat;
  /** Full metadata when the file carries it (prompt.json, our prompt.safetensors); otherwise null. */
  metadata: PromptExportMetadata | null;
  /** What the file says it was tuned on, when it says (from metadata or safetensors fields). */
  modelId: string | null;
  checkpointHash: string | null;
  warnings: string[];
}

function detectFormat(fileName: string, bytes: Uint8Array): ImportedFormat | null {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.json')) return 'prompt.json';
  if (lower.endsWith('.safetensors')) return 'safetensors';
  if (lower.endsWith('.npy')) return 'npy';
  if (lower.endsWith('.zip')) return 'zip';
  // Unknown extension: sniff the content.
  if (bytes[0] === 0x93 && bytes[1] === 0x4e) return 'npy';
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return 'zip';
  const firstChar = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart()[0];
  if (firstChar === '{') return 'prompt.json';
  if (bytes.length >= 9 && bytes[8] === 0x7b) return 'safetensors';
  return null;
}

async function importSafetensors(fileName: string, bytes: Uint8Array): Promise<ImportedPrompt> {
  const fail = (m: string): never => {
    throw new PromptImportError(`${fileName}: ${m}`);
  };
  const src = bytesSource(fileName, bytes);
  let header: SafetensorsHeader;
  try {
    header = await readSafetensorsHeader(src);
  } catch (e) {
    // The safetensors reader's messages already name the file.
    throw new PromptImportError((e as Error).message);
  }
  const info = header.tensors.get(PROMPT_EMBEDDINGS_KEY);
  if (!info) {
    const names = [...header.tensors.keys()];
    return fail(`no "${PROMPT_EMBEDDINGS_KEY}" tensor (found: ${names.length ? names.join(', ') : 'none'})`);
  }
  if (!(READABLE_DTYPES as readonly string[]).includes(info.dtype)) {
    fail(`"${PROMPT_EMBEDDINGS_KEY}" has dtype ${info.dtype}; expected F32 (or F16, BF16, F64, converted to F32)`);
  }
  if (info.shape.length !== 2) {
    fail(`"${PROMPT_EMBEDDINGS_KEY}" has shape [${info.shape.join(', ')}] (rank ${info.shape.length}); expected rank 2 [num_virtual_tokens, hidden_size]`);
  }
  const [numTokens, dim] = info.shape;
  const vectors = await readTensorData(src, info);
  const prompt = { vectors, numTokens, dim };
  checkPrompt(prompt, fail, `"${PROMPT_EMBEDDINGS_KEY}"`);
  const warnings: string[] = [];
  if (info.dtype !== 'F32') warnings.push(`${fileName}: "${PROMPT_EMBEDDINGS_KEY}" was ${info.dtype}; converted to F32`);
  let metadata: PromptExportMetadata | null = null;
  const embedded = header.metadata[SAFETENSORS_METADATA_KEY];
  if (typeof embedded === 'string') metadata = parseEmbeddedMetadata(embedded, prompt, fileName, warnings);
  const modelId = metadata?.model.id ?? (header.metadata.model_id || null);
  const checkpointHash = metadata?.model.checkpointHash ?? (header.metadata.checkpoint_hash || null);
  return { fileName, format: 'safetensors', ...prompt, metadata, modelId, checkpointHash, warnings };
}

function parseEmbeddedMetadata(embedded: string, prompt: PromptVectors, fileName: string, warnings: string[]): PromptExportMetadata | null {
  try {
    const doc = JSON.parse(embedded) as Json;
    if (!isObject(doc) || !isObject(doc.model) || !isObject(doc.init)) throw new Error('not a metadata object');
    const { format: _f, formatVersion: _v, head: rawHead, ...rest } = doc;
    const metadata = rest as unknown as PromptExportMetadata;
    if (isObject(rawHead)) {
      metadata.head = { weights: Float32Array.from(rawHead.weights as number[]), bias: Float32Array.from(rawHead.bias as number[]) };
    }
    checkMetadata(metadata, prompt, (m) => {
      throw new PromptImportError(m);
    });
    return metadata;
  } catch (e) {
    warnings.push(`${fileName}: its "${SAFETENSORS_METADATA_KEY}" metadata is unreadable (${(e as Error).message}); importing the vectors only`);
    return null;
  }
}

function importNpy(fileName: string, bytes: Uint8Array): ImportedPrompt {
  const fail = (m: string): never => {
    throw new PromptImportError(`${fileName}: ${m}`);
  };
  let arr;
  try {
    arr = readNpy(bytes, fileName);
  } catch (e) {
    throw new PromptImportError((e as Error).message);
  }
  if (arr.shape.length !== 2) fail(`array has shape (${arr.shape.join(', ')}) (rank ${arr.shape.length}); expected rank 2 (num_tokens, hidden_size)`);
  const [numTokens, dim] = arr.shape;
  const prompt = { vectors: arr.data, numTokens, dim };
  checkPrompt(prompt, fail);
  const warnings = arr.descr.endsWith('f4') ? [] : [`${fileName}: dtype '${arr.descr}' converted to float32`];
  return { fileName, format: 'npy', ...prompt, metadata: null, modelId: null, checkpointHash: null, warnings };
}

/**
 * Reads prompt.json, prompt.safetensors, adapter_model.safetensors, prompt.npy or an export zip
 * (its prompt.json). Throws PromptImportError naming the file for anything unusable.
 */
export async function importPrompt(fileName: string, bytes: Uint8Array): Promise<ImportedPrompt> {
  const format = detectFormat(fileName, bytes);
  switch (format) {
    case 'prompt.json': {
      const { prompt, metadata } = parsePromptJson(new TextDecoder().decode(bytes), fileName);
      return { fileName, format, ...prompt, metadata, modelId: metadata.model.id, checkpointHash: metadata.model.checkpointHash, warnings: [] };
    }
    case 'safetensors':
      return importSafetensors(fileName, bytes);
    case 'npy':
      return importNpy(fileName, bytes);
    case 'zip': {
      let entries: Record<string, Uint8Array>;
      try {
        entries = unzipSync(bytes);
      } catch (e) {
        throw new PromptImportError(`${fileName}: not a readable zip (${(e as Error).message})`);
      }
      for (const name of [EXPORT_FILE_NAMES.promptJson, EXPORT_FILE_NAMES.promptSafetensors, EXPORT_FILE_NAMES.peftWeights, EXPORT_FILE_NAMES.promptNpy]) {
        if (entries[name]) {
          const inner = await importPrompt(`${fileName}/${name}`, entries[name]);
          return { ...inner, fileName, format: 'zip' };
        }
      }
      throw new PromptImportError(`${fileName}: the zip holds none of prompt.json, prompt.safetensors, peft/adapter_model.safetensors, prompt.npy`);
    }
    default:
      throw new PromptImportError(
        `${fileName}: unrecognised file; expected prompt.json, a .safetensors file with "${PROMPT_EMBEDDINGS_KEY}", a .npy array or an export .zip`,
      );
  }
}

export interface ModelIdentity {
  hiddenSize: number;
  modelId: string;
  /** LoadedModel.checkpointHash; null when unknown. */
  checkpointHash: string | null;
  modelType?: ModelType;
}

export interface PromptCompatibility {
  /** Blocking: the prompt cannot be used with this model. */
  errors: string[];
  /** The prompt can be used but may not behave as when it was tuned. */
  warnings: string[];
}

const shortHash = (h: string) => h.slice(0, 12);

/** Whether an imported prompt fits the loaded model. */
export function checkPromptAgainstModel(imported: ImportedPrompt, model: ModelIdentity): PromptCompatibility {
  const file = imported.fileName;
  const errors: string[] = [];
  const warnings: string[] = [...imported.warnings];
  if (imported.dim !== model.hiddenSize) {
    errors.push(
      `${file}: the prompt vectors have size ${imported.dim} but model "${model.modelId}" has hidden size ${model.hiddenSize}; ` +
        'a soft prompt only fits the model it was tuned on',
    );
  }
  const fileType = imported.metadata?.model.modelType;
  if (model.modelType && fileType && fileType !== model.modelType) {
    warnings.push(`${file}: tuned on a ${fileType} model but the loaded model is ${model.modelType}`);
  }
  if (imported.checkpointHash && model.checkpointHash) {
    if (imported.checkpointHash !== model.checkpointHash) {
      warnings.push(
        `${file}: tuned on checkpoint ${shortHash(imported.checkpointHash)}… ("${imported.modelId ?? 'unknown model'}") but the loaded ` +
          `checkpoint is ${shortHash(model.checkpointHash)}… ("${model.modelId}"); the prompt may not transfer`,
      );
    }
  } else if (imported.modelId && imported.modelId !== model.modelId) {
    warnings.push(`${file}: tuned on model "${imported.modelId}", the loaded model is "${model.modelId}", and no checkpoint hash is available to compare`);
  } else {
    warnings.push(`${file}: no checkpoint hash to compare, so it cannot be verified that the prompt was tuned on "${model.modelId}"`);
  }
  return { errors, warnings };
}
