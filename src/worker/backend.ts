import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { patchWasmBackend } from '../model/wasmKernels';
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { BACKEND_NAMES } from '../shared/protocol';
import type { BackendName } from '../shared/protocol';

/** A backend that hangs while initialising (a wedged GPU driver) must not stall the studio. */
const BACKEND_ATTEMPT_TIMEOUT_MS = 60_000;

export interface BackendFailure {
  backend: BackendName;
  reason: string;
}

export interface BackendChoice {
  backend: BackendName;
  /** The backends tried before `backend`, in order, with why each failed. */
  failures: BackendFailure[];
}

/** Proves one backend works (or throws an Error saying why not) and leaves it active. */
export type BackendAttempt = (name: BackendName) => Promise<void>;

/**
 * Tries `candidates` in order and keeps the first that works.
 * Throws, naming every failure, when none does.
 */
export async function chooseBackend(
  candidates: readonly BackendName[],
  attempt: BackendAttempt,
  timeoutMs = BACKEND_ATTEMPT_TIMEOUT_MS,
): Promise<BackendChoice> {
  const failures: BackendFailure[] = [];
  for (const backend of candidates) {
    try {
      await withTimeout(attempt(backend), timeoutMs, `${backend} did not initialise within ${timeoutMs} ms`);
      return { backend, failures };
    } catch (error) {
      failures.push({ backend, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  const tried = candidates.length > 0 ? describeFailures(failures) : 'no backends were requested';
  throw new Error(`No tfjs backend works here: ${tried}`);
}

/** "webgpu: no adapter; webgl: ..." */
export function describeFailures(failures: readonly BackendFailure[]): string {
  return failures.map((f) => `${f.backend}: ${f.reason}`).join('; ');
}

/** Picks and activates the tfjs backend for this worker. */
export function selectTfjsBackend(preferred: readonly BackendName[] = BACKEND_NAMES): Promise<BackendChoice> {
  return chooseBackend(preferred, attemptTfjsBackend);
}

/** WebGPU types are not in TypeScript's DOM lib; this is the little we touch. */
interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

let wasmPathsSet = false;

async function attemptTfjsBackend(name: BackendName): Promise<void> {
  // Preflight checks give a clearer reason than tfjs, which only logs why init failed.
  switch (name) {
    case 'webgpu': {
      const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
      if (!gpu) throw new Error('navigator.gpu missing (no WebGPU, or not a secure context)');
      if (!(await gpu.requestAdapter())) throw new Error('no adapter (navigator.gpu.requestAdapter() gave null)');
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
      }
      patchWasmBackend();
      break;
    }
    case 'cpu':
      break;
  }
  if (!tf.findBackendFactory(name)) throw new Error('not registered with tfjs');
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed to initialise`);
  await proveBackendComputes();
}

/** A tiny op with a readback: some backends initialise fine and then fail on the first kernel. */
async function proveBackendComputes(): Promise<void> {
  const sum = tf.tidy(() => tf.add(tf.tensor1d([1, 2, 3]), tf.scalar(1)));
  try {
    const values = await sum.data();
    if (values[0] !== 2 || values[1] !== 3 || values[2] !== 4) {
      throw new Error(`test op [1,2,3]+1 read back [${Array.from(values).join(',')}]`);
    }
  } finally {
    sum.dispose();
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
