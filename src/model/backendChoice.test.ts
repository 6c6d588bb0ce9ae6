import { describe, expect, it } from 'vitest';
import { chooseBackend, defaultBackendOrder, describeFailures } from './backendChoice';
type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** An attempt that fails with the given reason for each listed backend and works otherwise. */
function attemptFailing(reasons: Partial<Record<BackendName, string>>) {
  const tried: BackendName[] = [];
  const attempt = async (name: BackendName) => {
    tried.push(name);
    const reason = reasons[name];
    if (reason !== undefined) throw new Error(reason);
  };
  return { attempt, tried };
}

describe('chooseBackend', () => {
  it.each([
    { reasons: {}, backend: 'webgpu', failures: [] },
    {
      reasons: { webgpu: 'navigator.gpu missing' },
      backend: 'webgl',
      failures: [{ backend: 'webgpu', reason: 'navigator.gpu missing' }],
    },
    {
      reasons: { webgpu: 'no adapter', webgl: 'OffscreenCanvas missing', wasm: 'WebAssembly missing' },
      backend: 'cpu',
      failures: [
        { backend: 'webgpu', reason: 'no adapter' },
        { backend: 'webgl', reason: 'OffscreenCanvas missing' },
        { backend: 'wasm', reason: 'WebAssembly missing' },
      ],
    },
  ] as const)('falls back past $failures.length failing backends to $backend', async ({ reasons, backend, failures }) => {
    const { attempt, tried } = attemptFailing(reasons);
    const choice = await chooseBackend(['webgpu', 'webgl', 'wasm', 'cpu'], attempt);
    expect(choice).toEqual({ backend, failures });
    expect(tried.at(-1)).toBe(backend);
  });

  it('tries only the preferred backends, in their order', async () => {
    const { attempt, tried } = attemptFailing({ cpu: 'nope' });
    expect(await chooseBackend(['cpu', 'wasm'], attempt)).toEqual({
      backend: 'wasm',
      failures: [{ backend: 'cpu', reason: 'nope' }],
    });
    expect(tried).toEqual(['cpu', 'wasm']);
  });

  it('throws naming every failure when none works', async () => {
    const { attempt } = attemptFailing({ webgl: 'no context', cpu: 'broken' });
    await expect(chooseBackend(['webgl', 'cpu'], attempt)).rejects.toThrow(
      'No tfjs backend works here: webgl: no context; cpu: broken',
    );
  });

  it('gives up on an attempt that hangs and moves on', async () => {
    const attempt = (name: BackendName) => (name === 'webgpu' ? new Promise<void>(() => {}) : Promise.resolve());
    expect(await chooseBackend(['webgpu', 'cpu'], attempt, 20)).toEqual({
      backend: 'cpu',
      failures: [{ backend: 'webgpu', reason: 'webgpu did not initialise within 20 ms' }],
    });
  });
});

describe('describeFailures', () => {
  it('joins backend and reason pairs', () => {
    expect(
      describeFailures([
        { backend: 'webgpu', reason: 'no adapter' },
        { backend: 'webgl', reason: 'x' },
      ]),
    ).toBe('webgpu: no adapter; webgl: x');
  });
});

describe('defaultBackendOrder', () => {
  const ALL = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
  it.each([
    { adapter: null, order: ['webgpu', 'webgl', 'wasm', 'cpu'], why: 'no adapter: as given' },
    { adapter: { software: false }, order: ['webgpu', 'webgl', 'wasm', 'cpu'], why: 'a hardware adapter: WebGPU first' },
    { adapter: { software: true }, order: ['wasm', 'webgpu', 'webgl', 'cpu'], why: 'a software adapter: wasm first, WebGPU next' },
  ])('$why', ({ adapter, order }) => {
    expect(defaultBackendOrder(ALL, adapter)).toEqual(order);
  });

  it('a list without wasm is left as it is', () => {
    expect(defaultBackendOrder(['webgpu', 'cpu'] as const, { software: true })).toEqual(['webgpu', 'cpu']);
  });
});
