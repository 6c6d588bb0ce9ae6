import { SUPPORTED_MODEL_TYPES, type ModelType, type RopeScaling, type TransformerConfig } from './types';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Reads an HF config.json (as parsed JSON) into the normalised config; `file` names it in errors. */
export function parseConfig(json: unknown, file = 'config.json'): TransformerConfig {
  if (typeof json !== 'object' || json === null) throw new ConfigError(`${file}: not a JSON object`);
  const c = json as Record<string, unknown>;
  const modelType = c.model_type;
  if (typeof modelType !== 'string' || !(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new ConfigError(
      `${file}: unsupported model_type ${JSON.stringify(modelType)}; supported model types: ${SUPPORTED_MODEL_TYPES.join(', ')}`,
    );
  }
  const num = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ConfigError(`${file}: field "${key}" is missing or not a number (model_type ${modelType})`);
    }
    return v;
  };
  // Sizes and counts are whole numbers from `min` up: 0, -1 or 2.5 layers fail here, before any weights are read.
  const int = (key: string, min: number, fallback?: number): number => {
    const v = num(key, fallback);
    if (!Number.isInteger(v) || v < min) {
      throw new ConfigError(`${file}: field "${key}" must be a whole number >= ${min}, not ${v} (model_type ${modelType})`);
    }
    return v;
  };
  const positive = (key: string, fallback: number): number => {
    const v = num(key, fallback);
    if (!(v > 0)) throw new ConfigError(`${file}: field "${key}" must be greater than 0, not ${v} (model_type ${modelType})`);
    return v;
  };
  /** pad_token_id: absent or null means `fallback`; otherwise a token id. */
  const tokenId = <F extends number | null>(key: string, fallback: F): number | F => (c[key] === undefined || c[key] === null ? fallback : int(key, 0));
  const act = (key: string, fallback: string): TransformerConfig['hiddenAct'] => {
    const v = (c[key] ?? fallback) as string;
    if (v === 'gelu' || v === 'relu') return v;
    if (v === 'gelu_new' || v === 'gelu_pytorch_tanh' || v === 'gelu_fast') return 'gelu_new';
    throw new ConfigError(`${file}: activation "${v}" is not supported (gelu, gelu_new, relu)`);
  };
  const type = modelType as ModelType;
  let cfg: TransformerConfig;
  switch (type) {
    case 'bert':
    case 'roberta': {
      const pad = tokenId('pad_token_id', type === 'roberta' ? 1 : 0);
      cfg = {
        modelType: type,
        lmKind: 'masked-lm',
        vocabSize: int('vocab_size', 1),
        hiddenSize: int('hidden_size', 1),
        numLayers: int('num_hidden_layers', 1),
        numHeads: int('num_attention_heads', 1),
        intermediateSize: int('intermediate_size', 1),
        maxPositions: int('max_position_embeddings', 1),
        typeVocabSize: int('type_vocab_size', 0, 2),
        layerNormEps: positive('layer_norm_eps', 1e-12),
        hiddenAct: act('hidden_act', 'gelu'),
        padTokenId: pad,
        positionOffset: type === 'roberta' ? pad + 1 : 0,
        ...untied(c),
      };
      break;
    }
    case 'distilbert': {
      if (c.sinusoidal_pos_embds === true) {
        throw new ConfigError(`${file}: distilbert with sinusoidal_pos_embds is not supported`);
      }
      cfg = {
        modelType: type,
        lmKind: 'masked-lm',
        vocabSize: int('vocab_size', 1),
        hiddenSize: int('dim', 1),
        numLayers: int('n_layers', 1),
        numHeads: int('n_heads', 1),
        intermediateSize: int('hidden_dim', 1),
        maxPositions: int('max_position_embeddings', 1),
        typeVocabSize: 0,
        layerNormEps: 1e-12,
        hiddenAct: act('activation', 'gelu'),
        padTokenId: tokenId('pad_token_id', 0),
        positionOffset: 0,
        ...untied(c),
      };
      break;
    }
    case 'gpt2': {
      const hidden = int('n_embd', 1);
      cfg = {
        modelType: type,
        lmKind: 'causal-lm',
        vocabSize: int('vocab_size', 1),
        hiddenSize: hidden,
        numLayers: int('n_layer', 1),
        numHeads: int('n_head', 1),
        // n_inner: null (or absent) means 4 x n_embd.
        intermediateSize: c.n_inner === undefined || c.n_inner === null ? 4 * hidden : int('n_inner', 1),
        maxPositions: int('n_positions', 1),
        typeVocabSize: 0,
        layerNormEps: positive('layer_norm_epsilon', 1e-5),
        hiddenAct: act('activation_function', 'gelu_new'),
        padTokenId: tokenId('pad_token_id', null),
        positionOffset: 0,
      };
      break;
    }
    case 'llama':
    case 'mistral':
    case 'qwen2':
    case 'qwen3': {
      const hidden = int('hidden_size', 1);
      const heads = int('num_attention_heads', 1);
      // num_key_value_heads absent: plain multi-head attention (as transformers defaults it).
      const kvHeads = int('num_key_value_heads', 1, heads);
      if (heads % kvHeads !== 0) {
        throw new ConfigError(`${file}: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads} (model_type ${modelType})`);
      }
      if (c.head_dim === undefined || c.head_dim === null) {
        if (hidden % heads !== 0) throw new ConfigError(`${file}: hidden_size ${hidden} is not divisible by ${heads} heads and there is no "head_dim"`);
      }
      const headDim = c.head_dim === undefined || c.head_dim === null ? hidden / heads : int('head_dim', 2);
      if (headDim % 2 !== 0) throw new ConfigError(`${file}: head_dim ${headDim} is odd; rotary embeddings rotate pairs of dimensions`);
      const act = c.hidden_act ?? 'silu';
      if (act !== 'silu') throw new ConfigError(`${file}: field "hidden_act" is ${JSON.stringify(act)}; the ${modelType} MLP here is SwiGLU with "silu" only`);
      if (c.mlp_bias === true) throw new ConfigError(`${file}: field "mlp_bias": true is not supported`);
      // Newer transformers write rope_theta and the scaling together as "rope_parameters".
      const rope = isObject(c.rope_parameters) ? c.rope_parameters : null;
      const ropeTheta = rope && rope.rope_theta !== undefined ? ropeNumber(rope, 'rope_theta', file, 'rope_parameters') : positive('rope_theta', 10000);
      const qwen = type === 'qwen2' || type === 'qwen3';
      cfg = {
        modelType: type,
        lmKind: 'causal-lm',
        vocabSize: int('vocab_size', 1),
        hiddenSize: hidden,
        numLayers: int('num_hidden_layers', 1),
        numHeads: heads,
        intermediateSize: int('intermediate_size', 1),
        maxPositions: int('max_position_embeddings', 1),
        typeVocabSize: 0,
        layerNormEps: positive('rms_norm_eps', 1e-6),
        hiddenAct: 'silu',
        padTokenId: tokenId('pad_token_id', null),
        positionOffset: 0,
        tieWordEmbeddings: c.tie_word_embeddings === true,
        numKeyValueHeads: kvHeads,
        headDim,
        ropeTheta,
        ropeScaling: parseRopeScaling(rope ?? c.rope_scaling, file, rope ? 'rope_parameters' : 'rope_scaling'),
        // qwen2 always has q/k/v biases; llama and qwen3 put biases on q/k/v/o when attention_bias is true.
        attentionBias: type === 'qwen2' ? 'qkv' : type !== 'mistral' && c.attention_bias === true ? 'qkvo' : 'none',
        qkNorm: type === 'qwen3',
        // Qwen applies its window only with use_sliding_window; mistral whenever sliding_window is set.
        slidingWindow: (qwen ? c.use_sliding_window === true : type === 'mistral') && c.sliding_window != null ? int('sliding_window', 1) : null,
      };
      break;
    }
  }
  if (cfg.headDim === undefined && cfg.hiddenSize % cfg.numHeads !== 0) {
    throw new ConfigError(`${file}: hidden size ${cfg.hiddenSize} is not divisible by ${cfg.numHeads} heads`);
  }
  return cfg;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function ropeNumber(o: Record<string, unknown>, key: string, file: string, field: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ConfigError(`${file}: ${field}.${key} must be a number greater than 0, not ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * rope_scaling (or rope_parameters): null, type "default", "linear" or "llama3"; any other type
 * (dynamic, yarn, longrope, ...) would compute different positions, so it is refused by name.
 */
function parseRopeScaling(raw: unknown, file: string, field: string): RopeScaling | null {
  if (raw === undefined || raw === null) return null;
  if (!isObject(raw)) throw new ConfigError(`${file}: field "${field}" must be an object or null`);
  const type = raw.rope_type ?? raw.type ?? 'default';
  switch (type) {
    case 'default':
      return null;
    case 'linear':
      return { type: 'linear', factor: ropeNumber(raw, 'factor', file, field) };
    case 'llama3': {
      const lowFreqFactor = ropeNumber(raw, 'low_freq_factor', file, field);
      const highFreqFactor = ropeNumber(raw, 'high_freq_factor', file, field);
      if (!(highFreqFactor > lowFreqFactor)) {
        throw new ConfigError(`${file}: ${field}.high_freq_factor (${highFreqFactor}) must be greater than low_freq_factor (${lowFreqFactor})`);
      }
      return { type: 'llama3', factor: ropeNumber(raw, 'factor', file, field), lowFreqFactor, highFreqFactor, originalMaxPositions: ropeNumber(raw, 'original_max_position_embeddings', file, field) };
    }
    default:
      throw new ConfigError(`${file}: ${field} type ${JSON.stringify(type)} is not supported (supported: default, linear, llama3)`);
  }
}

/** Encoders: `tieWordEmbeddings: false` only when config.json unties the decoder (true is the default). */
function untied(c: Record<string, unknown>): Pick<TransformerConfig, 'tieWordEmbeddings'> {
  return c.tie_word_embeddings === false ? { tieWordEmbeddings: false } : {};
}

/** The inverse of `parseConfig`: an HF config.json object, as `save_pretrained` writes it. */
export function toHfConfig(cfg: TransformerConfig): Record<string, unknown> {
  switch (cfg.modelType) {
    case 'bert':
    case 'roberta':
      return {
        architectures: [cfg.modelType === 'bert' ? 'BertForMaskedLM' : 'RobertaForMaskedLM'],
        model_type: cfg.modelType,
        vocab_size: cfg.vocabSize,
        hidden_size: cfg.hiddenSize,
        num_hidden_layers: cfg.numLayers,
        num_attention_heads: cfg.numHeads,
        intermediate_size: cfg.intermediateSize,
        max_position_embeddings: cfg.maxPositions,
        type_vocab_size: cfg.typeVocabSize,
        layer_norm_eps: cfg.layerNormEps,
        hidden_act: cfg.hiddenAct,
        pad_token_id: cfg.padTokenId,
        hidden_dropout_prob: 0.1,
        attention_probs_dropout_prob: 0.1,
        ...(cfg.tieWordEmbeddings === false ? { tie_word_embeddings: false } : {}),
      };
    case 'distilbert':
      return {
        architectures: ['DistilBertForMaskedLM'],
        model_type: 'distilbert',
        vocab_size: cfg.vocabSize,
        dim: cfg.hiddenSize,
        n_layers: cfg.numLayers,
        n_heads: cfg.numHeads,
        hidden_dim: cfg.intermediateSize,
        max_position_embeddings: cfg.maxPositions,
        activation: cfg.hiddenAct,
        pad_token_id: cfg.padTokenId,
        sinusoidal_pos_embds: false,
        ...(cfg.tieWordEmbeddings === false ? { tie_word_embeddings: false } : {}),
      };
    case 'llama':
    case 'mistral':
    case 'qwen2':
    case 'qwen3': {
      const s = cfg.ropeScaling;
      return {
        architectures: [{ llama: 'LlamaForCausalLM', mistral: 'MistralForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM' }[cfg.modelType]],
        model_type: cfg.modelType,
        vocab_size: cfg.vocabSize,
        hidden_size: cfg.hiddenSize,
        num_hidden_layers: cfg.numLayers,
        num_attention_heads: cfg.numHeads,
        num_key_value_heads: cfg.numKeyValueHeads,
        head_dim: cfg.headDim,
        intermediate_size: cfg.intermediateSize,
        max_position_embeddings: cfg.maxPositions,
        rms_norm_eps: cfg.layerNormEps,
        hidden_act: 'silu',
        rope_theta: cfg.ropeTheta,
        rope_scaling: !s
          ? null
          : s.type === 'linear'
            ? { rope_type: 'linear', factor: s.factor }
            : { rope_type: 'llama3', factor: s.factor, low_freq_factor: s.lowFreqFactor, high_freq_factor: s.highFreqFactor, original_max_position_embeddings: s.originalMaxPositions },
        tie_word_embeddings: cfg.tieWordEmbeddings === true,
        ...(cfg.modelType === 'qwen2' ? {} : { attention_bias: cfg.attentionBias === 'qkvo' }),
        ...(cfg.slidingWindow ? { sliding_window: cfg.slidingWindow, ...(cfg.modelType.startsWith('qwen') ? { use_sliding_window: true } : {}) } : {}),
        pad_token_id: cfg.padTokenId,
      };
    }
    case 'gpt2':
      return {
        architectures: ['GPT2LMHeadModel'],
        model_type: 'gpt2',
        vocab_size: cfg.vocabSize,
        n_embd: cfg.hiddenSize,
        n_layer: cfg.numLayers,
        n_head: cfg.numHeads,
        n_inner: cfg.intermediateSize,
        n_positions: cfg.maxPositions,
        layer_norm_epsilon: cfg.layerNormEps,
        activation_function: cfg.hiddenAct,
      };
  }
}
