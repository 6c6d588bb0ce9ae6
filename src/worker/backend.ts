/**
 * The worker's tfjs backend: the first of the requested backends that works in this browser.
 * WebGPU is opened through src/model/webgpu.ts, exactly as Node opens it on Dawn; only the way
 * `navigator.gpu` is found differs.
 */
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { patchWasmBackend } from '../model/wasmKernels';
import { activateBackend, chooseBackend, defaultBackendOrder, type BackendChoice } from '../model/backendChoice';
import { describeAdapter, inspectWebGpuAdapter, registerWebGpuBackend, type GpuAdapterSummary } from '../model/webgpu';
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { BACKEND_NAMES } from '../shared/protocol';
import type { BackendName } from '../shared/protocol';

export { describeFailures } from '../model/backendChoice';

/** The WebGPU adapter in use, once webgpu has been chosen. */
export let webGpuAdapter: GpuAdapterSummary | null = null;

/** The software WebGPU adapter passed over for wasm when the page named no backend, if it was. */
export let skippedSoftwareGpu: GpuAdapterSummary | null = null;

/**
 * Picks and activates the tfjs backend for this worker: the first of `preferred` that works, or
 * without a preference every backend, fastest first, wasm leading when WebGPU's adapter is a
 * software renderer (defaultBackendOrder).
 */
export async function selectTfjsBackend(preferred?: readonly BackendName[]): Promise<BackendChoice<BackendName>> {
  let order: readonly BackendName[] = preferred ?? BACKEND_NAMES;
  skippedSoftwareGpu = null;
  if (!preferred) {
    const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
    const adapter = gpu ? await inspectWebGpuAdapter(gpu) : null;
    order = defaultBackendOrder(BACKEND_NAMES, adapter);
    if (adapter?.software) skippedSoftwareGpu = adapter;
  }
  const choice = await chooseBackend(order, attemptTfjsBackend);
  if (choice.backend === 'webgpu') skippedSoftwareGpu = null; // wasm failed: WebGPU it is after all
  return choice;
}

/** "google / swiftshader (SwiftShader Device), software": the adapter passed over, for the page's backend line. */
export function skippedSoftwareGpuLine(): string | undefined {
  return skippedSoftwareGpu ? describeAdapter(skippedSoftwareGpu) : undefined;
}

/** "google / swiftshader (SwiftShader Device), software", for the page's backend line. */
export function webGpuAdapterLine(): string | undefined {
  return webGpuAdapter ? describeAdapter(webGpuAdapter) : undefined;
}

let wasmPathsSet = false;

/** Why wasm runs single-threaded, when it does (set when wasm is tried). */
let wasmSingleThreadReason: string | null = null;

/**
 * The threaded SIMD build needs SharedArrayBuffer, which a browser gives only to a cross-origin
 * isolated page (COOP same-origin + COEP require-corp, see vite.config.ts); tfjs picks that build by
 * itself when it can. Sets its thread count (one per logical core) and returns why not, or null.
 */
function prepareWasmThreads(): string | null {
  if (globalThis.crossOriginIsolated !== true) return 'the page is not cross-origin isolated (the server sends no COOP/COEP headers), so no SharedArrayBuffer';
  if (typeof SharedArrayBuffer === 'undefined') return 'this browser gives no SharedArrayBuffer';
  // tfjs caps this at half the logical cores (one thread per physical core, it assumes), at most 8.
  setThreadsCount(Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1));
  return null;
}

/** On wasm: its threads, and why it runs on one when it does (for the page's backend badge). */
export function wasmThreadInfo(): { wasmThreads: number; wasmSingleThreaded?: string } {
  let threads = 1;
  let failure: string | null = null;
  try {
    threads = getThreadsCount();
  } catch (e) {
    failure = `tfjs reports no thread count (${(e as Error).message})`;
  }
  const reason = wasmSingleThreadReason ?? failure;
  return { wasmThreads: threads, ...(reason ? { wasmSingleThreaded: reason } : {}) };
}

async function attemptTfjsBackend(name: BackendName): Promise<void> {
  // Preflight checks give a clearer reason than tfjs, which only logs why init failed.
  switch (name) {
    case 'webgpu': {
      const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
      if (!gpu) throw new Error('navigator.gpu missing (no WebGPU, or not a secure context)');
      webGpuAdapter = await registerWebGpuBackend(gpu);
      break;
    }
    case 'webgl': {
      if (typeof OffscreenCanvas === 'undefined') throw new Error('OffscreenCanvas missing');
      break;
    }
    case 'wasm': {
      if (typeof WebAssembly === 'undefined') throw new Error('WebAssembly missing');
      if (!wasmPathsSet) {
        // Vite copies each binary into the build and gives its hashed URL.
        setWasmPaths({
          'tfjs-backend-wasm.wasm': wasmPlainUrl,
          'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
          'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl,
        });
        wasmPathsSet = true;
        wasmSingleThreadReason = prepareWasmThreads(); // before tfjs initialises the backend
      }
      patchWasmBackend();
      break;
    }
    case 'cpu':
      break;
  }
  await activateBackend(name);
}
