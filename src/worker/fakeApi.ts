import { REQUEST_KINDS } from '../shared/protocol';
import type { RequestKind } from '../shared/protocol';
import type { WorkerApi } from './handler';

/** Test support: a WorkerApi from the methods a test cares about; every other kind fails when called. */
export function fakeWorkerApi(methods: Partial<WorkerApi>): WorkerApi {
  const api = {} as Record<RequestKind, unknown>;
  for (const kind of Object.keys(REQUEST_KINDS) as RequestKind[]) {
    api[kind] =
      methods[kind] ??
      (() => {
        throw new Error(`fake worker api: ${kind} is not faked in this test`);
      });
  }
  return api as WorkerApi;
}
