import { describe, expect, it } from 'vitest';
import { handleRequest } from './handler';
import type { WorkerApi } from './handler';
import { fakeWorkerApi } from './fakeApi';
import type { WorkerEvent } from '../shared/protocol';

/** A fake engine: init reports progress and metrics, then answers; a wasm-only request fails. */
function fakeApi(): WorkerApi {
  return fakeWorkerApi({
    async init({ preferredBackends }, { progress, metrics }) {
      progress({ stage: 'choosing backend', fraction: 0.5 });
      metrics({ series: 'zeroShot', loss: 0.25, accuracy: 0.5, macroF1: 0.5 });
      if (preferredBackends?.[0] === 'wasm') throw new TypeError('wasm exploded');
      return { backend: preferredBackends?.[0] ?? 'webgpu', tfjsVersion: '0.0.0-fake' };
    },
    ping: () => ({ pong: true }),
  });
}

async function run(message: unknown, api: WorkerApi = fakeApi()): Promise<WorkerEvent[]> {
  const events: WorkerEvent[] = [];
  await handleRequest(message, api, (event) => events.push(event));
  return events;
}

describe('handleRequest', () => {
  it('answers ping with a result carrying the request id', async () => {
    expect(await run({ kind: 'ping', id: 7, payload: {} })).toEqual([
      { type: 'result', id: 7, kind: 'ping', payload: { pong: true } },
    ]);
  });

  it('posts progress and metrics with the request id before the result', async () => {
    const events = await run({ kind: 'init', id: 3, payload: { preferredBackends: ['cpu'] } });
    expect(events).toEqual([
      { type: 'progress', id: 3, progress: { stage: 'choosing backend', fraction: 0.5 } },
      { type: 'metrics', id: 3, metrics: { series: 'zeroShot', loss: 0.25, accuracy: 0.5, macroF1: 0.5 } },
      { type: 'result', id: 3, kind: 'init', payload: { backend: 'cpu', tfjsVersion: '0.0.0-fake' } },
    ]);
  });

  it('posts checkpoint events with the request id', async () => {
    const values = { vectors: new Float32Array([0.25, -0.5]), numTokens: 1, dim: 2 };
    const api = fakeWorkerApi({
      async stopTraining({ runId }, { checkpoint }) {
        checkpoint({ step: 4, epochsDone: 1, values });
        return { runId, state: 'stopping' };
      },
    });
    expect(await run({ kind: 'stopTraining', id: 11, payload: { runId: 'r' } }, api)).toEqual([
      { type: 'checkpoint', id: 11, checkpoint: { step: 4, epochsDone: 1, values } },
      { type: 'result', id: 11, kind: 'stopTraining', payload: { runId: 'r', state: 'stopping' } },
    ]);
  });

  it('turns a thrown error into a typed task-failed error', async () => {
    const events = await run({ kind: 'init', id: 4, payload: { preferredBackends: ['wasm'] } });
    const last = events.at(-1);
    expect(last).toMatchObject({
      type: 'error',
      id: 4,
      kind: 'init',
      error: { code: 'task-failed', name: 'TypeError', message: 'wasm exploded' },
    });
    expect(events.filter((e) => e.type === 'result')).toEqual([]);
  });

  it('reports a non-Error throw without losing it', async () => {
    const api: WorkerApi = { ...fakeApi(), ping: () => Promise.reject({ why: 'no' }) };
    expect(await run({ kind: 'ping', id: 5, payload: {} }, api)).toEqual([
      { type: 'error', id: 5, kind: 'ping', error: { code: 'task-failed', message: 'Non-Error thrown: {"why":"no"}' } },
    ]);
  });

  it.each(['fineTune', 'toString', '__proto__', ''])('rejects unknown kind %j', async (kind) => {
    expect(await run({ kind, id: 9, payload: {} })).toEqual([
      { type: 'error', id: 9, kind, error: { code: 'unknown-kind', message: `Unknown request kind "${kind}".` } },
    ]);
  });

  it.each([
    { message: null, id: -1 },
    { message: 'ping', id: -1 },
    { message: { kind: 'ping', payload: {} }, id: -1 },
    { message: { kind: 42, id: 8, payload: {} }, id: 8 },
  ])('rejects malformed message $message as bad-request', async ({ message, id }) => {
    const events = await run(message);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', id, error: { code: 'bad-request' } });
  });

  it('keeps concurrent requests apart by id', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const api: WorkerApi = {
      ...fakeApi(),
      async init() {
        await gate;
        return { backend: 'webgl', tfjsVersion: 'x' };
      },
    };
    const events: WorkerEvent[] = [];
    const slow = handleRequest({ kind: 'init', id: 1, payload: {} }, api, (e) => events.push(e));
    await handleRequest({ kind: 'ping', id: 2, payload: {} }, api, (e) => events.push(e));
    release();
    await slow;
    expect(events.map((e) => [e.type, e.id])).toEqual([
      ['result', 2],
      ['result', 1],
    ]);
  });
});
