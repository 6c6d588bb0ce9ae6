import { describe, expect, it } from 'vitest';
import { StudioClient, StudioError } from './StudioClient';
import type { StudioClientOptions, WorkerPort } from './StudioClient';
import { handleRequest } from '../worker/handler';
import type { WorkerApi } from '../worker/handler';
import { fakeWorkerApi } from '../worker/fakeApi';
import type { Checkpoint, Request, TrainingEvent, WorkerEvent } from '../shared/protocol';
import { MAX_RESTARTS_PER_WINDOW } from './recovery';
import { PING_INTERVAL_MS, WORKER_SILENCE_FACTOR, WORKER_SILENCE_MS, type HeartbeatClock } from './heartbeat';

/** A Worker stand-in that runs the real handler on a fake engine, answering asynchronously. */
class LoopbackWorker implements WorkerPort {
  readonly sent: Request[] = [];
  terminated = false;
  /** A worker stuck in a call (or killed without an event): it takes messages and answers none. */
  hung = false;
  private messageListeners: ((event: MessageEvent<WorkerEvent>) => void)[] = [];
  private errorListeners: ((event: Event) => void)[] = [];

  constructor(private readonly api: WorkerApi) {}

  postMessage(message: Request): void {
    this.sent.push(message);
    if (this.hung) return;
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

describe('StudioClient with a respawn factory: a crashed worker is replaced', () => {
  /** A worker per call of the factory, each answering from `apiFor(n)` (n = 1 for the first). */
  function workers(apiFor: (n: number) => WorkerApi, options?: StudioClientOptions) {
    const made: LoopbackWorker[] = [new LoopbackWorker(apiFor(1))];
    const respawn = () => {
      const w = new LoopbackWorker(apiFor(made.length + 1));
      made.push(w);
      return w;
    };
    return { made, client: new StudioClient(made[0], respawn, options) };
  }
  const never = () => new Promise<never>(() => {});
  const sessionApi = (n: number, overrides: Partial<WorkerApi> = {}) =>
    fakeWorkerApi({
      init: () => ({ backend: n === 1 ? 'webgpu' : 'wasm', tfjsVersion: '4.22.0' }),
      loadModel: ({ source }) => ({ id: source.kind === 'url' ? source.id : '?' }) as never,
      loadDataset: ({ source }) => ({ name: source.kind === 'text' ? source.name : '?' }) as never,
      datasetStats: n === 1 ? never : () => ({ kept: n }) as never,
      train: never,
      ping: () => ({ pong: true }),
      ...overrides,
    });
  const model = { source: { kind: 'url' as const, url: 'http://x/m/', id: 'm' } };
  const dataset = { source: { kind: 'text' as const, name: 'd.csv', text: 'a,b\n1,2' } };
  const stats = { task: 'classification' as const, labelColumn: 'b', textColumns: ['a'], valFraction: 0.2, seed: 1 };
  const trainPayload = { runId: 'r', spec: { task: 'generation' as const, template: '{a}', targetColumn: 'b', textColumns: ['a'] }, config: {} as never };

  it('sends the new worker the setup again, then the read-only calls in flight; training is rejected for its caller to resume', async () => {
    const { made, client } = workers((n) => sessionApi(n));
    const restarts: string[] = [];
    client.onRestart((e) => restarts.push(e.phase));
    await client.init(['webgpu', 'wasm']);
    await client.call('loadModel', model);
    await client.call('loadDataset', dataset);
    const pendingStats = client.call('datasetStats', stats);
    const training = client.call('train', trainPayload);
    await new Promise((r) => setTimeout(r, 5));
    made[0].crash('Uncaught Error: boom');
    await expect(training).rejects.toMatchObject({ code: 'worker-crashed', message: 'The worker failed: Uncaught Error: boom; a new worker was started.' });
    await expect(pendingStats).resolves.toEqual({ kept: 2 });
    expect(made[0].terminated).toBe(true);
    expect(made[1].sent.map((r) => r.kind)).toEqual(['init', 'loadModel', 'loadDataset', 'datasetStats']);
    expect(made[1].sent[0].payload).toEqual({ preferredBackends: ['webgpu', 'wasm'] });
    expect(await client.whenRestarted()).toEqual({
      reason: 'the worker failed: Uncaught Error: boom',
      init: { backend: 'wasm', tfjsVersion: '4.22.0' },
      reloaded: [
        { what: 'model', name: 'm' },
        { what: 'dataset', name: 'd.csv' },
      ],
      gaveUp: false,
    });
    expect(restarts).toEqual(['restarting', 'restarted']);
    // The old worker's late events are ignored; the new one answers.
    made[0].emit({ type: 'result', id: 1, kind: 'ping', payload: { pong: true } });
    expect(await client.ping()).toEqual({ pong: true });
  });

  it('a fatal event (a lost GPU) restarts the worker too; calls made meanwhile wait for the setup', async () => {
    let releaseInit!: () => void;
    const { made, client } = workers((n) =>
      sessionApi(n, n === 2 ? { init: () => new Promise((resolve) => (releaseInit = () => resolve({ backend: 'webgpu', tfjsVersion: '4.22.0' }))) } : {}),
    );
    await client.init();
    await client.call('loadModel', model);
    made[0].emit({ type: 'fatal', id: -1, reason: 'the WebGPU device was destroyed' });
    const ping = client.ping();
    await new Promise((r) => setTimeout(r, 5));
    expect(made[1].sent.map((r) => r.kind)).toEqual(['init']); // ping waits for the setup
    releaseInit();
    expect(await ping).toEqual({ pong: true });
    expect(made[1].sent.map((r) => r.kind)).toEqual(['init', 'loadModel', 'ping']);
    expect(await client.whenRestarted()).toMatchObject({ reason: 'the WebGPU device was destroyed', reloaded: [{ what: 'model', name: 'm' }] });
  });

  it('says which part of the setup failed in the new worker', async () => {
    const { made, client } = workers((n) =>
      sessionApi(n, n === 2 ? { loadModel: () => Promise.reject(new Error('HTTP 401')) } : {}),
    );
    await client.init();
    await client.call('loadModel', model);
    await client.call('loadDataset', dataset);
    made[0].crash('x');
    expect(await client.whenRestarted()).toMatchObject({
      reloaded: [
        { what: 'model', name: 'm', error: 'HTTP 401' },
        { what: 'dataset', name: 'd.csv' },
      ],
    });
  });

  it('a worker that keeps crashing is given up: every call fails, and the report says so', async () => {
    const { made, client } = workers((n) => sessionApi(n));
    await client.init();
    for (let i = 0; i < MAX_RESTARTS_PER_WINDOW; i++) {
      made[i].crash(`crash ${i + 1}`);
      expect(await client.whenRestarted()).toMatchObject({ gaveUp: false });
    }
    made[MAX_RESTARTS_PER_WINDOW].crash('once more');
    expect(await client.whenRestarted()).toMatchObject({ gaveUp: true, reason: 'the worker failed: once more' });
    expect(made).toHaveLength(MAX_RESTARTS_PER_WINDOW + 1);
    await expect(client.ping()).rejects.toMatchObject({ code: 'worker-crashed', message: expect.stringContaining('reload the page') });
  });
});

/** Time that moves only when the test says: intervals fire at their due times, in order. */
class FakeClock implements HeartbeatClock {
  private time = 0;
  private nextHandle = 1;
  private readonly intervals = new Map<number, { tick: () => void; ms: number; due: number }>();
  now = () => this.time;
  setInterval = (tick: () => void, ms: number) => {
    const handle = this.nextHandle++;
    this.intervals.set(handle, { tick, ms, due: this.time + ms });
    return handle;
  };
  clearInterval = (handle: unknown) => void this.intervals.delete(handle as number);
  get running(): number {
    return this.intervals.size;
  }

  /** Moves time on by `ms`, firing each interval as it falls due. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = [...this.intervals.entries()].sort((a, b) => a[1].due - b[1].due)[0];
      if (!next || next[1].due > end) break;
      this.time = next[1].due;
      next[1].due += next[1].ms;
      next[1].tick();
    }
    this.time = end;
  }

  /** The page was asleep (a frozen tab): time jumps, and the late interval fires once. */
  sleep(ms: number): void {
    this.time += ms;
    for (const interval of this.intervals.values()) interval.due = this.time;
    this.advance(0);
  }
}

describe('StudioClient heartbeat: a worker that dies without a word is found and replaced', () => {
  /**
   * Lets the loopback workers answer: they answer from a macrotask queued when the request was
   * posted, so a macrotask queued after it runs once that answer (and its promise chain) is done.
   * An ordering, not a wait.
   */
  const settle = () => new Promise((r) => setTimeout(r, 0));
  const never = () => new Promise<never>(() => {});
  function setup(overrides: Partial<WorkerApi> = {}) {
    const clock = new FakeClock();
    const made: LoopbackWorker[] = [];
    const start = () => {
      const w = new LoopbackWorker(fakeWorkerApi({ init: () => ({ backend: 'wasm', tfjsVersion: '4.22.0' }), ping: () => ({ pong: true }), train: never, stopTraining: () => ({ stopped: true }) as never, ...overrides }));
      made.push(w);
      return w;
    };
    const client = new StudioClient(start(), start, { heartbeat: { pingIntervalMs: PING_INTERVAL_MS, silenceMs: WORKER_SILENCE_MS, clock } });
    return { clock, made, client };
  }
  const trainPayload = { runId: 'r', spec: { task: 'generation' as const, template: '{a}', targetColumn: 'b', textColumns: ['a'] }, config: {} as never };
  const pings = (w: LoopbackWorker) => w.sent.filter((r) => r.kind === 'ping').length;

  it('pings while a call is in flight; a worker silent for the limit is replaced, its calls rejected with a clear error', async () => {
    const { clock, made, client } = setup();
    await client.init();
    expect(clock.running).toBe(0); // nothing in flight: no heartbeat
    made[0].hung = true;
    const training = client.call('train', trainPayload);
    const predict = client.call('predict', { texts: ['x'] } as never);
    const stop = client.call('stopTraining', { runId: 'r' });
    const restarts: string[] = [];
    client.onRestart((e) => restarts.push(e.phase === 'restarting' ? e.reason : 'restarted'));
    clock.advance(WORKER_SILENCE_MS - PING_INTERVAL_MS);
    await settle();
    expect(restarts).toEqual([]);
    expect(pings(made[0])).toBe(1); // one ping at a time: a stuck worker would only queue them
    clock.advance(PING_INTERVAL_MS);
    await expect(training).rejects.toMatchObject({ code: 'worker-crashed', message: 'The worker did not answer for 120 s; a new worker was started.' });
    // Any call may be what hung the worker: only control calls are sent to the new one.
    await expect(predict).rejects.toMatchObject({ code: 'worker-crashed' });
    await expect(stop).resolves.toBeDefined();
    expect(restarts).toEqual(['the worker did not answer for 120 s', 'restarted']);
    expect(made[0].terminated).toBe(true);
    expect(made[1].sent.map((r) => r.kind)).toEqual(['init', 'stopTraining']);
    expect(await client.whenRestarted()).toMatchObject({ reason: 'the worker did not answer for 120 s', init: { backend: 'wasm' }, gaveUp: false });
    expect(clock.running).toBe(0); // the old worker's heartbeat is gone, and the new one has nothing in flight
  });

  it('any event counts as an answer: a long run that keeps reporting is never taken for dead', async () => {
    const { clock, made, client } = setup();
    const restarts: unknown[] = [];
    client.onRestart((e) => restarts.push(e));
    void client.call('train', trainPayload).catch(() => {});
    await settle();
    made[0].hung = true; // too busy to answer pings, but it sends a progress event every 100 s
    for (let i = 0; i < 10; i++) {
      clock.advance(100_000);
      made[0].emit({ type: 'progress', id: 1, progress: { stage: 'training' } });
    }
    expect(restarts).toEqual([]);
    expect(made).toHaveLength(1);
  });

  it('the limit grows with the longest silence the worker came back from (long synchronous steps)', async () => {
    const { clock, made, client } = setup();
    const restarts: unknown[] = [];
    client.onRestart((e) => restarts.push(e));
    void client.call('train', trainPayload).catch(() => {});
    await settle();
    made[0].hung = true;
    // A 100 s step, then the worker answers: the limit becomes 4 x 100 s.
    clock.advance(100_000);
    made[0].emit({ type: 'progress', id: 1, progress: { stage: 'training' } });
    clock.advance(WORKER_SILENCE_FACTOR * 100_000 - PING_INTERVAL_MS);
    expect(restarts).toEqual([]);
    clock.advance(PING_INTERVAL_MS);
    await settle();
    expect(restarts).toEqual([{ phase: 'restarting', reason: 'the worker did not answer for 400 s' }, expect.objectContaining({ phase: 'restarted' })]);
  });

  it('a page that was asleep (frozen tab) does not blame the worker for the time it slept; idle time never counts', async () => {
    const { clock, made, client } = setup();
    const restarts: unknown[] = [];
    client.onRestart((e) => restarts.push(e));
    clock.advance(10 * WORKER_SILENCE_MS); // idle: no call in flight
    void client.call('train', trainPayload).catch(() => {});
    await settle();
    clock.sleep(30 * 60_000);
    await settle();
    expect(restarts).toEqual([]);
    expect(made).toHaveLength(1);
    // Once awake, the worker is heard: the silence starts again.
    made[0].emit({ type: 'progress', id: 1, progress: { stage: 'training' } });
    clock.advance(WORKER_SILENCE_MS - PING_INTERVAL_MS);
    expect(restarts).toEqual([]);
  });

  it('without a respawn factory a silent worker closes the client with the same error', async () => {
    const clock = new FakeClock();
    const worker = new LoopbackWorker(fakeWorkerApi({ train: never }));
    worker.hung = true;
    const client = new StudioClient(worker, undefined, { heartbeat: { pingIntervalMs: PING_INTERVAL_MS, silenceMs: WORKER_SILENCE_MS, clock } });
    const training = client.call('train', trainPayload);
    clock.advance(WORKER_SILENCE_MS);
    await expect(training).rejects.toMatchObject({ code: 'worker-crashed', message: 'The worker did not answer for 120 s' });
    await expect(client.ping()).rejects.toMatchObject({ code: 'worker-crashed' });
  });
});
