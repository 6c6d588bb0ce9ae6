/**
 * Test helper: a session behind the worker's real handler (requests and results structured-cloned as
 * postMessage does), with a fixture model already loaded. Lives in worker/ because session/ may not
 * import the worker.
 */
import type { LanguageModel } from '../../engine/languageModel';
import { StudioSession } from '../../session/StudioSession';
import { fixtureLoader } from '../../session/testing/fixtureLoader';
import type { RequestKind, RequestPayload, RequestResult, WorkerEvent } from '../../shared/protocol';
import { createWorkerApi } from '../api';
import { handleRequest } from '../handler';

export type StudioCall = <K extends RequestKind>(kind: K, payload: RequestPayload<K>) => Promise<RequestResult<K>>;

/** Loads `lm` as model `id` and returns a call that sends one request and resolves with its result (an error event throws). */
export async function fixtureStudio(lm: LanguageModel, id: string): Promise<StudioCall> {
  const api = createWorkerApi(new StudioSession(fixtureLoader(lm, id)));
  let n = 0;
  async function call<K extends RequestKind>(kind: K, payload: RequestPayload<K>): Promise<RequestResult<K>> {
    let last: WorkerEvent | undefined;
    await handleRequest(structuredClone({ kind, id: ++n, payload }), api, (e) => (last = structuredClone(e)));
    if (last?.type === 'error') throw new Error(last.error.message);
    if (last?.type !== 'result') throw new Error(`no result for ${kind}`);
    return last.payload as RequestResult<K>;
  }
  await call('loadModel', { source: { kind: 'url', url: 'fixture/', id } });
  return call;
}
