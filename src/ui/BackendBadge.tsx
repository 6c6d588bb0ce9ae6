import type { BackendName, InitResult } from '../shared/protocol';

const BACKEND_LABELS: Record<BackendName, string> = {
  webgpu: 'WebGPU',
  webgl: 'WebGL',
  wasm: 'WASM',
  cpu: 'CPU',
};

/** Which tfjs backend the worker runs on; a fallback says why the faster ones were skipped. */
export function BackendBadge({ init }: { init: InitResult | null }) {
  if (!init) {
    return (
      <span className="badge badge-pending" data-testid="backend.badge">
        …
      </span>
    );
  }
  return (
    <span
      className={`badge badge-${init.backend}${init.fallbackReason ? ' badge-fallback' : ''}`}
      data-testid="backend.badge"
      data-backend={init.backend}
      title={init.fallbackReason ? `Fell back: ${init.fallbackReason}` : `tfjs ${init.tfjsVersion} on ${BACKEND_LABELS[init.backend]}${init.gpu ? ` (${init.gpu})` : ''}`}
    >
      {BACKEND_LABELS[init.backend]}
    </span>
  );
}

export function backendLabel(name: BackendName): string {
  return BACKEND_LABELS[name];
}
