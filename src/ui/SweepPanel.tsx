import { useId, useMemo, useState } from 'react';
import { CartesianGrid, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis } from 'recharts';
import type { PromptInit, PromptMethod, TaskKind, TrainingConfig } from '../shared/tasks';
import {
  axisLabel,
  checkSweepPlan,
  describeSettings,
  gridSize,
  labelWordConsistency,
  MAX_SWEEP_FOLDS,
  parseAxisValues,
  parseLabelWordSet,
  settingValue,
  sweptAxes,
  trialCount,
  type LabelWordConsistency,
  type LabelWordSet,
  type SweepAxes,
  type SweepAxis,
  type SweepPlan,
} from '../shared/sweep';
import type { StudioClient } from './StudioClient';
import type { RunRecord } from './runStore';
import type { SweepApi } from './useSweep';
import { canResume, criterionOf, formatScore, generationSummary, scoreColumns, scoreValue, sweepsOf, type SweepRow, type SweepScoreColumn, type SweepView } from './sweeps';
import { metricsSummary } from './ExportPanel';
import { downloadBytes } from './download';
import { duration, errorText, fixed, percent, plural } from './format';
import { sweepAnnouncement } from './announce';
import type { SweepDraft } from './sweepDraft';

export interface SweepPanelProps {
  client: StudioClient;
  sweep: SweepApi;
  runs: RunRecord[];
  /** The Training panel's settings: every trial's base (null while they have errors). */
  config: TrainingConfig | null;
  /** The classes of the label column (label-word sets must give each one words). */
  classes: string[];
  /** The task a new sweep would run (generation: no label-word sets, no folds). */
  task: TaskKind;
  /** Why no sweep can start now (the Training panel's blockers, a training in progress). */
  blockers: string[];
  /** A single training is running (a sweep cannot resume meanwhile). */
  trainingBusy: boolean;
  onStart(plan: SweepPlan): void;
  onResume(view: SweepView): void;
  selectedRunId: string | null;
  onSelectRun(id: string): void;
  /** Shows the trials' loss curves together on the Training panel's charts. */
  onOverlay(ids: string[], selected: string): void;
  /** Puts a run's settings into the editors. */
  onUseSettings(run: RunRecord): void;
  /** The form's text (kept by the page, so the saved session keeps it) and its edits. */
  draft: SweepDraft;
  onDraftChange(draft: SweepDraft): void;
}

const AXIS_FIELDS: { key: Exclude<SweepAxis, 'labelWords'>; label: string; placeholder: string }[] = [
  { key: 'learningRate', label: 'Learning rates', placeholder: 'e.g. 0.01, 0.03, 0.1' },
  { key: 'promptLength', label: 'Prompt lengths', placeholder: 'e.g. 5, 20' },
  { key: 'batchSize', label: 'Batch sizes', placeholder: 'e.g. 8, 16' },
  { key: 'epochs', label: 'Epochs', placeholder: 'e.g. 5, 20' },
  { key: 'init', label: 'Initialisations', placeholder: 'e.g. labels, random' },
  { key: 'method', label: 'Methods', placeholder: 'e.g. prompt, p-tuning, prefix' },
];

/** The plan the form describes, or the problem of each field. */
function parsePlan(
  draft: SweepDraft,
  config: TrainingConfig | null,
  classes: readonly string[],
  task: TaskKind,
): { plan: SweepPlan | null; errors: Partial<Record<keyof SweepDraft, string>> } {
  const errors: Partial<Record<keyof SweepDraft, string>> = {};
  // What the session refuses for generation (src/session/sweep.ts), said at the field before a start.
  if (task === 'generation') {
    if (draft.labelWords.trim() !== '') errors.labelWords = 'Label-word sets are for classification sweeps: a generation task has no label words. Clear this field.';
    if (draft.folds.trim() !== '') errors.folds = 'Cross-validation is for classification sweeps: a generation sweep picks on validation and tests on held-out rows. Clear this field.';
  }
  const axes: SweepAxes = {};
  for (const f of AXIS_FIELDS) {
    if (draft[f.key].trim() === '') continue;
    try {
      (axes as Record<string, unknown>)[f.key] = parseAxisValues(f.key, draft[f.key]) as unknown[];
    } catch (e) {
      errors[f.key] = errorText(e);
    }
  }
  const sets: LabelWordSet[] = [];
  for (const [i, line] of draft.labelWords.split('\n').entries()) {
    if (line.trim() === '' || task === 'generation') continue;
    try {
      const set = parseLabelWordSet(line);
      const missing = classes.filter((c) => !set.words[c]);
      const extra = Object.keys(set.words).filter((c) => !classes.includes(c));
      if (missing.length) throw new Error(`gives no words to ${missing.map((c) => `“${c}”`).join(', ')}`);
      if (extra.length) throw new Error(`names ${extra.map((c) => `“${c}”`).join(', ')}, which ${extra.length === 1 ? 'is not a class' : 'are not classes'}`);
      sets.push(set);
    } catch (e) {
      errors.labelWords = `line ${i + 1}: ${errorText(e)}`;
    }
  }
  if (sets.length) axes.labelWords = sets;
  const num = (text: string, key: keyof SweepDraft, check: (n: number) => boolean, what: string): number | undefined => {
    if (text.trim() === '') return undefined;
    const n = Number(text);
    if (!check(n)) errors[key] = what;
    return n;
  };
  const randomTrials = draft.search === 'random' ? num(draft.randomTrials, 'randomTrials', (n) => Number.isInteger(n) && n >= 1, 'a whole number of trials >= 1') : undefined;
  const steps = num(draft.budgetSteps, 'budgetSteps', (n) => Number.isInteger(n) && n >= 1, 'a whole number of steps >= 1, or empty for none');
  const minutes = num(draft.budgetMinutes, 'budgetMinutes', (n) => n > 0, 'minutes above 0, or empty for none');
  const folds = task === 'generation' ? undefined : num(draft.folds, 'folds', (n) => Number.isInteger(n) && n >= 2 && n <= MAX_SWEEP_FOLDS, `a whole number of folds from 2 to ${MAX_SWEEP_FOLDS}, or empty for none`);
  // With folds the held-out share may be 0 (the folds' mean then stands alone).
  const shareOk = (n: number) => (folds !== undefined ? n >= 0 : n > 0) && n < 0.5;
  const shareText = folds !== undefined ? 'a share from 0 to below 0.5 (0: none, the folds alone)' : 'a share above 0 and below 0.5';
  const testFraction = num(draft.testFraction, 'testFraction', shareOk, shareText) ?? NaN;
  if (draft.testFraction.trim() === '') errors.testFraction = shareText;
  if (Object.keys(errors).length || !config) return { plan: null, errors };
  const plan: SweepPlan = {
    axes,
    search: draft.search,
    ...(randomTrials !== undefined ? { randomTrials } : {}),
    seed: config.seed,
    budget: { ...(steps !== undefined ? { steps } : {}), ...(minutes !== undefined ? { minutes } : {}) },
    testFraction,
    ...(folds !== undefined ? { folds } : {}),
  };
  try {
    checkSweepPlan(plan);
  } catch (e) {
    return { plan: null, errors: { search: errorText(e) } };
  }
  return { plan, errors };
}

type SortKey = 'index' | SweepAxis | 'status' | SweepScoreColumn['key'] | 'steps' | 'seconds';

/** Step 4, many runs: a grid or random search over settings, compared on validation, the winner tested on held-out rows. */
export function SweepPanel(props: SweepPanelProps) {
  const { sweep, config, classes, task } = props;
  const ids = useId();
  const { draft, onDraftChange } = props;
  const { plan, errors } = parsePlan(draft, config, classes, task);
  const busy = sweep.state !== 'idle';
  const sweeps = useMemo(() => sweepsOf(props.runs, sweep.sweepId), [props.runs, sweep.sweepId]);
  const [shownId, setShownId] = useState<string | null>(null);
  const shown = sweeps.find((s) => s.id === (sweep.sweepId ?? shownId)) ?? sweeps[sweeps.length - 1] ?? null;
  const field = (key: keyof SweepDraft, value: string) => onDraftChange({ ...draft, [key]: value });
  const count = plan ? trialCount(plan) : null;

  return (
    <section className="panel" aria-labelledby={`${ids}-h`} data-testid="sweep.panel">
      <h2 id={`${ids}-h`}>Sweep: choose settings by measurement</h2>
      <p className="muted">
        Each trial is an ordinary run with the Training panel’s settings, except the ones listed here (a field left empty keeps the Training panel’s value).
        Before any trial, a share of each class is held out as a test split; the trials split the rest into training and validation as usual, the winner is
        picked on validation, and only the winner is scored on the held-out rows, so its number is not the best of several noisy validation scores.
      </p>
      <div className="settings">
        {AXIS_FIELDS.map((f) => (
          <div key={f.key} className="setting">
            <label htmlFor={`${ids}-${f.key}`}>{f.label}</label>
            <input
              id={`${ids}-${f.key}`}
              data-testid={`sweep.${f.key}`}
              value={draft[f.key]}
              placeholder={f.placeholder}
              disabled={busy}
              aria-invalid={errors[f.key] !== undefined}
              onChange={(e) => field(f.key, e.target.value)}
            />
            <small className={errors[f.key] ? 'field-error' : 'muted'}>{errors[f.key] ?? 'comma-separated'}</small>
          </div>
        ))}
        <div className="setting setting-wide">
          <label htmlFor={`${ids}-words`}>Alternative label words</label>
          <textarea
            id={`${ids}-words`}
            data-testid="sweep.labelWords"
            rows={2}
            value={draft.labelWords}
            placeholder={classes.length ? `one set per line, e.g. ${classes.map((c, i) => `${c}=${i === 0 ? 'word,word' : 'word'}`).join('; ')}` : 'one set per line: class=word,word; class=word'}
            disabled={busy}
            aria-invalid={errors.labelWords !== undefined}
            onChange={(e) => field('labelWords', e.target.value)}
          />
          <small className={errors.labelWords ? 'field-error' : 'muted'}>{errors.labelWords ?? 'Each line is one set to try in place of the Template panel’s words.'}</small>
        </div>
      </div>
      <div className="settings">
        <div className="setting">
          <label htmlFor={`${ids}-search`}>Search</label>
          <select id={`${ids}-search`} data-testid="sweep.search" value={draft.search} disabled={busy} onChange={(e) => field('search', e.target.value)}>
            <option value="grid">grid: every combination</option>
            <option value="random">random: some combinations</option>
          </select>
          <small className={errors.search ? 'field-error' : 'muted'}>{errors.search ?? (draft.search === 'random' ? 'drawn without repeats, seeded by the training seed' : 'all of them, in order')}</small>
        </div>
        {draft.search === 'random' && (
          <div className="setting">
            <label htmlFor={`${ids}-random`}>Trials</label>
            <input id={`${ids}-random`} data-testid="sweep.randomTrials" inputMode="numeric" value={draft.randomTrials} disabled={busy} onChange={(e) => field('randomTrials', e.target.value)} />
            <small className={errors.randomTrials ? 'field-error' : 'muted'}>{errors.randomTrials ?? 'how many combinations to draw'}</small>
          </div>
        )}
        <div className="setting">
          <label htmlFor={`${ids}-steps`}>Budget: steps</label>
          <input id={`${ids}-steps`} data-testid="sweep.budgetSteps" inputMode="numeric" value={draft.budgetSteps} placeholder="none" disabled={busy} onChange={(e) => field('budgetSteps', e.target.value)} />
          <small className={errors.budgetSteps ? 'field-error' : 'muted'}>{errors.budgetSteps ?? 'a trial that no longer fits is skipped'}</small>
        </div>
        <div className="setting">
          <label htmlFor={`${ids}-minutes`}>Budget: minutes</label>
          <input id={`${ids}-minutes`} data-testid="sweep.budgetMinutes" inputMode="decimal" value={draft.budgetMinutes} placeholder="none" disabled={busy} onChange={(e) => field('budgetMinutes', e.target.value)} />
          <small className={errors.budgetMinutes ? 'field-error' : 'muted'}>{errors.budgetMinutes ?? 'no trial starts after; the running one finishes'}</small>
        </div>
        <div className="setting">
          <label htmlFor={`${ids}-test`}>Held-out test share</label>
          <input id={`${ids}-test`} data-testid="sweep.testFraction" inputMode="decimal" value={draft.testFraction} disabled={busy} onChange={(e) => field('testFraction', e.target.value)} />
          <small className={errors.testFraction ? 'field-error' : 'muted'}>{errors.testFraction ?? 'of each class, before any trial’s split'}</small>
        </div>
        <div className="setting">
          <label htmlFor={`${ids}-folds`}>Cross-validation folds</label>
          <input id={`${ids}-folds`} data-testid="sweep.folds" inputMode="numeric" value={draft.folds} placeholder="off" disabled={busy} aria-invalid={errors.folds !== undefined} onChange={(e) => field('folds', e.target.value)} />
          <small className={errors.folds ? 'field-error' : 'muted'}>{errors.folds ?? `2–${MAX_SWEEP_FOLDS} for small data: each trial trains once per fold, scored by the folds’ mean`}</small>
        </div>
      </div>
      <p className="muted" data-testid="sweep.count">
        {plan && count !== null
          ? `${plural(count, 'trial')}${plan.search === 'random' ? ` of ${gridSize(plan.axes)} combinations` : ` (${sweptAxes(plan.axes).map((a) => (plan.axes[a] as unknown[]).length).join(' × ')})`}, one after another${plan.folds ? `, each trained ${plan.folds} times (once per fold)` : ''}.`
          : 'Fix the fields above to see the trials.'}
      </p>
      <div className="row train-buttons">
        <button type="button" data-testid="sweep.start" disabled={busy || !plan || props.blockers.length > 0} onClick={() => plan && props.onStart(plan)}>
          Start sweep
        </button>
        <button type="button" className="danger" data-testid="sweep.stop" disabled={sweep.state !== 'running'} onClick={sweep.stop}>
          Stop sweep
        </button>
      </div>
      {props.blockers.length > 0 && !busy && (
        <ul className="blockers" data-testid="sweep.blocked">
          {props.blockers.map((b) => (
            <li key={b}>{b}</li>
          ))}
        </ul>
      )}
      {sweep.error && (
        <p className="note note-error" role="alert" data-testid="sweep.error">
          {sweep.error}
        </p>
      )}
      {sweeps.length > 1 && (
        <div className="row">
          <label htmlFor={`${ids}-which`}>Sweep</label>
          <select id={`${ids}-which`} data-testid="sweep.select" value={shown?.id ?? ''} disabled={busy} onChange={(e) => setShownId(e.target.value)}>
            {[...sweeps].reverse().map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} ({s.state})
              </option>
            ))}
          </select>
        </div>
      )}
      {shown && <SweepResults {...props} view={shown} live={sweep.sweepId === shown.id} />}
    </section>
  );
}

function SweepResults(props: SweepPanelProps & { view: SweepView; live: boolean }) {
  const { view, live, sweep } = props;
  const axes = sweptAxes(view.plan.axes);
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean }>({ key: 'index', descending: false });
  const [exportError, setExportError] = useState<string | null>(null);
  const done = view.rows.filter((r) => r.result && r.status !== 'stopped').length;
  const running = view.rows.find((r) => r.status === 'running');
  const compared = view.rows.filter((r) => r.status === 'completed').length;
  const winnerRun = view.winner?.run ?? null;
  const trialIds = view.rows.flatMap((r) => (r.run ? [r.run.id] : []));

  const columns = scoreColumns(view.task);
  const value = (r: SweepRow, key: SortKey): number | string | null => {
    switch (key) {
      case 'index':
        return r.index;
      case 'status':
        return r.status;
      case 'valAccuracy':
      case 'valMacroF1':
      case 'valLoss':
      case 'valExactMatch':
      case 'valTokenF1':
      case 'test':
        return scoreValue(view, r, key);
      case 'steps':
        return r.result?.steps ?? r.run?.progress?.step ?? 0;
      case 'seconds':
        return r.result?.seconds ?? r.run?.progress?.elapsedSeconds ?? 0;
      default:
        return settingValue(view.plan, r.settings, key) ?? '';
    }
  };
  const rows = [...view.rows].sort((a, b) => {
    const x = value(a, sort.key);
    const y = value(b, sort.key);
    // A missing score sorts last whichever the direction.
    if (x === null || y === null) return x === y ? a.index - b.index : x === null ? 1 : -1;
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return (sort.descending ? -c : c) || a.index - b.index;
  });
  // Best first on the first click: scores where higher is better, steps and time; not a loss.
  const firstDescending = (key: SortKey) =>
    key !== 'index' && key !== 'status' && !axes.includes(key as SweepAxis) && (columns.find((c) => c.key === key)?.higherIsBetter ?? true);
  const header = (key: SortKey, label: string) => (
    <th aria-sort={sort.key === key ? (sort.descending ? 'descending' : 'ascending') : 'none'}>
      <button type="button" className="link-button" data-testid={`sweep.sort.${key}`} onClick={() => setSort({ key, descending: sort.key === key ? !sort.descending : firstDescending(key) })}>
        {label}
        {sort.key === key ? (sort.descending ? ' ▼' : ' ▲') : ''}
      </button>
    </th>
  );

  const exportWinner = async () => {
    setExportError(null);
    try {
      const outcome = winnerRun?.outcome;
      if (!winnerRun || !outcome) return;
      const sweepSummary = {
        planned: view.rows.length,
        compared,
        selection: view.final?.selection,
        trials: view.rows.map((r) => ({
          index: r.index,
          settings: describeSettings(view.plan, r.settings),
          status: r.status,
          ...(view.task === 'generation'
            ? { valLoss: r.result?.valLoss ?? null, valExactMatch: r.result?.valExactMatch ?? null, valTokenF1: r.result?.valTokenF1 ?? null }
            : { valAccuracy: r.result?.valAccuracy ?? null, valMacroF1: r.result?.valMacroF1 ?? null }),
        })),
        test:
          view.task === 'generation'
            ? view.heldOutGeneration && (({ trialIndex: _, runId: _r, rowNumbers: _n, ...scores }) => scores)(view.heldOutGeneration)
            : view.heldOut
              ? { rows: view.heldOut.rows, accuracy: view.heldOut.accuracy, macroF1: view.heldOut.macroF1, zeroShotAccuracy: view.heldOut.zeroShotAccuracy, majorityAccuracy: view.heldOut.majorityAccuracy }
              : null,
      };
      const result = await props.client.call('exportPrompt', { prompt: outcome.prompt, meta: outcome.meta, metrics: { ...metricsSummary(outcome), sweep: sweepSummary } });
      downloadBytes(result.zip, `${view.name.replace(/[^\p{L}\p{N}._-]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'sweep'}-winner.zip`, 'application/zip');
    } catch (e) {
      setExportError(errorText(e));
    }
  };

  return (
    <div className="sweep-results" data-testid="sweep.view" data-state={view.state} data-sweep-id={view.id}>
      <div className="row">
        <strong>{view.name}</strong>
        <span className={`tag tag-${view.state === 'running' ? 'running' : view.state}`} data-testid="sweep.state">
          {live && sweep.state === 'stopping' ? 'stopping' : view.state}
        </span>
        <span className="muted">
          {view.modelId} · {view.datasetName}
        </span>
      </div>
      {/* One announcement per ended trial, not per step (src/ui/announce.ts). */}
      <p className="visually-hidden" aria-live="polite" data-testid="sweep.announce">
        {live ? sweepAnnouncement(done, view.rows.length, view.state) : ''}
      </p>
      <p className="muted" data-testid="sweep.status">
        {`${done} of ${plural(view.rows.length, 'trial')} ended`}
        {running ? ` · trial ${running.index + 1} running: ${describeSettings(view.plan, running.settings)}${running.run?.progress ? `, step ${running.run.progress.step} / ${running.run.progress.totalSteps}` : ''}` : ''}
        {view.plan.budget.steps ? ` · budget ${view.plan.budget.steps} steps` : ''}
        {view.plan.budget.minutes ? ` · budget ${view.plan.budget.minutes} min` : ''}
      </p>
      {view.state === 'completed' && view.final && (
        <p className="note note-ok" data-testid="sweep.summary">
          {view.task === 'generation'
            ? generationSummary(view)
            : view.winner && view.heldOut
            ? `Winner: trial ${view.winner.index + 1} (${describeSettings(view.plan, view.winner.settings)}), picked on validation accuracy among ${plural(view.final.compared, 'compared trial')} (of ${view.final.planned} planned). ` +
              `On the ${plural(view.heldOut.rows, 'held-out row')} that no trial trained or validated on it scores ${percent(view.heldOut.accuracy)} accuracy (macro-F1 ${percent(view.heldOut.macroF1)}; ` +
              `zero-shot ${percent(view.heldOut.zeroShotAccuracy)}, majority class ${percent(view.heldOut.majorityAccuracy)} on the same rows). Its validation accuracy, ${percent(view.winner.result?.valAccuracy)}, was the best of ${view.final.compared} and so is likely optimistic.`
            : view.winner
              ? `Winner: trial ${view.winner.index + 1} (${describeSettings(view.plan, view.winner.settings)}), picked on validation accuracy among ${plural(view.final.compared, 'compared trial')} (of ${view.final.planned} planned)` +
                (view.winner.result?.folds ? `: ${percent(view.winner.result.valAccuracy)} mean over ${view.winner.result.folds.length} folds (± ${percent(view.winner.result.valAccuracyStd ?? 0)}). ` : '. ') +
                `No rows were held out, so there is no test score; being the best of ${view.final.compared}, this number is likely optimistic.`
              : `No trial completed, so there is no winner to test (${view.final.planned} planned).`}
        </p>
      )}
      {canResume(view) && !live && (
        <div className="row">
          <button type="button" data-testid="sweep.resume" disabled={props.trainingBusy || sweep.state !== 'idle'} onClick={() => props.onResume(view)}>
            Resume sweep ({plural(view.rows.length - done, 'trial')} left)
          </button>
          <span className="muted">The stopped trial continues from its last checkpoint; ended trials are not run again.</span>
        </div>
      )}
      <div className="table-scroll">
        <table className="data-table compact sweep-table" data-testid="sweep.table">
          <caption>
            Trials: click a row to open its run. Validation picks the winner; only the winner has a test score.
          </caption>
          <thead>
            <tr>
              {header('index', '#')}
              {axes.map((a) => header(a, axisLabel(a)))}
              {header('status', 'status')}
              {columns.map((c) => header(c.key, c.label))}
              {header('steps', 'steps')}
              {header('seconds', 'time')}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const winner = view.winner?.index === r.index;
              return (
                <tr
                  key={r.index}
                  data-testid="sweep.row"
                  data-index={r.index}
                  data-status={r.status}
                  data-winner={winner ? 'true' : undefined}
                  className={`${winner ? 'winner' : ''} ${r.run && r.run.id === props.selectedRunId ? 'selected' : ''}`}
                  onClick={() => r.run && props.onSelectRun(r.run.id)}
                >
                  <td>{r.index + 1}{winner ? ' ★' : ''}</td>
                  {axes.map((a) => (
                    <td key={a}>{settingValue(view.plan, r.settings, a) ?? '–'}</td>
                  ))}
                  <td title={r.result?.message}>{r.status}</td>
                  {columns.map((c) => {
                    const v = scoreValue(view, r, c.key);
                    const testId = c.key === 'test' && v !== null ? (view.task === 'generation' ? 'sweep.testLoss' : 'sweep.testAccuracy') : undefined;
                    return (
                      <td key={c.key} data-testid={testId} data-score={c.key}>
                        {formatScore(c, v)}
                      </td>
                    );
                  })}
                  <td>{r.result?.steps ?? r.run?.progress?.step ?? '–'}</td>
                  <td>{r.result ? duration(r.result.seconds) : r.run?.progress ? duration(r.run.progress.elapsedSeconds) : '–'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <div className="row">
        <button type="button" className="secondary" data-testid="sweep.overlay" disabled={trialIds.length === 0} onClick={() => props.onOverlay(trialIds, winnerRun?.id ?? trialIds[0])}>
          Overlay the trials’ loss curves
        </button>
        <button type="button" className="secondary" data-testid="sweep.useWinner" disabled={!winnerRun || sweep.state !== 'idle'} onClick={() => winnerRun && props.onUseSettings(winnerRun)}>
          Use the winner’s settings
        </button>
        <button type="button" data-testid="sweep.exportWinner" disabled={!winnerRun?.outcome || view.state !== 'completed'} onClick={() => void exportWinner()}>
          Export the winner (zip)
        </button>
      </div>
      {exportError && (
        <p className="note note-error" role="alert">
          {exportError}
        </p>
      )}
      <ConsistencyTable consistency={labelWordConsistency(view.plan, view.rows.flatMap((r) => (r.result ? [r.result] : [])))} />
      <SettingCharts view={view} />
    </div>
  );
}

/** Label-word sets swept: per class, how often each set had the best validation recall, and the verdict. */
function ConsistencyTable({ consistency }: { consistency: LabelWordConsistency | null }) {
  if (!consistency) return null;
  const unit = consistency.over === 'folds' ? 'fold' : consistency.over === 'trial groups' ? 'group of trials sharing the other settings' : 'fold of each group of trials sharing the other settings';
  return (
    <div className="table-scroll">
      <table className="data-table compact sweep-consistency" data-testid="sweep.consistency" data-over={consistency.over}>
        <caption>
          Label-word consistency: for each class, how often each word set had the highest recall (share of the class’s validation rows predicted right) in a {unit}, after tuning and zero-shot, and
          its mean recall. Stable: one set wins every time; lucky: the winners differ.
        </caption>
        <thead>
          <tr>
            <th>class</th>
            <th>word set</th>
            <th>tuned wins</th>
            <th>tuned recall</th>
            <th>zero-shot wins</th>
            <th>zero-shot recall</th>
            <th>verdict</th>
          </tr>
        </thead>
        <tbody>
          {consistency.classes.flatMap((c) =>
            c.sets.map((set, i) => (
              <tr key={`${c.label}|${set.name}`} data-testid="sweep.consistency.row" data-class={c.label} data-verdict={c.verdict}>
                {i === 0 && <th scope="rowgroup" rowSpan={c.sets.length}>{c.label}</th>}
                <td>{set.name}</td>
                <td>{`${set.tunedWins} of ${c.comparisons}`}</td>
                <td>{percent(set.tunedRecall)}</td>
                <td>{`${set.zeroShotWins} of ${c.comparisons}`}</td>
                <td>{percent(set.zeroShotRecall)}</td>
                {i === 0 && (
                  <td rowSpan={c.sets.length} data-testid="sweep.consistency.verdict" className={c.verdict === 'stable' ? 'verdict-stable' : c.verdict === 'lucky' ? 'verdict-lucky' : undefined}>
                    {c.summary}
                  </td>
                )}
              </tr>
            )),
          )}
        </tbody>
      </table>
    </div>
  );
}

/**
 * The criterion against each swept setting (one point per ended trial; the winner's test score beside
 * it): validation accuracy, or for generation the validation loss per target token.
 */
function SettingCharts({ view }: { view: SweepView }) {
  const generation = view.task === 'generation';
  const ended = view.rows.filter((r) => criterionOf(view.task, r.result) !== null);
  if (ended.length === 0) return null;
  const what = generation ? 'Validation loss per target token' : 'Validation accuracy';
  const testScore = generation ? (view.heldOutGeneration?.loss ?? null) : (view.heldOut?.accuracy ?? null);
  return (
    <div className="charts sweep-charts" data-testid="sweep.charts">
      {sweptAxes(view.plan.axes).map((axis) => {
        const values = (axis === 'labelWords' ? (view.plan.axes.labelWords ?? []).map((s) => s.name) : (view.plan.axes[axis] as (number | PromptInit | PromptMethod)[])).map(String);
        const points = ended.map((r) => ({ setting: String(settingValue(view.plan, r.settings, axis)), score: criterionOf(view.task, r.result) as number, trial: r.index + 1 }));
        const test = testScore !== null && view.winner ? [{ setting: String(settingValue(view.plan, view.winner.settings, axis)), score: testScore, trial: view.winner.index + 1 }] : [];
        return (
          <figure key={axis} className="chart" data-testid={`sweep.chart.${axis}`} data-points={points.length}>
            <figcaption>{what} by {axisLabel(axis)}{test.length ? ' (★ the winner on the test rows)' : ''}</figcaption>
            <ResponsiveContainer width="100%" height={200}>
              <ScatterChart margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
                <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
                <XAxis dataKey="setting" type="category" allowDuplicatedCategory={false} ticks={values} domain={values} name={axisLabel(axis)} />
                {generation ? (
                  <YAxis dataKey="score" type="number" domain={[0, 'auto']} tickFormatter={(v: number) => fixed(v, 2)} width={52} />
                ) : (
                  <YAxis dataKey="score" type="number" domain={[0, 1]} tickFormatter={(v: number) => `${Math.round(v * 100)}%`} width={52} />
                )}
                <Tooltip formatter={(v: unknown) => (typeof v === 'number' ? (generation ? fixed(v) : percent(v)) : String(v))} />
                <Scatter name="validation" data={points} fill="#3b5bdb" isAnimationActive={false} />
                {test.length > 0 && <Scatter name="test (winner)" data={test} fill="#e8590c" shape="star" isAnimationActive={false} />}
              </ScatterChart>
            </ResponsiveContainer>
          </figure>
        );
      })}
    </div>
  );
}
