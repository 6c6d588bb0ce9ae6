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
 * - labels: the class label words' embeddings first (each word's first token, class by class), then
 *   sampled vocabulary for the remaining rows, as in the paper.
 */
import * as tf from '@tensorflow/tfjs';
import type { FrozenLM } from '../model/types';
import type { TextTokenizer } from '../model/tokenizer';
import type { LabelHead as ExportedLabelHead, PromptVectors } from './export/schema';
import { seededRandom } from './random';
import type { PromptInit, PromptMethod } from './types';

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
 * Plain-array copy of what the model sees, in the shapes the export files hold: `PromptVectors`
 * ([numTokens, dim] row-major: input vectors, dim H; or prefix keys and values, dim L x 2 x H) plus,
 * in head mode, the head's [H, C] weights and [C] bias. An encoder's weights are not in here (PEFT's
 * export does not keep them either): the vectors are the encoder's output.
 */
export interface PromptValues extends PromptVectors {
  head?: ExportedLabelHead;
  /** Absent: 'prompt'. */
  method?: PromptMethod;
  /** A prompt ensemble: every member (the first is also the values above); scored by their mean probabilities. */
  members?: PromptValues[];
}

/** A trainable variable holding `t`'s values; `t` itself is disposed. */
function variableFrom<R extends tf.Rank>(t: tf.Tensor<R>): tf.Variable<R> {
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

/**
 * A small MLP from the trainable embeddings to what the model sees (P-tuning's prompt encoder, or
 * prefix tuning's reparameterisation): linear layers with `activation` between them.
 */
export interface PromptEncoder {
  layers: { weight: tf.Variable<tf.Rank.R2>; bias: tf.Variable<tf.Rank.R1> }[];
  activation: 'relu' | 'tanh';
}

/** A seeded encoder with torch nn.Linear's default init (uniform in +-1/sqrt(fan_in)). */
export function createPromptEncoder(sizes: readonly number[], activation: PromptEncoder['activation'], seed: number): PromptEncoder {
  const rng = seededRandom(seed, 'init-encoder');
  const layers = sizes.slice(1).map((out, i) => {
    const inp = sizes[i];
    const bound = 1 / Math.sqrt(inp);
    const uniform = (n: number) => Float32Array.from({ length: n }, () => (2 * rng.uniform() - 1) * bound);
    return { weight: variableFrom(tf.tensor2d(uniform(inp * out), [inp, out])), bias: variableFrom(tf.tensor1d(uniform(out))) };
  });
  return { layers, activation };
}

export class SoftPrompt {
  readonly method: PromptMethod;
  readonly encoder: PromptEncoder | null;

  constructor(
    /** [N, D]: the trainable embeddings (D = H, or L x 2 x H for a prefix without an encoder). */
    readonly vectors: tf.Variable<tf.Rank.R2>,
    readonly head: LabelHead | null = null,
    options: { method?: PromptMethod; encoder?: PromptEncoder | null } = {},
  ) {
    this.method = options.method ?? 'prompt';
    this.encoder = options.encoder ?? null;
  }

  get length(): number {
    return this.vectors.shape[0];
  }

  /** Width of what the model sees: H for input vectors, L x 2 x H for a prefix. */
  get width(): number {
    const layers = this.encoder?.layers;
    return layers?.length ? layers[layers.length - 1].weight.shape[1] : this.vectors.shape[1];
  }

  /** The variables the optimiser updates, in a fixed order: embeddings, encoder, head. */
  trainableVariables(): tf.Variable[] {
    const encoder = this.encoder?.layers.flatMap((l) => [l.weight, l.bias]) ?? [];
    return [this.vectors, ...encoder, ...(this.head ? [this.head.weight, this.head.bias] : [])];
  }

  /** What the model sees, [N, width]: the embeddings, through the encoder when there is one. Caller disposes (or tidies). */
  output(): tf.Tensor2D {
    if (!this.encoder) return this.vectors;
    return tf.tidy(() => {
      let x: tf.Tensor2D = this.vectors;
      this.encoder!.layers.forEach((l, i) => {
        x = tf.add(tf.matMul(x, l.weight), l.bias) as tf.Tensor2D; // [N, in] x [in, out] -> [N, out]
        if (i < this.encoder!.layers.length - 1) x = (this.encoder!.activation === 'relu' ? tf.relu(x) : tf.tanh(x)) as tf.Tensor2D;
      });
      return x;
    });
  }

  /** The vectors spliced into the input [N, H], or null for a prefix. */
  inputVectors(): tf.Tensor2D | null {
    return this.method === 'prefix' ? null : this.output();
  }

  /** The per-layer keys and values [N, L x 2 x H], or null when the prompt is in the input. */
  prefix(): tf.Tensor2D | null {
    return this.method === 'prefix' ? this.output() : null;
  }

  async values(): Promise<PromptValues> {
    const out = this.output();
    const vectors = new Float32Array(await out.data());
    if (out !== this.vectors) out.dispose();
    const values: PromptValues = { vectors, numTokens: this.length, dim: this.width };
    if (this.method !== 'prompt') values.method = this.method;
    if (this.head) {
      values.head = { weights: (await this.head.weight.data()) as Float32Array, bias: (await this.head.bias.data()) as Float32Array };
    }
    return values;
  }

  dispose(): void {
    for (const v of this.trainableVariables()) v.dispose();
  }

  /** A prompt (and head) holding the given values (an import, a saved run): no encoder, the vectors are trained directly. */
  static fromValues(values: PromptValues): SoftPrompt {
    const { numTokens: N, dim: D } = values;
    if (values.vectors.length !== N * D) throw new PromptError(`prompt values: ${values.vectors.length} numbers for [${N}, ${D}]`);
    const vectors = variableFrom(tf.tensor2d(values.vectors, [N, D]));
    let head: LabelHead | null = null;
    if (values.head) {
      const C = values.head.bias.length;
      const H = values.head.weights.length / C;
      if (!Number.isInteger(H)) throw new PromptError(`label head: ${values.head.weights.length} weights for ${C} classes`);
      head = {
        weight: variableFrom(tf.tensor2d(values.head.weights, [H, C])),
        bias: variableFrom(tf.tensor1d(values.head.bias)),
      };
    }
    return new SoftPrompt(vectors, head, { method: values.method === 'prefix' ? 'prefix' : 'prompt' });
  }
}

export interface PromptInitOptions {
  length: number;
  init: PromptInit;
  seed: number;
  /** For 'text'. */
  text?: string;
  tokenizer?: TextTokenizer;
  /** For 'labels': per class, the label words' first token ids (Verbalizer.labelWordIds). */
  labelWordIds?: number[][];
  /** Token ids by descending frequency in the training data ('vocab', and 'labels' beyond the words). */
  frequentTokenIds?: number[];
  /** Add a label head with this many classes (head mode). */
  headClasses?: number;
  /** What is trained (default 'prompt'); see PromptMethod. */
  method?: PromptMethod;
  /** P-tuning's encoder, and prefix tuning's projection: the MLP's hidden width (default H). */
  encoderHiddenSize?: number;
  /** Prefix tuning: train [N, H] embeddings through an MLP (PEFT's prefix_projection) instead of the keys and values directly. */
  prefixProjection?: boolean;
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

/** [N, H] rows for `options.init`: word embeddings of the init's tokens, or N(0, s^2) with the table's std. */
async function initialEmbeddings(model: FrozenLM, options: PromptInitOptions): Promise<tf.Tensor2D> {
  const N = options.length;
  const H = model.config.hiddenSize;
  if (options.init === 'random') {
    const std = await embeddingStd(model);
    const rng = seededRandom(options.seed, 'init-random');
    const data = new Float32Array(N * H);
    for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
    return tf.tensor2d(data, [N, H]);
  }
  const ids = initTokenIds(model, options);
  return tf.tidy(() => tf.gather(model.wordEmbeddings, tf.tensor1d(ids, 'int32')) as tf.Tensor2D); // [N] -> [N, H]
}

/**
 * [N, L x 2 x H] prefix keys and values for `options.init`: what every layer computes for the init's
 * tokens as a sequence (Li & Liang found prefixes started from real words' activations train best),
 * or, for 'random', N(0, s^2) with the std of those activations for the most frequent tokens.
 */
async function initialPrefix(model: FrozenLM, options: PromptInitOptions): Promise<tf.Tensor2D> {
  const N = options.length;
  const width = model.config.numLayers * 2 * model.config.hiddenSize;
  const activations = (ids: number[]) =>
    tf.tidy(() => {
      const idsT = tf.tensor2d([ids], [1, ids.length], 'int32');
      return model.keyValues({ inputsEmbeds: model.embed(idsT), attentionMask: tf.onesLike(idsT) }).reshape([ids.length, width]) as tf.Tensor2D;
    });
  if (options.init !== 'random') return activations(initTokenIds(model, options));
  const reference = activations(initTokenIds(model, { ...options, init: 'vocab' }));
  const stdT = tf.tidy(() => tf.sqrt(tf.moments(reference).variance));
  const std = (await stdT.data())[0];
  tf.dispose([reference, stdT]);
  const rng = seededRandom(options.seed, 'init-random');
  return tf.tensor2d(Float32Array.from({ length: N * width }, () => std * rng.normal()), [N, width]);
}

/** Creates the soft prompt (and head) for `options.init` and `options.method`. */
export async function createSoftPrompt(model: FrozenLM, options: PromptInitOptions): Promise<SoftPrompt> {
  const N = options.length;
  const { hiddenSize: H, numLayers: L } = model.config;
  if (!(Number.isInteger(N) && N >= 1)) throw new PromptError(`prompt length must be a positive integer, got ${N}`);
  const method = options.method ?? 'prompt';
  const E = options.encoderHiddenSize ?? H;
  if (!(Number.isInteger(E) && E >= 1)) throw new PromptError(`the encoder's hidden size must be a positive integer, got ${E}`);
  const head = options.headClasses ? createLabelHead(H, options.headClasses, options.seed) : null;
  if (method === 'prefix' && !options.prefixProjection) {
    return new SoftPrompt(variableFrom(await initialPrefix(model, options)), head, { method });
  }
  const vectors = variableFrom(await initialEmbeddings(model, options));
  if (method === 'p-tuning') {
    // PEFT's MLP prompt encoder: H -> E -> E -> H with ReLU between.
    return new SoftPrompt(vectors, head, { method, encoder: createPromptEncoder([H, E, E, H], 'relu', options.seed) });
  }
  if (method === 'prefix') {
    // PEFT's prefix_projection: H -> E -> L x 2 x H with tanh between.
    return new SoftPrompt(vectors, head, { method, encoder: createPromptEncoder([H, E, L * 2 * H], 'tanh', options.seed) });
  }
  return new SoftPrompt(vectors, head);
}

/**
 * A SoftPrompt holding `values`, checked against what the task needs. Head mode without a head in
 * the values gets a fresh head; verbalizer mode ignores a head.
 */
export function promptFromValues(
  values: PromptValues,
  needs: { length: number; hiddenSize: number; numLayers: number; headClasses?: number; seed: number },
): SoftPrompt {
  const prefix = values.method === 'prefix';
  const width = prefix ? needs.numLayers * 2 * needs.hiddenSize : needs.hiddenSize;
  if (values.dim !== width) {
    throw new PromptError(
      prefix
        ? `the prefix has ${values.dim} values per virtual token but this model needs ${width} (layers ${needs.numLayers} x 2 x hidden ${needs.hiddenSize})`
        : `the prompt vectors have size ${values.dim} but the model's hidden size is ${needs.hiddenSize}`,
    );
  }
  if (values.numTokens !== needs.length) {
    throw new PromptError(`the prompt has ${values.numTokens} vectors but the template and prompt length ask for ${needs.length}; set the prompt length to ${values.numTokens}`);
  }
  const C = needs.headClasses;
  const head = C && values.head && values.head.bias.length === C ? values.head : undefined;
  if (C && values.head && !head) throw new PromptError(`the prompt's label head has ${values.head.bias.length} classes; this data has ${C}`);
  const prompt = SoftPrompt.fromValues({ vectors: values.vectors, numTokens: values.numTokens, dim: values.dim, head, method: values.method });
  if (C && !head) return new SoftPrompt(prompt.vectors, createLabelHead(needs.hiddenSize, C, needs.seed), { method: prompt.method });
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
