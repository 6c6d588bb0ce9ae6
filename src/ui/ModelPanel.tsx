import { useEffect, useRef, useState } from 'react';
import { EMBEDDED_MODELS } from '../shared/models';
import type { DecoderSummary, ModelSource, ModelSummary, TopTokensResult } from '../shared/protocol';
import type { StudioClient } from './StudioClient';
import { CachedModels } from './hub/CachedModels';
import { DownloadView } from './hub/DownloadView';
import { DEFAULT_ENDPOINT, HubForm, type HubFormValues } from './hub/HubForm';
import { InspectionView } from './hub/InspectionView';
import { LocalFiles } from './hub/LocalFiles';
import { useModelLoad, type ModelLoadOutcome } from './hub/useModelLoad';
import { errorText } from './hub/format';
import { tabKeyTarget } from './tabs';
import './hub/hub.css';

const SOURCES = [
  { id: 'embedded', title: 'Embedded' },
  { id: 'hub', title: 'Hugging Face Hub' },
  { id: 'local', title: 'Local files' },
] as const;
type SourceTab = (typeof SOURCES)[number]['id'];

/**
 * A model the panel is asked to load (a restored session's): its tab is shown, its choice or Hub
 * form filled, and `onDone` hears how the load ended. Local files cannot be asked for: they must be picked.
 */
export interface ModelRequest {
  source: Exclude<ModelSource, { kind: 'files' }>;
  onDone(outcome: ModelLoadOutcome): void;
}

/** Pick and load a model (embedded, from the Hub, or from local files), see what it is, and ask it what it predicts. */
export function ModelPanel({
  client,
  onLoaded,
  request,
}: {
  client: StudioClient;
  onLoaded?: (m: ModelSummary, source: ModelSource) => void;
  request?: ModelRequest | null;
}) {
  const [tab, setTab] = useState<SourceTab>('embedded');
  const [choice, setChoice] = useState(EMBEDDED_MODELS[0].id);
  const [hubInitial, setHubInitial] = useState<HubFormValues | undefined>(undefined);
  const [cacheVersion, setCacheVersion] = useState(0);
  const { state, load, cancel } = useModelLoad(client, onLoaded);
  const { loading, download, inspection, notice, error, summary } = state;

  const loadEmbedded = () => {
    const model = EMBEDDED_MODELS.find((m) => m.id === choice)!;
    void load({ kind: 'url', url: new URL(`${model.path}/`, document.baseURI).href, id: model.id });
  };
  // The cached list changes when a Hub load ends, whether it was stored or not.
  const loadAndRefresh = async (...args: Parameters<typeof load>) => {
    const outcome = await load(...args);
    setCacheVersion((v) => v + 1);
    return outcome;
  };

  // Each request is loaded once (StrictMode runs effects twice in development).
  const requested = useRef<ModelRequest | null>(null);
  useEffect(() => {
    if (!request || requested.current === request) return;
    requested.current = request;
    const { source } = request;
    if (source.kind === 'hub') {
      setTab('hub');
      setHubInitial({ repo: source.repo, revision: source.revision ?? 'main', endpoint: source.endpoint ?? DEFAULT_ENDPOINT });
      void loadAndRefresh(source).then(request.onDone);
    } else {
      if (EMBEDDED_MODELS.some((m) => m.id === source.id)) {
        setTab('embedded');
        setChoice(source.id);
      }
      void load(source).then(request.onDone);
    }
  }, [request]); // eslint-disable-line react-hooks/exhaustive-deps

  return (
    <section className="panel" aria-labelledby="model-heading" data-testid="model.panel">
      <h2 id="model-heading">2. Model</h2>
      <div className="tabs" role="tablist" aria-label="Where the model comes from">
        {SOURCES.map((s) => (
          <button
            key={s.id}
            type="button"
            role="tab"
            id={`model-tab-${s.id}`}
            aria-selected={tab === s.id}
            aria-controls={`model-source-${s.id}`}
            tabIndex={tab === s.id ? 0 : -1}
            data-testid={`model.tab.${s.id}`}
            onClick={() => setTab(s.id)}
            onKeyDown={(e) => {
              const next = tabKeyTarget(e.key, SOURCES.findIndex((x) => x.id === s.id), SOURCES.length);
              if (next === null) return;
              e.preventDefault();
              setTab(SOURCES[next].id);
              document.getElementById(`model-tab-${SOURCES[next].id}`)?.focus();
            }}
          >
            {s.title}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`model-source-${tab}`} aria-labelledby={`model-tab-${tab}`}>
        {tab === 'embedded' && (
          <>
            <div className="row">
              <label htmlFor="model-select">Embedded model</label>
              <select id="model-select" data-testid="model.select" value={choice} onChange={(e) => setChoice(e.target.value)}>
                {EMBEDDED_MODELS.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.title}
                  </option>
                ))}
              </select>
              <button type="button" data-testid="model.load" onClick={loadEmbedded} disabled={loading !== null}>
                {loading ? 'Loading…' : 'Load'}
              </button>
            </div>
            <p className="muted">{EMBEDDED_MODELS.find((m) => m.id === choice)?.description}</p>
          </>
        )}
        {tab === 'hub' && (
          <>
            <HubForm
              key={hubInitial ? `${hubInitial.endpoint} ${hubInitial.repo} ${hubInitial.revision}` : ''}
              initial={hubInitial}
              onLoad={(source) => void loadAndRefresh(source)}
              onCancel={cancel}
              loading={loading !== null}
            />
            <CachedModels
              version={cacheVersion}
              disabled={loading !== null}
              onLoad={(m) => void loadAndRefresh({ kind: 'hub', repo: m.repo, revision: m.revision, endpoint: m.endpoint })}
            />
          </>
        )}
        {tab === 'local' && (
          <>
            <LocalFiles onFiles={(label, files) => void load({ kind: 'files', label, files })} disabled={loading !== null} />
            {loading && (
              <button type="button" data-testid="local.cancel" onClick={cancel}>
                Cancel
              </button>
            )}
          </>
        )}
      </div>
      {loading && (
        <p className="muted" data-testid="model.progress">
          {loading}
        </p>
      )}
      {download && <DownloadView download={download} />}
      {inspection && <InspectionView inspection={inspection} />}
      {error && (
        <p className="note note-error" role="alert" data-testid="model.error">
          {error}
        </p>
      )}
      {notice && (
        <p className="note note-warn" data-testid="model.notice">
          {notice}
        </p>
      )}
      {summary && <ModelSummaryView summary={summary} />}
      {summary && <Probe key={summary.checkpointHash} client={client} summary={summary} />}
    </section>
  );
}

function ModelSummaryView({ summary: s }: { summary: ModelSummary }) {
  const can = s.lmKind === 'masked-lm' ? 'masked LM: classification with [MASK] templates' : 'causal LM: classification and generation';
  return (
    <dl className="facts" data-testid="model.summary" data-model-type={s.modelType}>
      <dt>Model</dt>
      <dd>{s.id}</dd>
      <dt>Family</dt>
      <dd>{s.modelType}</dd>
      <dt>Size</dt>
      <dd>
        {s.numLayers} layers, hidden {s.hiddenSize}, {s.numHeads} heads, vocabulary {s.vocabSize.toLocaleString('en')}
      </dd>
      <dt>Parameters</dt>
      <dd data-testid="model.parameters">{s.parameters.toLocaleString('en')}</dd>
      <dt>Weights</dt>
      <dd data-testid="model.weights">
        {(s.weightBytes / 1e6).toFixed(1)} MB{s.weightDtypes?.length ? ` stored as ${s.weightDtypes.join(' + ')} (float32 on the device)` : ''}
      </dd>
      {s.decoder && <DecoderFacts d={s.decoder} numHeads={s.numHeads} />}
      <dt>Supports</dt>
      <dd>{s.hasLmHead ? can : 'no LM head: linear label-head mode only'}</dd>
    </dl>
  );
}

/** The Llama family's architecture: what a user compares between checkpoints (GQA, RoPE, head, window). */
function DecoderFacts({ d, numHeads }: { d: DecoderSummary; numHeads: number }) {
  const attention =
    d.numKeyValueHeads === numHeads
      ? `${numHeads} query and key/value heads (multi-head)`
      : `${numHeads} query heads, ${d.numKeyValueHeads} key/value ${d.numKeyValueHeads === 1 ? 'head (multi-query)' : `heads (grouped-query, ${numHeads / d.numKeyValueHeads} per group)`}`;
  const extras = [d.attentionBias !== 'none' ? `${d.attentionBias} bias` : '', d.qkNorm ? 'q/k RMSNorm' : ''].filter(Boolean);
  const scaling = !d.ropeScaling
    ? 'no scaling'
    : d.ropeScaling.type === 'linear'
      ? `linear scaling x${d.ropeScaling.factor}`
      : `llama3 scaling x${d.ropeScaling.factor} (low ${d.ropeScaling.lowFreqFactor}, high ${d.ropeScaling.highFreqFactor}, original ${d.ropeScaling.originalMaxPositions} positions)`;
  return (
    <>
      <dt>Attention</dt>
      <dd data-testid="model.attention">
        {attention}, head dim {d.headDim}
        {extras.length ? `, ${extras.join(', ')}` : ''}
      </dd>
      <dt>RoPE</dt>
      <dd data-testid="model.rope">
        theta {d.ropeTheta.toLocaleString('en')}, {scaling}
      </dd>
      <dt>LM head</dt>
      <dd data-testid="model.head">{d.tiedHead ? 'tied to the token embeddings' : 'untied (its own matrix)'}</dd>
      {d.slidingWindow !== null && (
        <>
          <dt>Sliding window</dt>
          <dd data-testid="model.slidingWindow">{d.slidingWindow.toLocaleString('en')} tokens (longer sequences are refused)</dd>
        </>
      )}
    </>
  );
}

function Probe({ client, summary }: { client: StudioClient; summary: ModelSummary }) {
  const [text, setText] = useState(summary.maskToken ? `the movie was ${summary.maskToken} .` : 'The movie was');
  const [result, setResult] = useState<TopTokensResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = async () => {
    setError(null);
    try {
      setResult(await client.call('topTokens', { text, k: 5 }));
    } catch (e) {
      setResult(null);
      setError(errorText(e));
    }
  };
  return (
    <form
      className="probe"
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <label htmlFor="probe-text">
        {summary.maskToken ? `Ask the frozen model to fill ${summary.maskToken}` : 'Ask the frozen model for the next word'}
      </label>
      <div className="row">
        <input id="probe-text" data-testid="model.probe.input" value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit" data-testid="model.probe.run">
          Predict
        </button>
      </div>
      {error && (
        <p className="note note-error" role="alert" data-testid="model.probe.error">
          {error}
        </p>
      )}
      {result && (
        <ol className="predictions" data-testid="model.probe.results">
          {result.tokens.map((t) => (
            <li key={t.id} data-testid="model.probe.token" data-token-id={t.id} data-prob={t.prob}>
              <code>{t.token}</code> {(100 * t.prob).toFixed(1)}%
            </li>
          ))}
        </ol>
      )}
    </form>
  );
}
