import type * as tf from '@tensorflow/tfjs';

/** The model families this project implements; each maps to one or more HF `model_type`s. */
export const SUPPORTED_MODEL_TYPES = ['bert', 'distilbert', 'roberta', 'gpt2'] as const;
export type ModelType = (typeof SUPPORTED_MODEL_TYPES)[number];

/** What a model can do with its head: fill a [MASK] (encoders) or predict the next token (decoders). */
export type LmKind = 'masked-lm' | 'causal-lm';

/** Normalised config, read from an HF config.json (field names differ per family). */
export interface TransformerConfig {
  modelType: ModelType;
  lmKind: LmKind;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  /** 0 when the family has no token-type (segment) embeddings (distilbert, gpt2). */
  typeVocabSize: number;
  layerNormEps: number;
  /** 'gelu' = exact erf GELU (BERT), 'gelu_new' = tanh approximation (GPT-2). */
  hiddenAct: 'gelu' | 'gelu_new' | 'relu';
  padTokenId: number | null;
  /** RoBERTa numbers positions from padding_idx + 1; every other family from 0. */
  positionOffset: number;
  /**
   * Encoders: false when the MLM decoder is its own [V, H] tensor (config tie_word_embeddings:
   * false). Absent or true: the decoder is the word-embedding table, as transformers ties it.
   */
  tieWordEmbeddings?: boolean;
}

export interface ForwardInputs {
  /** [B, T, H] token embeddings, soft-prompt vectors already spliced in. */
  inputsEmbeds: tf.Tensor3D;
  /** [B, T] 1 for real tokens, 0 for padding (left or right). */
  attentionMask: tf.Tensor2D;
  /** [B, T] segment ids; zeros when omitted. Ignored by families without them. */
  tokenTypeIds?: tf.Tensor2D;
  /**
   * Prefix tuning: [P, L * 2 * H] keys and values every layer's attention sees before the sequence's
   * own, in PEFT's past_key_values layout (per virtual token: layer 0's key, layer 0's value, layer
   * 1's key, ...). The sequence's positions then start after the P prefix positions, as transformers
   * numbers them after a cache of length P.
   */
  prefix?: tf.Tensor2D;
}

/** A frozen pretrained transformer. Weights are plain tensors, never variables. */
export interface FrozenLM {
  readonly config: TransformerConfig;
  /** [V, H] input word-embedding table. */
  readonly wordEmbeddings: tf.Tensor2D;
  /** False for a checkpoint saved without its LM head (plain BertModel): `lmLogits` then throws. */
  readonly hasLmHead: boolean;
  /** ids [B, T] -> [B, T, H] word embeddings (no positions: `forward` adds those). */
  embed(ids: tf.Tensor2D): tf.Tensor3D;
  /** -> last hidden states [B, T, H]. */
  forward(inputs: ForwardInputs): tf.Tensor3D;
  /**
   * The keys and values each layer's attention computes for the sequence, [B, T, L * 2 * H] in the
   * layout of `ForwardInputs.prefix`: what a prefix made of these tokens would hold.
   */
  keyValues(inputs: ForwardInputs): tf.Tensor3D;
  /** MLM / LM head on hidden states [..., H] -> logits [..., V]. */
  lmLogits(hidden: tf.Tensor): tf.Tensor;
  dispose(): void;
}
