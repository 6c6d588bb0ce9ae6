import { useCallback, useRef, useState } from 'react';
import type { ModelSource, ModelSummary } from '../../shared/protocol';
import type { DownloadProgress, ModelLoadProgress } from '../../model/hubLoad';
import type { ModelInspection } from '../../model/hubInspect';
import type { StudioClient } from '../StudioClient';
import { errorText } from './format';

export interface ModelLoadState {
  /** The stage line while a load runs, else null. */
  loading: string | null;
  download: DownloadProgress | null;
  inspection: ModelInspection | null;
  /** Set by the worker when the model loaded but something is worth saying (not cached). */
  notice: string | null;
  error: string | null;
  summary: ModelSummary | null;
}

/** How a load ended: the model, or why not (also shown in the panel). */
export type ModelLoadOutcome = { summary: ModelSummary; error: null } | { summary: null; error: string };

const IDLE: ModelLoadState = { loading: null, download: null, inspection: null, notice: null, error: null, summary: null };

/** One model load at a time through the worker, with its progress, checks and result. */
export function useModelLoad(client: StudioClient, onLoaded?: (summary: ModelSummary, source: ModelSource) => void) {
  const [state, setState] = useState<ModelLoadState>(IDLE);
  const generation = useRef(0);

  const load = useCallback(
    async (source: ModelSource): Promise<ModelLoadOutcome> => {
      const mine = ++generation.current;
      const current = () => generation.current === mine;
      setState((s) => ({ ...IDLE, summary: s.summary, loading: 'starting…' }));
      const off = client.onProgress((progress) => {
        if (!current()) return;
        // Model loads send the protocol's Progress with optional download/inspection fields.
        const p: ModelLoadProgress = progress;
        setState((s) => ({
          ...s,
          loading: p.stage,
          ...(p.download ? { download: p.download } : {}),
          ...(p.inspection ? { inspection: p.inspection } : {}),
          ...(p.message ? { notice: p.message } : {}),
        }));
      });
      try {
        const summary = await client.call('loadModel', { source });
        if (current()) {
          setState((s) => ({ ...s, summary }));
          onLoaded?.(summary, source);
        }
        return { summary, error: null };
      } catch (e) {
        if (current()) setState((s) => ({ ...s, error: errorText(e) }));
        return { summary: null, error: errorText(e) };
      } finally {
        off();
        if (current()) setState((s) => ({ ...s, loading: null }));
      }
    },
    [client, onLoaded],
  );

  /** Aborts the load in flight; it then fails with "Loading was cancelled". */
  const cancel = useCallback(() => {
    client.call('cancelModelLoad', {}).catch(() => {});
  }, [client]);

  return { state, load, cancel };
}
