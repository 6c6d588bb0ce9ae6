import { describe, expect, it } from 'vitest';
import { importPrompt } from './bundle';
import { peftAdapterConfig, peftAdapterConfigJson, peftAdapterSafetensors, peftExportNotes, peftTaskType } from './peft';
import { baseMeta, bits, generationMeta, H, headMeta, makePrompt, N, safetensorsContents } from './testing';

describe('PEFT adapter', () => {
  it.each([
    { modelType: 'bert', taskType: 'FEATURE_EXTRACTION' },
    { modelType: 'distilbert', taskType: 'FEATURE_EXTRACTION' },
    { modelType: 'roberta', taskType: 'FEATURE_EXTRACTION' },
    { modelType: 'gpt2', taskType: 'CAUSAL_LM' },
  ] as const)('task_type for $modelType is $taskType', ({ modelType, taskType }) => {
    expect(peftTaskType(modelType)).toBe(taskType);
    const meta = baseMeta({ model: { ...baseMeta().model, modelType } });
    expect(peftAdapterConfig(makePrompt(), meta).task_type).toBe(taskType);
  });

  it('adapter_config.json has every PromptTuningConfig field, sorted and formatted as PEFT writes it', () => {
    const meta = baseMeta({ model: { ...baseMeta().model, numLayers: 12, numHeads: 6, id: 'bert-base-uncased' } });
    const json = peftAdapterConfigJson(makePrompt(), meta);
    expect(JSON.parse(json)).toEqual({
      auto_mapping: null,
      base_model_name_or_path: 'bert-base-uncased',
      inference_mode: true,
      num_attention_heads: 6,
      num_layers: 12,
      num_transformer_submodules: 1,
      num_virtual_tokens: N,
      peft_type: 'PROMPT_TUNING',
      prompt_tuning_init: 'RANDOM',
      prompt_tuning_init_text: null,
      revision: null,
      task_type: 'FEATURE_EXTRACTION',
      token_dim: H,
      tokenizer_kwargs: null,
      tokenizer_name_or_path: null,
    });
    // json.dumps(indent=2, sort_keys=True): keys in order, 2-space indent, no trailing newline.
    const keys = [...json.matchAll(/^ {2}"([a-z_]+)":/gm)].map((m) => m[1]);
    expect(keys).toEqual([...keys].sort());
    expect(keys).toHaveLength(15);
    expect(json.startsWith('{\n  "auto_mapping": null,\n  "base_model_name_or_path": "bert-base-uncased",\n')).toBe(true);
    expect(json.endsWith('"tokenizer_name_or_path": null\n}')).toBe(true);
  });

  it('escapes non-ASCII like Python json.dumps', () => {
    const meta = baseMeta({ model: { ...baseMeta().model, id: 'modèles/bert' } });
    const json = peftAdapterConfigJson(makePrompt(), meta);
    expect(json).toContain('"base_model_name_or_path": "mod\\u00e8les/bert"');
    expect(/[^\x00-\x7f]/.test(json)).toBe(false);
  });

  it('adapter_model.safetensors holds only prompt_embeddings [N, H] F32 with metadata {format: pt}', async () => {
    const prompt = makePrompt();
    const { header, info, data } = await safetensorsContents(peftAdapterSafetensors(prompt));
    expect([...header.tensors.keys()]).toEqual(['prompt_embeddings']);
    expect([info.dtype, info.shape]).toEqual(['F32', [N, H]]);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(bits(data!)).toEqual(bits(prompt.vectors));
    const imported = await importPrompt('adapter_model.safetensors', peftAdapterSafetensors(prompt));
    expect(bits(imported.vectors)).toEqual(bits(prompt.vectors));
    expect(imported.metadata).toBeNull();
  });

  it('notes where PEFT differs from how the prompt was tuned', () => {
    expect(peftExportNotes(baseMeta()).join(' ')).toMatch(/tuned right after \[CLS\]\/BOS/);
    expect(peftExportNotes(baseMeta({ placement: 'template' })).join(' ')).toMatch(/does not reproduce/);
    expect(peftExportNotes(headMeta()).join(' ')).toMatch(/label head is not part of the PEFT adapter/);
    expect(peftExportNotes(generationMeta())).toEqual([]);
  });
});
