/**
 * What screen readers hear about a run: one sentence per finished epoch and one when the run ends,
 * never one per step (a live region that changes every step is read out endlessly or not at all).
 * Pure functions of the run record; the live region's text changes only when this text does.
 */
import type { RunRecord } from './runStore';

const pct = (v: number | null): string => (v === null || !Number.isFinite(v) ? '' : `, validation accuracy ${(v * 100).toFixed(1)}%`);
const loss = (v: number | null): string => (v === null || !Number.isFinite(v) ? '' : `, validation loss ${v.toFixed(3)}`);

/** The text of the training panel's live region for `run` (empty before its first epoch ends). */
export function trainingAnnouncement(run: Pick<RunRecord, 'name' | 'status' | 'epochs' | 'progress'>): string {
  if (run.status === 'completed' || run.status === 'stopped' || run.status === 'failed') return `Training ${run.status}: ${run.name}.`;
  const last = run.epochs[run.epochs.length - 1];
  if (!last) return '';
  const of = run.progress ? ` of ${run.progress.totalEpochs}` : '';
  return `Epoch ${last.epoch}${of} done: training loss ${last.trainLoss.toFixed(3)}${loss(last.valLoss)}${pct(last.valAccuracy)}.`;
}

/** The sweep panel's live region: one sentence each time a trial ends. */
export function sweepAnnouncement(ended: number, trials: number, state: string): string {
  if (state === 'completed' || state === 'stopped' || state === 'failed') return `Sweep ${state}: ${ended} of ${trials} trials ended.`;
  return ended > 0 ? `${ended} of ${trials} trials ended.` : '';
}
