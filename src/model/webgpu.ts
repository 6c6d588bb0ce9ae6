/**
 * The one way the studio opens a WebGPU device for tfjs, in the page's worker (the browser's
 * `navigator.gpu`) and in Node (Dawn's `navigator.gpu` from the `webgpu` package, see src/node/model.ts).
 * Nothing else differs between the two paths.
 *
 * Device request: the same as tfjs-backend-webgpu 4.22's own factory (high-performance adapter,
 * `timestamp-query` when offered, and the adapter's maxima for the limits below), so that a
 * checkpoint's largest tensor fits whatever the hardware allows rather than WebGPU's defaults
 * (128 MiB per storage binding, 256 MiB per buffer). No f16: tfjs 4.22 stores every float as f32.
 *
 * The device is also instrumented (`gpuWorkCounts`): compute dispatches, queue submits, buffers
 * created, bytes uploaded and read back. These are device-independent figures of how much work and
 * traffic a step makes, so a change that adds some shows on any machine, software WebGPU included.
 */
/// <reference types="@webgpu/types" />
import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

/** The limits the studio asks the adapter for at their maximum (tfjs's own list). */
export const REQUESTED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
] as const;

/** tfjs-backend-webgpu registers itself with this priority when it sees `navigator.gpu`. */
const WEBGPU_PRIORITY = 3;

export interface GpuAdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software rasteriser (SwiftShader, lavapipe, WARP): correct, but never a GPU timing. */
  software: boolean;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  features: string[];
}

/** Why no adapter: the caller (browser or Node) adds what to install. */
export class NoWebGpuAdapterError extends Error {}

const SOFTWARE_ADAPTERS = /swiftshader|llvmpipe|lavapipe|warp|software|cpu/i;

export function summarizeAdapter(adapter: GPUAdapter): GpuAdapterSummary {
  const info = adapter.info;
  const text = `${info?.vendor ?? ''} ${info?.architecture ?? ''} ${info?.device ?? ''} ${info?.description ?? ''}`;
  const fallback = (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    software: fallback || SOFTWARE_ADAPTERS.test(text),
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    features: [...adapter.features].map(String).sort(),
  };
}

/** "nvidia / hopper (NVIDIA H200)" or "google / swiftshader (software)". */
export function describeAdapter(a: GpuAdapterSummary): string {
  const name = a.description || a.device;
  return `${a.vendor || 'unknown vendor'} / ${a.architecture || 'unknown architecture'}${name ? ` (${name})` : ''}${a.software ? ', software' : ''}`;
}

/**
 * The adapter `gpu` would give, without opening a device or touching tfjs; null when there is none
 * or it does not answer within `timeoutMs` (the backend choice then goes on as usual).
 */
export async function inspectWebGpuAdapter(gpu: GPU, timeoutMs = 10_000): Promise<GpuAdapterSummary | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const adapter = await Promise.race([gpu.requestAdapter({ powerPreference: 'high-performance' }), new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)))]);
    return adapter ? summarizeAdapter(adapter) : null;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

async function requestAdapter(gpu: GPU): Promise<GPUAdapter> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new NoWebGpuAdapterError('no WebGPU adapter (navigator.gpu.requestAdapter() gave null)');
  return adapter;
}

/**
 * Registers tfjs's `webgpu` backend on `gpu` with the studio's device request and instrumented
 * device, replacing the factory tfjs-backend-webgpu registered on import (if it saw a GPU then),
 * and returns the adapter it will use. Throws NoWebGpuAdapterError when there is none.
 * Call `tf.setBackend('webgpu')` afterwards.
 */
export async function registerWebGpuBackend(gpu: GPU): Promise<GpuAdapterSummary> {
  const summary = summarizeAdapter(await requestAdapter(gpu));
  if (tf.findBackendFactory('webgpu')) {
    // Not yet initialised (the studio sets backends only through here), so nothing is lost.
    if (tf.findBackend('webgpu')) return summary;
    tf.removeBackend('webgpu');
  }
  tf.registerBackend(
    'webgpu',
    async () => {
      const adapter = await requestAdapter(gpu);
      const requiredLimits: Record<string, number> = {};
      for (const name of REQUESTED_LIMITS) requiredLimits[name] = adapter.limits[name];
      const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
      const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
      countGpuWork(device);
      return new WebGPUBackend(device, adapter.info);
    },
    WEBGPU_PRIORITY,
  );
  return summary;
}

/** Work one tfjs WebGPU device has done since it was created (see gpuWorkCounts). */
export interface GpuWorkCounts {
  /** Compute shader dispatches (dispatchWorkgroups). */
  dispatches: number;
  /** queue.submit calls. */
  submits: number;
  /** GPUBuffers created (tfjs pools and reuses them, so this falls to ~0 in a steady loop). */
  buffersCreated: number;
  /** Bytes written from the host: mapped-at-creation uploads and queue.writeBuffer (uniforms). */
  bytesUploaded: number;
  /** Bytes mapped for reading back to the host. */
  bytesReadBack: number;
}

const counts = new WeakMap<GPUDevice, GpuWorkCounts>();

function zeroCounts(): GpuWorkCounts {
  return { dispatches: 0, submits: 0, buffersCreated: 0, bytesUploaded: 0, bytesReadBack: 0 };
}

/**
 * Wraps the methods tfjs calls on `device` (per instance: nothing global changes) so every
 * dispatch, submit, buffer and byte moved is counted. The wrappers only add to counters.
 */
function countGpuWork(device: GPUDevice): void {
  if (counts.has(device)) return;
  const c = zeroCounts();
  counts.set(device, c);
  const createBuffer = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = createBuffer(descriptor);
    c.buffersCreated++;
    // tfjs uploads by creating a buffer mapped at creation and filling it from the host.
    if (descriptor.mappedAtCreation) c.bytesUploaded += descriptor.size;
    if (descriptor.usage & GPUBufferUsage.MAP_READ) {
      const mapAsync = buffer.mapAsync.bind(buffer);
      buffer.mapAsync = (mode: GPUMapModeFlags, offset?: number, size?: number) => {
        if (mode & GPUMapMode.READ) c.bytesReadBack += size ?? buffer.size - (offset ?? 0);
        return mapAsync(mode, offset, size);
      };
    }
    return buffer;
  };
  const createCommandEncoder = device.createCommandEncoder.bind(device);
  device.createCommandEncoder = (descriptor?: GPUCommandEncoderDescriptor) => {
    const encoder = createCommandEncoder(descriptor);
    const beginComputePass = encoder.beginComputePass.bind(encoder);
    encoder.beginComputePass = (passDescriptor?: GPUComputePassDescriptor) => {
      const pass = beginComputePass(passDescriptor);
      const dispatch = pass.dispatchWorkgroups.bind(pass);
      pass.dispatchWorkgroups = (x: number, y?: number, z?: number) => {
        c.dispatches++;
        dispatch(x, y, z);
      };
      return pass;
    };
    return encoder;
  };
  const queue = device.queue;
  const submit = queue.submit.bind(queue);
  queue.submit = (buffers: Iterable<GPUCommandBuffer>) => {
    c.submits++;
    submit(buffers);
  };
  // writeBuffer(buffer, bufferOffset, data, dataOffset?, size?): offset and size count elements of a typed array.
  const writeBuffer = queue.writeBuffer.bind(queue) as (...args: unknown[]) => void;
  (queue as unknown as { writeBuffer: (...args: unknown[]) => void }).writeBuffer = (...args: unknown[]) => {
    const data = args[2] as ArrayBufferView | ArrayBuffer;
    const dataOffset = (args[3] as number | undefined) ?? 0;
    const size = args[4] as number | undefined;
    const elementBytes = ArrayBuffer.isView(data) ? ((data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1) : 1;
    c.bytesUploaded += size !== undefined ? size * elementBytes : data.byteLength - dataOffset * elementBytes;
    writeBuffer(...args);
  };
}

/**
 * The counts of the active tfjs WebGPU backend's device so far (a copy), or null when the active
 * backend is not WebGPU (or its device was not opened through registerWebGpuBackend).
 */
export function gpuWorkCounts(): GpuWorkCounts | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
  const c = device ? counts.get(device) : undefined;
  return c ? { ...c } : null;
}

/** after - before, field by field. */
export function gpuWorkSince(before: GpuWorkCounts, after: GpuWorkCounts): GpuWorkCounts {
  const out = zeroCounts();
  for (const k of Object.keys(out) as (keyof GpuWorkCounts)[]) out[k] = after[k] - before[k];
  return out;
}
