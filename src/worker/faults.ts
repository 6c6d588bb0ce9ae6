/**
 * Faults after which this worker cannot go on, and the hooks that cause them in tests.
 *
 * A lost WebGPU device (driver reset, GPU removed, `device.destroy()`) leaves tfjs's webgpu backend
 * without a device, and tfjs cannot move its tensors to a new one: the worker says so once (a
 * `fatal` event) and the page replaces it with a new worker, which chooses a backend again.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { FaultPanel, TestFaultEvent } from '../shared/protocol';

/** The device tfjs's webgpu backend runs on, once that backend is active. */
function activeWebGpuDevice(): GPUDevice | null {
  if (tf.getBackend() !== 'webgpu') return null;
  return (tf.backend() as WebGPUBackend).device ?? null;
}

let watched: GPUDevice | null = null;
let lostReason: string | null = null;

/** Calls `onLost` once, with the reason in words, when the active WebGPU device is lost. */
export function watchWebGpuDevice(onLost: (reason: string) => void): void {
  const device = activeWebGpuDevice();
  if (!device || device === watched) return;
  watched = device;
  void device.lost.then((info) => {
    lostReason = info.reason === 'destroyed' ? 'the WebGPU device was destroyed' : `the WebGPU device was lost${info.message ? `: ${info.message}` : ''}`;
    onLost(lostReason);
  });
}

/**
 * Resolves true when the watched device is lost within `graceMs`, false otherwise. A task that
 * fails because the device went away can fail before `device.lost` settles; waiting this long
 * before reporting the failure lets the loss be reported instead.
 */
export function deviceLostWithin(graceMs: number): Promise<boolean> {
  if (!watched) return Promise.resolve(false);
  if (lostReason) return Promise.resolve(true);
  const device = watched;
  return Promise.race([device.lost.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs))]);
}

/** Test hooks, reached from Playwright through `worker.evaluate(() => self.__studioFaults...)`. */
export interface FaultHooks {
  /** `device.destroy()` on the active WebGPU device; false when tfjs is not on WebGPU. */
  loseWebGpuDevice(): boolean;
  /** Throws outside any request, as a crash would: the page sees the worker's `error` event. */
  crash(message?: string): void;
  /**
   * Stops answering for good, with no error event, as a worker stuck in a hung call (or one the
   * browser killed) looks to the page: only the page's heartbeat (src/ui/heartbeat.ts) can tell.
   */
  hang(): void;
  /** Makes the page's `panel` throw while rendering (a `testFault` event), to test its error boundary. */
  breakPanel(panel: FaultPanel): void;
}

export function installFaultHooks(scope: { __studioFaults?: FaultHooks }, post: (event: TestFaultEvent) => void): void {
  scope.__studioFaults = {
    breakPanel(panel) {
      post({ type: 'testFault', id: -1, panel });
    },
    loseWebGpuDevice() {
      const device = activeWebGpuDevice();
      device?.destroy();
      return device !== null;
    },
    hang() {
      setTimeout(() => {
        // Blocks this thread until the page terminates it: asleep when SharedArrayBuffer is there (cross-origin isolated), busy otherwise.
        if (globalThis.crossOriginIsolated === true) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
        for (;;);
      });
    },
    crash(message = 'simulated crash') {
      setTimeout(() => {
        throw new Error(message);
      });
    },
  };
}
