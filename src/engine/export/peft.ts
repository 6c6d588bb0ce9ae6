/**
 * The PEFT prompt-tuning adapter: peft/adapter_config.json + peft/adapter_model.safetensors, which
 * `PeftModel.from_pretrained(base_model, "peft")` loads, and the notes on where it differs from
 * how the prompt was tuned.
 */
import { writeSafetensors } from '../../model/safetensors';
import { isLlamaFamily, keyValueWidth, type ModelType } from '../../model/types';
import { checkExport, isObject, PROMPT_EMBEDDINGS_KEY, type Json, type PromptExportMetadata, type PromptVectors } from './schema';

export type PeftTaskType = 'CAUSAL_LM' | 'FEATURE_EXTRACTION';

/**
 * The PEFT task_type decides which PeftModel subclass `PeftModel.from_pretrained` builds, and only
 * some of them prepend the prompt to a masked or causal LM:
 * - gpt2, llama, mistral, qwen2, qwen3 -> CAUSAL_LM: PeftModelForCausalLM prepends the virtual
 *   tokens (and pads labels with -100) in forward and in generate(), on the AutoModelForCausalLM we
 *   tuned against.
 * - bert / distilbert / roberta -> FEATURE_EXTRACTION: PeftModelForFeatureExtraction prepends the
 *   virtual tokens and extends the attention mask, then calls whatever base model it wraps, so an
 *   AutoModelForMaskedLM still returns its MLM logits (the [MASK] is at its token index + N).
 * The others fail for an MLM (checked with PEFT 0.21 / transformers 5.17 on a BertForMaskedLM):
 * CAUSAL_LM raises (no prepare_inputs_for_generation); SEQ_CLS and TOKEN_CLS need a classifier
 * this adapter does not hold (KeyError 'base_model.classifier.weight'); a null task_type builds the
 * plain PeftModel, whose forward never prepends the prompt (logits come back [B, T, V]).
 */
export function peftTaskType(modelType: ModelType): PeftTaskType {
  return modelType === 'gpt2' || isLlamaFamily(modelType) ? 'CAUSAL_LM' : 'FEATURE_EXTRACTION';
}

/** The fields every PEFT prompt-learning config (PromptLearningConfig) writes. */
interface PeftPromptLearningBase {
  auto_mapping: null;
  base_model_name_or_path: string;
  inference_mode: true;
  num_attention_heads: number;
  num_layers: number;
  num_transformer_submodules: 1;
  num_virtual_tokens: number;
  revision: null;
  task_type: PeftTaskType;
  token_dim: number;
}

/**
 * adapter_config.json as PEFT writes it (`asdict`, keys sorted): PromptTuningConfig,
 * PromptEncoderConfig (P_TUNING) or PrefixTuningConfig, by the run's method. Newer PEFT also writes
 * `peft_version` and `modules_to_save`; both default to None and are left out because older PEFT
 * releases reject keys their dataclass lacks.
 */
export type PeftPromptTuningConfig = PeftPromptLearningBase &
  (
    | { peft_type: 'PROMPT_TUNING'; prompt_tuning_init: 'RANDOM'; prompt_tuning_init_text: null; tokenizer_kwargs: null; tokenizer_name_or_path: null }
    | { peft_type: 'P_TUNING'; encoder_dropout: 0; encoder_hidden_size: number; encoder_num_layers: 2; encoder_reparameterization_type: 'MLP' | 'LSTM' }
    | { peft_type: 'PREFIX_TUNING'; encoder_hidden_size: number; prefix_projection: false }
  );

export function peftAdapterConfig(prompt: PromptVectors, meta: PromptExportMetadata): PeftPromptTuningConfig {
  checkExport(prompt, meta);
  const H = meta.model.hiddenSize;
  const base: PeftPromptLearningBase = {
    auto_mapping: null, // only written when task_type is null
    base_model_name_or_path: meta.model.id,
    inference_mode: true,
    num_attention_heads: meta.model.numHeads,
    num_layers: meta.model.numLayers,
    // One embedding block: encoder-only and decoder-only models (seq2seq would need 2).
    num_transformer_submodules: 1,
    num_virtual_tokens: prompt.numTokens,
    revision: null,
    task_type: peftTaskType(meta.model.modelType),
    token_dim: H,
  };
  switch (meta.method ?? 'prompt') {
    case 'prompt':
      // The stored weights replace the init on load; TEXT would make PEFT demand a tokenizer and text.
      return { ...base, peft_type: 'PROMPT_TUNING', prompt_tuning_init: 'RANDOM', prompt_tuning_init_text: null, tokenizer_kwargs: null, tokenizer_name_or_path: null };
    case 'p-tuning':
      // With inference_mode PEFT builds no encoder and reads the stored vectors (the encoder's output) as they are.
      // encoder_num_layers: the MLP's fixed 2 (PEFT warns on others), and the LSTM's 2 layers (LSTM_ENCODER_LAYERS).
      return {
        ...base,
        peft_type: 'P_TUNING',
        encoder_dropout: 0,
        encoder_hidden_size: meta.encoderHiddenSize ?? H,
        encoder_num_layers: 2,
        encoder_reparameterization_type: meta.encoderType === 'lstm' ? 'LSTM' : 'MLP',
      };
    case 'prefix': {
      // The stored [N, L x 2 x W] are the keys and values themselves: no projection to rebuild (PEFT's own export of a projected prefix is the same).
      // Grouped-query attention: PEFT's prefix is num_key_value_heads heads wide (its _prepare_prompt_learning_config sets
      // num_attention_heads = num_key_value_heads and token_dim to their width, and get_prompt views each layer's
      // key as [heads, token_dim / heads]). Written explicitly, that rewrite leaves them as they are; and for qwen3,
      // whose head_dim is not hidden / heads, token_dim is the true width rather than PEFT's hidden / heads x kv heads.
      const gqa = meta.model.numKeyValueHeads !== undefined && meta.model.headDim !== undefined;
      return {
        ...base,
        ...(gqa ? { num_attention_heads: meta.model.numKeyValueHeads as number, token_dim: keyValueWidth(meta.model) } : {}),
        peft_type: 'PREFIX_TUNING',
        encoder_hidden_size: meta.encoderHiddenSize ?? H,
        prefix_projection: false,
      };
    }
  }
}

/** JSON text as Python's `json.dumps(d, indent=2, sort_keys=True)` writes it (ASCII-only, no final newline). */
export function pythonJsonDumps(value: Json): string {
  const sortKeys = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (isObject(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
    return v;
  };
  return JSON.stringify(sortKeys(value), null, 2).replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function peftAdapterConfigJson(prompt: PromptVectors, meta: PromptExportMetadata): string {
  return pythonJsonDumps(peftAdapterConfig(prompt, meta));
}

/** adapter_model.safetensors exactly as PEFT saves a prompt-learning adapter: `prompt_embeddings` [N, dim]. */
export function peftAdapterSafetensors(prompt: PromptVectors): Uint8Array {
  checkExport(prompt);
  return writeSafetensors({ [PROMPT_EMBEDDINGS_KEY]: { data: prompt.vectors, shape: [prompt.numTokens, prompt.dim] } }, { format: 'pt' });
}

/** Where running the PEFT adapter differs from the studio's own scoring; shown beside the export. */
export function peftExportNotes(meta: PromptExportMetadata): string[] {
  const n = meta.hyperparameters.promptLength;
  const notes: string[] = [];
  if (meta.method === 'prefix') {
    notes.push(
      `PEFT passes the ${n} virtual tokens' keys and values to every layer as past_key_values, and transformers numbers the input's ` +
        'positions after them, as the studio did.',
    );
    if (meta.model.modelType === 'distilbert') notes.push('DistilBERT takes no past_key_values in transformers, so PEFT cannot apply this prefix to it.');
    if (meta.model.numKeyValueHeads !== undefined && meta.model.headDim !== undefined && meta.model.numKeyValueHeads < meta.model.numHeads) {
      notes.push(
        `The prefix holds the model's ${meta.model.numKeyValueHeads} key/value heads (grouped-query attention), as PEFT lays out prefixes for such models; ` +
          'PEFT releases from before its grouped-query support expect all attention heads and will not load it.',
      );
    }
  } else if (meta.placement === 'after-first-token') {
    notes.push(
      `PEFT prepends the ${n} virtual tokens before every input token, including [CLS]/BOS; this prompt was tuned ` +
        'right after [CLS]/BOS, so under PEFT its positions shift by one and results may differ slightly.',
    );
  } else if (meta.placement === 'template') {
    notes.push(
      'This prompt was tuned at [SOFT] slots inside the template; PEFT can only prepend all virtual tokens ' +
        'at the start, so the adapter does not reproduce the tuned behaviour.',
    );
  }
  if (meta.method === 'p-tuning') {
    notes.push(
      "The prompt encoder is not in the PEFT adapter (as in PEFT's own export): the vectors are its output, which PEFT loads as they are for inference. " +
        'The studio keeps it in encoder.safetensors, so an import of this export trains on through the encoder.',
    );
  }
  if (meta.mode === 'head') {
    notes.push('The linear label head is not part of the PEFT adapter; it is in prompt.json ("head": weights [H, C], bias [C]).');
  } else if (meta.task === 'classification') {
    notes.push('PEFT returns logits only: score classes with the label words in prompt.json at the mask/next-token position.');
  }
  return notes;
}

/**
 * The prompt-learning peft_types, whose adapter_model.safetensors holds `prompt_embeddings`: the
 * ones the studio exports (peftAdapterConfig) and imports.
 */
export const IMPORTABLE_PEFT_TYPES: readonly string[] = ['PROMPT_TUNING', 'P_TUNING', 'PREFIX_TUNING'];

/** How PEFT's weight-changing adapter types are written in prose. */
const PEFT_TYPE_NAMES: Record<string, string> = { LORA: 'LoRA', ADALORA: 'AdaLoRA', LOHA: 'LoHa', LOKR: 'LoKr', IA3: '(IA)³', OFT: 'OFT', BOFT: 'BOFT', VERA: 'VeRA' };

/**
 * Why an adapter of this peft_type cannot be imported (the words after "this is"), or null when it
 * can: the advice for a prompt-tuning adapter does not fit a LoRA one.
 */
export function otherPeftTypeProblem(peftType: unknown): string | null {
  if (typeof peftType === 'string' && IMPORTABLE_PEFT_TYPES.includes(peftType)) return null;
  const name = typeof peftType === 'string' ? (PEFT_TYPE_NAMES[peftType] ?? peftType) : 'unknown';
  return (
    `a PEFT ${name} adapter (peft_type ${JSON.stringify(peftType)}), which changes the model's own weights instead of adding a soft prompt, ` +
    'so it holds nothing the studio can import. The studio imports prompt-learning adapters (peft_type PROMPT_TUNING, P_TUNING or PREFIX_TUNING) and its own prompt.json, prompt.safetensors, prompt.npy or export zip'
  );
}
