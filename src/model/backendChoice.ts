/**
 * Choosing a tfjs backend from a list in order of preference, the same way in the page's worker
 * (src/worker/backend.ts) and in Node (src/node/model.ts): the first that initialises and computes wins, and
 * every one that failed before it is reported with its reason.
 */
import * as tf from '@tensorflow/tfjs';

/** A backend that hangs while initialising (a wedged GPU driver) must not stall the studio. */
export const BACKEND_ATTEMPT_TIMEOUT_MS = 60_000;

export interface BackendFailure<N extends string = string> {
  backend: N;
  reason: string;
}

export interface BackendChoice<N extends string = string> {
  backend: N;
  /** The backends tried before `backend`, in order, with why each failed. */
  failures: BackendFailure<N>[];
}

/** Proves one backend works (or throws an Error saying why not) and leaves it active. */
export type BackendAttempt<N extends string = string> = (name: N) => Promise<void>;

/**
 * Tries `candidates` in order and keeps the first that works.
 * Throws, naming every failure, when none does.
 */
export async function chooseBackend<N extends string>(
  candidates: readonly N[],
  attempt: BackendAttempt<N>,
  timeoutMs = BACKEND_ATTEMPT_TIMEOUT_MS,
): Promise<BackendChoice<N>> {
  const failures: BackendFailure<N>[] = [];
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

/**
 * The order to try backends in when the user named none: `names` as given, except that a software
 * WebGPU adapter (SwiftShader, lavapipe, WARP: a CPU emulating a GPU, measured 40x slower per
 * training step than wasm) moves wasm to the front. WebGPU stays in the list, after wasm, in case
 * wasm fails; `?backend=webgpu` (a list the user gives) is tried as given.
 */
export function defaultBackendOrder<N extends string>(names: readonly N[], webGpuAdapter: { software: boolean } | null): N[] {
  if (!webGpuAdapter?.software || !names.includes('wasm' as N)) return [...names];
  return ['wasm' as N, ...names.filter((n) => n !== 'wasm')];
}

/** "webgpu: no adapter; webgl: ..." */
export function describeFailures(failures: readonly BackendFailure[]): string {
  return failures.map((f) => `${f.backend}: ${f.reason}`).join('; ');
}

/** Sets a registered backend and proves it computes (or throws saying why not). */
export async function activateBackend(name: string): Promise<void> {
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
