import { useCallback, useEffect, useState } from 'react';
// Runs on the page: cache.ts imports nothing and only uses Cache Storage, which the page
// shares with the worker, so listing and deleting need no worker message.
import { browserCacheStorage, ModelCache, type CachedModel } from '../../model/cache';
import { errorText, formatBytes, formatCount } from './format';

/** The Hub models this browser holds, with their sizes; each can be loaded or deleted. */
export function CachedModels({ version, onLoad, disabled }: { version: number; onLoad: (m: CachedModel) => void; disabled: boolean }) {
  const [models, setModels] = useState<CachedModel[] | null>(null);
  const [usage, setUsage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const storage = browserCacheStorage();

  const refresh = useCallback(async () => {
    if (!storage) return;
    try {
      setModels(await new ModelCache(storage).list());
      const estimate = await navigator.storage?.estimate?.();
      if (estimate?.usage !== undefined) {
        setUsage(`${formatBytes(estimate.usage)} used of ${estimate.quota ? formatBytes(estimate.quota) : '?'} this site may store`);
      }
    } catch (e) {
      setError(errorText(e));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh, version]);

  if (!storage) return <p className="muted">This page has no Cache Storage (it needs https or localhost): models are downloaded on every load.</p>;

  const remove = async (m: CachedModel) => {
    try {
      await new ModelCache(storage).delete(m);
    } catch (e) {
      setError(errorText(e));
    }
    await refresh();
  };

  return (
    <div data-testid="hub.cached" data-count={models?.length ?? 0}>
      <h3>Cached models</h3>
      {models && models.length === 0 && <p className="muted">None yet: a model loaded from the Hub is kept here and loads again without the network.</p>}
      <ul className="cached">
        {models?.map((m) => (
          <li key={`${m.endpoint} ${m.repo} ${m.revision}`} data-testid="hub.cached.item" data-repo={m.repo} data-revision={m.revision} data-bytes={m.bytes}>
            <span className="grow">
              <strong>{m.repo}</strong>
              {m.revision !== 'main' && `@${m.revision}`} · {formatBytes(m.bytes)}
              {m.parameters !== undefined && ` · ${formatCount(m.parameters)} parameters`}
              <span className="muted"> · {new URL(m.endpoint).host}</span>
            </span>
            <button type="button" data-testid="hub.cached.load" onClick={() => onLoad(m)} disabled={disabled}>
              Load
            </button>
            <button type="button" data-testid="hub.cached.delete" onClick={() => void remove(m)} disabled={disabled}>
              Delete
            </button>
          </li>
        ))}
      </ul>
      {usage && <p className="muted">{usage}</p>}
      {error && (
        <p className="note note-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
