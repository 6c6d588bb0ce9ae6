import * as tf from '@tensorflow/tfjs';
import type { WorkerApi } from './handler';
import { describeFailures, selectTfjsBackend, skippedSoftwareGpuLine, wasmThreadInfo, webGpuAdapter, webGpuAdapterLine } from './backend';
import { loadFromSource, modelLoads } from '../model/hubLoad';
import { deviceLimits } from '../model/hubInspect';
import { StudioSession, sessionApi, type ModelLoader } from '../session/StudioSession';
import { watchWebGpuDevice } from './faults';

/** The page's way to load checkpoints: Hub downloads, caching, checks and cancellation (src/model/hubLoad.ts). */
const pageModels: ModelLoader = {
  load: (source, progress) => loadFromSource(source, { progress, limits: deviceLimits() }),
  cancel: () => modelLoads.cancel(),
};

/**
 * The worker's side of every request kind: its own backend choice, and the studio session.
 * `onFatal` hears of a fault the worker cannot go on after (a lost WebGPU device).
 */
export function createWorkerApi(session = new StudioSession(pageModels), onFatal?: (reason: string) => void): WorkerApi {
  return {
    async init({ preferredBackends }, { progress }) {
      progress({ stage: 'choosing backend' });
      const { backend, failures } = await selectTfjsBackend(preferredBackends);
      if (onFatal) watchWebGpuDevice(onFatal);
      return {
        backend,
        ...(failures.length > 0 ? { fallbackReason: describeFailures(failures) } : {}),
        tfjsVersion: tf.version.tfjs,
        ...(backend === 'webgpu' && webGpuAdapter ? { gpu: webGpuAdapterLine(), softwareGpu: webGpuAdapter.software } : {}),
        ...(backend !== 'webgpu' && skippedSoftwareGpuLine() ? { skippedSoftwareGpu: skippedSoftwareGpuLine() } : {}),
        ...(backend === 'wasm' ? wasmThreadInfo() : {}),
      };
    },
    ping() {
      return { pong: true };
    },
    ...sessionApi(session),
  };
}
