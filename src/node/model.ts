/**
 * Node-only helpers (tests, CLI, pretraining, benchmarks): checkpoint folders on disk and the tfjs
 * backend. Node has three: wasm (the default: ~30x faster than cpu here), cpu (the exact
 * reference-like fallback) and webgpu, on Dawn through the `webgpu` package, opened by the same
 * code as the page's WebGPU (src/model/webgpu.ts). Which GPU Dawn sees is Vulkan's choice:
 * `VK_ICD_FILENAMES` (or `VK_DRIVER_FILES`) points it at a driver, e.g. SWIFTSHADER_ICD.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { bytesSource } from '../model/safetensors';
import { patchWasmBackend } from '../model/wasmKernels';
import { FUSED_ATTENTION_FLAG } from '../model/fusedAttention';
import { FUSED_LAYERS_FLAG } from '../model/fusedLayers';
import { activateBackend, chooseBackend, type BackendChoice } from '../model/backendChoice';
import { describeAdapter, NoWebGpuAdapterError, registerWebGpuBackend, type GpuAdapterSummary } from '../model/webgpu';
import type { ModelFolder } from '../model/loader';

export async function dirFolder(dir: string): Promise<ModelFolder> {
  const names = await readdir(dir);
  return {
    label: dir,
    list: () => names,
    async file(name) {
      const path = join(dir, name);
      const exists = await stat(path).then((s) => s.isFile(), () => false);
      return exists ? bytesSource(name, new Uint8Array(await readFile(path))) : null;
    },
  };
}

export const NODE_BACKENDS = ['wasm', 'webgpu', 'cpu'] as const;
export type NodeBackendName = (typeof NODE_BACKENDS)[number];

/** Chromium's software Vulkan driver (Debian's chromium package): WebGPU without a GPU. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** The adapter Node's webgpu backend runs on, once it has been chosen. */
export let nodeWebGpuAdapter: GpuAdapterSummary | null = null;

/**
 * Sets the tfjs backend (or throws one line saying why not) and returns its name.
 *
 * Node's wasm is single-threaded: tfjs-backend-wasm 4.22 reports no thread support under Node
 * (WASM_HAS_MULTITHREAD_SUPPORT is false there, tfjs issue 3830), and forcing the flag fails, since
 * the threaded build starts its threads from a blob: URL that Node's worker_threads refuse
 * (ERR_WORKER_PATH, tried here). setThreadsCount would therefore change nothing, and is not called.
 */
export async function useNodeBackend(name: NodeBackendName = 'wasm'): Promise<string> {
  if (name === 'wasm') patchWasmBackend();
  if (name === 'webgpu') nodeWebGpuAdapter = await registerNodeWebGpu();
  try {
    await activateBackend(name);
  } catch (e) {
    throw new Error(`tfjs backend ${name} could not be initialised: ${(e as Error).message}`);
  }
  await tf.ready();
  // STUDIO_FUSED_ATTENTION=0: attention as plain tfjs ops on WebGPU too (to compare; see fusedAttention.ts).
  if (process.env[FUSED_ATTENTION_FLAG] === '0') tf.env().set(FUSED_ATTENTION_FLAG, false);
  // STUDIO_FUSED_LAYERS=0: LayerNorm, GELU and linear's bias as plain tfjs ops (fusedLayers.ts).
  if (process.env[FUSED_LAYERS_FLAG] === '0') tf.env().set(FUSED_LAYERS_FLAG, false);
  return tf.getBackend();
}

/**
 * The first of `candidates` that works, as the page chooses (src/worker/backend.ts); `log` gets one
 * line for each that failed ("webgpu unavailable (…); trying wasm") and the adapter when it is WebGPU.
 */
export async function selectNodeBackend(
  candidates: readonly NodeBackendName[],
  log: (line: string) => void = (line) => console.error(line),
): Promise<BackendChoice<NodeBackendName>> {
  const choice = await chooseBackend(candidates, async (name) => {
    await useNodeBackend(name);
  });
  choice.failures.forEach((f, i) => log(`${f.backend} unavailable (${f.reason}); trying ${candidates[i + 1]}`));
  if (choice.backend === 'webgpu' && nodeWebGpuAdapter) log(`webgpu on ${describeAdapter(nodeWebGpuAdapter)}`);
  return choice;
}

/** Parses "wasm,webgpu" into backend names, or throws naming the unknown one. */
export function parseNodeBackends(list: string): NodeBackendName[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new Error(`--backend needs one of ${NODE_BACKENDS.join(', ')}`);
  for (const n of names) {
    if (!(NODE_BACKENDS as readonly string[]).includes(n)) throw new Error(`unknown backend "${n}": expected ${NODE_BACKENDS.join(', ')} (a comma-separated list is tried in order)`);
  }
  return names as NodeBackendName[];
}

/** Points Vulkan at Chromium's SwiftShader unless a driver was chosen already (tests, `--software-gpu`). */
export function useSoftwareVulkan(): void {
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return;
  if (!existsSync(SWIFTSHADER_ICD)) throw new Error(`software WebGPU needs Chromium's SwiftShader (${SWIFTSHADER_ICD}): apt-get install chromium libvulkan1`);
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}

let nodeGpu: GPU | null = null;

/** Gives Node a `navigator.gpu` from Dawn and registers tfjs's webgpu backend on it. */
async function registerNodeWebGpu(): Promise<GpuAdapterSummary> {
  if (!nodeGpu) {
    let dawn: typeof import('webgpu');
    try {
      dawn = await import('webgpu');
    } catch (e) {
      throw new Error(`the webgpu package (Dawn for Node) did not load: ${(e as Error).message}`);
    }
    // Vulkan's window-system probing complains on stderr when this is unset; no window is used.
    process.env.XDG_RUNTIME_DIR ??= tmpdir();
    Object.assign(globalThis, dawn.globals); // GPUBufferUsage, GPUMapMode, … as a browser has them
    nodeGpu = dawn.create([]) as unknown as GPU;
    const nav = (globalThis as { navigator?: object }).navigator;
    if (nav) Object.defineProperty(nav, 'gpu', { value: nodeGpu, configurable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu: nodeGpu, userAgent: `node ${process.version}` }, configurable: true });
  }
  try {
    return await registerWebGpuBackend(nodeGpu);
  } catch (e) {
    if (!(e instanceof NoWebGpuAdapterError)) throw e;
    nodeGpu = null; // Vulkan reads its driver variables per instance: a later try may set them first
    throw new Error(noAdapterHint());
  }
}

function noAdapterHint(): string {
  const libDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', ...(process.env.LD_LIBRARY_PATH ?? '').split(':')];
  const loader = libDirs.some((d) => d && existsSync(join(d, 'libvulkan.so.1')));
  if (!loader) return 'no WebGPU adapter: the Vulkan loader is missing (install libvulkan1 and your GPU\'s Vulkan driver)';
  const driver = process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES;
  if (driver) return `no WebGPU adapter: Vulkan found no usable device with the driver in ${driver}`;
  return `no WebGPU adapter: Vulkan found no usable device (install your GPU's Vulkan driver; without a GPU, VK_ICD_FILENAMES=${SWIFTSHADER_ICD} runs Chromium's software Vulkan)`;
}
