import { REQUEST_KINDS } from '../shared/protocol';
import type {
  ErrorCode,
  ErrorEvent,
  ProtocolError,
  RequestEvents,
  RequestId,
  RequestKind,
  RequestPayload,
  RequestResult,
  StudioApi,
  WorkerEvent,
} from '../shared/protocol';

/** One method per request kind; the handler knows nothing else about the engine. */
export type WorkerApi = StudioApi;

export type PostEvent = (event: WorkerEvent) => void;

/**
 * Runs one request against `api` and posts its events. Never throws: a malformed message,
 * an unknown kind and a failing task each end in one typed `error` event.
 */
export async function handleRequest(message: unknown, api: WorkerApi, post: PostEvent): Promise<void> {
  if (!isRecord(message) || typeof message.id !== 'number' || typeof message.kind !== 'string') {
    const id = isRecord(message) && typeof message.id === 'number' ? message.id : -1;
    post(errorEvent(id, undefined, 'bad-request', 'Expected a request {kind: string, id: number, payload}.'));
    return;
  }
  const { id, kind } = message;
  if (!isRequestKind(kind)) {
    post(errorEvent(id, kind, 'unknown-kind', `Unknown request kind "${kind}".`));
    return;
  }
  const context: RequestEvents = {
    progress: (progress) => post({ type: 'progress', id, progress }),
    metrics: (metrics) => post({ type: 'metrics', id, metrics }),
    checkpoint: (checkpoint) => post({ type: 'checkpoint', id, checkpoint }),
  };
  try {
    // The payload's shape is the sender's promise (both sides compile against protocol.ts);
    // each task validates what it cannot afford to trust.
    const result = await runTask(kind, message.payload as RequestPayload<RequestKind>, api, context);
    post({ type: 'result', id, kind, payload: result } as WorkerEvent);
  } catch (error) {
    post({ type: 'error', id, kind, error: toProtocolError('task-failed', error) });
  }
}

function runTask<K extends RequestKind>(
  kind: K,
  payload: RequestPayload<K>,
  api: WorkerApi,
  context: RequestEvents,
): Promise<RequestResult<K>> | RequestResult<K> {
  const task = api[kind] as WorkerApi[K];
  return task(payload, context);
}

function isRequestKind(kind: string): kind is RequestKind {
  return Object.hasOwn(REQUEST_KINDS, kind);
}

function errorEvent(id: RequestId, kind: string | undefined, code: ErrorCode, message: string): ErrorEvent {
  return { type: 'error', id, ...(kind === undefined ? {} : { kind }), error: { code, message } };
}

function toProtocolError(code: ErrorCode, error: unknown): ProtocolError {
  if (error instanceof Error) {
    return { code, message: error.message || error.name, name: error.name, ...(error.stack ? { stack: error.stack } : {}) };
  }
  return { code, message: typeof error === 'string' ? error : `Non-Error thrown: ${safeString(error)}` };
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
