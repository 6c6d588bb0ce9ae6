import { describe, expect, it } from 'vitest';
import { backendsFromUrl } from './useStudio';

describe('backendsFromUrl', () => {
  it.each([
    { search: '', backends: undefined },
    { search: '?backend=wasm', backends: ['wasm'] },
    { search: '?backend=WASM,%20cpu', backends: ['wasm', 'cpu'] },
    { search: '?backend=cpu,webgpu', backends: ['cpu', 'webgpu'] },
    { search: '?backend=cuda,webgl', backends: ['webgl'] },
    { search: '?backend=cuda', backends: undefined },
    { search: '?other=1', backends: undefined },
  ])('$search -> $backends', ({ search, backends }) => {
    expect(backendsFromUrl(search)).toEqual(backends);
  });
});
