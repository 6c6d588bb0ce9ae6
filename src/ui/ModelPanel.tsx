import { useState } from 'react';
import { EMBEDDED_MODELS } from '../shared/models';
import type { ModelSummary, TopTokensResult } from '../shared/protocol';
import type { StudioClient } from './StudioClient';

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Pick and load a model, see what it is, and ask it what it predicts. */
export function ModelPanel({ client, onLoaded }: { client: StudioClient; onLoaded?: (m: ModelSummary) => void }) {
  const [choice, setChoice] = useState(EMBEDDED_MODELS[0].id);
  const [loading, setLoading] = useState<string | null>(null);
  const [summary, setSummary] = useState<ModelSummary | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = async () => {
    const model = EMBEDDED_MODELS.find((m) => m.id === choice)!;
    setLoading('loading…');
    setError(null);
    const off = client.onProgress((p) => setLoading(p.stage));
    try {
      const url = new URL(`${model.path}/`, document.baseURI).href;
      const s = await client.call('loadModel', { source: { kind: 'url', url, id: model.id } });
      setSummary(s);
      onLoaded?.(s);
    } catch (e) {
      setError(errorText(e));
    } finally {
      off();
      setLoading(null);
    }
  };

  return (
    <section className="panel" aria-labelledby="model-heading" data-testid="model.panel">
      <h2 id="model-heading">Model</h2>
      <div className="row">
        <label htmlFor="model-select">Embedded model</label>
        <select id="model-select" data-testid="model.select" value={choice} onChange={(e) => setChoice(e.target.value)}>
          {EMBEDDED_MODELS.map((m) => (
            <option key={m.id} value={m.id}>
              {m.title}
            </option>
          ))}
        </select>
        <button type="button" data-testid="model.load" onClick={load} disabled={loading !== null}>
          {loading ? 'Loading…' : 'Load'}
        </button>
      </div>
      <p className="muted">{EMBEDDED_MODELS.find((m) => m.id === choice)?.description}</p>
      {loading && <p className="muted" data-testid="model.progress">{loading}</p>}
      {error && (
        <p className="note note-error" role="alert" data-testid="model.error">
          {error}
        </p>
      )}
      {summary && <ModelSummaryView summary={summary} />}
      {summary && <Probe client={client} summary={summary} />}
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
      <dd>{(s.weightBytes / 1e6).toFixed(1)} MB</dd>
      <dt>Supports</dt>
      <dd>{s.hasLmHead ? can : 'no LM head: linear label-head mode only'}</dd>
    </dl>
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
