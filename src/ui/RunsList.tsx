import { useState } from 'react';
import type { RunRecord } from './runStore';
import { percent } from './format';

export interface RunsListProps {
  runs: RunRecord[];
  selectedId: string | null;
  onSelect(id: string): void;
  overlayIds: ReadonlySet<string>;
  onToggleOverlay(id: string): void;
  onRename(id: string, name: string): void;
  onDelete(id: string): void;
  onResume(run: RunRecord): void;
  /** Puts the run's template, label words, columns and settings into the editors. */
  onUseSettings(run: RunRecord): void;
  /** The run training now (cannot be deleted, resumed or renamed meanwhile). */
  activeId: string | null;
  /** Per run id, why resuming it failed. */
  resumeErrors: Record<string, string>;
  storageError: string | null;
  onDismissStorageError(): void;
  /** Runs kept only in this tab's memory for now (their writes failed or wait for the database). */
  unsaved: ReadonlySet<string>;
  onSaveAgain(): void;
}

/** Headline metric of a run, for the list. */
function headline(run: RunRecord): string {
  const o = run.outcome;
  if (o?.task === 'classification' && o.tuned) return `accuracy ${percent(o.tuned.accuracy)} (zero-shot ${percent(o.zeroShot?.accuracy)})`;
  if (o?.task === 'generation' && o.after) return `exact match ${percent(o.after.exactMatch)} (before ${percent(o.before?.exactMatch)})`;
  const last = run.epochs[run.epochs.length - 1];
  if (last?.valAccuracy != null) return `epoch ${last.epoch}: accuracy ${percent(last.valAccuracy)}`;
  return run.progress ? `step ${run.progress.step} / ${run.progress.totalSteps}` : '';
}

/** Runs kept in this browser: open, compare (overlay), rename, delete, resume. */
export function RunsList(props: RunsListProps) {
  const { runs, selectedId, activeId } = props;
  const [renaming, setRenaming] = useState<{ id: string; name: string } | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null);

  return (
    <div className="runs" data-testid="runs.list">
      <h3>Runs in this browser</h3>
      {props.storageError && (
        <div className="note note-error" role="alert" data-testid="runs.storageError">
          {props.storageError}{' '}
          <button type="button" className="link-button" onClick={props.onDismissStorageError}>
            Dismiss
          </button>
        </div>
      )}
      {props.unsaved.size > 0 && (
        <div className="note note-warn" role="status" data-testid="runs.unsavedNote">
          {props.unsaved.size === 1 ? '1 run is' : `${props.unsaved.size} runs are`} kept only in this tab until they can be saved
          (marked “not saved” below; the Export panel downloads a run’s prompt meanwhile).{' '}
          <button type="button" className="link-button" data-testid="runs.saveAgain" onClick={props.onSaveAgain}>
            Save again
          </button>
        </div>
      )}
      {runs.length === 0 && <p className="muted">No runs yet. Runs are kept in this browser (IndexedDB) and survive a reload.</p>}
      <ul>
        {[...runs].reverse().map((run) => {
          const busy = run.id === activeId;
          const state = run.checkpoint?.state;
          const resumable = !busy && state !== undefined && state.step < state.totalSteps && (run.status === 'interrupted' || run.status === 'stopped' || run.status === 'failed');
          return (
            <li key={run.id} className={run.id === selectedId ? 'selected' : ''} data-testid="runs.item" data-run-id={run.id} data-status={run.status} data-checkpoint-step={run.checkpoint?.step ?? ''}>
              <div className="row">
                {renaming?.id === run.id ? (
                  <form
                    className="row"
                    onSubmit={(e) => {
                      e.preventDefault();
                      if (renaming.name.trim()) props.onRename(run.id, renaming.name.trim());
                      setRenaming(null);
                    }}
                  >
                    <input aria-label="Run name" data-testid="runs.rename.input" value={renaming.name} autoFocus onChange={(e) => setRenaming({ id: run.id, name: e.target.value })} />
                    <button type="submit" data-testid="runs.rename.save">
                      Save
                    </button>
                    <button type="button" className="secondary" onClick={() => setRenaming(null)}>
                      Cancel
                    </button>
                  </form>
                ) : (
                  <button type="button" className="run-name" aria-pressed={run.id === selectedId} data-testid="runs.open" onClick={() => props.onSelect(run.id)}>
                    {run.name}
                  </button>
                )}
                <span className={`tag tag-${run.status}`}>{run.status}</span>
                {props.unsaved.has(run.id) && (
                  <span className="tag tag-failed" data-testid="runs.unsaved" title="Only in this tab's memory: a reload now would lose it.">
                    not saved
                  </span>
                )}
                <span className="muted">{headline(run)}</span>
              </div>
              <div className="row run-actions">
                <label className="inline">
                  <input type="checkbox" data-testid="runs.overlay" checked={props.overlayIds.has(run.id)} disabled={run.id === selectedId} onChange={() => props.onToggleOverlay(run.id)} />
                  overlay on charts
                </label>
                <button type="button" className="secondary" data-testid="runs.useSettings" disabled={activeId !== null} onClick={() => props.onUseSettings(run)}>
                  Use its settings
                </button>
                <button type="button" className="secondary" data-testid="runs.rename" disabled={busy} onClick={() => setRenaming({ id: run.id, name: run.name })}>
                  Rename
                </button>
                {resumable && (
                  <button type="button" data-testid="runs.resume" disabled={activeId !== null} onClick={() => props.onResume(run)}>
                    Resume from step {run.checkpoint!.step}
                  </button>
                )}
                {confirmDelete === run.id ? (
                  <>
                    <button type="button" className="danger" data-testid="runs.delete.confirm" onClick={() => (props.onDelete(run.id), setConfirmDelete(null))}>
                      Delete “{run.name}”
                    </button>
                    <button type="button" className="secondary" onClick={() => setConfirmDelete(null)}>
                      Keep
                    </button>
                  </>
                ) : (
                  <button type="button" className="secondary" data-testid="runs.delete" disabled={busy} onClick={() => setConfirmDelete(run.id)}>
                    Delete
                  </button>
                )}
              </div>
              <p className="muted run-meta">
                {run.spec.task} · {run.modelId} · {run.datasetName} · {new Date(run.createdAt).toLocaleString()}
                {run.importedFrom ? ` · from ${run.importedFrom}` : ''}
              </p>
              {props.resumeErrors[run.id] && (
                <p className="note note-error" role="alert" data-testid="runs.resume.error">
                  {props.resumeErrors[run.id]}
                </p>
              )}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
