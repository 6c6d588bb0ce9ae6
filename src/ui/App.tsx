import { BackendBadge, backendLabel } from './BackendBadge';
import { useStudio } from './useStudio';
import { ModelPanel } from './ModelPanel';
import type { StudioState } from './useStudio';

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

      <main className="main">
        <p className="intro">
          Tune a soft prompt on a frozen transformer. Everything runs in this tab: the model, your data and the training
          loop stay on your machine.
        </p>
        {studio.phase === 'ready' && <ModelPanel client={studio.client} />}
      </main>

      <footer className={`status status-${studio.phase}`} data-testid="app.status" role="status">
        {statusText(studio)}
      </footer>
    </div>
  );
}

function statusText(studio: StudioState): string {
  switch (studio.phase) {
    case 'starting':
      return `Starting: ${studio.stage}…`;
    case 'ready':
      return `Ready: TensorFlow.js ${studio.init.tfjsVersion} on ${backendLabel(studio.init.backend)}`;
    case 'failed':
      return `Failed to start: ${studio.message}`;
  }
}
