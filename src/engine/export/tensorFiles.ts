/**
 * prompt.safetensors (tensor `prompt_embeddings` F32 [N, H], string metadata incl. prompt.json's
 * metadata as JSON) and prompt.npy (numpy float32 (N, H)): writing, and reading back any
 * safetensors file with a `prompt_embeddings` tensor (PEFT's adapter_model.safetensors included).
 */
import {
  bytesSource,
  readSafetensorsHeader,
  readTensorData,
  READABLE_DTYPES,
  writeSafetensors,
  type ByteSource,
  type SafetensorsHeader,
} from '../../model/safetensors';
import { readNpy, writeNpy } from './npy';
import { otherPeftTypeProblem } from './peft';
import {
  checkExport,
  checkMetadata,
  checkPrompt,
  isObject,
  PROMPT_EMBEDDINGS_KEY,
  PROMPT_FORMAT,
  PROMPT_FORMAT_VERSION,
  PromptImportError,
  SAFETENSORS_METADATA_KEY,
  type ImportedPrompt,
  type Json,
  type PromptExportMetadata,
  type PromptVectors,
} from './schema';

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

/** An imported safetensors file's header, over its bytes; a bad header is a PromptImportError (the reader's messages already name the file). */
export async function openImportedSafetensors(fileName: string, bytes: Uint8Array): Promise<{ src: ByteSource; header: SafetensorsHeader }> {
  const src = bytesSource(fileName, bytes);
  try {
    return { src, header: await readSafetensorsHeader(src) };
  } catch (e) {
    throw new PromptImportError((e as Error).message);
  }
}

export async function importSafetensors(fileName: string, bytes: Uint8Array): Promise<ImportedPrompt> {
  const fail = (m: string): never => {
    throw new PromptImportError(`${fileName}: ${m}`);
  };
  const { src, header } = await openImportedSafetensors(fileName, bytes);
  const info = header.tensors.get(PROMPT_EMBEDDINGS_KEY);
  if (!info) {
    const names = [...header.tensors.keys()];
    const lora = names.find((n) => /\.lora_(A|B|embedding_A|embedding_B)\b/.test(n));
    if (lora) return fail(`this is ${otherPeftTypeProblem('LORA')} (it holds "${lora}")`);
    const listed = names.length > 8 ? `${names.slice(0, 8).join(', ')}, … (${names.length} in all)` : names.join(', ') || 'none';
    return fail(`no "${PROMPT_EMBEDDINGS_KEY}" tensor (found: ${listed})`);
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

export function importNpy(fileName: string, bytes: Uint8Array): ImportedPrompt {
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
