/**
 * BERT-family encoders with their masked-LM heads: bert, roberta, distilbert. All three are the
 * same post-LayerNorm transformer; they differ in tensor names, token types and position ids.
 */
import * as tf from '@tensorflow/tfjs';
import { activation, attentionBias, joinKeyValues, layerNorm, linear, multiHeadAttention, positionIdsFromMask, splitPrefix } from './layers';
import type { LayerNormWeights, LayerPrefix, Linear } from './layers';
import { checkpointed } from './checkpointing';
import { VocabTable } from './vocabShards';
import { take, type WeightSpec } from './weights';
import type { ForwardInputs, FrozenLM, TransformerConfig } from './types';

// ---- Hugging Face tensor names per family (without the family prefix) ----

interface EncoderNames {
  prefix: string;
  word: string;
  position: string;
  tokenType: string | null;
  embLn: string;
  layer(i: number): { q: string; k: string; v: string; o: string; ln1: string; ffnIn: string; ffnOut: string; ln2: string };
  head: { dense: string; ln: string; bias: string; decoder: string };
}

function bertLikeNames(prefix: string, head: EncoderNames['head']): EncoderNames {
  return {
    prefix,
    word: 'embeddings.word_embeddings',
    position: 'embeddings.position_embeddings',
    tokenType: 'embeddings.token_type_embeddings',
    embLn: 'embeddings.LayerNorm',
    layer: (i) => {
      const l = `encoder.layer.${i}`;
      return {
        q: `${l}.attention.self.query`,
        k: `${l}.attention.self.key`,
        v: `${l}.attention.self.value`,
        o: `${l}.attention.output.dense`,
        ln1: `${l}.attention.output.LayerNorm`,
        ffnIn: `${l}.intermediate.dense`,
        ffnOut: `${l}.output.dense`,
        ln2: `${l}.output.LayerNorm`,
      };
    },
    head,
  };
}

const NAMES: Record<'bert' | 'roberta' | 'distilbert', EncoderNames> = {
  bert: bertLikeNames('bert.', {
    dense: 'cls.predictions.transform.dense',
    ln: 'cls.predictions.transform.LayerNorm',
    bias: 'cls.predictions.bias',
    decoder: 'cls.predictions.decoder',
  }),
  roberta: bertLikeNames('roberta.', {
    dense: 'lm_head.dense',
    ln: 'lm_head.layer_norm',
    bias: 'lm_head.bias',
    decoder: 'lm_head.decoder',
  }),
  distilbert: {
    prefix: 'distilbert.',
    word: 'embeddings.word_embeddings',
    position: 'embeddings.position_embeddings',
    tokenType: null,
    embLn: 'embeddings.LayerNorm',
    layer: (i) => {
      const l = `transformer.layer.${i}`;
      return {
        q: `${l}.attention.q_lin`,
        k: `${l}.attention.k_lin`,
        v: `${l}.attention.v_lin`,
        o: `${l}.attention.out_lin`,
        ln1: `${l}.sa_layer_norm`,
        ffnIn: `${l}.ffn.lin1`,
        ffnOut: `${l}.ffn.lin2`,
        ln2: `${l}.output_layer_norm`,
      };
    },
    head: { dense: 'vocab_transform', ln: 'vocab_layer_norm', bias: 'vocab_projector.bias', decoder: 'vocab_projector' },
  },
};

function encoderNames(cfg: TransformerConfig): EncoderNames {
  const type = cfg.modelType;
  if (type !== 'bert' && type !== 'distilbert' && type !== 'roberta') throw new Error(`internal: ${type} is not an encoder`);
  return NAMES[type];
}

export function encoderPrefix(cfg: TransformerConfig): string {
  return encoderNames(cfg).prefix;
}

/** Every tensor a BERT-family checkpoint must hold, with its torch shape. */
export function encoderWeightSpecs(cfg: TransformerConfig): WeightSpec[] {
  const n = encoderNames(cfg);
  const { vocabSize: V, hiddenSize: H, intermediateSize: I, maxPositions: P } = cfg;
  const specs: WeightSpec[] = [];
  const lin = (name: string, out: number, inp: number, group: WeightSpec['group'] = 'base') => {
    specs.push({ key: `${name}.weight`, shape: [out, inp], transpose: true, group });
    specs.push({ key: `${name}.bias`, shape: [out], group });
  };
  const ln = (name: string, group: WeightSpec['group'] = 'base') => {
    specs.push({ key: `${name}.weight`, shape: [H], group });
    specs.push({ key: `${name}.bias`, shape: [H], group });
  };
  specs.push({ key: `${n.word}.weight`, shape: [V, H], group: 'base' });
  specs.push({ key: `${n.position}.weight`, shape: [P, H], group: 'base' });
  if (n.tokenType && cfg.typeVocabSize > 0) {
    specs.push({ key: `${n.tokenType}.weight`, shape: [cfg.typeVocabSize, H], group: 'base' });
  }
  ln(n.embLn);
  for (let i = 0; i < cfg.numLayers; i++) {
    const l = n.layer(i);
    lin(l.q, H, H);
    lin(l.k, H, H);
    lin(l.v, H, H);
    lin(l.o, H, H);
    ln(l.ln1);
    lin(l.ffnIn, I, H);
    lin(l.ffnOut, H, I);
    ln(l.ln2);
  }
  lin(n.head.dense, H, H, 'head');
  ln(n.head.ln, 'head');
  specs.push({ key: n.head.bias, shape: [V], group: 'head' });
  // Tied to the word embeddings unless the config unties it; save_pretrained leaves a tied one out.
  specs.push({ key: `${n.head.decoder}.weight`, shape: [V, H], group: 'head', optional: cfg.tieWordEmbeddings !== false });
  return specs;
}

// ---- Blocks ----

interface EncoderLayer {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  ln1: LayerNormWeights;
  ffnIn: Linear;
  ffnOut: Linear;
  ln2: LayerNormWeights;
}

interface MlmHead {
  dense: Linear;
  ln: LayerNormWeights;
  /** [V, H] decoder (the word-embedding table itself when tied), in binding-sized shards. */
  decoder: VocabTable;
  bias: tf.Tensor1D;
}

/**
 * Post-LN block: x = LN(x + Attn(x)); x = LN(x + FFN(x)). `prefix`: this layer's prefix keys and
 * values; `seen` receives the sequence's own projected keys and values.
 */
function encoderLayer(
  x: tf.Tensor3D,
  p: EncoderLayer,
  bias: tf.Tensor4D,
  cfg: TransformerConfig,
  prefix?: LayerPrefix,
  seen?: (kv: { keys: tf.Tensor3D; values: tf.Tensor3D }) => void,
): tf.Tensor3D {
  const k = linear(x, p.k) as tf.Tensor3D;
  const v = linear(x, p.v) as tf.Tensor3D;
  seen?.({ keys: k, values: v });
  const attn = multiHeadAttention(linear(x, p.q), k, v, bias, cfg.numHeads, prefix);
  const h = layerNorm(linear(attn, p.o), p.ln1, cfg.layerNormEps, x); // LN(x + attn), one kernel on WebGPU
  const ffn = linear(activation(linear(h, p.ffnIn), cfg.hiddenAct), p.ffnOut); // [B,T,H] -> [B,T,I] -> [B,T,H]
  return layerNorm(ffn, p.ln2, cfg.layerNormEps, h) as tf.Tensor3D; // LN(h + ffn)
}

// ---- Model ----

export class BertEncoder implements FrozenLM {
  readonly wordEmbeddings: tf.Tensor2D;
  readonly hasLmHead: boolean;
  /** The word embeddings in shards that each fit one GPU binding (vocabShards.ts). */
  private readonly wordTable: VocabTable;
  private readonly positionEmbeddings: tf.Tensor2D;
  private readonly tokenTypeEmbeddings: tf.Tensor2D | null;
  private readonly embLn: LayerNormWeights;
  private readonly layers: EncoderLayer[];
  private readonly head: MlmHead | null;
  private readonly owned: tf.Tensor[];

  /**
   * @param tensors weights keyed by HF name without prefix, Linear weights already [in, out]
   * @param missingHead names of the LM-head tensors the checkpoint lacks (empty if it has them)
   */
  constructor(
    readonly config: TransformerConfig,
    tensors: Map<string, tf.Tensor>,
    private readonly missingHead: string[] = [],
  ) {
    const n = encoderNames(config);
    const lin = (name: string): Linear => ({ w: take(tensors, `${name}.weight`), b: take(tensors, `${name}.bias`) });
    const ln = (name: string): LayerNormWeights => ({ gamma: take(tensors, `${name}.weight`), beta: take(tensors, `${name}.bias`) });
    this.owned = [...tensors.values()];
    this.wordEmbeddings = take(tensors, `${n.word}.weight`);
    this.wordTable = VocabTable.split(this.wordEmbeddings, `${n.word}.weight`);
    this.positionEmbeddings = take(tensors, `${n.position}.weight`);
    this.tokenTypeEmbeddings =
      n.tokenType && config.typeVocabSize > 0 ? take<tf.Tensor2D>(tensors, `${n.tokenType}.weight`) : null;
    this.embLn = ln(n.embLn);
    this.layers = [];
    for (let i = 0; i < config.numLayers; i++) {
      const l = n.layer(i);
      this.layers.push({
        q: lin(l.q), k: lin(l.k), v: lin(l.v), o: lin(l.o), ln1: ln(l.ln1),
        ffnIn: lin(l.ffnIn), ffnOut: lin(l.ffnOut), ln2: ln(l.ln2),
      });
    }
    this.hasLmHead = missingHead.length === 0;
    if (this.hasLmHead) {
      // Tied (the default): the word embeddings, as transformers' tie_weights makes it even when the file has a copy.
      const decoder = config.tieWordEmbeddings === false ? VocabTable.split(take<tf.Tensor2D>(tensors, `${n.head.decoder}.weight`), `${n.head.decoder}.weight`) : this.wordTable;
      this.head = { dense: lin(n.head.dense), ln: ln(n.head.ln), decoder, bias: take(tensors, n.head.bias) };
    } else {
      this.head = null;
    }
  }

  embed(ids: tf.Tensor2D): tf.Tensor3D {
    return this.wordTable.gather(ids) as tf.Tensor3D; // [B, T] -> [B, T, H]
  }

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

  private run({ inputsEmbeds, attentionMask, tokenTypeIds, prefix }: ForwardInputs, seen?: (kv: { keys: tf.Tensor3D; values: tf.Tensor3D }) => void): tf.Tensor3D {
    const cfg = this.config;
    const P = prefix?.shape[0] ?? 0;
    const prefixes = prefix && P > 0 ? splitPrefix(prefix, cfg.numLayers, cfg.hiddenSize) : null;
    // After a prefix of P positions the sequence is numbered from P on, as transformers does after a cache.
    const positions = positionIdsFromMask(attentionMask, cfg.positionOffset + P);
    let x = tf.add(inputsEmbeds, tf.gather(this.positionEmbeddings, positions)); // [B, T, H]
    if (this.tokenTypeEmbeddings) {
      const types = tokenTypeIds ?? tf.zerosLike(attentionMask).toInt();
      x = tf.add(x, tf.gather(this.tokenTypeEmbeddings, types));
    }
    let h = layerNorm(x, this.embLn, cfg.layerNormEps) as tf.Tensor3D;
    const bias = attentionBias(attentionMask, false, P); // [B, 1, 1, P + T]
    this.layers.forEach((layer, i) => {
      const prefix = prefixes?.[i];
      if (seen) {
        h = encoderLayer(h, layer, bias, cfg, prefix, seen); // keyValues: k and v must outlive the layer
        return;
      }
      // Checkpointed: with recomputation on (training), the tape keeps only the layer's inputs.
      const block = checkpointed((x, b, keys, values) => encoderLayer(x as tf.Tensor3D, layer, b as tf.Tensor4D, cfg, keys && values ? { keys: keys as tf.Tensor2D, values: values as tf.Tensor2D } : undefined));
      h = block(h, bias, ...(prefix ? [prefix.keys, prefix.values] : []));
    });
    return h;
  }

  lmLogits(hidden: tf.Tensor): tf.Tensor {
    const head = this.head;
    if (!head) {
      throw new Error(
        `this ${this.config.modelType} checkpoint has no masked-LM head (missing tensors: ${this.missingHead.join(', ')}); ` +
          'use the linear label-head mode, or load a *ForMaskedLM checkpoint',
      );
    }
    return tf.tidy(() => {
      // RoBERTa's lm_head hard-codes GELU; BERT and DistilBERT heads use the config's activation.
      const act = this.config.modelType === 'roberta' ? 'gelu' : this.config.hiddenAct;
      const t = layerNorm(activation(linear(hidden, head.dense), act), head.ln, this.config.layerNormEps);
      return tf.add(head.decoder.project(t), head.bias); // [..., H] -> [..., V]
    });
  }

  dispose(): void {
    for (const t of this.owned) t.dispose();
    this.wordTable.dispose();
    if (this.head && this.head.decoder !== this.wordTable) this.head.decoder.dispose();
  }
}
