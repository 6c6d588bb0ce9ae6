import { useId, useState } from 'react';
import type { EngineInfo, PromptInit, PromptMethod, TrainingWarning } from '../shared/tasks';
import type { RunRecord } from './runStore';
import type { TrainerApi } from './useTrainer';
import { TrainingCharts } from './TrainingCharts';
import { RunsList, type RunsListProps } from './RunsList';
import { compact, duration, fixed } from './format';
import { ENCODER_HELP, fieldHelp, INIT_HELP, METHOD_HELP, MODE_HELP, NUMERIC_FIELDS, parseDraft, type ConfigDraft } from './trainingConfig';
import { trainingAnnouncement } from './announce';

const METHOD_LABEL: Record<PromptMethod, string> = { prompt: 'prompt tuning', 'p-tuning': 'P-tuning', prefix: 'prefix tuning' };

export interface TrainingPanelProps {
  draft: ConfigDraft;
  onDraft(draft: ConfigDraft): void;
  onResetDefaults(): void;
  inits: readonly PromptInit[];
  methods: readonly PromptMethod[];
  learningRates: EngineInfo['learningRates'];
  task: 'classification' | 'generation';
  /** What must be fixed before training can start (empty: ready). */
  blockers: string[];
  /** What the run will do differently from the settings as given (the 'labels' init's fallback). */
  notes?: string[];
  /** Data that would train nonsense: shown, and Start asks before training on it. */
  warnings: TrainingWarning[];
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
  /** A learning rate left at the old method's default moves to the new one's (they differ tenfold). */
  const chooseMethod = (method: PromptMethod) => {
    const rates = props.learningRates;
    const atDefault = Number(draft.learningRate) === rates[draft.method][draft.mode];
    onDraft({ ...draft, method, ...(atDefault ? { learningRate: String(rates[method][draft.mode]) } : {}) });
  };
  const [showAdvanced, setShowAdvanced] = useState(false);
  // Start was clicked with these warnings showing (their kinds); a change of warnings asks again.
  const [confirming, setConfirming] = useState<string | null>(null);
  const warningKey = props.warnings.map((w) => w.kind).join(',');
  const askFirst = props.warnings.length > 0;

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
              {errors[f.key] ?? fieldHelp(f, draft.method)}
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
          {task === 'classification' &&
            props.notes?.map((n) => (
              <small key={n} className="field-note note-warn" data-testid="train.init.note">
                {n}
              </small>
            ))}
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
          <select id={`${ids}-method`} data-testid="train.method" value={draft.method} disabled={busy} onChange={(e) => chooseMethod(e.target.value as PromptMethod)}>
            {props.methods.map((m) => (
              <option key={m} value={m}>
                {METHOD_LABEL[m]}
              </option>
            ))}
          </select>
          <small className="muted">{METHOD_HELP[draft.method]}</small>
        </div>
        {draft.method === 'p-tuning' && (
          <div className="setting">
            <label htmlFor={`${ids}-encoder`}>Encoder</label>
            <select id={`${ids}-encoder`} data-testid="train.encoder" value={draft.encoderType ?? 'mlp'} disabled={busy} onChange={(e) => onDraft({ ...draft, encoderType: e.target.value as 'mlp' | 'lstm' })}>
              <option value="mlp">MLP</option>
              <option value="lstm">LSTM + MLP</option>
            </select>
            <small className="muted">{ENCODER_HELP[draft.encoderType ?? 'mlp']}</small>
          </div>
        )}
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
        <button
          type="button"
          data-testid="train.start"
          disabled={busy || blockers.length > 0}
          onClick={() => {
            if (askFirst) setConfirming(warningKey);
            else props.onStart();
          }}
        >
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
        <button
          type="button"
          className="danger"
          data-testid="train.stop"
          disabled={trainer.state === 'idle'}
          title={trainer.state === 'stopping' ? 'A stopped run is still evaluated on the validation split; this ends that too.' : undefined}
          onClick={trainer.stop}
        >
          {trainer.state === 'stopping' ? 'Stop evaluating' : 'Stop'}
        </button>
      </div>
      {askFirst && !busy && (
        <div className="note note-warn" role="alert" data-testid="train.warnings">
          <p>Training on these data would mean little:</p>
          <ul>
            {props.warnings.map((w) => (
              <li key={w.kind} data-testid="train.warning" data-kind={w.kind}>
                {w.message}
              </li>
            ))}
          </ul>
          {confirming === warningKey && blockers.length === 0 && (
            <p className="row" data-testid="train.confirm">
              Train anyway? (The command line refuses these data without <code>--force</code>.)
              <button
                type="button"
                className="danger"
                data-testid="train.start.confirm"
                onClick={() => {
                  setConfirming(null);
                  props.onStart();
                }}
              >
                Start anyway
              </button>
              <button type="button" className="secondary" data-testid="train.start.cancel" onClick={() => setConfirming(null)}>
                Cancel
              </button>
            </p>
          )}
        </div>
      )}
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
      {run && <RunProgress run={run} live={trainer.runId === run.id && busy} state={trainer.state} phase={trainer.runId === run.id && busy ? trainer.phase : null} />}
      {/* Screen readers hear each finished epoch and the end of the run this page trained, not every step (src/ui/announce.ts). */}
      <p className="visually-hidden" aria-live="polite" data-testid="train.announce">
        {run && trainer.runId === run.id ? trainingAnnouncement(run) : ''}
      </p>
      <TrainingCharts run={run ?? null} overlays={overlays} live={!!run && trainer.runId === run.id && busy} />
      <RunsList {...props.runsList} />
    </section>
  );
}

function RunProgress({ run, live, state, phase }: { run: RunRecord; live: boolean; state: TrainerApi['state']; phase: TrainerApi['phase'] }) {
  const p = run.progress;
  // While a phase other than the steps runs, the steps' ETA says nothing about it: the phase line does.
  const eta = !live ? '–' : phase ? `– (${phase.stage})` : p?.etaFromFirstStep ? `~${duration(p.etaSeconds)} (from the first step, which includes warm-up)` : duration(p?.etaSeconds ?? NaN);
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
      <p className="muted" data-testid="train.status">
        {p
          ? `Step ${p.step} / ${p.totalSteps} · epoch ${p.epoch} / ${p.totalEpochs} · ETA ${eta} · loss ${fixed(p.loss)} · lr ${compact(p.learningRate)} · ${p.examplesPerSecond.toFixed(1)} examples/s · ${Math.round(p.tokensPerSecond)} tokens/s`
          : live
            ? phase
              ? 'Before the first step:'
              : 'Preparing…'
            : run.outcome
              ? 'Evaluated without training.'
              : 'No steps recorded.'}
      </p>
      {phase && <PhaseLine phase={phase} />}
      {run.message && (
        <p className={`note ${run.status === 'failed' ? 'note-error' : 'note-warn'}`} data-testid="train.message">
          {run.message}
        </p>
      )}
    </div>
  );
}

/** "Final evaluation: 32 / 40 rows · about 0:03 left", with its own bar. */
function PhaseLine({ phase }: { phase: NonNullable<TrainerApi['phase']> }) {
  const elapsed = (performance.now() - phase.startedAt) / 1000;
  const left = phase.done > 0 && phase.done < phase.total ? ` · about ${duration((elapsed * (phase.total - phase.done)) / phase.done)} left` : '';
  return (
    <div className="row phase-line" data-testid="train.phase" data-stage={phase.stage}>
      <progress max={Math.max(1, phase.total)} value={phase.done} aria-label={`${phase.stage}: ${phase.done} of ${phase.total}`} />
      <span className="muted">
        {phase.stage[0].toUpperCase() + phase.stage.slice(1)}: {phase.done} / {phase.total} rows{left}
      </span>
    </div>
  );
}
