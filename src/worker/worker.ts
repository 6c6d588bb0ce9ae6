import { createWorkerApi } from './api';
import { handleRequest } from './handler';
import { deviceLostWithin, installFaultHooks } from './faults';
import type { WorkerEvent } from '../shared/protocol';

/** How long a failed task's error waits for a device loss that may have caused it (see deviceLostWithin). */
const DEVICE_LOSS_GRACE_MS = 250;

// After a fatal fault nothing more is posted: the page is replacing this worker.
let fatal = false;
const api = createWorkerApi(undefined, (reason) => {
  if (fatal) return;
  fatal = true;
  self.postMessage({ type: 'fatal', id: -1, reason } satisfies WorkerEvent);
});
const post = (event: WorkerEvent): void => {
  if (fatal) return;
  if (event.type !== 'error') return self.postMessage(event);
  // A task that failed because the GPU went away is reported as that loss, not as its own error.
  void deviceLostWithin(DEVICE_LOSS_GRACE_MS).then((lost) => lost || fatal || self.postMessage(event));
};
installFaultHooks(self as unknown as Parameters<typeof installFaultHooks>[0], post);
// The browser tells only the worker itself of a Content-Security-Policy violation in it: say it in the console, as the page's are.
self.addEventListener('securitypolicyviolation', (event) => {
  const e = event as SecurityPolicyViolationEvent;
  console.error(`Content-Security-Policy violation in the worker: ${e.violatedDirective} blocked ${e.blockedURI || 'inline code'}`);
});

// Not awaited: a long task (training) must not block later messages such as stop.
self.onmessage = (message: MessageEvent<unknown>) => void handleRequest(message.data, api, post);
