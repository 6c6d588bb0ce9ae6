/**
 * The trainable tensors: the soft prompt [N, H] and, in head mode, a linear label head [H, C] + [C].
 * Nothing else is ever a `tf.variable`.
 *
 * Inits (Lester et al. 2021, "The Power of Scale for Parameter-Efficient Prompt Tuning"):
 * - random: N(0, s^2) with s the standard deviation of the word-embedding table, so the prompt
 *   starts at the scale the first layer norm expects;
 * - vocab: embeddings of distinct tokens sampled from the most frequent ones (in the training
 *   texts when counts are given, else the lowest ids, which BPE and WordPiece vocabularies order
 *   roughly by frequency);
 * - text: the embeddings of a text's tokens, repeated or cut to N;
 * - labels: the class label words' embeddings first (their scored tokens, class by class), then
 *   sampled vocabulary for the remaining rows, as in the paper.
 */
import * as tf from '@tensorflow/tfjs';
import type { FrozenLM } from '../model/types';
import type { TextTokenizer } from '../model/tokenizer';
import type { LabelHead as ExportedLabelHead, PromptVectors } from './export/schema';
import { seededRandom } from './random';
import type { PromptInit } from './types';

/** How many of the most frequent tokens the vocab init samples from (Lester et al.: 5000). */
export const VOCAB_INIT_TOP_TOKENS = 5000;

export class PromptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptError';
  }
}

export interface LabelHead {
  weight: tf.Variable<tf.Rank.R2>; // [H, C]
  bias: tf.Variable<tf.Rank.R1>; // [C]
}

/**
 * Plain-array copy of the trainable values, in the shapes the export files hold: `PromptVectors`
 * ([numTokens, dim] row-major) plus, in head mode, the head's [H, C] weights and [C] bias.
 */
export interface PromptValues extends PromptVectors {
  head?: ExportedLabelHead;
}

/** A trainable variable holding `t`'s values; `t` itself is disposed. */
function variableFrom<R extends tf.Rank>(t: tf.Tensor<R>): tf.Variable<R> {
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

export class SoftPrompt {
  constructor(
    /** [N, H] */
    readonly vectors: tf.Variable<tf.Rank.R2>,
    readonly head: LabelHead | null = null,
  ) {}

  get length(): number {
    return this.vectors.shape[0];
  }

  get hiddenSize(): number {
    return this.vectors.shape[1];
  }

  /** The variables the optimiser updates, in a fixed order. */
  trainableVariables(): tf.Variable[] {
    return this.head ? [this.vectors, this.head.weight, this.head.bias] : [this.vectors];
  }

  /** Device-side copies of every variable (for restoring the best epoch). Caller disposes. */
  snapshot(): tf.Tensor[] {
    return this.trainableVariables().map((v) => v.clone());
  }

  restore(snapshot: tf.Tensor[]): void {
    this.trainableVariables().forEach((v, i) => v.assign(snapshot[i]));
  }

  async values(): Promise<PromptValues> {
    const out: PromptValues = { vectors: (await this.vectors.data()) as Float32Array, numTokens: this.length, dim: this.hiddenSize };
    if (this.head) {
      out.head = { weights: (await this.head.weight.data()) as Float32Array, bias: (await this.head.bias.data()) as Float32Array };
    }
    return out;
  }

  dispose(): void {
    for (const v of this.trainableVariables()) v.dispose();
  }

  /** A prompt (and head) holding the given values (an import, a saved run). */
  static fromValues(values: PromptValues): SoftPrompt {
    const { numTokens: N, dim: H } = values;
    if (values.vectors.length !== N * H) throw new PromptError(`prompt values: ${values.vectors.length} numbers for [${N}, ${H}]`);
    const vectors = variableFrom(tf.tensor2d(values.vectors, [N, H]));
    let head: LabelHead | null = null;
    if (values.head) {
      const C = values.head.bias.length;
      if (values.head.weights.length !== H * C) throw new PromptError(`label head: ${values.head.weights.length} weights for [${H}, ${C}]`);
      head = {
        weight: variableFrom(tf.tensor2d(values.head.weights, [H, C])),
        bias: variableFrom(tf.tensor1d(values.head.bias)),
      };
    }
    return new SoftPrompt(vectors, head);
  }
}

export interface PromptInitOptions {
  length: number;
  init: PromptInit;
  seed: number;
  /** For 'text'. */
  text?: string;
  tokenizer?: TextTokenizer;
  /** For 'labels': per class, the label words' scored token ids (Verbalizer.labelWordIds). */
  labelWordIds?: number[][];
  /** Token ids by descending frequency in the training data ('vocab', and 'labels' beyond the words). */
  frequentTokenIds?: number[];
  /** Add a label head with this many classes (head mode). */
  headClasses?: number;
}

/** Ids that are never prompt material: special tokens. */
function specialIds(tokenizer?: TextTokenizer): Set<number> {
  return new Set(Object.values(tokenizer?.special ?? {}).filter((v): v is number => v !== null));
}

/** `count` distinct ids (repeats only when there are fewer candidates than rows), seeded. */
function sampleIds(candidates: number[], count: number, seed: number): number[] {
  const rng = seededRandom(seed, 'init-vocab');
  const out: number[] = [];
  while (out.length < count) out.push(...rng.shuffle(candidates).slice(0, count - out.length));
  return out;
}

/** Ids to sample from: the most frequent training tokens, else the first non-special ids. */
export function vocabCandidates(model: FrozenLM, options: PromptInitOptions): number[] {
  const specials = specialIds(options.tokenizer);
  const fromData = (options.frequentTokenIds ?? []).filter((id) => !specials.has(id)).slice(0, VOCAB_INIT_TOP_TOKENS);
  if (fromData.length >= options.length) return fromData;
  const V = Math.min(model.config.vocabSize, options.tokenizer?.vocabSize ?? model.config.vocabSize);
  const ids: number[] = [];
  for (let id = 0; id < V && ids.length < VOCAB_INIT_TOP_TOKENS; id++) if (!specials.has(id)) ids.push(id);
  return ids;
}

/** The ids whose embeddings become the rows of a 'vocab', 'text' or 'labels' init. */
export function initTokenIds(model: FrozenLM, options: PromptInitOptions): number[] {
  const N = options.length;
  switch (options.init) {
    case 'random':
      throw new PromptError('a random init has no token ids');
    case 'vocab':
      return sampleIds(vocabCandidates(model, options), N, options.seed);
    case 'text': {
      const text = options.text?.trim() ?? '';
      if (!options.tokenizer || text.length === 0) throw new PromptError("the 'text' init needs a non-empty init text");
      const ids = options.tokenizer.encode(text);
      if (ids.length === 0) throw new PromptError(`the init text "${text}" gives no tokens`);
      return Array.from({ length: N }, (_, i) => ids[i % ids.length]);
    }
    case 'labels': {
      const perClass = options.labelWordIds ?? [];
      if (perClass.length === 0) throw new PromptError("the 'labels' init needs label words");
      // Interleave classes (first word of each class, then second words, ...) so a short
      // prompt still holds every class.
      const words: number[] = [];
      const longest = Math.max(...perClass.map((ws) => ws.length));
      for (let k = 0; k < longest; k++) for (const ws of perClass) if (k < ws.length && !words.includes(ws[k])) words.push(ws[k]);
      const rest = N > words.length ? sampleIds(vocabCandidates(model, options).filter((id) => !words.includes(id)), N - words.length, options.seed) : [];
      return [...words, ...rest].slice(0, N);
    }
  }
}

/** Standard deviation of all entries of the word-embedding table (one small readback). */
export async function embeddingStd(model: FrozenLM): Promise<number> {
  const std = tf.tidy(() => tf.sqrt(tf.moments(model.wordEmbeddings).variance));
  const [s] = await std.data();
  std.dispose();
  return s;
}

/** Creates the soft prompt (and head) for `options.init`. */
export async function createSoftPrompt(model: FrozenLM, options: PromptInitOptions): Promise<SoftPrompt> {
  const N = options.length;
  const H = model.config.hiddenSize;
  if (!(Number.isInteger(N) && N >= 1)) throw new PromptError(`prompt length must be a positive integer, got ${N}`);
  let initial: tf.Tensor2D;
  if (options.init === 'random') {
    const std = await embeddingStd(model);
    const rng = seededRandom(options.seed, 'init-random');
    const data = new Float32Array(N * H);
    for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
    initial = tf.tensor2d(data, [N, H]);
  } else {
    const ids = initTokenIds(model, options);
    initial = tf.tidy(() => tf.gather(model.wordEmbeddings, tf.tensor1d(ids, 'int32')) as tf.Tensor2D); // [N] -> [N, H]
  }
  const vectors = variableFrom(initial);
  const head = options.headClasses ? createLabelHead(H, options.headClasses, options.seed) : null;
  return new SoftPrompt(vectors, head);
}

/**
 * A SoftPrompt holding `values`, checked against what the task needs. Head mode without a head in
 * the values gets a fresh head; verbalizer mode ignores a head.
 */
export function promptFromValues(values: PromptValues, needs: { length: number; hiddenSize: number; headClasses?: number; seed: number }): SoftPrompt {
  if (values.dim !== needs.hiddenSize) {
    throw new PromptError(`the prompt vectors have size ${values.dim} but the model's hidden size is ${needs.hiddenSize}`);
  }
  if (values.numTokens !== needs.length) {
    throw new PromptError(`the prompt has ${values.numTokens} vectors but the template and prompt length ask for ${needs.length}; set the prompt length to ${values.numTokens}`);
  }
  const C = needs.headClasses;
  const head = C && values.head && values.head.bias.length === C ? values.head : undefined;
  if (C && values.head && !head) throw new PromptError(`the prompt's label head has ${values.head.bias.length} classes; this data has ${C}`);
  const prompt = SoftPrompt.fromValues({ vectors: values.vectors, numTokens: values.numTokens, dim: values.dim, head });
  if (C && !head) return new SoftPrompt(prompt.vectors, createLabelHead(needs.hiddenSize, C, needs.seed));
  return prompt;
}

/** Linear head [H, C] (Glorot-uniform, seeded) and zero bias [C]. */
export function createLabelHead(hiddenSize: number, numClasses: number, seed: number): LabelHead {
  const rng = seededRandom(seed, 'init-head');
  const limit = Math.sqrt(6 / (hiddenSize + numClasses));
  const w = new Float32Array(hiddenSize * numClasses);
  for (let i = 0; i < w.length; i++) w[i] = (2 * rng.uniform() - 1) * limit;
  return {
    weight: variableFrom(tf.tensor2d(w, [hiddenSize, numClasses])),
    bias: variableFrom(tf.zeros([numClasses]) as tf.Tensor1D),
  };
}

/** Token ids of the examples by descending count (ties: lower id first); specials excluded. */
export function tokenFrequencies(sequences: readonly (readonly number[])[], tokenizer?: TextTokenizer): number[] {
  const specials = specialIds(tokenizer);
  const counts = new Map<number, number>();
  for (const seq of sequences) for (const id of seq) if (!specials.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([id]) => id);
}
