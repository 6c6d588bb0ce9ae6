import { useId, useState } from 'react';
import type { PromptInit, PromptMethod } from '../shared/tasks';
import type { RunRecord } from './runStore';
import type { TrainerApi } from './useTrainer';
import { TrainingCharts } from './TrainingCharts';
import { RunsList, type RunsListProps } from './RunsList';
import { compact, duration, fixed } from './format';
import { INIT_HELP, METHOD_HELP, MODE_HELP, NUMERIC_FIELDS, parseDraft, type ConfigDraft } from './trainingConfig';

const METHOD_LABEL: Record<PromptMethod, string> = { prompt: 'prompt tuning', 'p-tuning': 'P-tuning', prefix: 'prefix tuning' };

export interface TrainingPanelProps {
  draft: ConfigDraft;
  onDraft(draft: ConfigDraft): void;
  onResetDefaults(): void;
  inits: readonly PromptInit[];
  methods: readonly PromptMethod[];
  task: 'classification' | 'generation';
  /** What must be fixed before training can start (empty: ready). */
  blockers: string[];
  trainer: TrainerApi;
  onStart(): void;
  /** The run the charts show (the one training, or the one picked in the list). */
  run: RunRecord | null;
  overlays: RunRecord[];
  runsList: RunsListProps;
}

/** Step 4: settings, train/pause/resume/stop, live progress and charts, and the runs kept so far. */
export function TrainingPanel(props: TrainingPanelProps) {
  const { draft, onDraft, inits, task, blockers, trainer, run, overlays } = props;
  const ids = useId();
  const { errors } = parseDraft(draft);
  const busy = trainer.state !== 'idle';
  const field = (key: keyof ConfigDraft, value: string) => onDraft({ ...draft, [key]: value });
  const [showAdvanced, setShowAdvanced] = useState(false);

  return (
    <section className="panel" aria-labelledby={`${ids}-h`} data-testid="train.panel">
      <h2 id={`${ids}-h`}>4. Training</h2>
      <div className="settings">
        {NUMERIC_FIELDS.filter((f) => !f.advanced || showAdvanced).map((f) => (
          <div key={f.key} className="setting">
            <label htmlFor={`${ids}-${f.key}`}>{f.label}</label>
            <input
              id={`${ids}-${f.key}`}
              data-testid={`train.${f.key}`}
              inputMode={f.integer ? 'numeric' : 'decimal'}
              value={draft[f.key]}
              disabled={busy}
              aria-invalid={errors[f.key] !== undefined}
              aria-describedby={`${ids}-${f.key}-help`}
              onChange={(e) => field(f.key, e.target.value)}
            />
            <small id={`${ids}-${f.key}-help`} className={errors[f.key] ? 'field-error' : 'muted'} data-testid={errors[f.key] ? `train.${f.key}.error` : undefined}>
              {errors[f.key] ?? f.help}
            </small>
          </div>
        ))}
        <div className="setting">
          <label htmlFor={`${ids}-init`}>Initialisation</label>
          <select id={`${ids}-init`} data-testid="train.init" value={draft.init} disabled={busy} onChange={(e) => field('init', e.target.value)}>
            {inits.map((i) => (
              <option key={i} value={i}>
                {i}
              </option>
            ))}
          </select>
          <small className="muted">
            Start the prompt from {task === 'generation' && draft.init === 'labels' ? 'frequent tokens (a generation task has no label words)' : INIT_HELP[draft.init]}.
          </small>
        </div>
        {draft.init === 'text' && (
          <div className="setting">
            <label htmlFor={`${ids}-initText`}>Init text</label>
            <input id={`${ids}-initText`} data-testid="train.initText" value={draft.initText} disabled={busy} onChange={(e) => field('initText', e.target.value)} />
            <small className={errors.initText ? 'field-error' : 'muted'}>{errors.initText ?? 'e.g. “Classify the sentiment of this review”'}</small>
          </div>
        )}
        <div className="setting">
          <label htmlFor={`${ids}-method`}>Method</label>
          <select id={`${ids}-method`} data-testid="train.method" value={draft.method} disabled={busy} onChange={(e) => field('method', e.target.value)}>
            {props.methods.map((m) => (
              <option key={m} value={m}>
                {METHOD_LABEL[m]}
              </option>
            ))}
          </select>
          <small className="muted">{METHOD_HELP[draft.method]}</small>
        </div>
        <div className="setting">
          <label htmlFor={`${ids}-mode`}>Mode</label>
          <select id={`${ids}-mode`} data-testid="train.mode" value={draft.mode} disabled={busy} onChange={(e) => field('mode', e.target.value)}>
            <option value="verbalizer">label words</option>
            <option value="head" disabled={task === 'generation'}>
              linear head
            </option>
          </select>
          <small className="muted">{task === 'generation' ? 'Generation trains the prompt only.' : MODE_HELP[draft.mode]}</small>
        </div>
      </div>
      <div className="row">
        <button type="button" className="link-button" aria-expanded={showAdvanced} data-testid="train.advanced" onClick={() => setShowAdvanced(!showAdvanced)}>
          {showAdvanced ? 'Hide' : 'Show'} warmup, clipping and early stopping
        </button>
        <button type="button" className="link-button" disabled={busy} data-testid="train.defaults" onClick={props.onResetDefaults}>
          Reset to the engine’s defaults
        </button>
      </div>

      <div className="row train-buttons">
        <button type="button" data-testid="train.start" disabled={busy || blockers.length > 0} onClick={props.onStart}>
          Start training
        </button>
        {trainer.state === 'paused' ? (
          <button type="button" data-testid="train.resume" onClick={trainer.resume}>
            Resume
          </button>
        ) : (
          <button type="button" data-testid="train.pause" disabled={trainer.state !== 'running'} onClick={trainer.pause}>
            Pause
          </button>
        )}
        <button type="button" className="danger" data-testid="train.stop" disabled={trainer.state === 'idle' || trainer.state === 'stopping'} onClick={trainer.stop}>
          Stop
        </button>
      </div>
      {blockers.length > 0 && !busy && (
        <ul className="blockers" data-testid="train.blocked">
          {blockers.map((b) => (
            <li key={b}>{b}</li>
          ))}
        </ul>
      )}
      {trainer.error && (
        <p className="note note-error" role="alert" data-testid="train.error">
          {trainer.error}
        </p>
      )}
      {run && <RunProgress run={run} live={trainer.runId === run.id && busy} state={trainer.state} />}
      {run && (run.steps.length > 0 || run.epochs.length > 0) && <TrainingCharts run={run} overlays={overlays} />}
      <RunsList {...props.runsList} />
    </section>
  );
}

function RunProgress({ run, live, state }: { run: RunRecord; live: boolean; state: TrainerApi['state'] }) {
  const p = run.progress;
  const total = p?.totalSteps ?? 0;
  const status = live ? (state === 'paused' ? 'paused' : state === 'stopping' ? 'stopping' : 'training') : run.status;
  return (
    <div className="progress-block" data-testid="train.progressBlock">
      <div className="row">
        <strong>{run.name}</strong>
        <span className={`tag tag-${status}`} data-testid="train.state">
          {status}
        </span>
      </div>
      <progress
        data-testid="train.progress"
        max={Math.max(1, total)}
        value={p?.step ?? 0}
        aria-label={`Training progress: step ${p?.step ?? 0} of ${total}`}
      />
      <p className="muted" data-testid="train.status" aria-live="polite">
        {p
          ? `Step ${p.step} / ${p.totalSteps} · epoch ${p.epoch} / ${p.totalEpochs} · ETA ${live ? duration(p.etaSeconds) : '–'} · loss ${fixed(p.loss)} · lr ${compact(p.learningRate)} · ${p.examplesPerSecond.toFixed(1)} examples/s · ${Math.round(p.tokensPerSecond)} tokens/s`
          : live
            ? 'Measuring the zero-shot baseline and preparing…'
            : run.outcome
              ? 'Evaluated without training.'
              : 'No steps recorded.'}
      </p>
      {run.message && (
        <p className={`note ${run.status === 'failed' ? 'note-error' : 'note-warn'}`} data-testid="train.message">
          {run.message}
        </p>
      )}
    </div>
  );
}
