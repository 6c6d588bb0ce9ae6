import { useId, useMemo, useState } from 'react';
import type { ModelSummary } from '../shared/protocol';
import type { ClassificationOutcome, EvalSummary, GenerationOutcome, TrainOutcome } from '../shared/tasks';
import { judgeOutcome } from '../shared/judge';
import type { StudioClient } from './StudioClient';
import type { RunRecord } from './runStore';
import { Playground } from './Playground';
import { useInjectedFault } from './ErrorBoundary';
import { duration, fixed, percent, plural } from './format';

const STOP_REASONS = {
  completed: 'completed all epochs',
  'early-stopped': 'stopped early (validation loss stopped improving)',
  stopped: 'stopped by you',
  'non-finite-loss': 'stopped: the loss became NaN/Inf',
} as const;

/** Step 5: zero-shot vs tuned side by side, confusion matrices, predictions, robustness, and the playground. */
export function ResultsPanel({ client, run, model }: { client: StudioClient; run: RunRecord | null; model: ModelSummary | null }) {
  const ids = useId();
  useInjectedFault(client, 'results');
  const outcome = run?.outcome ?? null;
  return (
    <section className="panel" aria-labelledby={`${ids}-h`} data-testid="results.panel">
      <h2 id={`${ids}-h`}>5. Results</h2>
      {!run && <p className="muted">Train a prompt (or pick a run) to see its results.</p>}
      {run && !outcome && (
        <p className="muted" data-testid="results.pending">
          Results for “{run.name}” appear when its training ends or is stopped.
        </p>
      )}
      {run && outcome && (
        <>
          <p className="muted" data-testid="results.summary">
            “{run.name}”: {plural(outcome.steps, 'step')} in {duration(outcome.seconds)}, {STOP_REASONS[outcome.stopReason]}
            {outcome.bestEpoch !== null ? `; prompt from epoch ${outcome.bestEpoch} (best validation loss)` : ''}. {plural(outcome.trainSize, 'training example')},{' '}
            {plural(outcome.valSize, 'validation example')}
            {outcome.truncatedCount > 0 ? `, ${plural(outcome.truncatedCount, 'example')} truncated to fit` : ''}.
          </p>
          {outcome.task === 'classification' ? <ClassificationResults outcome={outcome} /> : <GenerationResults outcome={outcome} />}
          <Playground client={client} run={run} outcome={outcome} model={model} />
        </>
      )}
    </section>
  );
}

function Metric({ testId, title, value, detail }: { testId: string; title: string; value: string; detail: string }) {
  return (
    <div className="metric-card" data-testid={testId}>
      <span className="metric-title">{title}</span>
      <span className="metric-value" data-testid={`${testId}.value`}>
        {value}
      </span>
      <span className="muted">{detail}</span>
    </div>
  );
}

/** What the numbers say (constant predictors, differences beyond chance) and what to try next, in sentences. */
function VerdictList({ outcome }: { outcome: TrainOutcome }) {
  const verdict = useMemo(() => judgeOutcome(outcome), [outcome]);
  return (
    <div className="verdict">
      <h3>What the results say</h3>
      <ul data-testid="results.verdict">
        {verdict.findings.map((f) => (
          <li key={f.kind} className={`verdict-${f.tone}`} data-testid="results.verdict.item" data-kind={f.kind} data-tone={f.tone}>
            {f.text}
          </li>
        ))}
      </ul>
      {verdict.next.length > 0 && (
        <>
          <h3>What to try next</h3>
          <ul data-testid="results.next">
            {verdict.next.map((s) => (
              <li key={s.kind} data-testid="results.next.item" data-kind={s.kind}>
                {s.text}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

function ClassificationResults({ outcome }: { outcome: ClassificationOutcome }) {
  const { zeroShot, tuned, majority, classes } = outcome;
  return (
    <>
      <div className="cards">
        <Metric
          testId="results.zeroShot"
          title="Zero-shot (template + label words, no soft prompt)"
          value={zeroShot ? percent(zeroShot.accuracy) : 'n/a'}
          detail={zeroShot ? `accuracy · macro-F1 ${fixed(zeroShot.macroF1)}` : 'needs label words and a validation split'}
        />
        <Metric testId="results.tuned" title="Tuned prompt" value={tuned ? percent(tuned.accuracy) : 'n/a'} detail={tuned ? `accuracy · macro-F1 ${fixed(tuned.macroF1)}` : 'no validation split'} />
        <Metric testId="results.majority" title="Majority class" value={percent(majority.accuracy)} detail={`always “${majority.label}”`} />
      </div>
      <VerdictList outcome={outcome} />
      {outcome.ensemble && (
        <div data-testid="results.ensemble">
          <p className="muted">
            An ensemble of {outcome.ensemble.members.length} prompts: the tuned figure above is theirs together (the mean of their class probabilities).
            The members disagree on {percent(outcome.ensemble.disagreement)} of the validation rows (any two on {percent(outcome.ensemble.pairwiseDisagreement)} on
            average); an ensemble can only help where they disagree.
          </p>
          <table className="data-table compact">
            <thead>
              <tr>
                <th scope="col">Member</th>
                <th scope="col">Accuracy</th>
                <th scope="col">Macro-F1</th>
                <th scope="col">Loss</th>
              </tr>
            </thead>
            <tbody>
              {outcome.ensemble.members.map((m, k) => (
                <tr key={k} data-testid="results.ensemble.member">
                  <th scope="row">{k + 1}</th>
                  <td>{percent(m.accuracy)}</td>
                  <td>{fixed(m.macroF1)}</td>
                  <td>{fixed(m.loss)}</td>
                </tr>
              ))}
              {tuned && (
                <tr data-testid="results.ensemble.all">
                  <th scope="row">ensemble</th>
                  <td>{percent(tuned.accuracy)}</td>
                  <td>{fixed(tuned.macroF1)}</td>
                  <td>{fixed(tuned.loss)}</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
      <div className="matrices">
        {zeroShot && <ConfusionMatrix title="Zero-shot" testId="results.confusion.zeroShot" matrix={zeroShot} classes={classes} />}
        {tuned && <ConfusionMatrix title="Tuned" testId="results.confusion.tuned" matrix={tuned} classes={classes} />}
      </div>
      {outcome.robustness && (
        <table className="data-table compact" data-testid="results.robustness">
          <caption className="muted">Robustness: validation accuracy with perturbed inputs</caption>
          <thead>
            <tr>
              <th scope="col">Input</th>
              <th scope="col">Accuracy</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <th scope="row">clean</th>
              <td>{percent(outcome.robustness.clean)}</td>
            </tr>
            {Object.entries(outcome.robustness.perturbed).map(([kind, acc]) => (
              <tr key={kind}>
                <th scope="row">{{ lowercase: 'lower-cased', typos: 'character typos', droppedWords: 'dropped words' }[kind] ?? kind}</th>
                <td>{percent(acc)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Predictions outcome={outcome} />
    </>
  );
}

function ConfusionMatrix({ title, testId, matrix, classes }: { title: string; testId: string; matrix: EvalSummary; classes: string[] }) {
  const max = Math.max(1, ...matrix.confusionMatrix.flat());
  return (
    <div className="table-scroll">
      <table className="confusion" data-testid={testId}>
        <caption>
          {title}: rows are the true class, columns the prediction; <span className="swatch swatch-right" aria-hidden="true" /> right,{' '}
          <span className="swatch swatch-wrong" aria-hidden="true" /> wrong
        </caption>
        <thead>
          <tr>
            <th scope="col">true ↓ predicted →</th>
            {classes.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {matrix.confusionMatrix.map((row, g) => (
            <tr key={classes[g]}>
              <th scope="row">{classes[g]}</th>
              {row.map((n, p) => (
                <td
                  key={p}
                  className={g === p ? 'cell-right' : 'cell-wrong'}
                  data-correct={g === p}
                  title={`${n} “${classes[g]}” row${n === 1 ? '' : 's'} predicted “${classes[p]}”${g === p ? ' (right)' : ' (wrong)'}`}
                  style={{ '--heat': n === 0 ? 0 : 0.15 + (0.85 * n) / max } as React.CSSProperties}
                >
                  {n}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const PAGE_ROWS = 50;

function Predictions({ outcome }: { outcome: ClassificationOutcome }) {
  const ids = useId();
  const [wrongOnly, setWrongOnly] = useState(false);
  const [gold, setGold] = useState('');
  const [shown, setShown] = useState(PAGE_ROWS);
  const rows = useMemo(
    () => outcome.predictions.filter((p) => (!wrongOnly || p.predicted !== p.gold) && (gold === '' || p.gold === gold)),
    [outcome, wrongOnly, gold],
  );
  return (
    <div className="predictions-block">
      <h3>Validation predictions</h3>
      <div className="row">
        <label className="inline">
          <input type="checkbox" data-testid="results.filter.wrong" checked={wrongOnly} onChange={(e) => (setWrongOnly(e.target.checked), setShown(PAGE_ROWS))} />
          wrong only
        </label>
        <label htmlFor={`${ids}-class`}>True class</label>
        <select id={`${ids}-class`} data-testid="results.filter.class" value={gold} onChange={(e) => (setGold(e.target.value), setShown(PAGE_ROWS))}>
          <option value="">all</option>
          {outcome.classes.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
        <span className="muted" data-testid="results.filter.count">
          {plural(rows.length, 'row')}
          {outcome.predictionsTotal > outcome.predictions.length ? ` (of the first ${outcome.predictions.length} of ${outcome.predictionsTotal})` : ''}
        </span>
      </div>
      <div className="table-scroll">
        <table className="data-table" data-testid="results.predictions">
          <thead>
            <tr>
              <th scope="col">Row</th>
              <th scope="col">Text</th>
              <th scope="col">True</th>
              <th scope="col">Tuned prediction</th>
              <th scope="col">Zero-shot</th>
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, shown).map((p) => {
              const confidence = Math.max(...p.probabilities);
              return (
                <tr key={p.row} className={p.predicted === p.gold ? '' : 'wrong'} data-testid="results.prediction" data-correct={p.predicted === p.gold}>
                  <td>{p.row}</td>
                  <td className="text-cell">{p.text}</td>
                  <td>{p.gold}</td>
                  <td>
                    {p.predicted} <span className="muted">{percent(confidence, 0)}</span>
                  </td>
                  <td>{p.zeroShotPredicted ?? '–'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {rows.length > shown && (
        <button type="button" className="secondary" data-testid="results.more" onClick={() => setShown(shown + PAGE_ROWS)}>
          Show {Math.min(PAGE_ROWS, rows.length - shown)} more
        </button>
      )}
    </div>
  );
}

function GenerationResults({ outcome }: { outcome: GenerationOutcome }) {
  const [shown, setShown] = useState(PAGE_ROWS);
  return (
    <>
      <div className="cards">
        <Metric
          testId="results.zeroShot"
          title="Before tuning (template alone)"
          value={outcome.before ? percent(outcome.before.exactMatch) : 'n/a'}
          detail={outcome.before ? `exact match · token F1 ${fixed(outcome.before.tokenF1)}` : 'no validation split'}
        />
        <Metric
          testId="results.tuned"
          title="Tuned prompt"
          value={outcome.after ? percent(outcome.after.exactMatch) : 'n/a'}
          detail={outcome.after ? `exact match · token F1 ${fixed(outcome.after.tokenF1)}` : 'no validation split'}
        />
      </div>
      <VerdictList outcome={outcome} />
      <div className="table-scroll">
        <table className="data-table" data-testid="results.samples">
          <caption className="muted">Validation rows, greedy decoding</caption>
          <thead>
            <tr>
              <th scope="col">Row</th>
              <th scope="col">Input</th>
              <th scope="col">Target</th>
              <th scope="col">Before</th>
              <th scope="col">Tuned</th>
            </tr>
          </thead>
          <tbody>
            {outcome.samples.slice(0, shown).map((s) => (
              <tr key={s.row} data-testid="results.sample">
                <td>{s.row}</td>
                <td className="text-cell">{s.input}</td>
                <td>{s.target}</td>
                <td>{s.before}</td>
                <td className={s.after.trim().toLowerCase() === s.target.trim().toLowerCase() ? 'right' : ''}>{s.after}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {outcome.samples.length > shown && (
        <button type="button" className="secondary" data-testid="results.more" onClick={() => setShown(shown + PAGE_ROWS)}>
          Show more
        </button>
      )}
    </>
  );
}
