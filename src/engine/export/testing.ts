/** Prompts, metadata and hand-built files shared by the export tests. */
import { bytesSource, readSafetensorsHeader, readTensorData } from '../../model/safetensors';
import { PROMPT_EMBEDDINGS_KEY, type PromptExportMetadata, type PromptVectors } from './schema';
import { zipEntries } from './zipImport';

export const HASH_A = 'a'.repeat(63) + '1';
export const HASH_B = 'b'.repeat(63) + '2';
export const N = 3;
export const H = 4;

/** Values that break naive serialisers: -0, a subnormal, float32 max, non-terminating decimals. */
export function makePrompt(numTokens = N, dim = H): PromptVectors {
  const special = [-0, 1e-45, 3.4028234663852886e38, -1 / 3, 0.1, 1e-7, 123456.789, -2.5];
  const vectors = Float32Array.from({ length: numTokens * dim }, (_, i) => special[i] ?? Math.sin(i * 12.9898) * 0.05);
  return { vectors, numTokens, dim };
}

export function baseMeta(overrides: Partial<PromptExportMetadata> = {}): PromptExportMetadata {
  return {
    model: { id: 'embedded/tiny-bert', checkpointHash: HASH_A, modelType: 'bert', hiddenSize: H, numLayers: 2, numHeads: 2, vocabSize: 100 },
    task: 'classification',
    template: '{text} It was [MASK].',
    placement: 'after-first-token',
    mode: 'verbalizer',
    classNames: ['negative', 'positive'],
    labelWords: { negative: ['bad', 'terrible'], positive: ['good', 'great'] },
    init: { kind: 'labels' },
    hyperparameters: { promptLength: N, learningRate: 0.03, batchSize: 16, epochs: 10, warmupSteps: 20, clipNorm: 1, valSplit: 0.2, earlyStoppingPatience: 3 },
    seed: 42,
    metrics: { kind: 'classification', zeroShotAccuracy: 0.53, accuracy: 0.71, zeroShotMacroF1: 0.5, macroF1: 0.7 },
    createdAt: '2025-01-02T03:04:05.000Z',
    ...overrides,
  };
}

export const headMeta = () =>
  baseMeta({
    mode: 'head',
    labelWords: {},
    head: { weights: Float32Array.from({ length: H * 2 }, (_, i) => (i - 3.3) / 7), bias: Float32Array.from([0.25, -0.1]) },
  });

export const generationMeta = () =>
  baseMeta({
    model: { id: 'embedded/tiny-gpt2', checkpointHash: null, modelType: 'gpt2', hiddenSize: H, numLayers: 2, numHeads: 2, vocabSize: 100 },
    task: 'generation',
    template: 'Q: {question} A:',
    placement: 'prefix',
    classNames: [],
    labelWords: {},
    init: { kind: 'text', text: 'Answer the question' },
    metrics: { kind: 'generation', zeroShotExactMatch: null, exactMatch: 0.4, zeroShotTokenF1: null, tokenF1: 0.55 },
  });

export const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
export const text = (b: Uint8Array) => new TextDecoder().decode(b);
export const bytes = (s: string) => new TextEncoder().encode(s);
export const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

/** A safetensors file written by hand, for dtypes and shapes our writer never produces. */
export function rawSafetensors(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  const h = bytes(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

export async function safetensorsContents(file: Uint8Array) {
  const src = bytesSource('t.safetensors', file);
  const header = await readSafetensorsHeader(src);
  const info = header.tensors.get(PROMPT_EMBEDDINGS_KEY)!;
  return { header, info, data: info ? await readTensorData(src, info) : null };
}

/** Sets the uncompressed size that the zip's central directory declares for `name`. */
export function declareSize(zip: Uint8Array, name: string, size: number): Uint8Array {
  const out = zip.slice();
  const view = new DataView(out.buffer);
  for (let at = 0; at + 46 <= out.length; at++) {
    if (view.getUint32(at, true) !== 0x02014b50) continue;
    const nameLength = view.getUint16(at + 28, true);
    if (new TextDecoder().decode(out.subarray(at + 46, at + 46 + nameLength)) === name) {
      view.setUint32(at + 24, size, true);
      return out;
    }
  }
  throw new Error(`no central directory entry ${name}`);
}

/** Overwrites the compressed bytes of `name` with garbage: inflating them would fail with another message. */
export function garbleData(zip: Uint8Array, name: string): Uint8Array {
  const out = zip.slice();
  const view = new DataView(out.buffer);
  const entry = zipEntries(zip, 'z').find((e) => e.name === name)!;
  const local = entry.localHeaderOffset;
  const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
  out.fill(0xff, start, start + entry.compressedSize);
  return out;
}
