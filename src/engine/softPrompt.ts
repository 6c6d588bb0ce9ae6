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
import { keyValueWidth, keyValueWidthText, prefixWidth, type FrozenLM, type TransformerConfig } from '../model/types';
import { maxBindingBytes } from '../model/vocabShards';
import type { TextTokenizer } from '../model/tokenizer';
import type { EncoderValues, LabelHead as ExportedLabelHead, PromptVectors } from './export/schema';

export type { EncoderValues };
import { seededRandom } from './random';
import type { PromptEncoderType, PromptInit, PromptMethod } from './types';

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
 * in head mode, the head's [H, C] weights and [C] bias. With an encoder the vectors are its output
 * (what PEFT's export keeps), and `encoder` holds what it was computed from, so training can go on.
 */
export interface PromptValues extends PromptVectors {
  head?: ExportedLabelHead;
  /** Absent: 'prompt'. */
  method?: PromptMethod;
  /** A prompt ensemble: every member (the first is also the values above); scored by their mean probabilities. */
  members?: PromptValues[];
  /** The encoder's embeddings and weights (P-tuning, a projected prefix); absent without an encoder. */
  encoder?: EncoderValues;
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
  /** P-tuning's LSTM encoder: bidirectional layers run over the N embeddings before the MLP. */
  lstm?: LstmLayer[];
}

/**
 * One direction of an LSTM layer, gates in torch's order (input, forget, cell, output) along the 4E
 * axis: gates [1, 4E] = x_t [1, in] x inputWeight [in, 4E] + h [1, E] x recurrentWeight [E, 4E] + bias.
 * torch keeps two biases (bias_ih + bias_hh); only their sum acts, so one is kept here.
 */
export interface LstmDirection {
  inputWeight: tf.Variable<tf.Rank.R2>;
  recurrentWeight: tf.Variable<tf.Rank.R2>;
  bias: tf.Variable<tf.Rank.R1>;
}

/** A bidirectional layer: its output at token t is [forward h_t, backward h_t], [N, 2E]. */
export interface LstmLayer {
  forward: LstmDirection;
  backward: LstmDirection;
}

/** P-tuning's LSTM encoder (PEFT's num_layers default). */
export const LSTM_ENCODER_LAYERS = 2;

function encoderVariables(encoder: PromptEncoder): tf.Variable[] {
  const lstm = (encoder.lstm ?? []).flatMap((l) => [l.forward, l.backward]).flatMap((d) => [d.inputWeight, d.recurrentWeight, d.bias]);
  return [...lstm, ...encoder.layers.flatMap((l) => [l.weight, l.bias])];
}

/** The names EncoderValues.tensors uses, in encoderVariables' order. */
function encoderTensorNames(encoder: PromptEncoder): string[] {
  const lstm = (encoder.lstm ?? []).flatMap((_, l) =>
    (['forward', 'backward'] as const).flatMap((d) => ['input_weight', 'recurrent_weight', 'bias'].map((w) => `lstm.${l}.${d}.${w}`)),
  );
  return [...lstm, ...encoder.layers.flatMap((_, i) => [`mlp.${i}.weight`, `mlp.${i}.bias`])];
}

/**
 * One LSTM direction over the rows of x [N, in] as a sequence (reversed for the backward
 * direction), from zero state: h_t [N, E] in the rows' order.
 */
function lstmDirection(x: tf.Tensor2D, d: LstmDirection, reverse: boolean): tf.Tensor2D {
  const N = x.shape[0];
  const E = d.recurrentWeight.shape[0];
  const pre = tf.add(tf.matMul(x, d.inputWeight), d.bias) as tf.Tensor2D; // [N, in] x [in, 4E] -> [N, 4E]
  let h: tf.Tensor2D = tf.zeros([1, E]);
  let c: tf.Tensor2D = tf.zeros([1, E]);
  const out: tf.Tensor2D[] = new Array(N);
  for (let s = 0; s < N; s++) {
    const t = reverse ? N - 1 - s : s;
    const gates = tf.add(tf.slice(pre, [t, 0], [1, 4 * E]), tf.matMul(h, d.recurrentWeight)); // [1, 4E]
    const [i, f, g, o] = tf.split(gates, 4, 1);
    c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
    h = tf.mul(tf.sigmoid(o), tf.tanh(c));
    out[t] = h;
  }
  return tf.concat(out, 0); // [N, E]
}

/** The encoder's output for embeddings x [N, in]: the LSTM layers (if any), then the MLP. Call inside tidy. */
function runEncoder(encoder: PromptEncoder, x: tf.Tensor2D): tf.Tensor2D {
  for (const layer of encoder.lstm ?? []) {
    x = tf.concat([lstmDirection(x, layer.forward, false), lstmDirection(x, layer.backward, true)], 1); // [N, 2E]
  }
  encoder.layers.forEach((l, i) => {
    x = tf.add(tf.matMul(x, l.weight), l.bias) as tf.Tensor2D; // [N, in] x [in, out] -> [N, out]
    if (i < encoder.layers.length - 1) x = (encoder.activation === 'relu' ? tf.relu(x) : tf.tanh(x)) as tf.Tensor2D;
  });
  return x;
}

/**
 * P-tuning's LSTM encoder (PEFT's encoder_reparameterization_type LSTM): LSTM_ENCODER_LAYERS
 * bidirectional layers of width E per direction over the N embeddings [N, H], then 2E -> 2E -> H
 * with ReLU between. Seeded; torch's default inits (uniform in +-1/sqrt(E) for the LSTM, +-1/sqrt(fan_in) for the MLP).
 */
export function createLstmPromptEncoder(H: number, E: number, seed: number): PromptEncoder {
  const rng = seededRandom(seed, 'init-encoder-lstm');
  const bound = 1 / Math.sqrt(E);
  const uniform = (n: number) => Float32Array.from({ length: n }, () => (2 * rng.uniform() - 1) * bound);
  const direction = (inp: number): LstmDirection => ({
    inputWeight: variableFrom(tf.tensor2d(uniform(inp * 4 * E), [inp, 4 * E])),
    recurrentWeight: variableFrom(tf.tensor2d(uniform(E * 4 * E), [E, 4 * E])),
    bias: variableFrom(tf.tensor1d(uniform(4 * E))),
  });
  const lstm = Array.from({ length: LSTM_ENCODER_LAYERS }, (_, l) => {
    const inp = l === 0 ? H : 2 * E;
    return { forward: direction(inp), backward: direction(inp) };
  });
  return { ...createPromptEncoder([2 * E, 2 * E, H], 'relu', seed), lstm };
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

  /** The variables the optimiser updates, in a fixed order: embeddings, encoder (LSTM, then MLP), head. */
  trainableVariables(): tf.Variable[] {
    const encoder = this.encoder ? encoderVariables(this.encoder) : [];
    return [this.vectors, ...encoder, ...(this.head ? [this.head.weight, this.head.bias] : [])];
  }

  /** What the model sees, [N, width]: the embeddings, through the encoder when there is one. Caller disposes (or tidies). */
  output(): tf.Tensor2D {
    if (!this.encoder) return this.vectors;
    return tf.tidy(() => runEncoder(this.encoder!, this.vectors));
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
    if (this.encoder) {
      const names = encoderTensorNames(this.encoder);
      const variables = encoderVariables(this.encoder);
      values.encoder = {
        type: this.encoder.lstm ? 'lstm' : 'mlp',
        activation: this.encoder.activation,
        embeddings: (await this.vectors.data()) as Float32Array,
        inputDim: this.vectors.shape[1],
        tensors: await Promise.all(variables.map(async (v, i) => ({ name: names[i], shape: [...v.shape], values: (await v.data()) as Float32Array }))),
      };
    }
    return values;
  }

  dispose(): void {
    for (const v of this.trainableVariables()) v.dispose();
  }

  /**
   * A prompt (and head) holding the given values (an import, a saved run). With `values.encoder` the
   * encoder is rebuilt and trained on; without it the vectors are trained directly.
   */
  static fromValues(values: PromptValues): SoftPrompt {
    const { numTokens: N, dim: D } = values;
    if (values.vectors.length !== N * D) throw new PromptError(`prompt values: ${values.vectors.length} numbers for [${N}, ${D}]`);
    const encoder = values.encoder ? encoderFromValues(values.encoder, N, D) : null;
    const vectors = encoder
      ? variableFrom(tf.tensor2d(values.encoder!.embeddings, [N, values.encoder!.inputDim]))
      : variableFrom(tf.tensor2d(values.vectors, [N, D]));
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
    const method = values.method === 'prefix' ? 'prefix' : encoder ? 'p-tuning' : 'prompt';
    return new SoftPrompt(vectors, head, { method, encoder });
  }
}

/** The encoder held in `values`, every tensor checked by name and shape against an N-token prompt of width D. */
function encoderFromValues(values: EncoderValues, N: number, D: number): PromptEncoder {
  const fail = (m: string): never => {
    throw new PromptError(`prompt encoder: ${m}`);
  };
  if (values.embeddings.length !== N * values.inputDim) fail(`${values.embeddings.length} embedding values for [${N}, ${values.inputDim}]`);
  const byName = new Map(values.tensors.map((t) => [t.name, t]));
  const take = (name: string, shape: number[]) => {
    const t = byName.get(name) ?? fail(`tensor "${name}" is missing (it holds ${values.tensors.map((x) => x.name).join(', ') || 'none'})`);
    if (t.shape.join(',') !== shape.join(',')) fail(`tensor "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    if (t.values.length !== shape.reduce((a, b) => a * b, 1)) fail(`tensor "${name}" has ${t.values.length} values for [${shape.join(', ')}]`);
    byName.delete(name);
    return t.values;
  };
  const created: tf.Variable[] = [];
  const variable = <R extends tf.Rank>(t: tf.Tensor<R>) => {
    const v = variableFrom(t);
    created.push(v);
    return v;
  };
  try {
    let width = values.inputDim;
    const lstm: LstmLayer[] | undefined = values.type === 'lstm' ? [] : undefined;
    if (lstm) {
      const E = (byName.get('lstm.0.forward.recurrent_weight') ?? fail('tensor "lstm.0.forward.recurrent_weight" is missing')).shape[0];
      for (let l = 0; byName.has(`lstm.${l}.forward.input_weight`); l++) {
        const direction = (d: 'forward' | 'backward'): LstmDirection => ({
          inputWeight: variable(tf.tensor2d(take(`lstm.${l}.${d}.input_weight`, [width, 4 * E]), [width, 4 * E])),
          recurrentWeight: variable(tf.tensor2d(take(`lstm.${l}.${d}.recurrent_weight`, [E, 4 * E]), [E, 4 * E])),
          bias: variable(tf.tensor1d(take(`lstm.${l}.${d}.bias`, [4 * E]))),
        });
        lstm.push({ forward: direction('forward'), backward: direction('backward') });
        width = 2 * E;
      }
    }
    const layers: PromptEncoder['layers'] = [];
    for (let i = 0; byName.has(`mlp.${i}.weight`); i++) {
      const out = byName.get(`mlp.${i}.weight`)!.shape[1];
      layers.push({ weight: variable(tf.tensor2d(take(`mlp.${i}.weight`, [width, out]), [width, out])), bias: variable(tf.tensor1d(take(`mlp.${i}.bias`, [out]))) });
      width = out;
    }
    if (layers.length === 0) fail('it has no MLP layers (mlp.0.weight)');
    if (width !== D) fail(`its output is ${width} wide but the prompt vectors are ${D}`);
    if (byName.size) fail(`unexpected tensors ${[...byName.keys()].join(', ')}`);
    return { layers, activation: values.activation, ...(lstm ? { lstm } : {}) };
  } catch (e) {
    created.forEach((v) => v.dispose());
    throw e;
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
  /** P-tuning's encoder (default 'mlp'). */
  encoderType?: PromptEncoderType;
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
      const ids = options.tokenizer.encodeStart(text);
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

/**
 * Standard deviation of all entries of the word-embedding table (one small readback). A table over
 * one GPU binding (vocabShards.ts) cannot be a kernel's operand: its host-side values are summed instead.
 */
export async function embeddingStd(model: FrozenLM): Promise<number> {
  const table = model.wordEmbeddings;
  if (table.size * 4 > maxBindingBytes()) {
    const values = await table.data();
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < values.length; i++) {
      sum += values[i];
      squares += values[i] * values[i];
    }
    const mean = sum / values.length;
    return Math.sqrt(Math.max(0, squares / values.length - mean * mean));
  }
  const std = tf.tidy(() => tf.sqrt(tf.moments(table).variance));
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
  // Through the model's lookup, which reads a table split into binding-sized shards as one.
  return tf.tidy(() => model.embed(tf.tensor2d([ids], [1, ids.length], 'int32')).reshape([ids.length, H]) as tf.Tensor2D); // [1, N] -> [N, H]
}

/**
 * [N, L x 2 x W] prefix keys and values (W = keyValueWidth: H, or the key/value heads' width with grouped-query attention) for `options.init`: what every layer computes for the init's
 * tokens as a sequence (Li & Liang found prefixes started from real words' activations train best),
 * or, for 'random', N(0, s^2) with the std of those activations for the most frequent tokens.
 */
async function initialPrefix(model: FrozenLM, options: PromptInitOptions): Promise<tf.Tensor2D> {
  const N = options.length;
  const width = prefixWidth(model.config);
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
    // PEFT's prompt encoders: MLP H -> E -> E -> H with ReLU between, or a bidirectional LSTM then 2E -> 2E -> H.
    const encoder = options.encoderType === 'lstm' ? createLstmPromptEncoder(H, E, options.seed) : createPromptEncoder([H, E, E, H], 'relu', options.seed);
    return new SoftPrompt(vectors, head, { method, encoder });
  }
  if (method === 'prefix') {
    // PEFT's prefix_projection: H -> E -> L x 2 x W with tanh between (W: keyValueWidth, as PEFT sizes token_dim for GQA).
    return new SoftPrompt(vectors, head, { method, encoder: createPromptEncoder([H, E, L * 2 * keyValueWidth(model.config)], 'tanh', options.seed) });
  }
  return new SoftPrompt(vectors, head);
}

/**
 * A SoftPrompt holding `values`, checked against what the task needs. Head mode without a head in
 * the values gets a fresh head; verbalizer mode ignores a head.
 */
export function promptFromValues(
  values: PromptValues,
  needs: Pick<TransformerConfig, 'hiddenSize' | 'numLayers' | 'numKeyValueHeads' | 'headDim'> & { length: number; headClasses?: number; seed: number },
): SoftPrompt {
  const prefix = values.method === 'prefix';
  const width = prefix ? prefixWidth(needs) : needs.hiddenSize;
  if (values.dim !== width) {
    throw new PromptError(
      prefix
        ? `the prefix has ${values.dim} values per virtual token but this model needs ${width} (layers ${needs.numLayers} x 2 x ${keyValueWidthText(needs)})`
        : `the prompt vectors have size ${values.dim} but the model's hidden size is ${needs.hiddenSize}`,
    );
  }
  if (values.numTokens !== needs.length) {
    throw new PromptError(`the prompt has ${values.numTokens} vectors but the template and prompt length ask for ${needs.length}; set the prompt length to ${values.numTokens}`);
  }
  const C = needs.headClasses;
  const head = C && values.head && values.head.bias.length === C ? values.head : undefined;
  if (C && values.head && !head) throw new PromptError(`the prompt's label head has ${values.head.bias.length} classes; this data has ${C}`);
  const prompt = SoftPrompt.fromValues({ vectors: values.vectors, numTokens: values.numTokens, dim: values.dim, head, method: values.method, encoder: values.encoder });
  if (C && !head) return new SoftPrompt(prompt.vectors, createLabelHead(needs.hiddenSize, C, needs.seed), { method: prompt.method, encoder: prompt.encoder });
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
