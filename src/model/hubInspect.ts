/**
 * What a checkpoint will cost before its weights are read: config.json and the safetensors headers
 * only (over HTTP that is two small Range requests per weight file), giving the parameter count,
 * an estimate of the memory prompt tuning needs, and whether that fits this device.
 */
import * as tf from '@tensorflow/tfjs';
import { parseConfig } from './config';
import { LoadError, readWeightHeader, type ModelFolder } from './loader';
import { F32_BYTES, keptActivationBytes } from './memory';
import type { TensorInfo } from './safetensors';
import type { ModelType, TransformerConfig } from './types';
import { formatBytes } from '../shared/format';

/** The training default batch size (src/engine/train.ts); the estimate assumes it. */
export const ESTIMATE_BATCH_SIZE = 16;
/** Sequence length assumed for the estimate (template + text + soft prompt, typical of classification). */
export const ESTIMATE_SEQUENCE_LENGTH = 128;
/** Weights are decoded to float32 whatever their stored dtype (a BF16/F16 checkpoint doubles on the device). */
/**
 * The wasm backend's memory: 32-bit WebAssembly, so at most 65535 pages of 64 KiB
 * (tfjs-backend-wasm's heap maximum). Weights that do not fit cannot be loaded there at all.
 */
export const WASM_MEMORY_MAX_BYTES = 65535 * 65536;
/** Chromium reports navigator.deviceMemory rounded and capped at 8 GiB: that figure only means "at least". */
export const DEVICE_MEMORY_CAP_BYTES = 8 * 2 ** 30;

/** What the device allows. WebGPU limits are the tfjs device's (tfjs asks the adapter for its maximum). */
export interface DeviceLimits {
  backend: string;
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
  /** navigator.deviceMemory in bytes (Chromium rounds it and caps it at 8 GiB). */
  deviceMemoryBytes?: number;
}

export interface TrainingMemory {
  batchSize: number;
  sequenceLength: number;
  /** Frozen weights as float32. */
  weightBytes: number;
  /** Activations kept for the backward pass to the soft prompt, all layers, one batch. */
  activationBytes: number;
  /** Output logits and their gradient. */
  logitBytes: number;
  totalBytes: number;
  /** The largest single tensor (one GPU buffer on WebGPU). */
  largest: { name: string; bytes: number };
}

export interface ModelInspection {
  /** Repo id or folder name. */
  source: string;
  modelType: ModelType;
  /** Elements of every tensor in the weight files. */
  parameters: number;
  /** Size of the weight files as stored. */
  weightFileBytes: number;
  /** The stored dtypes of the weights ("BF16", "F32", ...), each once. */
  storedDtypes: string[];
  weightFiles: string[];
  memory: TrainingMemory;
  limits: DeviceLimits;
  warnings: string[];
  /** Why this model cannot work on this backend at all; the load stops before downloading weights. */
  blocker?: string;
}

/** The weight files a folder names: model.safetensors, or the shards of model.safetensors.index.json. */
export async function weightFileNames(folder: ModelFolder): Promise<{ files: string[]; index: string | null }> {
  const listed = folder.list();
  const has = async (name: string) => (listed ? listed.includes(name) : (await folder.file(name)) !== null);
  if (await has('model.safetensors')) return { files: ['model.safetensors'], index: null };
  if (await has('model.safetensors.index.json')) {
    const src = await folder.file('model.safetensors.index.json');
    let weightMap: unknown;
    try {
      weightMap = src && (JSON.parse(new TextDecoder().decode(await src.read(0, src.size))) as { weight_map?: unknown }).weight_map;
    } catch (e) {
      throw new LoadError(`${folder.label}/model.safetensors.index.json: not valid JSON (${(e as Error).message})`);
    }
    if (!weightMap || typeof weightMap !== 'object') throw new LoadError(`${folder.label}/model.safetensors.index.json: no "weight_map" object`);
    return { files: [...new Set(Object.values(weightMap as Record<string, string>))], index: 'model.safetensors.index.json' };
  }
  throw noWeightsError(folder.label, listed);
}

export function noWeightsError(label: string, listed: string[] | undefined): LoadError {
  const bin = listed?.filter((n) => n.endsWith('.bin') || n.endsWith('.pt') || n.endsWith('.pth') || n.endsWith('.h5') || n.endsWith('.ckpt')) ?? [];
  return new LoadError(
    `${label} has no model.safetensors or model.safetensors.index.json` +
      (listed ? ` (files: ${listed.join(', ') || 'none'})` : '') +
      '. Only safetensors weights are read: PyTorch .bin (pickle) checkpoints are not, since unpickling is unsafe and slow in a browser' +
      (bin.length ? `; convert ${bin.join(', ')} to safetensors (for example with the Hub's "convert to safetensors" Space) or pick a revision that has them` : ''),
  );
}

/** Reads config.json and every weight file's header; no weight data. */
export async function inspectCheckpoint(folder: ModelFolder, limits: DeviceLimits, source = folder.label): Promise<ModelInspection> {
  const configSrc = await folder.file('config.json');
  if (!configSrc) throw new LoadError(`${folder.label}: config.json not found${listing(folder)}`);
  let rawConfig: unknown;
  try {
    rawConfig = JSON.parse(new TextDecoder().decode(await configSrc.read(0, configSrc.size)));
  } catch (e) {
    throw new LoadError(`${folder.label}/config.json: not valid JSON (${(e as Error).message})`);
  }
  const config = parseConfig(rawConfig, `${folder.label}/config.json`);
  const { files } = await weightFileNames(folder);
  const tensors: TensorInfo[] = [];
  let weightFileBytes = 0;
  for (const name of files) {
    const src = await folder.file(name);
    if (!src) throw new LoadError(`${folder.label}: shard ${name} named in model.safetensors.index.json is missing`);
    weightFileBytes += src.size;
    tensors.push(...(await readWeightHeader(folder, src)).tensors.values());
  }
  const parameters = tensors.reduce((n, t) => n + t.shape.reduce((a, d) => a * d, 1), 0);
  const memory = trainingMemory(config, tensors);
  const storedDtypes = [...new Set(tensors.map((t) => t.dtype))].sort();
  return { source, modelType: config.modelType, parameters, weightFileBytes, storedDtypes, weightFiles: files, memory, limits, ...judge(memory, limits) };
}

function listing(folder: ModelFolder): string {
  const listed = folder.list();
  return listed ? ` (files: ${listed.join(', ') || 'none'})` : '';
}

/**
 * A coarse estimate of what one training step holds at once: weights, the activations the
 * backward pass to the prompt keeps for every layer, and the logits. Per token and layer that is
 * about 8H floats (q, k, v, context, attention output, two layer norms, residual), 2I for the MLP
 * (before and after the activation; 3I for SwiGLU: gate, up and their product) and 2·heads·T for
 * attention scores and probabilities.
 * Masked LMs score one position per example; causal LMs may score every position (generation).
 */
export function trainingMemory(config: TransformerConfig, tensors: readonly TensorInfo[], batchSize = ESTIMATE_BATCH_SIZE): TrainingMemory {
  const T = Math.min(ESTIMATE_SEQUENCE_LENGTH, config.maxPositions);
  const B = batchSize;
  const H = config.hiddenSize;
  const activationBytes = keptActivationBytes(config, B, T);
  const scored = config.lmKind === 'causal-lm' ? B * T : B;
  const logitBytes = 2 * F32_BYTES * scored * config.vocabSize;
  let largest = { name: 'logits', bytes: F32_BYTES * scored * config.vocabSize };
  let weightBytes = 0;
  for (const t of tensors) {
    const bytes = F32_BYTES * t.shape.reduce((a, d) => a * d, 1);
    weightBytes += bytes;
    // Vocabulary tables ([V, H]: word embeddings, an untied LM head) are split by rows into shards
    // that each fit one binding (vocabShards.ts), so they are never one GPU operand.
    const vocabTable = t.shape.length === 2 && t.shape[0] === config.vocabSize && t.shape[1] === H;
    if (!vocabTable && bytes > largest.bytes) largest = { name: t.name, bytes };
  }
  const attention = { name: 'attention probabilities', bytes: F32_BYTES * B * config.numHeads * T * T };
  if (attention.bytes > largest.bytes) largest = attention;
  return { batchSize: B, sequenceLength: T, weightBytes, activationBytes, logitBytes, totalBytes: weightBytes + activationBytes + logitBytes, largest };
}

/** Warnings for what may not fit, and a blocker for what cannot. */
export function judge(memory: TrainingMemory, limits: DeviceLimits): { warnings: string[]; blocker?: string } {
  const warnings: string[] = [];
  let blocker: string | undefined;
  const big = memory.largest;
  if (limits.backend === 'webgpu') {
    const bufferLimit = Math.min(limits.maxBufferSize ?? Infinity, limits.maxStorageBufferBindingSize ?? Infinity);
    if (big.bytes > bufferLimit) {
      const which = (limits.maxStorageBufferBindingSize ?? Infinity) <= (limits.maxBufferSize ?? Infinity) ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
      const text =
        `${big.name} needs ${formatBytes(big.bytes)} in one GPU buffer, more than this GPU adapter allows ` +
        `(${which} ${formatBytes(bufferLimit)}): it cannot run on WebGPU here. Use a smaller model or another backend (?backend=wasm).`;
      warnings.push(text);
      // Weights must fit in a buffer; logits and attention can shrink with a smaller batch.
      if (big.name !== 'logits' && big.name !== 'attention probabilities') blocker = text;
    }
  }
  // The weights cannot shrink (a smaller batch shrinks only activations and logits): when they alone
  // exceed a hard limit the load stops before the download.
  const weights = `the weights need ${formatBytes(memory.weightBytes)} as float32 on the device`;
  const memoryLimit =
    limits.backend === 'wasm'
      ? { bytes: WASM_MEMORY_MAX_BYTES, what: `the wasm backend's ${formatBytes(WASM_MEMORY_MAX_BYTES)} memory limit` }
      : limits.deviceMemoryBytes !== undefined && limits.deviceMemoryBytes < DEVICE_MEMORY_CAP_BYTES
        ? { bytes: limits.deviceMemoryBytes, what: `the ${formatBytes(limits.deviceMemoryBytes)} of memory this device reports` }
        : null;
  if (memoryLimit && memory.weightBytes > memoryLimit.bytes) {
    const text = `This model will not fit: ${weights}, more than ${memoryLimit.what} (training needs about ${formatBytes(memory.totalBytes)} in all). Use a smaller model${limits.backend === 'wasm' ? ' or WebGPU' : ''}.`;
    warnings.push(text);
    blocker ??= text;
  } else if (limits.backend === 'wasm' && memory.totalBytes > WASM_MEMORY_MAX_BYTES) {
    warnings.push(
      `Training needs about ${formatBytes(memory.totalBytes)} (batch ${memory.batchSize}, ${memory.sequenceLength} tokens), more than the wasm backend's ` +
        `${formatBytes(WASM_MEMORY_MAX_BYTES)} memory limit (${weights}): use a smaller batch or WebGPU.`,
    );
  }
  if (limits.deviceMemoryBytes !== undefined && memory.totalBytes > limits.deviceMemoryBytes && !(memoryLimit && memory.weightBytes > memoryLimit.bytes)) {
    warnings.push(
      `Training needs about ${formatBytes(memory.totalBytes)} (batch ${memory.batchSize}, ${memory.sequenceLength} tokens), ` +
        `more than this device reports (${formatBytes(limits.deviceMemoryBytes)}): use a smaller batch or model.`,
    );
  }
  return blocker ? { warnings, blocker } : { warnings };
}

/** The active backend's limits: WebGPU's device limits when tfjs runs on WebGPU. */
export function deviceLimits(): DeviceLimits {
  const backend = tf.getBackend() ?? 'none';
  const limits: DeviceLimits = { backend };
  if (backend === 'webgpu') {
    // tfjs-backend-webgpu's backend holds its GPUDevice; the WebGPU types are not in the DOM lib.
    const device = (tf.backend() as unknown as { device?: { limits?: { maxBufferSize?: number; maxStorageBufferBindingSize?: number } } }).device;
    if (device?.limits) {
      limits.maxBufferSize = device.limits.maxBufferSize;
      limits.maxStorageBufferBindingSize = device.limits.maxStorageBufferBindingSize;
    }
  }
  const memoryGiB = typeof navigator === 'undefined' ? undefined : (navigator as { deviceMemory?: number }).deviceMemory;
  if (typeof memoryGiB === 'number' && memoryGiB > 0) limits.deviceMemoryBytes = memoryGiB * 2 ** 30;
  return limits;
}

