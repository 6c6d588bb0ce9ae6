import { useEffect, useState } from 'react';
import { BackendBadge, backendLabel } from './BackendBadge';
import { useStudio } from './useStudio';
import type { StudioState } from './useStudio';
import { Studio } from './Studio';
import { StudioErrorBoundary } from './ErrorBoundary';

export function App() {
  const studio = useStudio();
  const init = studio.phase === 'ready' ? studio.init : null;

  return (
    <div className="app" data-testid="app" data-state={studio.phase}>
      <header className="app-header">
        <h1>Prompt Tuning Studio</h1>
        <BackendBadge init={init} />
      </header>

      {init?.fallbackReason && (
        <p className="note note-warn" data-testid="backend.reason">
          Running on {backendLabel(init.backend)} because faster backends failed: {init.fallbackReason}
        </p>
      )}

      {init?.softwareGpu && (
        <p className="note note-warn" data-testid="backend.software">
          WebGPU runs on a software adapter here ({init.gpu}): correct, but slow. Add <code>?backend=wasm</code> to the
          address for the faster CPU path.
        </p>
      )}

      {init?.skippedSoftwareGpu && (
        <p className="note note-warn" data-testid="backend.software">
          Running on {backendLabel(init.backend)}: this browser's WebGPU adapter is a software renderer ({init.skippedSoftwareGpu}), which trains
          tens of times slower than {backendLabel(init.backend)} here. To use WebGPU anyway, open the studio with{' '}
          <a href="?backend=webgpu" data-testid="backend.forceWebgpu">
            <code>?backend=webgpu</code>
          </a>
          .
        </p>
      )}

      <main className="main">
        <p className="intro">
          Tune a soft prompt on a frozen transformer. Everything runs in this tab: the model, your data and the training
          loop stay on your machine.
        </p>
        {studio.phase === 'ready' && (
          <StudioErrorBoundary>
            <StudioWhenReady studio={studio} />
          </StudioErrorBoundary>
        )}
      </main>

      <footer className={`status status-${studio.phase}`} data-testid="app.status" role="status">
        {statusText(studio)}
      </footer>
    </div>
  );
}

/** Asks the worker for the engine's defaults once, then shows the panels. */
function StudioWhenReady({ studio }: { studio: Extract<StudioState, { phase: 'ready' }> }) {
  const [engine, setEngine] = useState<Awaited<ReturnType<typeof studio.client.call<'engineInfo'>>> | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    studio.client
      .call('engineInfo', {})
      .then((info) => current && setEngine(info))
      .catch((e: unknown) => current && setError(e instanceof Error ? e.message : String(e)));
    return () => {
      current = false;
    };
  }, [studio.client]);
  if (error) return <p className="note note-error">The worker did not answer: {error}</p>;
  if (!engine) return <p className="muted">Starting…</p>;
  return <Studio client={studio.client} engine={engine} />;
}

function statusText(studio: StudioState): string {
  switch (studio.phase) {
    case 'starting':
      return `Starting: ${studio.stage}…`;
    case 'ready':
      return `Ready: TensorFlow.js ${studio.init.tfjsVersion} on ${backendLabel(studio.init.backend)}${studio.init.gpu ? ` (${studio.init.gpu})` : ''}`;
    case 'failed':
      return `Failed to start: ${studio.message}`;
  }
}
