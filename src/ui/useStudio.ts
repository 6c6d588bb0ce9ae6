import { useEffect, useState } from 'react';
import { BACKEND_NAMES } from '../shared/protocol';
import type { BackendName, InitResult } from '../shared/protocol';
import { StudioClient } from './StudioClient';

export type StudioState =
  | { phase: 'starting'; stage: string }
  | { phase: 'ready'; client: StudioClient; init: InitResult }
  | { phase: 'failed'; message: string };

/** A new studio worker (Vite bundles the module named here). */
function startWorker(): Worker {
  return new Worker(new URL('../worker/worker.ts', import.meta.url), { type: 'module' });
}

/**
 * Starts the worker, asks it to pick a backend and reports how that went.
 * `?backend=wasm,cpu` in the page URL narrows (and orders) the backends tried.
 * A worker that crashes is replaced by the client (StudioClient), which chooses the backend
 * again; `init` then says what the new worker runs on.
 */
export function useStudio(): StudioState {
  const [state, setState] = useState<StudioState>({ phase: 'starting', stage: 'starting worker' });

  useEffect(() => {
    const client = new StudioClient(startWorker(), startWorker);
    let active = true;
    const offRestart = client.onRestart((event) => {
      const init = event.phase === 'restarted' ? event.report.init : null;
      if (active && init) setState({ phase: 'ready', client, init });
    });
    const offProgress = client.onProgress((progress) => {
      if (active) setState({ phase: 'starting', stage: progress.stage });
    });
    client
      .init(backendsFromUrl(window.location.search))
      .then((init) => {
        offProgress(); // later progress events belong to other tasks (model loading, training)
        if (active) setState({ phase: 'ready', client, init });
      })
      .catch((error: unknown) => {
        if (active) setState({ phase: 'failed', message: error instanceof Error ? error.message : String(error) });
      });
    return () => {
      // React (StrictMode, hot reload) may mount twice; each mount owns one worker.
      active = false;
      offProgress();
      offRestart();
      client.dispose();
    };
  }, []);

  return state;
}

/** "?backend=wasm,cpu" -> ['wasm', 'cpu']; unknown names are dropped; none -> undefined (all). */
export function backendsFromUrl(search: string): BackendName[] | undefined {
  const raw = new URLSearchParams(search).get('backend');
  if (!raw) return undefined;
  const names = raw
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name): name is BackendName => (BACKEND_NAMES as readonly string[]).includes(name));
  return names.length > 0 ? names : undefined;
}
