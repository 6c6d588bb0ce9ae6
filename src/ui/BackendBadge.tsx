import type { BackendName, InitResult } from '../shared/protocol';

const BACKEND_LABELS: Record<BackendName, string> = {
  webgpu: 'WebGPU',
  webgl: 'WebGL',
  wasm: 'WASM',
  cpu: 'CPU',
};

/**
 * Which tfjs backend the worker runs on; a fallback says why the faster ones were skipped, and a
 * software WebGPU adapter passed over for wasm says so in the badge itself.
 */
export function BackendBadge({ init }: { init: InitResult | null }) {
  if (!init) {
    return (
      <span className="badge badge-pending" data-testid="backend.badge">
        …
      </span>
    );
  }
  const title = init.fallbackReason
    ? `Fell back: ${init.fallbackReason}`
    : init.skippedSoftwareGpu
      ? `WebGPU here is a software renderer (${init.skippedSoftwareGpu}), slower than ${BACKEND_LABELS[init.backend]}; add ?backend=webgpu to the address to use it anyway`
      : `tfjs ${init.tfjsVersion} on ${BACKEND_LABELS[init.backend]}${init.gpu ? ` (${init.gpu})` : ''}${wasmThreadsTitle(init)}`;
  return (
    <span
      className={`badge badge-${init.backend}${init.fallbackReason ? ' badge-fallback' : ''}`}
      data-testid="backend.badge"
      data-backend={init.backend}
      data-reason={init.skippedSoftwareGpu ? 'software-gpu' : undefined}
      title={title}
    >
      {BACKEND_LABELS[init.backend]}
      {init.wasmThreads !== undefined && (
        <span className="badge-threads" data-testid="backend.badge.threads" data-threads={init.wasmThreads}>
          {init.wasmSingleThreaded ? ' · single-threaded' : ` · ${init.wasmThreads} thread${init.wasmThreads === 1 ? '' : 's'}`}
        </span>
      )}
      {init.skippedSoftwareGpu && <span className="badge-why" data-testid="backend.badge.why"> · WebGPU here is software</span>}
    </span>
  );
}

/** ", threaded SIMD build on 4 threads" or ", single-threaded: <why>" on wasm; empty elsewhere. */
function wasmThreadsTitle(init: InitResult): string {
  if (init.wasmThreads === undefined) return '';
  return init.wasmSingleThreaded
    ? `, single-threaded: ${init.wasmSingleThreaded}`
    : `, threaded SIMD build on ${init.wasmThreads} thread${init.wasmThreads === 1 ? '' : 's'} (tfjs runs one per two logical cores, at most 8)`;
}

export function backendLabel(name: BackendName): string {
  return BACKEND_LABELS[name];
}
