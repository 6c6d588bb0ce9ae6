import type {
  BackendName,
  Checkpoint,
  ErrorCode,
  InitResult,
  Progress,
  Request,
  RequestId,
  RequestKind,
  RequestPayload,
  RequestResult,
  TrainingEvent,
  WorkerEvent,
} from '../shared/protocol';

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

/** Events of one call, before its result. */
export interface CallListeners {
  onProgress?(progress: Progress): void;
  onMetrics?(metrics: TrainingEvent): void;
  onCheckpoint?(checkpoint: Checkpoint): void;
}

interface PendingCall {
  kind: RequestKind;
  listeners?: CallListeners;
  resolve(result: unknown): void;
  reject(error: StudioError): void;
}

/** The UI's one way to talk to the worker: each call is a promise, keyed by request id. */
export class StudioClient {
  private nextId: RequestId = 1;
  private readonly pending = new Map<RequestId, PendingCall>();
  private readonly progressListeners = new Set<ProgressListener>();
  private readonly metricsListeners = new Set<MetricsListener>();
  private closedReason: StudioError | null = null;

  constructor(private readonly worker: WorkerPort) {
    worker.addEventListener('message', (event) => this.receive(event.data));
    // Fires when the worker script fails to load or throws outside the handler (the handler
    // catches every task's errors), so the worker is treated as gone.
    worker.addEventListener('error', (event) => {
      const message = (event as { message?: unknown }).message;
      const detail = typeof message === 'string' && message ? `: ${message}` : '';
      this.failAll(new StudioError('worker-crashed', `The worker failed${detail}`));
    });
  }

  /**
   * Sends one request; resolves with its result or rejects with a `StudioError`. `listeners`
   * get this call's own progress, metrics and checkpoint events.
   */
  call<K extends RequestKind>(kind: K, payload: RequestPayload<K>, listeners?: CallListeners): Promise<RequestResult<K>> {
    if (this.closedReason) return Promise.reject(this.closedReason);
    const id = this.nextId++;
    return new Promise<RequestResult<K>>((resolve, reject) => {
      // The worker answers this id with the result of this kind (see handleRequest).
      this.pending.set(id, { kind, listeners, resolve: resolve as (result: unknown) => void, reject });
      this.worker.postMessage({ kind, id, payload } as Request);
    });
  }

  init(preferredBackends?: BackendName[]): Promise<InitResult> {
    return this.call('init', preferredBackends ? { preferredBackends } : {});
  }

  ping(): Promise<RequestResult<'ping'>> {
    return this.call('ping', {});
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
    this.worker.terminate();
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
      case 'result':
      case 'error': {
        const call = this.pending.get(event.id);
        if (!call) {
          // An error for a message the worker could not even read has id -1.
          if (event.type === 'error') console.error('Worker error without a pending call', event.error);
          return;
        }
        this.pending.delete(event.id);
        if (event.type === 'result') call.resolve(event.payload);
        else call.reject(new StudioError(event.error.code, event.error.message, event.kind ?? call.kind));
        return;
      }
    }
  }

  private failAll(reason: StudioError): void {
    this.closedReason ??= reason;
    for (const call of this.pending.values()) call.reject(reason);
    this.pending.clear();
  }
}
