/**
 * Batches: dynamic padding to the batch's longest sequence, soft vectors spliced into the input
 * embeddings, and the positions a loss reads.
 *
 * Padding side: encoders pad on the right (the HF convention, and [CLS] stays at column 0).
 * Decoders pad on the LEFT: the prediction position (the last token) is then column T-1 in every
 * row, and generation appends each new token at the same column for the whole batch. The model
 * numbers positions from the attention mask, so either side gives the same outputs.
 *
 * Selections (splicing soft rows in, reading the loss positions out) are real gathers where the
 * backend differentiates gather natively (webgpu, webgl, cpu), and one-hot matmuls on wasm, where
 * gather's gradient (UnsortedSegmentSum) is only the host-side loop of wasmKernels.ts, which reads
 * the gradient back and stalls the step. `selectionFor` is the one place that chooses; both give
 * the same values and gradients (batch.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { FrozenLM, LmKind } from '../model/types';
import type { SoftPrompt } from './softPrompt';
import type { EncodedExample } from './template';

export type PadSide = 'left' | 'right';

/** How a batch picks rows: `tf.gather`, or a product with a one-hot matrix (see the file comment). */
export type Selection = 'gather' | 'one-hot';

/** The selection for a tfjs backend (the active one by default). */
export function selectionFor(backend: string = tf.getBackend()): Selection {
  return backend === 'wasm' ? 'one-hot' : 'gather';
}

export function padSideFor(lmKind: LmKind): PadSide {
  return lmKind === 'causal-lm' ? 'left' : 'right';
}

/** What a batch is built from: an encoded example (template.ts) or anything shaped like one. */
export type BatchInput = Pick<EncodedExample, 'ids' | 'softIndex' | 'tokenTypes'>;

export interface TokenBatch {
  size: number;
  /** Padded length T. */
  length: number;
  /** Non-padding positions in the batch (soft ones included), for tokens/s. */
  realTokens: number;
  /** Where each example starts in its padded row (left padding). */
  offsets: number[];
  ids: tf.Tensor2D; // [B, T] int32
  attentionMask: tf.Tensor2D; // [B, T] int32
  tokenTypeIds: tf.Tensor2D; // [B, T] int32
  /** How the tensors below select rows; each field says in which mode it is set (null otherwise). */
  selection: Selection;
  /** K: reads per example (the longest list; shorter ones are padded with weight-0 reads). */
  readsPerExample: number;
  /** one-hot: [B, T, N], prompt row n sits at (b, t). Null without soft positions. */
  softSelect: tf.Tensor3D | null;
  /** one-hot: [B, T, 1] 1 at ordinary tokens, 0 at soft positions. Null without soft positions. */
  tokenKeep: tf.Tensor3D | null;
  /**
   * gather: [B * T] int32, the row of [word embeddings [B * T, H]; prompt [N, H]] each position
   * takes: b * T + t at ordinary tokens, B * T + n at prompt row n. Null without soft positions.
   */
  spliceIndex: tf.Tensor1D | null;
  /** one-hot: [B, K, T] over the positions the loss reads (padding reads are zero rows). */
  readSelect: tf.Tensor3D | null;
  /** gather: [B * K] int32, the flat row b * T + t of each read (padding reads take b * T, weight 0). */
  readIndex: tf.Tensor1D | null;
  /** [B, K] 1 for a real read, 0 for padding reads. */
  readWeights: tf.Tensor2D;
  dispose(): void;
}

export interface BatchOptions {
  side: PadSide;
  padId: number;
  /** Prompt length N (width of `softSelect`). */
  promptLength: number;
  /** Per example, the (unpadded) positions the loss reads; K = the longest list. */
  reads: readonly (readonly number[])[];
  /** Default: `selectionFor` the active backend. */
  selection?: Selection;
}

export function makeBatch(examples: readonly BatchInput[], options: BatchOptions): TokenBatch {
  const B = examples.length;
  const T = Math.max(...examples.map((e) => e.ids.length));
  const N = options.promptLength;
  const K = Math.max(1, ...options.reads.map((r) => r.length));
  const ids = new Int32Array(B * T).fill(options.padId);
  const mask = new Int32Array(B * T);
  const types = new Int32Array(B * T);
  const selection = options.selection ?? selectionFor();
  const oneHot = selection === 'one-hot';
  const hasSoft = N > 0 && examples.some((e) => e.softIndex.some((s) => s >= 0));
  const soft = hasSoft && oneHot ? new Float32Array(B * T * N) : null;
  const keep = hasSoft && oneHot ? new Float32Array(B * T).fill(1) : null;
  const splice = hasSoft && !oneHot ? Int32Array.from({ length: B * T }, (_, i) => i) : null;
  const read = oneHot ? new Float32Array(B * K * T) : null;
  const readAt = oneHot ? null : new Int32Array(B * K);
  const readW = new Float32Array(B * K);
  const offsets: number[] = [];
  let realTokens = 0;
  examples.forEach((e, b) => {
    const L = e.ids.length;
    const off = options.side === 'left' ? T - L : 0;
    offsets.push(off);
    realTokens += L;
    for (let i = 0; i < L; i++) {
      const at = b * T + off + i;
      ids[at] = e.ids[i];
      mask[at] = 1;
      types[at] = e.tokenTypes[i];
      const s = e.softIndex[i];
      if (s >= 0 && hasSoft) {
        if (s >= N) throw new RangeError(`soft index ${s} is outside the prompt (length ${N})`);
        if (soft && keep) {
          soft[at * N + s] = 1;
          keep[at] = 0;
        }
        if (splice) splice[at] = B * T + s;
      }
    }
    if (readAt) readAt.fill(b * T, b * K, (b + 1) * K);
    options.reads[b].forEach((p, k) => {
      if (p < 0 || p >= L) throw new RangeError(`read position ${p} is outside the example (length ${L})`);
      if (read) read[(b * K + k) * T + off + p] = 1;
      if (readAt) readAt[b * K + k] = b * T + off + p;
      readW[b * K + k] = 1;
    });
  });
  const tensors = {
    ids: tf.tensor2d(ids, [B, T], 'int32'),
    attentionMask: tf.tensor2d(mask, [B, T], 'int32'),
    tokenTypeIds: tf.tensor2d(types, [B, T], 'int32'),
    softSelect: soft ? tf.tensor3d(soft, [B, T, N]) : null,
    tokenKeep: keep ? tf.tensor3d(keep, [B, T, 1]) : null,
    spliceIndex: splice ? tf.tensor1d(splice, 'int32') : null,
    readSelect: read ? tf.tensor3d(read, [B, K, T]) : null,
    readIndex: readAt ? tf.tensor1d(readAt, 'int32') : null,
    readWeights: tf.tensor2d(readW, [B, K]),
  };
  return {
    size: B,
    length: T,
    realTokens,
    offsets,
    selection,
    readsPerExample: K,
    ...tensors,
    dispose() {
      for (const t of Object.values(tensors)) t?.dispose();
    },
  };
}

/**
 * Input embeddings [B, T, H]: word embeddings at ordinary tokens, prompt rows at soft positions.
 * `prompt` null (zero-shot, or a batch without soft positions) gives plain word embeddings.
 */
export function embedInputs(model: FrozenLM, batch: TokenBatch, prompt: tf.Tensor2D | null): tf.Tensor3D {
  return tf.tidy(() => {
    const words = model.embed(batch.ids); // [B, T, H]
    if (!prompt) return words;
    const B = batch.size;
    const T = batch.length;
    const [N, H] = prompt.shape;
    if (batch.spliceIndex) {
      // [B*T + N, H] rows, gathered by [B*T] -> [B, T, H]
      const rows = tf.concat([words.reshape([B * T, H]), prompt], 0);
      return tf.gather(rows, batch.spliceIndex).reshape([B, T, H]) as tf.Tensor3D;
    }
    if (!batch.softSelect || !batch.tokenKeep) return words;
    // [B*T, N] x [N, H] -> [B, T, H]
    const spliced = tf.matMul(batch.softSelect.reshape([B * T, N]) as tf.Tensor2D, prompt).reshape([B, T, H]);
    return tf.add(tf.mul(words, batch.tokenKeep), spliced) as tf.Tensor3D;
  });
}

/**
 * Forward pass of the frozen model with the prompt -> hidden states [B, T, H]: its vectors spliced
 * into the input, or (prefix tuning) its keys and values at every layer.
 */
export function forwardWithPrompt(model: FrozenLM, batch: TokenBatch, prompt: SoftPrompt | null): tf.Tensor3D {
  return tf.tidy(() => {
    const prefix = prompt?.prefix() ?? undefined;
    return model.forward({
      inputsEmbeds: embedInputs(model, batch, prompt?.inputVectors() ?? null),
      attentionMask: batch.attentionMask,
      tokenTypeIds: batch.tokenTypeIds,
      ...(prefix ? { prefix } : {}),
    });
  });
}

/** Hidden states at the read positions [B, T, H] -> [B, K, H] (padding reads: zeros or row 0, weight 0 either way). */
export function readHidden(hidden: tf.Tensor3D, batch: TokenBatch): tf.Tensor3D {
  return tf.tidy(() => {
    if (batch.readSelect) return tf.matMul(batch.readSelect, hidden); // [B, K, T] x [B, T, H]
    if (!batch.readIndex) throw new Error('internal: a batch without read positions');
    const [B, T, H] = hidden.shape;
    // [B*T, H] gathered by [B*K] -> [B, K, H]
    return tf.gather(hidden.reshape([B * T, H]), batch.readIndex).reshape([B, batch.readsPerExample, H]) as tf.Tensor3D;
  });
}
