import { describe, expect, it } from 'vitest';
import { StudioClient, StudioError } from './StudioClient';
import type { WorkerPort } from './StudioClient';
import { handleRequest } from '../worker/handler';
import type { WorkerApi } from '../worker/handler';
import { fakeWorkerApi } from '../worker/fakeApi';
import type { Checkpoint, Request, TrainingEvent, WorkerEvent } from '../shared/protocol';

/** A Worker stand-in that runs the real handler on a fake engine, answering asynchronously. */
class LoopbackWorker implements WorkerPort {
  readonly sent: Request[] = [];
  terminated = false;
  private messageListeners: ((event: MessageEvent<WorkerEvent>) => void)[] = [];
  private errorListeners: ((event: Event) => void)[] = [];

  constructor(private readonly api: WorkerApi) {}

  postMessage(message: Request): void {
    this.sent.push(message);
    const copy: unknown = structuredClone(message);
    setTimeout(() => void handleRequest(copy, this.api, (event) => this.emit(event)));
  }

  addEventListener(type: 'message', listener: (event: MessageEvent<WorkerEvent>) => void): void;
  addEventListener(type: 'error', listener: (event: Event) => void): void;
  addEventListener(type: 'message' | 'error', listener: (event: MessageEvent<WorkerEvent>) => void): void {
    if (type === 'message') this.messageListeners.push(listener);
    else this.errorListeners.push(listener as (event: Event) => void);
  }

  terminate(): void {
    this.terminated = true;
  }

  emit(event: unknown): void {
    const data = structuredClone(event) as WorkerEvent;
    this.messageListeners.forEach((listener) => listener({ data } as MessageEvent<WorkerEvent>));
  }

  crash(message: string): void {
    this.errorListeners.forEach((listener) => listener(Object.assign(new Event('error'), { message })));
  }
}

const api: WorkerApi = fakeWorkerApi({
  async init({ preferredBackends }, { progress, metrics }) {
    progress({ stage: 'choosing backend' });
    metrics({ series: 'zeroShot', loss: 0.7, accuracy: 0.5, macroF1: 0.3 });
    if (preferredBackends?.includes('wasm')) throw new Error('wasm binary missing');
    return { backend: 'webgl', fallbackReason: 'webgpu: no adapter', tfjsVersion: '4.22.0' };
  },
  ping: () => ({ pong: true }),
});

describe('StudioClient', () => {
  it('resolves each call with the result for its own id', async () => {
    const worker = new LoopbackWorker(api);
    const client = new StudioClient(worker);
    const [init, ping] = await Promise.all([client.init(), client.ping()]);
    expect(init).toEqual({ backend: 'webgl', fallbackReason: 'webgpu: no adapter', tfjsVersion: '4.22.0' });
    expect(ping).toEqual({ pong: true });
    expect(worker.sent.map((r) => [r.kind, r.id])).toEqual([
      ['init', 1],
      ['ping', 2],
    ]);
  });

  it('rejects with a StudioError carrying the worker error code', async () => {
    const client = new StudioClient(new LoopbackWorker(api));
    const failure = client.init(['wasm']);
    await expect(failure).rejects.toBeInstanceOf(StudioError);
    await expect(failure).rejects.toMatchObject({ code: 'task-failed', kind: 'init', message: 'wasm binary missing' });
  });

  it('rejects a kind the worker does not know with unknown-kind', async () => {
    const client = new StudioClient(new LoopbackWorker(api));
    // A newer UI talking to an older worker: the kind is not in this build's protocol.
    const call = client.call('fineTune' as 'ping', {});
    await expect(call).rejects.toMatchObject({ code: 'unknown-kind', kind: 'fineTune' });
  });

  it('delivers progress and metrics to subscribers until they unsubscribe', async () => {
    const client = new StudioClient(new LoopbackWorker(api));
    const seen: string[] = [];
    const offProgress = client.onProgress((p, id) => seen.push(`progress ${id} ${p.stage}`));
    const offMetrics = client.onMetrics((m, id) => seen.push(`metrics ${id} ${m.series === 'zeroShot' ? m.accuracy : '?'}`));
    await client.init();
    offProgress();
    offMetrics();
    await client.init();
    expect(seen).toEqual(['progress 1 choosing backend', 'metrics 1 0.5']);
  });

  it('hands a call its own progress, metrics and checkpoint events, not another call\'s', async () => {
    const values = { vectors: new Float32Array([1, 2]), numTokens: 1, dim: 2 };
    const worker = new LoopbackWorker(
      fakeWorkerApi({
        async train({ runId }, { progress, metrics, checkpoint }) {
          progress({ stage: `preparing ${runId}` });
          metrics({ series: 'epoch', step: 1, epoch: 1, trainLoss: runId === 'a' ? 1 : 2, valLoss: null, valAccuracy: null, valMacroF1: null });
          checkpoint({ step: 1, epochsDone: 0, values });
          throw new Error(`stopped ${runId}`);
        },
      }),
    );
    const client = new StudioClient(worker);
    const seen: unknown[] = [];
    const listeners = {
      onProgress: (p: { stage: string }) => seen.push(p.stage),
      onMetrics: (m: TrainingEvent) => seen.push(m.series === 'epoch' ? m.trainLoss : NaN),
      onCheckpoint: (c: Checkpoint) => seen.push([c.step, Array.from(c.values.vectors)]),
    };
    const payload = (runId: string) => ({ runId, spec: { task: 'generation' as const, template: '{a}', targetColumn: 'b', textColumns: ['a'] }, config: {} as never });
    const a = client.call('train', payload('a'), listeners);
    const b = client.call('train', payload('b'));
    await expect(a).rejects.toMatchObject({ message: 'stopped a' });
    await expect(b).rejects.toMatchObject({ message: 'stopped b' });
    expect(seen).toEqual(['preparing a', 1, [1, [1, 2]]]);
  });

  it('rejects pending and later calls when the worker crashes', async () => {
    const worker = new LoopbackWorker({ ...api, ping: () => new Promise(() => {}) });
    const client = new StudioClient(worker);
    const pending = client.ping();
    worker.crash('SyntaxError in worker.js');
    await expect(pending).rejects.toMatchObject({ code: 'worker-crashed', message: 'The worker failed: SyntaxError in worker.js' });
    await expect(client.ping()).rejects.toMatchObject({ code: 'worker-crashed' });
  });

  it('dispose terminates the worker and rejects what is pending', async () => {
    const worker = new LoopbackWorker({ ...api, ping: () => new Promise(() => {}) });
    const client = new StudioClient(worker);
    const pending = client.ping();
    client.dispose();
    await expect(pending).rejects.toMatchObject({ code: 'closed' });
    expect(worker.terminated).toBe(true);
  });

  it('ignores events for ids it never sent', async () => {
    const worker = new LoopbackWorker(api);
    const client = new StudioClient(worker);
    worker.emit({ type: 'result', id: 99, kind: 'ping', payload: { pong: true } });
    expect(await client.ping()).toEqual({ pong: true });
  });
});
