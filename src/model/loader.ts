/**
 * One loader for every source: an HF-layout checkpoint folder reached by URL (public/models/...,
 * a Hub mirror), as local File objects, or (in Node) as a directory. It reads config.json, the
 * safetensors weights (single file or sharded) and the tokenizer files, checks everything against
 * the config, and builds the frozen model.
 */
import { parseConfig } from './config';
import { BertEncoder, encoderPrefix, encoderWeightSpecs } from './bert';
import { GPT2_PREFIX, Gpt2Model, gpt2WeightSpecs } from './gpt2';
import { LLAMA_PREFIX, LlamaModel, llamaWeightSpecs } from './llama';
import { blobSource, bytesSource, readSafetensorsHeader, readTensorData, type ByteSource, type SafetensorsHeader, type TensorInfo } from './safetensors';
import { loadTokenizer, type TextTokenizer, type TokenizerFiles } from './tokenizer';
import { resolveWeights, type TensorStore } from './weights';
import { isLlamaFamily, type FrozenLM, type TransformerConfig } from './types';

export class LoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoadError';
  }
}

/** A checkpoint folder, whatever holds it. */
export interface ModelFolder {
  /** Shown in errors: the URL or folder name. */
  readonly label: string;
  /** The folder's file names when the source can list them (local files), else undefined. */
  list(): string[] | undefined;
  /** The file's bytes, or null when the folder has no such file. */
  file(name: string): Promise<ByteSource | null>;
}

/** A folder served over HTTP: `${baseUrl}/${name}`; a 404 means "no such file". */
export function urlFolder(baseUrl: string, fetchImpl: typeof fetch = fetch): ModelFolder {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    label: base,
    list: () => undefined,
    async file(name) {
      const url = `${base}/${name}`;
      let res: Response;
      try {
        res = await fetchImpl(url);
      } catch (e) {
        throw new LoadError(`${url}: network error: ${(e as Error).message}`);
      }
      if (res.status === 404) return null;
      if (!res.ok) throw new LoadError(`${url}: HTTP ${res.status} ${res.statusText}`);
      // Static hosts with a single-page-app fallback answer a missing file with index.html.
      if (!name.endsWith('.html') && (res.headers.get('content-type') ?? '').includes('text/html')) return null;
      return bytesSource(name, new Uint8Array(await res.arrayBuffer()));
    },
  };
}

/** Local files (a dropped folder or a multi-file pick), matched by base name. */
export function filesFolder(label: string, files: Iterable<File>): ModelFolder {
  const byName = new Map<string, File>();
  for (const f of files) byName.set(f.name.split('/').pop() as string, f);
  return {
    label,
    list: () => [...byName.keys()],
    async file(name) {
      const f = byName.get(name);
      return f ? blobSource(name, f) : null;
    },
  };
}

export interface LoadedModel {
  model: FrozenLM;
  tokenizer: TextTokenizer;
  config: TransformerConfig;
  /** SHA-256 (hex) over the weight files, so an exported prompt names the exact checkpoint. */
  checkpointHash: string;
  /** Total bytes of weight files read. */
  weightBytes: number;
  /** The safetensors dtypes the weights are stored in, most tensors first ("BF16"; a mixed file lists each); absent in hand-built models. */
  weightDtypes?: string[];
  /** Number of weights loaded (a tied decoder counted once). */
  parameters: number;
}

export interface LoadOptions {
  /** Called as files are read (the UI shows it; Hub downloads report their own progress). */
  onProgress?: (message: string) => void;
}

async function readText(folder: ModelFolder, name: string): Promise<string | null> {
  const src = await folder.file(name);
  return src ? new TextDecoder().decode(await src.read(0, src.size)) : null;
}

async function readJson<T>(folder: ModelFolder, name: string): Promise<T | null> {
  const text = await readText(folder, name);
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new LoadError(`${folder.label}/${name}: not valid JSON (${(e as Error).message})`);
  }
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

async function sha256Hex(parts: Uint8Array[]): Promise<string> {
  const hashes: Uint8Array[] = [];
  for (const p of parts) hashes.push(await sha256(p));
  // One shard: its own hash; several: the hash of the shard hashes, in index order.
  const final = hashes.length === 1 ? hashes[0] : await sha256(concat(hashes));
  return [...final].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Reads the weight files (single or sharded) into a TensorStore. */
/** A weight file's safetensors header; its errors name the file within its folder, `<folder>/<file>`, as every load error does. */
export function readWeightHeader(folder: ModelFolder, src: ByteSource): Promise<SafetensorsHeader> {
  return readSafetensorsHeader({ name: `${folder.label}/${src.name}`, size: src.size, read: (start, end) => src.read(start, end) });
}

async function openWeights(folder: ModelFolder): Promise<{ store: TensorStore; hash: string; bytes: number; dtypes: string[] }> {
  let shardNames: string[];
  let weightMap: Record<string, string> | null = null;
  const single = await folder.file('model.safetensors');
  if (single) {
    shardNames = ['model.safetensors'];
  } else {
    const index = await readJson<{ weight_map?: Record<string, string> }>(folder, 'model.safetensors.index.json');
    if (!index) {
      const listed = folder.list();
      const bin = listed?.filter((n) => n.endsWith('.bin')) ?? [];
      throw new LoadError(
        `${folder.label}: no model.safetensors or model.safetensors.index.json` +
          (listed ? ` (files: ${listed.join(', ') || 'none'})` : '') +
          (bin.length ? '. PyTorch .bin checkpoints are not read: convert them to safetensors first' : ''),
      );
    }
    if (!index.weight_map || typeof index.weight_map !== 'object') {
      throw new LoadError(`${folder.label}/model.safetensors.index.json: no "weight_map" object`);
    }
    weightMap = index.weight_map;
    shardNames = [...new Set(Object.values(weightMap))];
  }
  const where = new Map<string, { src: ByteSource; info: TensorInfo; shard: string }>();
  const contents: Uint8Array[] = [];
  const dtypeCounts = new Map<string, number>();
  for (const shard of shardNames) {
    const src = shard === 'model.safetensors' && single ? single : await folder.file(shard);
    if (!src) throw new LoadError(`${folder.label}: shard ${shard} named in model.safetensors.index.json is missing`);
    const path = `${folder.label}/${shard}`;
    const header = await readWeightHeader(folder, src);
    const bytes = await src.read(0, src.size);
    contents.push(bytes);
    const inMemory = bytesSource(path, bytes);
    for (const info of header.tensors.values()) {
      where.set(info.name, { src: inMemory, info, shard });
      dtypeCounts.set(info.dtype, (dtypeCounts.get(info.dtype) ?? 0) + 1);
    }
  }
  if (weightMap) {
    for (const [name, shard] of Object.entries(weightMap)) {
      const got = where.get(name);
      if (!got || got.shard !== shard) {
        throw new LoadError(`${folder.label}/${shard}: tensor "${name}" listed in model.safetensors.index.json is not in that shard`);
      }
    }
  }
  const store: TensorStore = {
    names: () => where.keys(),
    shapeOf: (n) => (where.get(n) as { info: TensorInfo }).info.shape,
    fileOf: (n) => where.get(n)?.src.name ?? `${folder.label}/?`,
    label: `${folder.label}/${weightMap ? 'model.safetensors.index.json' : 'model.safetensors'}`,
    read: (n) => {
      const w = where.get(n) as { src: ByteSource; info: TensorInfo };
      return readTensorData(w.src, w.info);
    },
  };
  const dtypes = [...dtypeCounts].sort((a, b) => b[1] - a[1]).map(([dtype]) => dtype);
  return { store, hash: await sha256Hex(contents), bytes: contents.reduce((n, c) => n + c.length, 0), dtypes };
}

/** Reads the tokenizer files the folder has, asking only for what is needed (each miss is a request). */
async function readTokenizerFiles(folder: ModelFolder, config: TransformerConfig): Promise<TokenizerFiles> {
  const files: TokenizerFiles = {
    tokenizerJson: (await readJson<unknown>(folder, 'tokenizer.json')) ?? undefined,
    tokenizerConfig: (await readJson<Record<string, unknown>>(folder, 'tokenizer_config.json')) ?? undefined,
  };
  // The Llama family's EOS list (generation_config.json) and a chat template kept in its own file.
  if (config.lmKind === 'causal-lm' && config.modelType !== 'gpt2') {
    files.generationConfig = (await readJson<Record<string, unknown>>(folder, 'generation_config.json')) ?? undefined;
    if (typeof files.tokenizerConfig?.chat_template !== 'string') files.chatTemplateJinja = (await readText(folder, 'chat_template.jinja')) ?? undefined;
  }
  // Older checkpoints name their special tokens only in special_tokens_map.json.
  if (!files.tokenizerConfig || !Object.keys(files.tokenizerConfig).some((k) => k.endsWith('_token'))) {
    files.specialTokensMap = (await readJson<Record<string, unknown>>(folder, 'special_tokens_map.json')) ?? undefined;
  }
  if (files.tokenizerJson !== undefined) return files;
  files.vocabTxt = (await readText(folder, 'vocab.txt')) ?? undefined;
  if (files.vocabTxt !== undefined) return files;
  files.vocabJson = (await readJson<Record<string, number>>(folder, 'vocab.json')) ?? undefined;
  files.mergesTxt = (await readText(folder, 'merges.txt')) ?? undefined;
  return files;
}

export async function loadPretrained(folder: ModelFolder, options: LoadOptions = {}): Promise<LoadedModel> {
  const progress = options.onProgress ?? (() => {});
  progress('config.json');
  const rawConfig = await readJson<unknown>(folder, 'config.json');
  if (rawConfig === null) throw new LoadError(`${folder.label}: config.json not found`);
  const config = parseConfig(rawConfig, `${folder.label}/config.json`);
  progress('tokenizer');
  const tokenizer = loadTokenizer(await readTokenizerFiles(folder, config), config.modelType, folder.label);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new LoadError(
      `${folder.label}: the tokenizer has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${config.vocabSize}`,
    );
  }
  progress('weights');
  const { store, hash, bytes, dtypes } = await openWeights(folder);
  const family = config.modelType === 'gpt2' ? 'gpt2' : isLlamaFamily(config.modelType) ? 'llama' : 'encoder';
  const specs = family === 'gpt2' ? gpt2WeightSpecs(config) : family === 'llama' ? llamaWeightSpecs(config) : encoderWeightSpecs(config);
  const prefix = family === 'gpt2' ? GPT2_PREFIX : family === 'llama' ? LLAMA_PREFIX : encoderPrefix(config);
  const { tensors, missingHead } = await resolveWeights(specs, store, prefix);
  const parameters = [...tensors.values()].reduce((n, t) => n + t.size, 0);
  const model =
    family === 'gpt2' ? new Gpt2Model(config, tensors) : family === 'llama' ? new LlamaModel(config, tensors, missingHead) : new BertEncoder(config, tensors, missingHead);
  return { model, tokenizer, config, checkpointHash: hash, weightBytes: bytes, weightDtypes: dtypes, parameters };
}
