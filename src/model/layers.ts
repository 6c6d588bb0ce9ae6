/**
 * Building blocks shared by the model families. All functions are pure tensor math on frozen
 * weights (plain tensors); callers run them inside `tf.tidy` or a gradient scope.
 */
import * as tf from '@tensorflow/tfjs';
import type { TransformerConfig } from './types';
import { fusedAttention, useFusedAttention } from './fusedAttention';
import { fusableWeights, fusedGelu, fusedLayerNorm, fusedLinear, useFusedLayers } from './fusedLayers';

/** A linear map stored as [in, out] (torch nn.Linear weights are transposed into this on load). */
export interface Linear {
  w: tf.Tensor2D;
  b: tf.Tensor1D;
}

export interface LayerNormWeights {
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
}

/** [..., in] x [in, out] + [out] -> [..., out] */
export function linear(x: tf.Tensor, p: Linear): tf.Tensor {
  const shape = x.shape;
  const inDim = shape[shape.length - 1];
  const flat = x.reshape([-1, inDim]) as tf.Tensor2D;
  // WebGPU: the bias inside the matmul kernel, backward one matmul (fusedLayers.ts).
  const y = useFusedLayers(x) && fusableWeights(p.w, p.b) ? fusedLinear(flat, p.w, p.b) : tf.add(tf.matMul(flat, p.w), p.b);
  return y.reshape([...shape.slice(0, -1), p.w.shape[1]]);
}

/** Projects onto a [V, H] embedding table without materialising its transpose: [..., H] -> [..., V]. */
export function tiedProjection(x: tf.Tensor, table: tf.Tensor2D): tf.Tensor {
  const shape = x.shape;
  const flat = x.reshape([-1, shape[shape.length - 1]]) as tf.Tensor2D;
  return tf.matMul(flat, table, false, true).reshape([...shape.slice(0, -1), table.shape[0]]); // [N, H] x [V, H]^T
}

/**
 * Normalises over the last axis (biased variance, as torch.nn.LayerNorm); with `residual`, of
 * x + residual (post-LN blocks), which WebGPU does in the same kernel (fusedLayers.ts).
 */
export function layerNorm(x: tf.Tensor, p: LayerNormWeights, eps: number, residual?: tf.Tensor): tf.Tensor {
  if (useFusedLayers(x) && fusableWeights(p.gamma, p.beta)) return fusedLayerNorm(x, p.gamma, p.beta, eps, residual);
  if (residual) x = tf.add(x, residual);
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), p.gamma), p.beta);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export function activation(x: tf.Tensor, kind: TransformerConfig['hiddenAct']): tf.Tensor {
  if ((kind === 'gelu' || kind === 'gelu_new') && useFusedLayers(x)) return fusedGelu(x, kind); // one WGSL kernel each way
  switch (kind) {
    case 'gelu': // exact: 0.5 x (1 + erf(x / sqrt 2))
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
    case 'gelu_new': // tanh approximation used by GPT-2
      return tf.mul(
        tf.mul(x, 0.5),
        tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI))),
      );
    case 'relu':
      return tf.relu(x);
    case 'silu': // x sigmoid(x) (Llama family's SwiGLU gate)
      return tf.mul(x, tf.sigmoid(x));
  }
}

/**
 * Additive attention bias [B, 1, T, P + T] (or [B, 1, 1, P + T] when not causal): 0 where a query
 * may attend to a key, a large negative number where the key is padding or in the future. The first
 * `prefixLength` keys are a prefix (prefix tuning's per-layer keys): every query sees them.
 */
export function attentionBias(attentionMask: tf.Tensor2D, causal: boolean, prefixLength = 0): tf.Tensor4D {
  const [b, t] = attentionMask.shape;
  const P = prefixLength;
  let keyMask = attentionMask.toFloat(); // [B, T]
  if (P > 0) keyMask = tf.concat([tf.ones([b, P]), keyMask], 1); // [B, P + T]
  const keys = keyMask.reshape([b, 1, 1, P + t]); // [B, 1, 1, P + T]
  let allowed = keys;
  if (causal) {
    let band = tf.linalg.bandPart(tf.ones([t, t]), -1, 0); // [T, T] lower triangle
    if (P > 0) band = tf.concat([tf.ones([t, P]), band], 1); // [T, P + T]
    allowed = tf.mul(keys, band);
  }
  return tf.mul(tf.sub(1, allowed), -1e9) as tf.Tensor4D;
}

/** Splits [B, T, H] into heads [B, nh, T, hd]. */
function splitHeads(x: tf.Tensor, numHeads: number): tf.Tensor4D {
  const [b, t, h] = x.shape;
  return x.reshape([b, t, numHeads, h / numHeads]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
}

/**
 * One layer's prefix (prefix tuning): keys and values [P, H] that every query of the batch attends
 * to before the sequence's own, already projected (as a key/value cache holds them).
 */
export interface LayerPrefix {
  keys: tf.Tensor2D;
  values: tf.Tensor2D;
}

/** [P, H] -> [B, nh, P, hd]: the same prefix for every row. */
function prefixHeads(x: tf.Tensor2D, batch: number, numHeads: number): tf.Tensor4D {
  const [p, h] = x.shape;
  return tf.broadcastTo(x.reshape([1, p, numHeads, h / numHeads]).transpose([0, 2, 1, 3]), [batch, numHeads, p, h / numHeads]) as tf.Tensor4D;
}

/**
 * Scaled dot-product attention over projected q, k, v [B, T, H] -> [B, T, H]; with `prefix`, its
 * keys and values come first (`bias` then covers P + T keys).
 */
export function multiHeadAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  bias: tf.Tensor4D,
  numHeads: number,
  prefix?: LayerPrefix,
): tf.Tensor3D {
  const [b, t, h] = q.shape;
  const hd = h / numHeads;
  if (useFusedAttention(q, numHeads)) {
    // One WGSL kernel on [B, T, H] as projected (fusedAttention.ts); a prefix joins the keys in that layout.
    let kk = k as tf.Tensor3D;
    let vv = v as tf.Tensor3D;
    if (prefix) {
      const p = prefix.keys.shape[0];
      kk = tf.concat([tf.broadcastTo(prefix.keys.reshape([1, p, h]), [b, p, h]), kk], 1); // [B, P + T, H]
      vv = tf.concat([tf.broadcastTo(prefix.values.reshape([1, p, h]), [b, p, h]), vv], 1);
    }
    return fusedAttention(q as tf.Tensor3D, kk, vv, bias, numHeads);
  }
  const qh = splitHeads(q, numHeads);
  let kh = splitHeads(k, numHeads);
  let vh = splitHeads(v, numHeads);
  if (prefix) {
    kh = tf.concat([prefixHeads(prefix.keys, b, numHeads), kh], 2); // [B, nh, P + T, hd]
    vh = tf.concat([prefixHeads(prefix.values, b, numHeads), vh], 2);
  }
  // [B, nh, T, hd] x [B, nh, hd, P + T] -> [B, nh, T, P + T]
  const scores = tf.add(tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(hd)), bias);
  const probs = tf.softmax(scores, -1);
  // [B, nh, T, P + T] x [B, nh, P + T, hd] -> [B, nh, T, hd] -> [B, T, H]
  return tf.matMul(probs, vh).transpose([0, 2, 1, 3]).reshape([b, t, h]) as tf.Tensor3D;
}

/**
 * Splits a prefix in PEFT's past_key_values layout, [P, L * 2 * H] (per virtual token: layer 0's
 * key, layer 0's value, layer 1's key, ...), into each layer's keys and values [P, H].
 */
export function splitPrefix(prefix: tf.Tensor2D, numLayers: number, hiddenSize: number): LayerPrefix[] {
  const [p, width] = prefix.shape;
  if (width !== numLayers * 2 * hiddenSize) {
    throw new Error(`a prefix is [P, layers x 2 x hidden] = [P, ${numLayers * 2 * hiddenSize}]; got [${p}, ${width}]`);
  }
  const parts = tf.split(prefix, numLayers * 2, 1) as tf.Tensor2D[];
  return Array.from({ length: numLayers }, (_, l) => ({ keys: parts[2 * l], values: parts[2 * l + 1] }));
}

/** Each layer's keys and values [B, T, H] joined in PEFT's layout -> [B, T, L * 2 * H]. */
export function joinKeyValues(layers: readonly { keys: tf.Tensor3D; values: tf.Tensor3D }[]): tf.Tensor3D {
  return tf.concat(layers.flatMap((l) => [l.keys, l.values]), 2) as tf.Tensor3D;
}

/**
 * Position ids [B, T] counted over real tokens only, so left- and right-padded rows number their
 * first real token `offset` (RoBERTa: padding_idx + 1; others: 0). Padding positions get `offset`
 * too; they are masked out of attention anyway.
 */
export function positionIdsFromMask(attentionMask: tf.Tensor2D, offset: number): tf.Tensor2D {
  const m = attentionMask.toFloat();
  const pos = tf.mul(tf.sub(tf.cumsum(m, 1), 1), m); // [B, T]: 0-based index among real tokens
  return tf.add(tf.relu(pos), offset).toInt() as tf.Tensor2D;
}
