import { useId, useState } from 'react';
import type { ModelSummary } from '../shared/protocol';
import type { GenerateResult, PredictResult, TrainOutcome } from '../shared/tasks';
import type { StudioClient } from './StudioClient';
import type { RunRecord } from './runStore';
import { errorText, percent } from './format';

/** Type an input and see the tuned prompt's class probabilities (beside zero-shot) or its continuation. */
export function Playground({ client, run, outcome, model }: { client: StudioClient; run: RunRecord; outcome: TrainOutcome; model: ModelSummary | null }) {
  const ids = useId();
  const columns = run.spec.textColumns;
  const [inputs, setInputs] = useState<Record<string, string>>({});
  const [strategy, setStrategy] = useState<'greedy' | 'sample'>('greedy');
  const [temperature, setTemperature] = useState('0.8');
  const [maxNewTokens, setMaxNewTokens] = useState('12');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [predicted, setPredicted] = useState<PredictResult | null>(null);
  const [generated, setGenerated] = useState<GenerateResult | null>(null);
  const wrongModel = !model ? 'Load a model to use the playground.' : model.id !== run.modelId ? `This prompt was tuned on “${run.modelId}”; load that model to try it.` : null;

  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      if (run.spec.task === 'classification' && outcome.task === 'classification') {
        setPredicted(await client.call('predict', { spec: run.spec, mode: run.config.mode, classes: outcome.classes, prompt: outcome.prompt, inputs }));
      } else if (run.spec.task === 'generation') {
        const temp = Number(temperature);
        const max = Number(maxNewTokens);
        if (strategy === 'sample' && !(temp > 0)) throw new Error('temperature must be a number above 0');
        if (!(Number.isInteger(max) && max >= 1 && max <= 256)) throw new Error('max new tokens must be a whole number from 1 to 256');
        setGenerated(await client.call('generate', { spec: run.spec, prompt: outcome.prompt, inputs, strategy, temperature: temp, maxNewTokens: max, topK: 40, seed: Date.now() % 100000 }));
      }
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="playground"
      data-testid="playground"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h3>Playground</h3>
      {wrongModel && (
        <p className="muted" data-testid="playground.blocked">
          {wrongModel}
        </p>
      )}
      {columns.map((c) => (
        <div key={c} className="playground-input">
          <label htmlFor={`${ids}-${c}`}>{c}</label>
          <textarea id={`${ids}-${c}`} rows={2} data-testid={`playground.input.${c}`} value={inputs[c] ?? ''} onChange={(e) => setInputs({ ...inputs, [c]: e.target.value })} />
        </div>
      ))}
      {run.spec.task === 'generation' && (
        <div className="row">
          <label htmlFor={`${ids}-strategy`}>Decoding</label>
          <select id={`${ids}-strategy`} data-testid="playground.strategy" value={strategy} onChange={(e) => setStrategy(e.target.value as 'greedy' | 'sample')}>
            <option value="greedy">greedy</option>
            <option value="sample">top-k sampling</option>
          </select>
          {strategy === 'sample' && (
            <>
              <label htmlFor={`${ids}-temp`}>Temperature</label>
              <input id={`${ids}-temp`} className="short" data-testid="playground.temperature" value={temperature} onChange={(e) => setTemperature(e.target.value)} />
            </>
          )}
          <label htmlFor={`${ids}-max`}>Max new tokens</label>
          <input id={`${ids}-max`} className="short" data-testid="playground.maxTokens" value={maxNewTokens} onChange={(e) => setMaxNewTokens(e.target.value)} />
        </div>
      )}
      <div className="row">
        <button type="submit" data-testid="playground.run" disabled={busy || wrongModel !== null}>
          {busy ? 'Running…' : run.spec.task === 'classification' ? 'Classify' : 'Generate'}
        </button>
      </div>
      {error && (
        <p className="note note-error" role="alert" data-testid="playground.error">
          {error}
        </p>
      )}
      {predicted && run.spec.task === 'classification' && <PredictedClass result={predicted} />}
      {predicted && run.spec.task === 'classification' && (
        <table className="data-table compact probabilities" data-testid="playground.output">
          <thead>
            <tr>
              <th scope="col">Class</th>
              <th scope="col">Tuned</th>
              <th scope="col">Zero-shot</th>
            </tr>
          </thead>
          <tbody>
            {predicted.classes.map((c, i) => (
              <tr key={c} className={i === argmax(predicted.tuned ?? predicted.zeroShot) ? 'predicted' : ''} data-testid={`playground.prob.${c}`} data-prob={predicted.tuned?.[i] ?? ''}>
                <th scope="row">{c}</th>
                <td className="bar-cell">
                  <span className="bar" style={{ width: `${6 * (predicted.tuned?.[i] ?? 0)}em` }} />
                  {percent(predicted.tuned?.[i])}
                </td>
                <td className="bar-cell">
                  <span className="bar bar-muted" style={{ width: `${6 * (predicted.zeroShot?.[i] ?? 0)}em` }} />
                  {percent(predicted.zeroShot?.[i])}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {generated && run.spec.task === 'generation' && (
        <dl className="facts" data-testid="playground.generated">
          <dt>Tuned prompt</dt>
          <dd data-testid="playground.output" data-text={generated.tuned ?? ''}>{generated.tuned || '(nothing: the model ended the text at once)'}</dd>
          <dt>Template alone</dt>
          <dd data-testid="playground.zeroShot">{generated.zeroShot || '(nothing)'}</dd>
        </dl>
      )}
    </form>
  );
}

/** Index of the largest probability; -1 for none. */
function argmax(probabilities: readonly number[] | null): number {
  if (!probabilities || probabilities.length === 0) return -1;
  return probabilities.indexOf(Math.max(...probabilities));
}

/** The class each prompt picks, in words, above the probabilities. */
function PredictedClass({ result }: { result: PredictResult }) {
  const pick = (probabilities: number[] | null) => {
    const i = argmax(probabilities);
    return i < 0 ? null : { name: result.classes[i], probability: probabilities![i] };
  };
  const tuned = pick(result.tuned);
  const zeroShot = pick(result.zeroShot);
  return (
    <p className="playground-verdict" data-testid="playground.predicted" data-class={tuned?.name ?? zeroShot?.name ?? ''}>
      {tuned && (
        <>
          Tuned prompt: <strong data-testid="playground.predicted.tuned">{tuned.name}</strong> ({percent(tuned.probability)})
        </>
      )}
      {tuned && zeroShot && ' · '}
      {zeroShot && (
        <>
          {tuned ? 'zero-shot' : 'Zero-shot'}: <strong data-testid="playground.predicted.zeroShot">{zeroShot.name}</strong> ({percent(zeroShot.probability)})
        </>
      )}
    </p>
  );
}
