import { createWorkerApi } from './api';
import { handleRequest } from './handler';
import type { WorkerEvent } from '../shared/protocol';

const api = createWorkerApi();
const post = (event: WorkerEvent): void => self.postMessage(event);

// Not awaited: a long task (training) must not block later messages such as stop.
self.onmessage = (message: MessageEvent<unknown>) => void handleRequest(message.data, api, post);
