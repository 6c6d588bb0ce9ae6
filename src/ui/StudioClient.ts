import type {
  BackendName,
  Checkpoint,
  DatasetInfo,
  ErrorCode,
  FaultPanel,
  InitResult,
  ModelSummary,
  Progress,
  Request,
  RequestId,
  RequestKind,
  RequestPayload,
  RequestResult,
  TrainingEvent,
  WorkerEvent,
} from '../shared/protocol';
import { mayRestartWorker, RESTART_WINDOW_MS } from './recovery';
import { DEFAULT_HEARTBEAT, WorkerHeartbeat, type HeartbeatOptions } from './heartbeat';

/** The part of `Worker` the client uses, so tests can pass a fake. */
export interface WorkerPort {
  postMessage(message: Request): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<WorkerEvent>) => void): void;
  addEventListener(type: 'error', listener: (event: Event) => void): void;
  terminate(): void;
}

/** A request the worker refused or failed; `code` says which (see `ErrorCode`). */
export class StudioError extends Error {
  constructor(
    readonly code: ErrorCode | 'worker-crashed' | 'closed',
    message: string,
    readonly kind?: string,
  ) {
    super(message);
    this.name = 'StudioError';
  }
}

export type ProgressListener = (progress: Progress, id: RequestId) => void;
export type MetricsListener = (metrics: TrainingEvent, id: RequestId) => void;

/** Starts a new worker, for the client to use once the current one has crashed. */
export type WorkerFactory = () => WorkerPort;

/**
 * The requests that set up the worker's session, in the order a new worker is sent them again
 * after a crash (the latest of each that succeeded): the backend choice, the model, the dataset.
 */
const SESSION_SETUP_KINDS = ['init', 'loadModel', 'loadDataset'] as const;
type SetupKind = (typeof SESSION_SETUP_KINDS)[number];

/**
 * Kinds whose calls in flight when the worker crashes are sent again to the new one: they only
 * read the session (or set it up), so the caller need not know. Any other kind (training, whose
 * progress its caller has seen; kinds added later) is rejected with `worker-crashed`, and its
 * caller decides what to do (useTrainer resumes the run from its last checkpoint).
 */
const SENT_AGAIN_AFTER_RESTART: ReadonlySet<RequestKind> = new Set<RequestKind>([
  'init',
  'ping',
  'engineInfo',
  'loadModel',
  'cancelModelLoad',
  'topTokens',
  'loadDataset',
  'datasetStats',
  'trainingWarnings',
  'previewTemplate',
  'checkLabelWords',
  'checkTraining',
  'suggestLabelWords',
  'pauseTraining',
  'resumeTraining',
  'stopTraining',
  'evaluatePrompt',
  'predict',
  'generate',
  'exportPrompt',
  'importPrompt',
  'exportProject',
]);

/**
 * After a worker stopped answering (the heartbeat, heartbeat.ts), only these calls in flight are
 * sent again: any other may be the call that hung it. The rest are rejected with `worker-crashed`.
 */
const SENT_AGAIN_AFTER_SILENCE: ReadonlySet<RequestKind> = new Set<RequestKind>([
  'init',
  'ping',
  'engineInfo',
  'cancelModelLoad',
  'pauseTraining',
  'resumeTraining',
  'stopTraining',
]);

/** Client options; tests pass a fake clock to the heartbeat. */
export interface StudioClientOptions {
  /** Pings while a request is in flight, to find a worker that died without a word; `false`: none. */
  heartbeat?: HeartbeatOptions | false;
}

/** How a worker restart went. */
export interface RestartReport {
  /** Why the worker was replaced, e.g. "the WebGPU device was lost (destroyed)". */
  reason: string;
  /** The new worker's backend choice; null when no backend started there (then `initError`). */
  init: InitResult | null;
  initError?: string;
  /** The model and the dataset, loaded into the new worker again (or why not). */
  reloaded: { what: 'model' | 'dataset'; name: string; error?: string }[];
  /** The worker crashed too often: the client is closed (every call fails) until the page is reloaded. */
  gaveUp: boolean;
}

export type RestartEvent = { phase: 'restarting'; reason: string } | { phase: 'restarted'; report: RestartReport };
export type RestartListener = (event: RestartEvent) => void;

/** Events of one call, before its result. */
export interface CallListeners {
  onProgress?(progress: Progress): void;
  onMetrics?(metrics: TrainingEvent): void;
  onCheckpoint?(checkpoint: Checkpoint): void;
}

interface PendingCall {
  kind: RequestKind;
  payload: unknown;
  listeners?: CallListeners;
  /** A session setup sent again by the client itself after a restart. */
  internal?: boolean;
  resolve(result: unknown): void;
  reject(error: StudioError): void;
}

/**
 * The UI's one way to talk to the worker: each call is a promise, keyed by request id.
 *
 * Given a `respawn` factory, the client survives the worker: when it crashes (an `error` event) or
 * reports a fatal fault (a lost WebGPU device), the client starts a new worker, sends it the
 * session's setup again (backend choice, model, dataset), sends again the calls that only read
 * the session, rejects the others with `worker-crashed`, and tells `onRestart` listeners. Calls
 * made meanwhile wait for the new worker. Without `respawn`, a crash closes the client.
 *
 * A worker that dies without an `error` event (killed for memory, stuck in a hung call) is found
 * by the heartbeat (heartbeat.ts): while a call is in flight the client pings it, and a worker
 * silent for too long is treated as crashed, except that only control calls are sent again.
 */
export class StudioClient {
  private nextId: RequestId = 1;
  private readonly pending = new Map<RequestId, PendingCall>();
  private readonly progressListeners = new Set<ProgressListener>();
  private readonly testFaultListeners = new Set<(panel: FaultPanel) => void>();
  private readonly metricsListeners = new Set<MetricsListener>();
  private readonly restartListeners = new Set<RestartListener>();
  private closedReason: StudioError | null = null;
  private worker!: WorkerPort;
  /** Counts workers: events of a replaced worker are ignored. */
  private generation = 0;
  /** The latest successful setup request of each kind, with the name it loaded (model id, dataset name). */
  private readonly setup = new Map<SetupKind, { payload: unknown; name: string }>();
  /** While a restart is under way: its report once done, and the calls waiting for it. */
  private restart: { done: Promise<RestartReport>; finish(report: RestartReport): void; queue: PendingCall[] } | null = null;
  private lastRestart: RestartReport | null = null;
  private restartTimes: number[] = [];
  private heartbeat: WorkerHeartbeat | null = null;
  private readonly heartbeatOptions: HeartbeatOptions | false;

  constructor(
    worker: WorkerPort,
    private readonly respawn?: WorkerFactory,
    options: StudioClientOptions = {},
  ) {
    this.heartbeatOptions = options.heartbeat ?? DEFAULT_HEARTBEAT;
    this.attach(worker);
  }

  private attach(worker: WorkerPort): void {
    this.worker = worker;
    const generation = ++this.generation;
    this.heartbeat?.stop();
    this.heartbeat = this.heartbeatOptions
      ? new WorkerHeartbeat(
          this.heartbeatOptions,
          // Not a pending call: its pong (like any event) only tells the heartbeat the worker is alive.
          () => worker.postMessage({ kind: 'ping', id: this.nextId++, payload: {} }),
          (silentMs) => {
            if (generation === this.generation) this.crashed(`the worker did not answer for ${Math.round(silentMs / 1000)} s`, SENT_AGAIN_AFTER_SILENCE);
          },
        )
      : null;
    worker.addEventListener('message', (event) => {
      if (generation !== this.generation) return;
      this.heartbeat?.heard();
      this.receive(event.data);
    });
    // Fires when the worker script fails to load or throws outside the handler (the handler
    // catches every task's errors), so the worker is treated as gone.
    worker.addEventListener('error', (event) => {
      if (generation !== this.generation) return;
      if (this.respawn) event.preventDefault(); // handled: a new worker is started
      const message = (event as { message?: unknown }).message;
      this.crashed(`the worker failed${typeof message === 'string' && message ? `: ${message}` : ''}`);
    });
  }

  /**
   * Sends one request; resolves with its result or rejects with a `StudioError`. `listeners`
   * get this call's own progress, metrics and checkpoint events.
   */
  call<K extends RequestKind>(kind: K, payload: RequestPayload<K>, listeners?: CallListeners): Promise<RequestResult<K>> {
    return this.send(kind, payload, listeners, false);
  }

  private send<K extends RequestKind>(kind: K, payload: RequestPayload<K>, listeners: CallListeners | undefined, internal: boolean): Promise<RequestResult<K>> {
    if (this.closedReason) return Promise.reject(this.closedReason);
    return new Promise<RequestResult<K>>((resolve, reject) => {
      const call: PendingCall = { kind, payload, listeners, internal, resolve: resolve as (result: unknown) => void, reject };
      if (this.restart && !internal) this.restart.queue.push(call);
      else this.post(call);
    });
  }

  private post(call: PendingCall): void {
    const id = this.nextId++;
    // The worker answers this id with the result of this kind (see handleRequest).
    this.pending.set(id, call);
    this.worker.postMessage({ kind: call.kind, id, payload: call.payload } as Request);
    this.heartbeat?.busy(true);
  }

  /** Restarts of the worker (see the class comment); returns the unsubscribe function. */
  onRestart(listener: RestartListener): () => void {
    this.restartListeners.add(listener);
    return () => this.restartListeners.delete(listener);
  }

  /** The report of the restart under way, or of the last one (null when the worker never crashed). */
  whenRestarted(): Promise<RestartReport | null> {
    return this.restart ? this.restart.done : Promise.resolve(this.lastRestart);
  }

  init(preferredBackends?: BackendName[]): Promise<InitResult> {
    return this.call('init', preferredBackends ? { preferredBackends } : {});
  }

  ping(): Promise<RequestResult<'ping'>> {
    return this.call('ping', {});
  }

  /** Test faults sent by the worker's fault hook (a panel that is to throw); returns the unsubscribe function. */
  onTestFault(listener: (panel: FaultPanel) => void): () => void {
    this.testFaultListeners.add(listener);
    return () => this.testFaultListeners.delete(listener);
  }

  /** Progress of every request; returns the unsubscribe function. */
  onProgress(listener: ProgressListener): () => void {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
  }

  /** Metrics of every request (training loss, accuracy, ...); returns the unsubscribe function. */
  onMetrics(listener: MetricsListener): () => void {
    this.metricsListeners.add(listener);
    return () => this.metricsListeners.delete(listener);
  }

  /** Stops the worker; pending and later calls reject with code `closed`. */
  dispose(): void {
    this.failAll(new StudioError('closed', 'The studio client was closed'));
    this.heartbeat?.stop();
    this.worker.terminate();
  }

  /**
   * The worker is gone or unusable: start a new one (see the class comment), or close. Calls in
   * flight of the kinds `sentAgain` go to the new worker; the others are rejected.
   */
  private crashed(reason: string, sentAgain: ReadonlySet<RequestKind> = SENT_AGAIN_AFTER_RESTART): void {
    if (this.closedReason) return;
    this.heartbeat?.stop();
    const said = reason.charAt(0).toUpperCase() + reason.slice(1);
    if (!this.respawn) return this.failAll(new StudioError('worker-crashed', said));
    const now = Date.now();
    this.restartTimes = [...this.restartTimes.filter((t) => now - t < RESTART_WINDOW_MS), now];
    const calls = [...this.pending.values()];
    this.pending.clear();
    this.worker.terminate();
    if (!mayRestartWorker(this.restartTimes.length)) {
      const minutes = Math.round(RESTART_WINDOW_MS / 60_000);
      const report: RestartReport = { reason, init: null, reloaded: [], gaveUp: true };
      calls.forEach((c) => this.pending.set(this.nextId++, c));
      this.failAll(new StudioError('worker-crashed', `${said}, the ${this.restartTimes.length}th time in ${minutes} minutes: reload the page.`));
      this.finishRestart(report);
      return;
    }
    const lost = new StudioError('worker-crashed', `${said}; a new worker was started.`);
    const again = calls.filter((c) => !c.internal && sentAgain.has(c.kind));
    for (const c of calls) if (!again.includes(c)) c.reject(lost);
    if (!this.restart) {
      let finish!: (report: RestartReport) => void;
      const done = new Promise<RestartReport>((resolve) => (finish = resolve));
      this.restart = { done, finish, queue: [] };
    }
    this.restart.queue.unshift(...again);
    this.restartListeners.forEach((listener) => listener({ phase: 'restarting', reason }));
    this.attach(this.respawn());
    void this.replaySetup(reason, this.generation);
  }

  /** Sends a new worker the session's setup again, then the calls that waited. */
  private async replaySetup(reason: string, generation: number): Promise<void> {
    const report: RestartReport = { reason, init: null, reloaded: [], gaveUp: false };
    for (const kind of SESSION_SETUP_KINDS) {
      const entry = this.setup.get(kind);
      if (!entry) continue;
      const what = kind === 'loadModel' ? ('model' as const) : ('dataset' as const);
      try {
        const result = await this.send(kind, entry.payload as RequestPayload<SetupKind>, undefined, true);
        if (kind === 'init') report.init = result as InitResult;
        else report.reloaded.push({ what, name: entry.name });
      } catch (e) {
        if (generation !== this.generation) return; // that worker crashed too: the next restart reports
        const message = e instanceof Error ? e.message : String(e);
        if (kind === 'init') report.initError = message;
        else report.reloaded.push({ what, name: entry.name, error: message });
      }
    }
    if (generation !== this.generation || !this.restart) return;
    const { queue } = this.restart;
    this.finishRestart(report);
    queue.forEach((c) => this.post(c));
  }

  private finishRestart(report: RestartReport): void {
    this.lastRestart = report;
    this.restart?.finish(report);
    this.restart = null;
    this.restartListeners.forEach((listener) => listener({ phase: 'restarted', report }));
  }

  /** Keeps what a successful setup request loaded, to send it again to a restarted worker. */
  private remember(call: PendingCall, result: unknown): void {
    if (call.kind === 'init') this.setup.set('init', { payload: call.payload, name: '' });
    else if (call.kind === 'loadModel') this.setup.set('loadModel', { payload: call.payload, name: (result as ModelSummary).id });
    else if (call.kind === 'loadDataset') this.setup.set('loadDataset', { payload: call.payload, name: (result as DatasetInfo).name });
  }

  private receive(event: WorkerEvent): void {
    switch (event.type) {
      case 'progress':
        this.pending.get(event.id)?.listeners?.onProgress?.(event.progress);
        this.progressListeners.forEach((listener) => listener(event.progress, event.id));
        return;
      case 'metrics':
        this.pending.get(event.id)?.listeners?.onMetrics?.(event.metrics);
        this.metricsListeners.forEach((listener) => listener(event.metrics, event.id));
        return;
      case 'checkpoint':
        this.pending.get(event.id)?.listeners?.onCheckpoint?.(event.checkpoint);
        return;
      case 'fatal':
        this.crashed(event.reason);
        return;
      case 'testFault':
        this.testFaultListeners.forEach((listener) => listener(event.panel));
        return;
      case 'result':
      case 'error': {
        const call = this.pending.get(event.id);
        if (!call) {
          // An error for a message the worker could not even read has id -1.
          if (event.type === 'error') console.error('Worker error without a pending call', event.error);
          return;
        }
        this.pending.delete(event.id);
        if (this.pending.size === 0) this.heartbeat?.busy(false);
        if (event.type === 'result') {
          this.remember(call, event.payload);
          call.resolve(event.payload);
        } else call.reject(new StudioError(event.error.code, event.error.message, event.kind ?? call.kind));
        return;
      }
    }
  }

  private failAll(reason: StudioError): void {
    this.closedReason ??= reason;
    for (const call of this.pending.values()) call.reject(reason);
    this.pending.clear();
    this.heartbeat?.busy(false);
    for (const call of this.restart?.queue ?? []) call.reject(reason);
    if (this.restart) this.restart.queue = [];
  }
}
