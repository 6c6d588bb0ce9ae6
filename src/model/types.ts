import type * as tf from '@tensorflow/tfjs';

/** The model families this project implements; each maps to one or more HF `model_type`s. */
export const SUPPORTED_MODEL_TYPES = [
  'bert',
  'distilbert',
  'roberta',
  'gpt2',
  'llama',
  'mistral',
  'qwen2',
  'qwen3',
] as const;
export type ModelType = (typeof SUPPORTED_MODEL_TYPES)[number];

/** The model types src/model/llama.ts implements (RMSNorm, rotary positions, SwiGLU, grouped-query attention). */
export const LLAMA_FAMILY = ['llama', 'mistral', 'qwen2', 'qwen3'] as const satisfies readonly ModelType[];
export const isLlamaFamily = (modelType: ModelType): modelType is (typeof LLAMA_FAMILY)[number] => (LLAMA_FAMILY as readonly string[]).includes(modelType);

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
  hiddenAct: 'gelu' | 'gelu_new' | 'relu' | 'silu';
  padTokenId: number | null;
  /** RoBERTa numbers positions from padding_idx + 1; every other family from 0. */
  positionOffset: number;
  /**
   * Encoders: false when the MLM decoder is its own [V, H] tensor (config tie_word_embeddings:
   * false). Absent or true: the decoder is the word-embedding table, as transformers ties it.
   */
  tieWordEmbeddings?: boolean;
  // The fields below are set only for the Llama family (llama, mistral, qwen2, qwen3): decoders with
  // RMSNorm (eps in `layerNormEps`), rotary positions (no position table; `maxPositions` is only the
  // trained context) and a SwiGLU MLP. For them `tieWordEmbeddings` is always set: true when lm_head is
  // embed_tokens (config tie_word_embeddings, default false for these families).
  /** Grouped-query attention: key/value heads, each shared by numHeads / numKeyValueHeads query heads (1 = multi-query). */
  numKeyValueHeads?: number;
  /** Width of one attention head; config head_dim, else hiddenSize / numHeads (qwen3 differs from that). */
  headDim?: number;
  /** Rotary base frequency (rope_theta). */
  ropeTheta?: number;
  /** rope_scaling; null = the default rotary frequencies. */
  ropeScaling?: RopeScaling | null;
  /** Which projections carry a bias: qwen2 q/k/v; llama/qwen3 with attention_bias: q/k/v/o. */
  attentionBias?: 'none' | 'qkv' | 'qkvo';
  /** qwen3: RMSNorm over each head's queries and keys (q_norm, k_norm) before the rotary embedding. */
  qkNorm?: boolean;
  /** Tokens each query may look back over (mistral sliding_window); null = unlimited. Longer sequences are refused. */
  slidingWindow?: number | null;
}

/** rope_scaling of config.json: how the rotary frequencies are stretched beyond the trained context. */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

/**
 * Width of one layer's keys (or values) per token: numKeyValueHeads x headDim for the Llama family,
 * hiddenSize for the others. This is what past_key_values hold per layer, and so what a prefix holds.
 */
export function keyValueWidth(cfg: Pick<TransformerConfig, 'hiddenSize' | 'numKeyValueHeads' | 'headDim'>): number {
  return cfg.numKeyValueHeads !== undefined && cfg.headDim !== undefined ? cfg.numKeyValueHeads * cfg.headDim : cfg.hiddenSize;
}

/** How `keyValueWidth` is made up, for error messages: "hidden 768" or "key/value heads 2 x head dim 64". */
export function keyValueWidthText(cfg: Pick<TransformerConfig, 'hiddenSize' | 'numKeyValueHeads' | 'headDim'>): string {
  return cfg.numKeyValueHeads !== undefined && cfg.headDim !== undefined ? `key/value heads ${cfg.numKeyValueHeads} x head dim ${cfg.headDim}` : `hidden ${cfg.hiddenSize}`;
}

/** Values per virtual token of a prefix: layers x 2 (key, value) x keyValueWidth. */
export function prefixWidth(cfg: Pick<TransformerConfig, 'numLayers' | 'hiddenSize' | 'numKeyValueHeads' | 'headDim'>): number {
  return cfg.numLayers * 2 * keyValueWidth(cfg);
}

export interface ForwardInputs {
  /** [B, T, H] token embeddings, soft-prompt vectors already spliced in. */
  inputsEmbeds: tf.Tensor3D;
  /** [B, T] 1 for real tokens, 0 for padding (left or right). */
  attentionMask: tf.Tensor2D;
  /** [B, T] segment ids; zeros when omitted. Ignored by families without them. */
  tokenTypeIds?: tf.Tensor2D;
  /**
   * Prefix tuning: [P, L * 2 * W] keys and values every layer's attention sees before the sequence's
   * own, in PEFT's past_key_values layout (per virtual token: layer 0's key, layer 0's value, layer
   * 1's key, ...). The sequence's positions then start after the P prefix positions, as transformers
   * numbers them after a cache of length P.
   *
   * W = `keyValueWidth(config)`: hiddenSize, except with grouped-query attention (Llama family), where
   * the cache holds numKeyValueHeads heads of headDim each (head-major), so W = numKeyValueHeads x headDim.
   * PEFT does the same for prefix tuning (`_prepare_prompt_learning_config`: num_attention_heads =
   * num_key_value_heads, token_dim = that many heads' width; `get_prompt` views each token's values as
   * [L * 2, heads, head dim]). Rotary models: the prefix keys are used as they are, already rotated,
   * as transformers treats cached keys.
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
   * The keys and values each layer's attention computes for the sequence, [B, T, L * 2 * W] in the
   * layout of `ForwardInputs.prefix` (rotary models: keys after rotation, as a cache holds them): what
   * a prefix made of these tokens would hold.
   */
  keyValues(inputs: ForwardInputs): tf.Tensor3D;
  /** MLM / LM head on hidden states [..., H] -> logits [..., V]. */
  lmLogits(hidden: tf.Tensor): tf.Tensor;
  dispose(): void;
}
