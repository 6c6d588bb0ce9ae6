/**
 * GPT-2 causal LM: pre-LayerNorm decoder blocks, learned positions, lm_head tied to wte.
 */
import * as tf from '@tensorflow/tfjs';
import { activation, attentionBias, joinKeyValues, layerNorm, linear, multiHeadAttention, positionIdsFromMask, splitPrefix } from './layers';
import type { LayerNormWeights, LayerPrefix, Linear } from './layers';
import { checkpointed } from './checkpointing';
import { VocabTable } from './vocabShards';
import { take, type WeightSpec } from './weights';
import type { ForwardInputs, FrozenLM, TransformerConfig } from './types';

export const GPT2_PREFIX = 'transformer.';

/**
 * Every tensor a GPT-2 checkpoint must hold. GPT-2 uses Conv1D, whose weights are already stored
 * [in, out], so unlike nn.Linear nothing is transposed.
 */
export function gpt2WeightSpecs(cfg: TransformerConfig): WeightSpec[] {
  const { vocabSize: V, hiddenSize: H, intermediateSize: I, maxPositions: P } = cfg;
  const specs: WeightSpec[] = [
    { key: 'wte.weight', shape: [V, H], group: 'base' },
    { key: 'wpe.weight', shape: [P, H], group: 'base' },
  ];
  const conv = (name: string, inp: number, out: number) => {
    specs.push({ key: `${name}.weight`, shape: [inp, out], group: 'base' });
    specs.push({ key: `${name}.bias`, shape: [out], group: 'base' });
  };
  const ln = (name: string) => {
    specs.push({ key: `${name}.weight`, shape: [H], group: 'base' });
    specs.push({ key: `${name}.bias`, shape: [H], group: 'base' });
  };
  for (let i = 0; i < cfg.numLayers; i++) {
    ln(`h.${i}.ln_1`);
    conv(`h.${i}.attn.c_attn`, H, 3 * H); // fused q, k, v
    conv(`h.${i}.attn.c_proj`, H, H);
    ln(`h.${i}.ln_2`);
    conv(`h.${i}.mlp.c_fc`, H, I);
    conv(`h.${i}.mlp.c_proj`, I, H);
  }
  ln('ln_f');
  return specs;
}

interface Gpt2Block {
  ln1: LayerNormWeights;
  attn: Linear; // [H, 3H]
  proj: Linear;
  ln2: LayerNormWeights;
  fc: Linear;
  fcProj: Linear;
}

/**
 * Pre-LN block: x = x + Attn(LN(x)); x = x + MLP(LN(x)). `prefix`: this layer's prefix keys and
 * values; `seen` receives the sequence's own projected keys and values.
 */
function gpt2Block(
  x: tf.Tensor3D,
  p: Gpt2Block,
  bias: tf.Tensor4D,
  cfg: TransformerConfig,
  prefix?: LayerPrefix,
  seen?: (kv: { keys: tf.Tensor3D; values: tf.Tensor3D }) => void,
): tf.Tensor3D {
  const qkv = linear(layerNorm(x, p.ln1, cfg.layerNormEps), p.attn); // [B, T, 3H]
  const [q, k, v] = tf.split(qkv, 3, -1);
  seen?.({ keys: k as tf.Tensor3D, values: v as tf.Tensor3D });
  const a = tf.add(x, linear(multiHeadAttention(q, k, v, bias, cfg.numHeads, prefix), p.proj));
  const m = linear(activation(linear(layerNorm(a, p.ln2, cfg.layerNormEps), p.fc), cfg.hiddenAct), p.fcProj);
  return tf.add(a, m) as tf.Tensor3D;
}

export class Gpt2Model implements FrozenLM {
  readonly wordEmbeddings: tf.Tensor2D;
  /** The LM head is wte itself, so every GPT-2 checkpoint has one. */
  readonly hasLmHead = true;
  /** wte in shards that each fit one GPU binding (vocabShards.ts): the lookup and the tied LM head. */
  private readonly wordTable: VocabTable;
  private readonly positionEmbeddings: tf.Tensor2D;
  private readonly blocks: Gpt2Block[];
  private readonly lnF: LayerNormWeights;
  private readonly owned: tf.Tensor[];

  /** @param tensors weights keyed by HF name without the `transformer.` prefix */
  constructor(readonly config: TransformerConfig, tensors: Map<string, tf.Tensor>) {
    const lin = (name: string): Linear => ({ w: take(tensors, `${name}.weight`), b: take(tensors, `${name}.bias`) });
    const ln = (name: string): LayerNormWeights => ({ gamma: take(tensors, `${name}.weight`), beta: take(tensors, `${name}.bias`) });
    this.wordEmbeddings = take(tensors, 'wte.weight');
    this.wordTable = VocabTable.split(this.wordEmbeddings, 'wte.weight');
    this.positionEmbeddings = take(tensors, 'wpe.weight');
    this.blocks = [];
    for (let i = 0; i < config.numLayers; i++) {
      this.blocks.push({
        ln1: ln(`h.${i}.ln_1`), attn: lin(`h.${i}.attn.c_attn`), proj: lin(`h.${i}.attn.c_proj`),
        ln2: ln(`h.${i}.ln_2`), fc: lin(`h.${i}.mlp.c_fc`), fcProj: lin(`h.${i}.mlp.c_proj`),
      });
    }
    this.lnF = ln('ln_f');
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
      return joinKeyValues(seen); // [B, T, L * 2 * H]
    });
  }

  private run({ inputsEmbeds, attentionMask, prefix }: ForwardInputs, seen?: (kv: { keys: tf.Tensor3D; values: tf.Tensor3D }) => void): tf.Tensor3D {
    const cfg = this.config;
    const P = prefix?.shape[0] ?? 0;
    const prefixes = prefix && P > 0 ? splitPrefix(prefix, cfg.numLayers, cfg.hiddenSize) : null;
    // After a prefix of P positions the sequence is numbered from P on, as transformers does after a cache.
    const positions = positionIdsFromMask(attentionMask, P);
    let h = tf.add(inputsEmbeds, tf.gather(this.positionEmbeddings, positions)) as tf.Tensor3D;
    const bias = attentionBias(attentionMask, true, P); // [B, 1, T, P + T]
    this.blocks.forEach((weights, i) => {
      const prefix = prefixes?.[i];
      if (seen) {
        h = gpt2Block(h, weights, bias, cfg, prefix, seen); // keyValues: k and v must outlive the block
        return;
      }
      // Checkpointed: with recomputation on (training), the tape keeps only the block's inputs.
      const block = checkpointed((x, b, keys, values) => gpt2Block(x as tf.Tensor3D, weights, b as tf.Tensor4D, cfg, keys && values ? { keys: keys as tf.Tensor2D, values: values as tf.Tensor2D } : undefined));
      h = block(h, bias, ...(prefix ? [prefix.keys, prefix.values] : []));
    });
    return layerNorm(h, this.lnF, cfg.layerNormEps) as tf.Tensor3D;
  }

  lmLogits(hidden: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.wordTable.project(hidden)); // [..., H] -> [..., V]
  }

  dispose(): void {
    for (const t of this.owned) t.dispose();
    this.wordTable.dispose();
  }
}
