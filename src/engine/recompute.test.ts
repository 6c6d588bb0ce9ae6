import { describe, expect, it } from 'vitest';
import { keptActivationBytes } from '../model/memory';
import { AUTO_RECOMPUTE_ABOVE_BYTES, recomputeLayersFor } from './tune';

const bertBase = { hiddenSize: 768, hiddenAct: 'gelu', intermediateSize: 3072, numHeads: 12, numLayers: 12 } as const;
const tiny = { hiddenSize: 128, hiddenAct: 'gelu', intermediateSize: 512, numHeads: 4, numLayers: 4 } as const;

describe('recomputeLayersFor', () => {
  it('estimates kept activations per layer from the shapes (8H + 2I + 2 x heads x T floats per token)', () => {
    expect(keptActivationBytes(bertBase, 8, 128)).toBe(4 * 8 * 128 * 12 * (8 * 768 + 2 * 3072 + 2 * 12 * 128));
    expect(keptActivationBytes({ ...tiny, hiddenAct: 'silu' }, 1, 10)).toBe(4 * 10 * 4 * (8 * 128 + 3 * 512 + 2 * 4 * 10));
  });

  it.each([
    { what: 'BERT-base, batch 8, 512 positions, wasm (aborts with every activation kept)', model: bertBase, batchSize: 8, T: 512, backend: 'wasm', on: true },
    { what: 'BERT-base, batch 2, 128 positions, wasm', model: bertBase, batchSize: 2, T: 128, backend: 'wasm', on: false },
    { what: 'the tiny model, batch 16, 128 positions, wasm', model: tiny, batchSize: 16, T: 128, backend: 'wasm', on: false },
    { what: 'BERT-base, batch 4, 512 positions, WebGPU (more room)', model: bertBase, batchSize: 4, T: 512, backend: 'webgpu', on: false },
    { what: 'BERT-base, batch 32, 512 positions, WebGPU', model: bertBase, batchSize: 32, T: 512, backend: 'webgpu', on: true },
  ])('auto: $what -> $on', ({ model, batchSize, T, backend, on }) => {
    expect(recomputeLayersFor(model, { batchSize }, T, backend)).toBe(on);
    // The threshold is what decides: the estimate is on the side of it the answer says.
    const limit = AUTO_RECOMPUTE_ABOVE_BYTES[backend === 'webgpu' ? 'webgpu' : 'other'];
    expect(keptActivationBytes(model, batchSize, T) > limit).toBe(on);
  });

  it('a run that says keeps its choice either way', () => {
    expect(recomputeLayersFor(bertBase, { batchSize: 8, recomputeLayers: false }, 512, 'wasm')).toBe(false);
    expect(recomputeLayersFor(tiny, { batchSize: 1, recomputeLayers: true }, 8, 'wasm')).toBe(true);
  });
});
