import { describe, expect, it } from 'vitest';
import { inspectCheckpoint, judge, trainingMemory, type DeviceLimits } from './hubInspect';
import { memFolder } from './testing/hfCheckpoint';
import { formatBytes } from '../shared/format';
import type { TensorInfo } from './safetensors';
import type { TransformerConfig } from './types';

const bertBase = { modelType: 'bert', lmKind: 'masked-lm', vocabSize: 30522, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, maxPositions: 512 } as TransformerConfig;
const tensor = (name: string, shape: number[]): TensorInfo => ({ name, dtype: 'F16', shape, begin: 0, end: 0 });

describe('trainingMemory', () => {
  it('counts float32 weights, activations for batch 16 x 128 tokens, and masked-LM logits', () => {
    const m = trainingMemory(bertBase, [tensor('emb', [30522, 768]), tensor('b', [768])]);
    expect(m.weightBytes).toBe(4 * (30522 * 768 + 768)); // F16 on disk, float32 in memory
    expect(m.sequenceLength).toBe(128);
    expect(m.activationBytes).toBe(4 * 16 * 128 * 12 * (8 * 768 + 2 * 3072 + 2 * 12 * 128));
    expect(m.logitBytes).toBe(2 * 4 * 16 * 30522);
    expect(m.totalBytes).toBe(m.weightBytes + m.activationBytes + m.logitBytes);
    // The [V, H] table is split by rows across bindings (vocabShards.ts): the largest single operand is the attention.
    expect(m.largest).toEqual({ name: 'attention probabilities', bytes: 4 * 16 * 12 * 128 * 128 });
  });

  it('counts a non-vocabulary tensor as one GPU operand, however the vocabulary tables compare', () => {
    const m = trainingMemory(bertBase, [tensor('emb', [30522, 768]), tensor('mlp', [3072, 768 * 16])]);
    expect(m.largest).toEqual({ name: 'mlp', bytes: 4 * 3072 * 768 * 16 });
  });

  it('scores every position of a causal LM and caps the sequence at its positions', () => {
    const gpt = { ...bertBase, modelType: 'gpt2', lmKind: 'causal-lm', vocabSize: 50257, maxPositions: 64 } as TransformerConfig;
    const m = trainingMemory(gpt, [tensor('wte', [50257, 768])]);
    expect(m.sequenceLength).toBe(64);
    expect(m.logitBytes).toBe(2 * 4 * 16 * 64 * 50257);
    expect(m.largest).toEqual({ name: 'logits', bytes: 4 * 16 * 64 * 50257 });
  });
});

describe('judge', () => {
  const memory = trainingMemory(bertBase, [tensor('emb', [30522, 768]), tensor('mlp', [3072, 768 * 10])]);
  const gpu = (maxStorageBufferBindingSize: number): DeviceLimits => ({ backend: 'webgpu', maxBufferSize: 2 ** 32, maxStorageBufferBindingSize });

  it.each([
    { limits: gpu(2 ** 30), warnings: 0, blocked: false },
    { limits: gpu(64 * 2 ** 20), warnings: 1, blocked: true }, // 90 MiB MLP weight > 64 MiB (the 89 MiB embedding is split)
    { limits: { backend: 'wasm', maxStorageBufferBindingSize: 1 }, warnings: 0, blocked: false }, // not a GPU backend
    { limits: { backend: 'wasm', deviceMemoryBytes: 2 ** 30 }, warnings: 1, blocked: false },
  ])('$limits', ({ limits, warnings, blocked }) => {
    const verdict = judge(memory, limits);
    expect(verdict.warnings).toHaveLength(warnings);
    expect(verdict.blocker !== undefined).toBe(blocked);
  });

  it('says which limit and what to do', () => {
    expect(judge(memory, gpu(64 * 2 ** 20)).blocker).toBe(
      'mlp needs 90.0 MiB in one GPU buffer, more than this GPU adapter allows (maxStorageBufferBindingSize 64.0 MiB): it cannot run on WebGPU here. Use a smaller model or another backend (?backend=wasm).',
    );
    expect(judge(memory, { backend: 'cpu', deviceMemoryBytes: 2 ** 30 }).warnings[0]).toMatch(/^Training needs about 1\.6 GiB \(batch 16, 128 tokens\), more than this device reports \(1\.0 GiB\)/);
  });

  it('only warns when the logits are what does not fit (a smaller batch helps)', () => {
    const gpt = trainingMemory({ ...bertBase, lmKind: 'causal-lm', vocabSize: 50257 } as TransformerConfig, [tensor('wte', [50257, 768])]);
    const verdict = judge(gpt, gpu(2 ** 28));
    expect(verdict.warnings[0]).toMatch(/^logits needs 393 MiB in one GPU buffer/);
    expect(verdict.blocker).toBeUndefined();
  });
});

describe('inspectCheckpoint on a sharded BF16 checkpoint', () => {
  // A Llama-style config and its weights as published: BF16, in two shards named by the index.
  const H = 64, I = 128, V = 1000, L = 2, KV = 2, D = 16;
  const config = {
    model_type: 'llama', vocab_size: V, hidden_size: H, intermediate_size: I, num_hidden_layers: L, num_attention_heads: 4,
    num_key_value_heads: KV, max_position_embeddings: 256, rms_norm_eps: 1e-5, tie_word_embeddings: false, torch_dtype: 'bfloat16',
  };
  const layer = (l: number): [string, number[]][] => [
    [`model.layers.${l}.self_attn.q_proj.weight`, [H, H]], [`model.layers.${l}.self_attn.k_proj.weight`, [KV * D, H]],
    [`model.layers.${l}.self_attn.v_proj.weight`, [KV * D, H]], [`model.layers.${l}.self_attn.o_proj.weight`, [H, H]],
    [`model.layers.${l}.mlp.gate_proj.weight`, [I, H]], [`model.layers.${l}.mlp.up_proj.weight`, [I, H]], [`model.layers.${l}.mlp.down_proj.weight`, [H, I]],
    [`model.layers.${l}.input_layernorm.weight`, [H]], [`model.layers.${l}.post_attention_layernorm.weight`, [H]],
  ];
  const shards: [string, number[]][][] = [
    [['model.embed_tokens.weight', [V, H]], ...layer(0)],
    [...layer(1), ['model.norm.weight', [H]], ['lm_head.weight', [V, H]]],
  ];
  const count = (shape: number[]) => shape.reduce((a, d) => a * d, 1);
  /** A safetensors file with these BF16 tensors (zero data: only the header is read). */
  const bf16File = (tensors: [string, number[]][]): Uint8Array => {
    const header: Record<string, unknown> = {};
    let offset = 0;
    for (const [name, shape] of tensors) {
      header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + 2 * count(shape)] };
      offset += 2 * count(shape);
    }
    const json = new TextEncoder().encode(JSON.stringify(header).padEnd(8 * Math.ceil(JSON.stringify(header).length / 8)));
    const out = new Uint8Array(8 + json.length + offset);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const parameters = shards.flat().reduce((n, [, shape]) => n + count(shape), 0);
  const files = new Map<string, Uint8Array>([
    ['config.json', new TextEncoder().encode(JSON.stringify(config))],
    [
      'model.safetensors.index.json',
      new TextEncoder().encode(
        JSON.stringify({ metadata: { total_size: 2 * parameters }, weight_map: Object.fromEntries(shards.flatMap((s, i) => s.map(([n]) => [n, names[i]]))) }),
      ),
    ],
    [names[0], bf16File(shards[0])],
    [names[1], bf16File(shards[1])],
  ]);

  it('counts every shard, and the weights as float32: twice their BF16 size', async () => {
    const inspection = await inspectCheckpoint(memFolder(files), { backend: 'webgpu' });
    expect(inspection.weightFiles).toEqual(names);
    expect(inspection.parameters).toBe(2 * V * H + L * (2 * H * H + 2 * KV * D * H + 3 * H * I + 2 * H) + H);
    expect(inspection.parameters).toBe(parameters);
    expect(inspection.storedDtypes).toEqual(['BF16']);
    expect(inspection.memory.weightBytes).toBe(4 * parameters);
    // The stored data (the index's total_size, 2 bytes a weight) doubles; the files add only their headers.
    expect(inspection.memory.weightBytes).toBe(2 * (2 * parameters));
    expect(inspection.weightFileBytes).toBe(files.get(names[0])!.length + files.get(names[1])!.length);
    // SwiGLU keeps three I-wide activations per token and layer.
    const T = 128;
    expect(inspection.memory.activationBytes).toBe(4 * 16 * T * L * (8 * H + 3 * I + 2 * 4 * T));
    expect(inspection.blocker).toBeUndefined();
  });

  it('refuses with the numbers when the float32 weights exceed the memory limit', async () => {
    const weights = 4 * parameters; // 789 KiB
    const small = await inspectCheckpoint(memFolder(files), { backend: 'cpu', deviceMemoryBytes: 2 ** 19 });
    expect(small.blocker).toBe(
      `This model will not fit: the weights need ${formatBytes(weights)} as float32 on the device, more than the ${formatBytes(2 ** 19)} of memory this device reports ` +
        `(training needs about ${formatBytes(small.memory.totalBytes)} in all). Use a smaller model.`,
    );
    expect(small.warnings).toContain(small.blocker);
  });
});

describe('judge: memory limits', () => {
  const weightsOf = (bytes: number) => ({ ...trainingMemory(bertBase, []), weightBytes: bytes, totalBytes: bytes + 2 ** 30 });
  it.each([
    // wasm: 32-bit memory, 4 GiB at most: 4.9 GB of float32 weights (Llama-3.2-1B) cannot load there.
    { limits: { backend: 'wasm' }, weightBytes: 4.94e9, blocked: /more than the wasm backend's 4\.0 GiB memory limit.*Use a smaller model or WebGPU\./ },
    { limits: { backend: 'wasm' }, weightBytes: 3.5e9, blocked: null, warning: /Training needs about .* more than the wasm backend's 4\.0 GiB memory limit/ },
    { limits: { backend: 'webgpu', deviceMemoryBytes: 4 * 2 ** 30 }, weightBytes: 4.94e9, blocked: /more than the 4\.0 GiB of memory this device reports/ },
    // 8 GiB is Chromium's cap, "at least 8 GiB": a warning, not a refusal.
    { limits: { backend: 'webgpu', deviceMemoryBytes: 8 * 2 ** 30 }, weightBytes: 12.8e9, blocked: null, warning: /more than this device reports \(8\.0 GiB\)/ },
  ])('$limits.backend, $limits.deviceMemoryBytes, weights $weightBytes', ({ limits, weightBytes, blocked, warning }) => {
    const verdict = judge(weightsOf(weightBytes), limits as DeviceLimits);
    if (blocked) expect(verdict.blocker).toMatch(blocked);
    else expect(verdict.blocker).toBeUndefined();
    if (warning) expect(verdict.warnings.join('\n')).toMatch(warning);
  });
});
