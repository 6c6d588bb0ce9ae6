/**
 * Pretraining of the embedded default models with the project's own tfjs model code: a BERT-style
 * masked LM and a GPT-2-style causal LM, trained from scratch on the corpus of corpus.ts. The
 * weights are tf.variables only here; the saved checkpoint is a plain HF-layout folder that the
 * studio loads like any other.
 */
import * as tf from '@tensorflow/tfjs';
import { BertEncoder, encoderPrefix, encoderWeightSpecs } from '../model/bert';
import { GPT2_PREFIX, Gpt2Model, gpt2WeightSpecs } from '../model/gpt2';
import { toHfConfig } from '../model/config';
import { writeSafetensors, type NamedArray } from '../model/safetensors';
import type { FrozenLM, TransformerConfig } from '../model/types';
import type { WeightSpec } from '../model/weights';

/** mulberry32: small, fast, seedable; state is one integer so a run can resume exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
}

export function weightSpecs(cfg: TransformerConfig): { specs: WeightSpec[]; prefix: string } {
  return cfg.modelType === 'gpt2'
    ? { specs: gpt2WeightSpecs(cfg), prefix: GPT2_PREFIX }
    : { specs: encoderWeightSpecs(cfg), prefix: encoderPrefix(cfg) };
}

/** Checkpoint name of a spec: base tensors carry the family prefix (as *ForMaskedLM / *LMHeadModel save them). */
export function hfName(spec: WeightSpec, prefix: string): string {
  return spec.group === 'base' ? prefix + spec.key : spec.key;
}

export interface InitOptions {
  /** Position table starts as sinusoids (see sinusoidalPositions) instead of N(0, 0.02) rows. */
  sinusoidalPositions?: boolean;
  /**
   * BERT family, needs sinusoidalPositions: the query/key maps of this many first layers start as
   * offset heads (see offsetHeadWeights), head h looking at relative position OFFSETS[h % 4].
   */
  offsetLayers?: number;
}

/**
 * BERT/GPT-2 initialisation: N(0, 0.02) matrices and embeddings, zero biases, unit LayerNorm
 * scales. GPT-2 additionally scales residual output projections by 1/sqrt(2 * layers).
 */
export function initialWeights(cfg: TransformerConfig, seed: number, options: InitOptions = {}): Map<string, tf.Variable> {
  const offsetLayers = options.offsetLayers ?? 0;
  if (offsetLayers > 0 && (cfg.modelType !== 'bert' || !options.sinusoidalPositions)) {
    throw new Error('offset heads need a BERT model with sinusoidal positions');
  }
  const rand = seededRandom(seed);
  const vars = new Map<string, tf.Variable>();
  for (const spec of weightSpecs(cfg).specs) {
    if (spec.optional) continue; // the tied decoder weight: the word embeddings serve
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const isNorm = /(LayerNorm|layer_norm|ln_\d|ln_f)\.weight$/.test(spec.key);
    const isPosition = /(position_embeddings|wpe)\.weight$/.test(spec.key);
    if (isNorm) data.fill(1);
    else if (isPosition && options.sinusoidalPositions) data.set(sinusoidalPositions(spec.shape[0], spec.shape[1], 0.02));
    else if (spec.shape.length > 1) {
      const residual = cfg.modelType === 'gpt2' && /c_proj\.weight$/.test(spec.key);
      const std = residual ? 0.02 / Math.sqrt(2 * cfg.numLayers) : 0.02;
      for (let i = 0; i < n; i++) data[i] = std * normal(rand);
    }
    const shape = spec.transpose ? [spec.shape[1], spec.shape[0]] : spec.shape;
    if (offsetLayers > 0 && /^embeddings\.(word|token_type)_embeddings\.weight$/.test(spec.key)) {
      // The dimensions the offset heads read start as position only (see offsetHeadWeights).
      const hd = cfg.hiddenSize / cfg.numHeads;
      for (let r = 0; r < spec.shape[0]; r++) data.fill(0, r * cfg.hiddenSize, r * cfg.hiddenSize + hd);
    }
    const offsetHead = /^encoder\.layer\.(\d+)\.attention\.self\.(query|key)\.weight$/.exec(spec.key);
    if (offsetHead && Number(offsetHead[1]) < offsetLayers) {
      const structured = offsetHeadWeights(cfg.hiddenSize, cfg.numHeads, offsetHead[2] as 'query' | 'key');
      for (let i = 0; i < n; i++) data[i] += structured[i];
    }
    vars.set(spec.key, tf.variable(tf.tensor(data, shape), true, `pretrain/${spec.key}`));
  }
  return vars;
}

/** Relative positions the offset heads of a layer start looking at: neighbours on both sides. */
export const OFFSETS = [-1, 1, -2, 2];

/**
 * A structured start for attention, added to the random init: a [H, H] ([in, out]) query or key
 * map under which head h scores key position p' from query position p by
 * a^2 * sum_j cos(w_j (p + k - p')), k = OFFSETS[h % 4], summed over the head's share of the
 * sinusoid table's highest frequencies w_j. That peaks at p' = p + k, so from the first step each
 * head mostly reads one neighbour instead of averaging the whole window: with uniform attention
 * the gradient that would teach a head where to look is diluted by the window length, and a
 * from-scratch run stays a bag-of-words model for thousands of steps. The query side rotates each
 * sin/cos pair by w_j k (a sinusoid table shifts positions by a rotation); the key side copies it.
 * initialWeights starts the word and token-type embeddings at zero in these dimensions, so the
 * scores are purely positional at first (with a = 3 about 70% of a head's attention is on its
 * neighbour); training then mixes in token identity, as it may change every weight here.
 */
export function offsetHeadWeights(hidden: number, heads: number, side: 'query' | 'key', a = 3): Float32Array {
  const hd = hidden / heads;
  const w = new Float32Array(hidden * hidden); // row-major [in, out]
  for (let h = 0; h < heads; h++) {
    const k = OFFSETS[h % OFFSETS.length];
    // The head's output pair j reads sinusoid pair j (dimensions 2j, 2j+1, frequency 10000^(-2j/H)):
    // the first hd dimensions hold the highest, sharpest frequencies.
    for (let j = 0; j < hd / 2; j++) {
      const phi = side === 'query' ? k / Math.pow(10000, (2 * j) / hidden) : 0;
      const [c, s] = [Math.cos(phi), Math.sin(phi)];
      const outSin = h * hd + 2 * j;
      const inSin = 2 * j;
      w[inSin * hidden + outSin] = a * c; // sin(t + phi) = sin t cos phi + cos t sin phi
      w[(inSin + 1) * hidden + outSin] = a * s;
      w[inSin * hidden + outSin + 1] = -a * s; // cos(t + phi) = cos t cos phi - sin t sin phi
      w[(inSin + 1) * hidden + outSin + 1] = a * c;
    }
  }
  return w;
}

/**
 * Transformer sinusoids (Vaswani et al.) scaled to an embedding's usual size (`std` per entry):
 * a position table whose offsets are linear maps of each other from the first step, so attention
 * can find neighbours before the table is learned. The rows stay trainable.
 */
export function sinusoidalPositions(positions: number, dim: number, std: number): Float32Array {
  const out = new Float32Array(positions * dim);
  const scale = std * Math.SQRT2; // sin and cos over a period have RMS 1/sqrt(2)
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < dim / 2; i++) {
      const angle = p / Math.pow(10000, (2 * i) / dim);
      out[p * dim + 2 * i] = scale * Math.sin(angle);
      out[p * dim + 2 * i + 1] = scale * Math.cos(angle);
    }
  }
  return out;
}

export function buildModel(cfg: TransformerConfig, vars: Map<string, tf.Tensor>): FrozenLM {
  return cfg.modelType === 'gpt2' ? new Gpt2Model(cfg, vars) : new BertEncoder(cfg, vars);
}

/** The variables as an HF-layout safetensors file (torch layouts restored). */
export async function toSafetensors(cfg: TransformerConfig, vars: Map<string, tf.Tensor>): Promise<Uint8Array> {
  const { specs, prefix } = weightSpecs(cfg);
  const out: Record<string, NamedArray> = {};
  for (const spec of specs) {
    const v = vars.get(spec.key);
    if (!v) continue;
    const t = spec.transpose ? tf.transpose(v) : v;
    out[hfName(spec, prefix)] = { data: (await t.data()) as Float32Array, shape: spec.shape };
    if (t !== v) t.dispose();
  }
  return writeSafetensors(out, { format: 'pt' });
}

export function hfConfigFile(cfg: TransformerConfig, extra: Record<string, unknown>): string {
  return JSON.stringify({ ...toHfConfig(cfg), ...extra }, null, 2) + '\n';
}

// ---- Batches ----

/** One long id stream with `separator` after each paragraph ([SEP] for BERT, <|endoftext|> for GPT-2). */
export function joinParagraphs(stream: { ids: Int32Array; offsets: Int32Array }, separator: number): Int32Array {
  const paragraphs = stream.offsets.length - 1;
  const out = new Int32Array(stream.ids.length + paragraphs);
  let o = 0;
  for (let p = 0; p < paragraphs; p++) {
    const part = stream.ids.subarray(stream.offsets[p], stream.offsets[p + 1]);
    out.set(part, o);
    o += part.length;
    out[o++] = separator;
  }
  return out;
}

export interface MlmBatch {
  ids: number[][]; // [B, T], masked input
  /** Flat indices b * T + t of the positions to predict, and their original ids. */
  positions: number[];
  labels: number[];
}

export interface Specials {
  cls: number;
  sep: number;
  mask: number;
  /** Ids never chosen as random replacements or targets (specials). */
  reserved: Set<number>;
}

/**
 * BERT masking: each non-special token is chosen with probability `rate`; a chosen token becomes
 * [MASK] 80% of the time, a random token 10%, itself 10%; the loss is on chosen tokens only.
 */
export function maskBatch(windows: number[][], sp: Specials, vocabSize: number, rand: () => number, rate = 0.15): MlmBatch {
  const T = windows[0].length + 2;
  const ids: number[][] = [];
  const positions: number[] = [];
  const labels: number[] = [];
  windows.forEach((w, b) => {
    const row = [sp.cls, ...w, sp.sep];
    for (let t = 1; t < T - 1; t++) {
      if (sp.reserved.has(row[t]) || rand() >= rate) continue;
      positions.push(b * T + t);
      labels.push(row[t]);
      const r = rand();
      if (r < 0.8) row[t] = sp.mask;
      else if (r < 0.9) {
        let id = Math.floor(rand() * vocabSize);
        while (sp.reserved.has(id)) id = Math.floor(rand() * vocabSize);
        row[t] = id;
      }
    }
    ids.push(row);
  });
  return { ids, positions, labels };
}

/** Mean cross-entropy of logits [N, V] against integer labels [N] (log-softmax, one-hot pick). */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const picked = tf.sum(tf.mul(logp, tf.oneHot(labels, logits.shape[1])), 1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}

/** MLM loss: hidden states only at the predicted positions go through the LM head. */
export function mlmLoss(model: FrozenLM, batch: MlmBatch): tf.Scalar {
  return tf.tidy(() => {
    const ids = tf.tensor2d(batch.ids, undefined, 'int32');
    const mask = tf.onesLike(ids);
    const h = model.forward({ inputsEmbeds: model.embed(ids), attentionMask: mask }); // [B, T, H]
    const flat = h.reshape([-1, model.config.hiddenSize]); // [B*T, H]
    const picked = tf.gather(flat, tf.tensor1d(batch.positions, 'int32')); // [M, H]
    return crossEntropy(model.lmLogits(picked) as tf.Tensor2D, tf.tensor1d(batch.labels, 'int32'));
  });
}

/** Causal LM loss: every position predicts the next token. `windows` are [B, T + 1] ids. */
export function causalLoss(model: FrozenLM, windows: number[][]): tf.Scalar {
  return tf.tidy(() => {
    const all = tf.tensor2d(windows, undefined, 'int32');
    const [B, T1] = all.shape;
    const inputs = all.slice([0, 0], [B, T1 - 1]);
    const targets = all.slice([0, 1], [B, T1 - 1]).reshape([-1]) as tf.Tensor1D;
    const h = model.forward({ inputsEmbeds: model.embed(inputs as tf.Tensor2D), attentionMask: tf.onesLike(inputs) as tf.Tensor2D });
    const logits = model.lmLogits(h.reshape([-1, model.config.hiddenSize])) as tf.Tensor2D; // [B*T, V]
    return crossEntropy(logits, targets);
  });
}

/** Linear warmup to `peak`, then cosine decay to 10% of it at `total`. */
export function learningRate(step: number, peak: number, warmup: number, total: number): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const p = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return peak * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * p)));
}

/** Scales grads so their global L2 norm is at most `maxNorm`; returns the norm before clipping. */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
    const scale = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
    const out: tf.NamedTensorMap = {};
    for (const [k, g] of Object.entries(grads)) out[k] = tf.mul(g, scale);
    return { grads: out, norm };
  });
}
