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
    { modelType: 'llama', taskType: 'CAUSAL_LM' },
    { modelType: 'mistral', taskType: 'CAUSAL_LM' },
    { modelType: 'qwen2', taskType: 'CAUSAL_LM' },
    { modelType: 'qwen3', taskType: 'CAUSAL_LM' },
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

describe('PEFT adapters of the other prompt methods', () => {
  const model = { ...baseMeta().model, numLayers: 2, numHeads: 2, id: 'bert-tiny' };

  it('P-tuning: a P_TUNING config (MLP encoder fields) over the encoder output [N, H]', () => {
    const meta = baseMeta({ model, method: 'p-tuning', encoderHiddenSize: 7 });
    const config = JSON.parse(peftAdapterConfigJson(makePrompt(), meta));
    expect(config).toEqual({
      auto_mapping: null,
      base_model_name_or_path: 'bert-tiny',
      encoder_dropout: 0,
      encoder_hidden_size: 7,
      encoder_num_layers: 2,
      encoder_reparameterization_type: 'MLP',
      inference_mode: true,
      num_attention_heads: 2,
      num_layers: 2,
      num_transformer_submodules: 1,
      num_virtual_tokens: N,
      peft_type: 'P_TUNING',
      revision: null,
      task_type: 'FEATURE_EXTRACTION',
      token_dim: H,
    });
    expect(peftExportNotes(meta).join(' ')).toMatch(/prompt encoder is not in the PEFT adapter .* encoder\.safetensors/);
  });

  it('P-tuning with the LSTM encoder: encoder_reparameterization_type LSTM, 2 layers', () => {
    const meta = baseMeta({ model, method: 'p-tuning', encoderHiddenSize: 3, encoderType: 'lstm' });
    const config = JSON.parse(peftAdapterConfigJson(makePrompt(), meta));
    expect(config).toMatchObject({ peft_type: 'P_TUNING', encoder_reparameterization_type: 'LSTM', encoder_num_layers: 2, encoder_hidden_size: 3, token_dim: H });
    expect(() => peftAdapterConfigJson(makePrompt(), baseMeta({ model, method: 'p-tuning', encoderType: 'gru' as 'lstm' }))).toThrow('encoderType "gru" is not one of mlp, lstm');
  });

  it('prefix tuning: a PREFIX_TUNING config and prompt_embeddings [N, L x 2 x H], PEFT past_key_values layout', async () => {
    const width = 2 * 2 * H;
    const prompt = makePrompt(N, width);
    const meta = baseMeta({ model, method: 'prefix' });
    const config = JSON.parse(peftAdapterConfigJson(prompt, meta));
    expect(config).toMatchObject({ peft_type: 'PREFIX_TUNING', prefix_projection: false, encoder_hidden_size: H, token_dim: H, num_layers: 2, num_attention_heads: 2, num_virtual_tokens: N });
    expect(Object.keys(config)).not.toContain('prompt_tuning_init');
    const { info } = await safetensorsContents(peftAdapterSafetensors(prompt));
    expect(info.shape).toEqual([N, width]);
    expect(peftExportNotes(meta).join(' ')).toMatch(/past_key_values/);
    expect(peftExportNotes({ ...meta, model: { ...model, modelType: 'distilbert' } }).join(' ')).toMatch(/DistilBERT takes no past_key_values/);
  });

  it('grouped-query attention (qwen3: 4 query heads, 2 key/value heads of head_dim 3): the prefix and its config are the key/value heads wide', async () => {
    const gqa = { ...model, modelType: 'qwen3' as const, numHeads: 4, numKeyValueHeads: 2, headDim: 3 };
    const width = 2 * 2 * (2 * 3); // layers x (key, value) x key/value heads x head dim
    const prompt = makePrompt(N, width);
    const config = JSON.parse(peftAdapterConfigJson(prompt, baseMeta({ model: gqa, method: 'prefix' })));
    // What PEFT's _prepare_prompt_learning_config leaves unchanged (token_dim // heads * kv heads = 6, heads = 2)
    // and what its get_prompt needs: [N, layers x 2, 2 heads, token_dim / 2 = head dim 3].
    expect(config).toMatchObject({ peft_type: 'PREFIX_TUNING', task_type: 'CAUSAL_LM', token_dim: 6, num_attention_heads: 2, num_layers: 2 });
    expect((config.token_dim / config.num_attention_heads) * config.num_attention_heads * 2 * config.num_layers).toBe(width);
    const { info } = await safetensorsContents(peftAdapterSafetensors(prompt));
    expect(info.shape).toEqual([N, width]);
    // A prefix as wide as the full hidden size is refused, naming the key/value heads.
    expect(() => peftAdapterConfig(makePrompt(N, 2 * 2 * H), baseMeta({ model: gqa, method: 'prefix' }))).toThrow(/numLayers x 2 x numKeyValueHeads x headDim = 2 x 2 x 2 x 3 = 24 values per virtual token, but these vectors have 16/);
    expect(peftExportNotes(baseMeta({ model: gqa, method: 'prefix' })).join(' ')).toMatch(/2 key\/value heads \(grouped-query attention\)/);
    // Prompt tuning on the same model: token_dim is the hidden size and the heads are the query heads.
    expect(JSON.parse(peftAdapterConfigJson(makePrompt(), baseMeta({ model: gqa })))).toMatchObject({ peft_type: 'PROMPT_TUNING', task_type: 'CAUSAL_LM', token_dim: H, num_attention_heads: 4 });
  });

  it('refuses a prefix whose width is not layers x 2 x hidden, and a plain prompt that is as wide', () => {
    expect(() => peftAdapterConfig(makePrompt(N, 3 * H), baseMeta({ model, method: 'prefix' }))).toThrow(/numLayers x 2 x hiddenSize = 16 values per virtual token, but these vectors have 12/);
    expect(() => peftAdapterConfig(makePrompt(N, 4 * H), baseMeta({ model }))).toThrow(/hiddenSize is 4 but the prompt vectors are 16-dimensional/);
  });
});
