import { describe, expect, it } from 'vitest';
import { judge, trainingMemory, type DeviceLimits } from './hubInspect';
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
    expect(m.largest).toEqual({ name: 'emb', bytes: 4 * 30522 * 768 });
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
  const memory = trainingMemory(bertBase, [tensor('emb', [30522, 768])]);
  const gpu = (maxStorageBufferBindingSize: number): DeviceLimits => ({ backend: 'webgpu', maxBufferSize: 2 ** 32, maxStorageBufferBindingSize });

  it.each([
    { limits: gpu(2 ** 30), warnings: 0, blocked: false },
    { limits: gpu(64 * 2 ** 20), warnings: 1, blocked: true }, // 89 MiB embedding > 64 MiB
    { limits: { backend: 'wasm', maxStorageBufferBindingSize: 1 }, warnings: 0, blocked: false }, // not a GPU backend
    { limits: { backend: 'wasm', deviceMemoryBytes: 2 ** 30 }, warnings: 1, blocked: false },
  ])('$limits', ({ limits, warnings, blocked }) => {
    const verdict = judge(memory, limits);
    expect(verdict.warnings).toHaveLength(warnings);
    expect(verdict.blocker !== undefined).toBe(blocked);
  });

  it('says which limit and what to do', () => {
    expect(judge(memory, gpu(64 * 2 ** 20)).blocker).toBe(
      'emb needs 89.4 MiB in one GPU buffer, more than this GPU adapter allows (maxStorageBufferBindingSize 64.0 MiB): it cannot run on WebGPU here. Use a smaller model or another backend (?backend=wasm).',
    );
    expect(judge(memory, { backend: 'cpu', deviceMemoryBytes: 2 ** 30 }).warnings[0]).toMatch(/^Training needs about 1\.5 GiB \(batch 16, 128 tokens\), more than this device reports \(1\.0 GiB\)/);
  });

  it('only warns when the logits are what does not fit (a smaller batch helps)', () => {
    const gpt = trainingMemory({ ...bertBase, lmKind: 'causal-lm', vocabSize: 50257 } as TransformerConfig, [tensor('wte', [50257, 768])]);
    const verdict = judge(gpt, gpu(2 ** 28));
    expect(verdict.warnings[0]).toMatch(/^logits needs 393 MiB in one GPU buffer/);
    expect(verdict.blocker).toBeUndefined();
  });
});
