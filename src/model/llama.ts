/**
 * The Llama family of decoders: llama, mistral, qwen2 and qwen3 share one architecture and differ in
 * a few switches that config.ts reads into TransformerConfig:
 *
 * | model_type | q/k/v bias            | q/k RMSNorm | head_dim     | sliding window           |
 * |------------|-----------------------|-------------|--------------|--------------------------|
 * | llama      | attention_bias (+o)   | no          | optional     | no                       |
 * | mistral    | no                    | no          | optional     | sliding_window (refused) |
 * | qwen2      | always (q, k, v)      | no          | no           | use_sliding_window       |
 * | qwen3      | attention_bias (+o)   | yes         | yes (often ≠ H / heads) | use_sliding_window |
 *
 * Each block: x = x + o(Attn(rope(q), rope(k), v)) on RMSNorm(x); x = x + down(silu(gate) * up) on
 * RMSNorm(x). Grouped-query attention shares each key/value head between numHeads / numKeyValueHeads
 * query heads. tie_word_embeddings: lm_head is embed_tokens, else its own [V, H] tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { activation, attentionBias, joinKeyValues, linear, multiHeadAttention, positionIdsFromMask, splitPrefix } from './layers';
import type { LayerPrefix } from './layers';
import { checkpointed } from './checkpointing';
import { fusableWeights, fusedRmsNorm, useFusedLayers } from './fusedLayers';
import { VocabTable } from './vocabShards';
import { take, type WeightSpec } from './weights';
import type { ForwardInputs, FrozenLM, TransformerConfig } from './types';

/** Every Llama-family *ForCausalLM checkpoint names its decoder `model.`; lm_head sits beside it. */
export const LLAMA_PREFIX = 'model.';

export class SequenceTooLongError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SequenceTooLongError';
  }
}

/** The sizes every function below needs, read once from the config. */
interface Dims {
  H: number; // hidden size
  nh: number; // query heads
  nkv: number; // key/value heads
  hd: number; // head dim
}

function dims(cfg: TransformerConfig): Dims {
  return { H: cfg.hiddenSize, nh: cfg.numHeads, nkv: cfg.numKeyValueHeads ?? cfg.numHeads, hd: cfg.headDim ?? cfg.hiddenSize / cfg.numHeads };
}

/**
 * Every tensor a Llama-family checkpoint must hold, in torch layout. nn.Linear stores [out, in]; the
 * projections are transposed to [in, out] on load. lm_head stays [V, H] like the embedding table, and
 * is projected onto without a transpose (VocabTable.project).
 */
export function llamaWeightSpecs(cfg: TransformerConfig): WeightSpec[] {
  const { vocabSize: V, intermediateSize: I } = cfg;
  const { H, nh, nkv, hd } = dims(cfg);
  const specs: WeightSpec[] = [{ key: 'embed_tokens.weight', shape: [V, H], group: 'base' }];
  const bias = cfg.attentionBias ?? 'none';
  const proj = (name: string, inp: number, out: number, withBias: boolean) => {
    specs.push({ key: `${name}.weight`, shape: [out, inp], transpose: true, group: 'base' });
    if (withBias) specs.push({ key: `${name}.bias`, shape: [out], group: 'base' });
  };
  for (let i = 0; i < cfg.numLayers; i++) {
    const l = `layers.${i}`;
    specs.push({ key: `${l}.input_layernorm.weight`, shape: [H], group: 'base' });
    proj(`${l}.self_attn.q_proj`, H, nh * hd, bias !== 'none');
    proj(`${l}.self_attn.k_proj`, H, nkv * hd, bias !== 'none');
    proj(`${l}.self_attn.v_proj`, H, nkv * hd, bias !== 'none');
    proj(`${l}.self_attn.o_proj`, nh * hd, H, bias === 'qkvo');
    if (cfg.qkNorm) {
      specs.push({ key: `${l}.self_attn.q_norm.weight`, shape: [hd], group: 'base' });
      specs.push({ key: `${l}.self_attn.k_norm.weight`, shape: [hd], group: 'base' });
    }
    specs.push({ key: `${l}.post_attention_layernorm.weight`, shape: [H], group: 'base' });
    proj(`${l}.mlp.gate_proj`, H, I, false);
    proj(`${l}.mlp.up_proj`, H, I, false);
    proj(`${l}.mlp.down_proj`, I, H, false);
  }
  specs.push({ key: 'norm.weight', shape: [H], group: 'base' });
  // Untied: a checkpoint saved without lm_head (a bare *Model) loads, but cannot score tokens.
  if (!cfg.tieWordEmbeddings) specs.push({ key: 'lm_head.weight', shape: [V, H], group: 'head' });
  return specs;
}

/** A linear map [in, out] with an optional bias (most Llama-family projections have none). */
interface Projection {
  w: tf.Tensor2D;
  b?: tf.Tensor1D;
}

/** [..., in] -> [..., out] */
function project(x: tf.Tensor, p: Projection): tf.Tensor {
  if (p.b) return linear(x, { w: p.w, b: p.b });
  const shape = x.shape;
  const flat = x.reshape([-1, shape[shape.length - 1]]) as tf.Tensor2D;
  return tf.matMul(flat, p.w).reshape([...shape.slice(0, -1), p.w.shape[1]]); // [N, in] x [in, out]
}

/** RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * weight (no mean subtraction, no bias). */
function rmsNorm(x: tf.Tensor, weight: tf.Tensor1D, eps: number): tf.Tensor {
  if (useFusedLayers(x) && fusableWeights(weight)) return fusedRmsNorm(x, weight, eps); // one WebGPU kernel each way
  const meanSquare = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), weight);
}

/**
 * Rotary inverse frequencies [hd / 2]: theta^(-2i / hd), stretched by rope_scaling. `linear` divides
 * every frequency by `factor`; `llama3` divides only the low frequencies (wavelengths beyond
 * original_max / low_freq_factor), keeps the high ones (below original_max / high_freq_factor) and
 * blends in between.
 */
export function rotaryInverseFrequencies(cfg: TransformerConfig): Float64Array {
  const hd = dims(cfg).hd;
  const theta = cfg.ropeTheta ?? 10000;
  const s = cfg.ropeScaling ?? null;
  const out = new Float64Array(hd / 2);
  for (let i = 0; i < hd / 2; i++) {
    const f = theta ** (-(2 * i) / hd);
    if (!s) out[i] = f;
    else if (s.type === 'linear') out[i] = f / s.factor;
    else {
      const wavelength = (2 * Math.PI) / f;
      const lowFreqWavelength = s.originalMaxPositions / s.lowFreqFactor;
      const highFreqWavelength = s.originalMaxPositions / s.highFreqFactor;
      if (wavelength < highFreqWavelength) out[i] = f;
      else if (wavelength > lowFreqWavelength) out[i] = f / s.factor;
      else {
        const smooth = (s.originalMaxPositions / wavelength - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        out[i] = (1 - smooth) * (f / s.factor) + smooth * f;
      }
    }
  }
  return out;
}

/** Rotary tables start this long and double when a sequence (with its prefix) needs more positions. */
const ROTARY_TABLE_POSITIONS = 2048;

/**
 * cos and sin of position x frequency, [positions, hd / 2] each, computed in float64 on the host.
 * On the device they would be float32 angles through WGSL's cos/sin, whose error (2e-4 measured on
 * software WebGPU; the spec allows 2^-11) is larger than the 1e-4 this project holds models to.
 */
class RotaryTable {
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;

  constructor(private readonly inverseFrequencies: Float64Array, private length: number) {
    [this.cos, this.sin] = this.build(length);
  }

  private build(length: number): [tf.Tensor2D, tf.Tensor2D] {
    const half = this.inverseFrequencies.length;
    const cos = new Float32Array(length * half);
    const sin = new Float32Array(length * half);
    for (let p = 0; p < length; p++) {
      for (let i = 0; i < half; i++) {
        const angle = p * this.inverseFrequencies[i];
        cos[p * half + i] = Math.cos(angle);
        sin[p * half + i] = Math.sin(angle);
      }
    }
    // Kept: the tables outlive the tidy scope of the forward pass that grew them.
    return [tf.keep(tf.tensor2d(cos, [length, half])), tf.keep(tf.tensor2d(sin, [length, half]))];
  }

  /** Makes the tables cover positions 0 .. positions - 1. */
  ensure(positions: number): void {
    if (positions <= this.length) return;
    while (this.length < positions) this.length *= 2;
    tf.dispose([this.cos, this.sin]);
    [this.cos, this.sin] = this.build(this.length);
  }

  dispose(): void {
    tf.dispose([this.cos, this.sin]);
  }
}

/** cos and sin of the rotation angles, each [B, T, 1, hd / 2] (broadcast over heads). */
interface Rotation {
  cos: tf.Tensor4D;
  sin: tf.Tensor4D;
}

function rotation(positions: tf.Tensor2D, table: RotaryTable): Rotation {
  const [b, t] = positions.shape;
  const at = (x: tf.Tensor2D) => tf.gather(x, positions).reshape([b, t, 1, x.shape[1]]) as tf.Tensor4D; // [B, T] -> [B, T, 1, hd / 2]
  return { cos: at(table.cos), sin: at(table.sin) };
}

/**
 * Rotates each head's pairs (i, i + hd / 2) by the position's angles, as transformers' rotate_half:
 * [x1, x2] -> [x1 cos - x2 sin, x2 cos + x1 sin]. x: [B, T, heads, hd].
 */
function rotate(x: tf.Tensor4D, r: Rotation): tf.Tensor4D {
  const [x1, x2] = tf.split(x, 2, -1);
  return tf.concat([tf.sub(tf.mul(x1, r.cos), tf.mul(x2, r.sin)), tf.add(tf.mul(x2, r.cos), tf.mul(x1, r.sin))], -1) as tf.Tensor4D;
}

/** Grouped-query attention: [..., nkv * hd] -> [..., nh * hd], each key/value head repeated for its nh / nkv query heads (transformers' repeat_kv). */
function repeatHeads(x: tf.Tensor, d: Dims): tf.Tensor {
  if (d.nkv === d.nh) return x;
  const lead = x.shape.slice(0, -1);
  const rep = d.nh / d.nkv;
  const heads = x.reshape([-1, d.nkv, 1, d.hd]); // [N, nkv, 1, hd] (rank 4: tfjs has no tile gradient beyond)
  return tf.tile(heads, [1, 1, rep, 1]).reshape([...lead, d.nh * d.hd]); // [N, nkv, rep, hd] -> [..., nh * hd]
}

interface LlamaBlock {
  inputNorm: tf.Tensor1D;
  q: Projection; // [H, nh * hd]
  k: Projection; // [H, nkv * hd]
  v: Projection; // [H, nkv * hd]
  o: Projection; // [nh * hd, H]
  qNorm?: tf.Tensor1D; // [hd] (qwen3)
  kNorm?: tf.Tensor1D;
  postNorm: tf.Tensor1D;
  gate: Projection; // [H, I]
  up: Projection; // [H, I]
  down: Projection; // [I, H]
}

/**
 * Pre-norm block. `prefix`: this layer's prefix keys and values [P, nkv * hd], keys already rotated;
 * `seen` receives the sequence's own keys (rotated) and values [B, T, nkv * hd], as a cache holds them.
 */
function llamaBlock(
  x: tf.Tensor3D,
  p: LlamaBlock,
  bias: tf.Tensor4D,
  rot: Rotation,
  cfg: TransformerConfig,
  prefix?: LayerPrefix,
  seen?: (kv: { keys: tf.Tensor3D; values: tf.Tensor3D }) => void,
): tf.Tensor3D {
  const d = dims(cfg);
  const [b, t] = x.shape;
  const eps = cfg.layerNormEps;
  const h = rmsNorm(x, p.inputNorm, eps);
  let q = project(h, p.q).reshape([b, t, d.nh, d.hd]) as tf.Tensor4D; // [B, T, nh, hd]
  let k = project(h, p.k).reshape([b, t, d.nkv, d.hd]) as tf.Tensor4D; // [B, T, nkv, hd]
  const v = project(h, p.v) as tf.Tensor3D; // [B, T, nkv * hd]
  if (p.qNorm && p.kNorm) {
    q = rmsNorm(q, p.qNorm, eps) as tf.Tensor4D; // per head, over hd
    k = rmsNorm(k, p.kNorm, eps) as tf.Tensor4D;
  }
  const keys = rotate(k, rot).reshape([b, t, d.nkv * d.hd]) as tf.Tensor3D;
  const queries = rotate(q, rot).reshape([b, t, d.nh * d.hd]);
  seen?.({ keys, values: v });
  const shared = prefix && { keys: repeatHeads(prefix.keys, d) as tf.Tensor2D, values: repeatHeads(prefix.values, d) as tf.Tensor2D };
  const attended = multiHeadAttention(queries, repeatHeads(keys, d), repeatHeads(v, d), bias, d.nh, shared); // [B, T, nh * hd]
  const a = tf.add(x, project(attended, p.o)); // [B, T, H]
  const m = rmsNorm(a, p.postNorm, eps);
  const mlp = project(tf.mul(activation(project(m, p.gate), 'silu'), project(m, p.up)), p.down); // [B, T, I] -> [B, T, H]
  return tf.add(a, mlp) as tf.Tensor3D;
}

export class LlamaModel implements FrozenLM {
  readonly wordEmbeddings: tf.Tensor2D;
  readonly hasLmHead: boolean;
  /** embed_tokens in shards that each fit one GPU binding (vocabShards.ts): the lookup, and the LM head when tied. */
  private readonly wordTable: VocabTable;
  /** lm_head.weight [V, H] in shards (untied), the word table itself (tied), or null (no head in the checkpoint). */
  private readonly lmHead: VocabTable | null;
  private readonly blocks: LlamaBlock[];
  private readonly finalNorm: tf.Tensor1D;
  private readonly rotary: RotaryTable;
  private readonly owned: tf.Tensor[];

  /**
   * @param tensors weights keyed by HF name without the `model.` prefix (lm_head.weight as is)
   * @param missingHead names of head tensors the checkpoint lacks (untied lm_head)
   */
  constructor(readonly config: TransformerConfig, tensors: Map<string, tf.Tensor>, missingHead: string[] = []) {
    const has = (name: string) => tensors.has(name);
    const proj = (name: string): Projection => ({ w: take(tensors, `${name}.weight`), ...(has(`${name}.bias`) ? { b: take<tf.Tensor1D>(tensors, `${name}.bias`) } : {}) });
    this.wordEmbeddings = take(tensors, 'embed_tokens.weight');
    this.wordTable = VocabTable.split(this.wordEmbeddings, 'model.embed_tokens.weight');
    this.blocks = [];
    for (let i = 0; i < config.numLayers; i++) {
      const l = `layers.${i}`;
      this.blocks.push({
        inputNorm: take(tensors, `${l}.input_layernorm.weight`),
        q: proj(`${l}.self_attn.q_proj`),
        k: proj(`${l}.self_attn.k_proj`),
        v: proj(`${l}.self_attn.v_proj`),
        o: proj(`${l}.self_attn.o_proj`),
        ...(config.qkNorm ? { qNorm: take<tf.Tensor1D>(tensors, `${l}.self_attn.q_norm.weight`), kNorm: take<tf.Tensor1D>(tensors, `${l}.self_attn.k_norm.weight`) } : {}),
        postNorm: take(tensors, `${l}.post_attention_layernorm.weight`),
        gate: proj(`${l}.mlp.gate_proj`),
        up: proj(`${l}.mlp.up_proj`),
        down: proj(`${l}.mlp.down_proj`),
      });
    }
    this.finalNorm = take(tensors, 'norm.weight');
    this.hasLmHead = config.tieWordEmbeddings === true || missingHead.length === 0;
    this.lmHead = config.tieWordEmbeddings ? this.wordTable : this.hasLmHead ? VocabTable.split(take<tf.Tensor2D>(tensors, 'lm_head.weight'), 'lm_head.weight') : null;
    this.rotary = new RotaryTable(rotaryInverseFrequencies(config), Math.min(config.maxPositions, ROTARY_TABLE_POSITIONS));
    this.owned = [...tensors.values()];
  }

  embed(ids: tf.Tensor2D): tf.Tensor3D {
    return this.wordTable.gather(ids) as tf.Tensor3D; // [B, T] -> [B, T, H]
  }

  /** Positions count real tokens, so left padding (the usual choice for generation) works. */
  forward(inputs: ForwardInputs): tf.Tensor3D {
    return tf.tidy(() => this.run(inputs));
  }

  keyValues(inputs: ForwardInputs): tf.Tensor3D {
    return tf.tidy(() => {
      const seen: { keys: tf.Tensor3D; values: tf.Tensor3D }[] = [];
      this.run(inputs, (kv) => seen.push(kv));
      return joinKeyValues(seen); // [B, T, L * 2 * nkv * hd]
    });
  }

  private run({ inputsEmbeds, attentionMask, prefix }: ForwardInputs, seen?: (kv: { keys: tf.Tensor3D; values: tf.Tensor3D }) => void): tf.Tensor3D {
    const cfg = this.config;
    const d = dims(cfg);
    const P = prefix?.shape[0] ?? 0;
    const T = inputsEmbeds.shape[1];
    if (cfg.slidingWindow && P + T > cfg.slidingWindow) {
      // Beyond the window each query would see only its last sliding_window keys: refused rather than computed otherwise.
      throw new SequenceTooLongError(
        `${cfg.modelType}: ${P > 0 ? `${P} prefix + ${T}` : T} tokens exceed the model's sliding window of ${cfg.slidingWindow} tokens (config.json sliding_window); shorten the inputs or the template`,
      );
    }
    const prefixes = prefix && P > 0 ? splitPrefix(prefix, cfg.numLayers, d.nkv * d.hd) : null;
    // After a prefix of P positions the sequence is numbered from P on, as transformers does after a cache.
    this.rotary.ensure(P + T);
    const rot = rotation(positionIdsFromMask(attentionMask, P), this.rotary);
    const bias = attentionBias(attentionMask, true, P); // [B, 1, T, P + T]
    let h = inputsEmbeds;
    this.blocks.forEach((weights, i) => {
      const layerPrefix = prefixes?.[i];
      if (seen) {
        h = llamaBlock(h, weights, bias, rot, cfg, layerPrefix, seen); // keyValues: k and v must outlive the block
        return;
      }
      // Checkpointed: with recomputation on (training), the tape keeps only the block's inputs.
      const block = checkpointed((x, b, cos, sin, keys, values) =>
        llamaBlock(x as tf.Tensor3D, weights, b as tf.Tensor4D, { cos: cos as tf.Tensor4D, sin: sin as tf.Tensor4D }, cfg, keys && values ? { keys: keys as tf.Tensor2D, values: values as tf.Tensor2D } : undefined),
      );
      h = block(h, bias, rot.cos, rot.sin, ...(layerPrefix ? [layerPrefix.keys, layerPrefix.values] : []));
    });
    return rmsNorm(h, this.finalNorm, cfg.layerNormEps) as tf.Tensor3D;
  }

  lmLogits(hidden: tf.Tensor): tf.Tensor {
    if (!this.lmHead) throw new Error(`this ${this.config.modelType} checkpoint has no lm_head.weight (saved without its LM head), so it cannot score tokens`);
    const head = this.lmHead;
    return tf.tidy(() => head.project(hidden)); // [..., H] x [V, H]^T -> [..., V]
  }

  dispose(): void {
    for (const t of this.owned) t.dispose();
    if (this.lmHead !== this.wordTable) this.lmHead?.dispose();
    this.wordTable.dispose();
    this.rotary.dispose();
  }
}
