/**
 * The PEFT prompt-tuning adapter: peft/adapter_config.json + peft/adapter_model.safetensors, which
 * `PeftModel.from_pretrained(base_model, "peft")` loads, and the notes on where it differs from
 * how the prompt was tuned.
 */
import { writeSafetensors } from '../../model/safetensors';
import type { ModelType } from '../../model/types';
import { checkExport, isObject, PROMPT_EMBEDDINGS_KEY, type Json, type PromptExportMetadata, type PromptVectors } from './schema';

export type PeftTaskType = 'CAUSAL_LM' | 'FEATURE_EXTRACTION';

/**
 * The PEFT task_type decides which PeftModel subclass `PeftModel.from_pretrained` builds, and only
 * some of them prepend the prompt to a masked or causal LM:
 * - gpt2 -> CAUSAL_LM: PeftModelForCausalLM prepends the virtual tokens (and pads labels with -100)
 *   in forward and in generate(), on the AutoModelForCausalLM we tuned against.
 * - bert / distilbert / roberta -> FEATURE_EXTRACTION: PeftModelForFeatureExtraction prepends the
 *   virtual tokens and extends the attention mask, then calls whatever base model it wraps, so an
 *   AutoModelForMaskedLM still returns its MLM logits (the [MASK] is at its token index + N).
 * The others fail for an MLM (checked with PEFT 0.21 / transformers 5.17 on a BertForMaskedLM):
 * CAUSAL_LM raises (no prepare_inputs_for_generation); SEQ_CLS and TOKEN_CLS need a classifier
 * this adapter does not hold (KeyError 'base_model.classifier.weight'); a null task_type builds the
 * plain PeftModel, whose forward never prepends the prompt (logits come back [B, T, V]).
 */
export function peftTaskType(modelType: ModelType): PeftTaskType {
  return modelType === 'gpt2' ? 'CAUSAL_LM' : 'FEATURE_EXTRACTION';
}

/**
 * adapter_config.json as PEFT's PromptTuningConfig writes it (`asdict`, keys sorted). Newer PEFT
 * also writes `peft_version` and `modules_to_save`; both default to None and are left out because
 * older PEFT releases reject keys their dataclass lacks.
 */
export interface PeftPromptTuningConfig {
  auto_mapping: null;
  base_model_name_or_path: string;
  inference_mode: true;
  num_attention_heads: number;
  num_layers: number;
  num_transformer_submodules: 1;
  num_virtual_tokens: number;
  peft_type: 'PROMPT_TUNING';
  prompt_tuning_init: 'RANDOM';
  prompt_tuning_init_text: null;
  revision: null;
  task_type: PeftTaskType;
  token_dim: number;
  tokenizer_kwargs: null;
  tokenizer_name_or_path: null;
}

export function peftAdapterConfig(prompt: PromptVectors, meta: PromptExportMetadata): PeftPromptTuningConfig {
  checkExport(prompt, meta);
  return {
    auto_mapping: null, // only written when task_type is null
    base_model_name_or_path: meta.model.id,
    inference_mode: true,
    num_attention_heads: meta.model.numHeads,
    num_layers: meta.model.numLayers,
    // One embedding block: encoder-only and decoder-only models (seq2seq would need 2).
    num_transformer_submodules: 1,
    num_virtual_tokens: prompt.numTokens,
    peft_type: 'PROMPT_TUNING',
    // The stored weights replace the init on load; TEXT would make PEFT demand a tokenizer and text.
    prompt_tuning_init: 'RANDOM',
    prompt_tuning_init_text: null,
    revision: null,
    task_type: peftTaskType(meta.model.modelType),
    token_dim: prompt.dim,
    tokenizer_kwargs: null,
    tokenizer_name_or_path: null,
  };
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

/** adapter_model.safetensors exactly as PEFT saves a prompt-tuning adapter. */
export function peftAdapterSafetensors(prompt: PromptVectors): Uint8Array {
  checkExport(prompt);
  return writeSafetensors({ [PROMPT_EMBEDDINGS_KEY]: { data: prompt.vectors, shape: [prompt.numTokens, prompt.dim] } }, { format: 'pt' });
}

/** Where running the PEFT adapter differs from the studio's own scoring; shown beside the export. */
export function peftExportNotes(meta: PromptExportMetadata): string[] {
  const n = meta.hyperparameters.promptLength;
  const notes: string[] = [];
  if (meta.placement === 'after-first-token') {
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
  if (meta.mode === 'head') {
    notes.push('The linear label head is not part of the PEFT adapter; it is in prompt.json ("head": weights [H, C], bias [C]).');
  } else if (meta.task === 'classification') {
    notes.push('PEFT returns logits only: score classes with the label words in prompt.json at the mask/next-token position.');
  }
  return notes;
}
