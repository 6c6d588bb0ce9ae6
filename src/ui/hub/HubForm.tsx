import { useState } from 'react';
import type { ModelSource } from '../../shared/protocol';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** What the form starts with (a restored session's model): never a token. */
export interface HubFormValues {
  repo: string;
  revision: string;
  endpoint: string;
}

/** Model id, revision, access token and endpoint. The token lives only in this component's state. */
export function HubForm({
  onLoad,
  onCancel,
  loading,
  initial,
}: {
  onLoad: (source: Extract<ModelSource, { kind: 'hub' }>) => void;
  onCancel: () => void;
  loading: boolean;
  initial?: HubFormValues;
}) {
  const [repo, setRepo] = useState(initial?.repo ?? '');
  const [revision, setRevision] = useState(initial?.revision ?? 'main');
  const [token, setToken] = useState('');
  const [endpoint, setEndpoint] = useState(initial?.endpoint ?? DEFAULT_ENDPOINT);
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        if (repo.trim()) onLoad({ kind: 'hub', repo: repo.trim(), revision: revision.trim() || 'main', endpoint: endpoint.trim(), ...(token.trim() ? { token: token.trim() } : {}) });
      }}
    >
      <div className="fields">
        <label htmlFor="hub-id">Model id</label>
        <input id="hub-id" data-testid="hub.id" placeholder="openai-community/gpt2" value={repo} onChange={(e) => setRepo(e.target.value)} spellCheck={false} autoComplete="off" />
        <label htmlFor="hub-revision">Revision</label>
        <input id="hub-revision" data-testid="hub.revision" value={revision} onChange={(e) => setRevision(e.target.value)} spellCheck={false} />
        <label htmlFor="hub-token">Access token</label>
        <input
          id="hub-token"
          data-testid="hub.token"
          type="password"
          placeholder="hf_… (gated or private models only; kept in this tab's memory)"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          autoComplete="off"
        />
        <label htmlFor="hub-endpoint">Endpoint</label>
        <input id="hub-endpoint" data-testid="hub.endpoint" value={endpoint} onChange={(e) => setEndpoint(e.target.value)} spellCheck={false} />
      </div>
      <div className="row">
        <button type="submit" data-testid="hub.load" disabled={loading || !repo.trim()}>
          {loading ? 'Loading…' : 'Load from the Hub'}
        </button>
        {loading && (
          <button type="button" data-testid="hub.cancel" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
