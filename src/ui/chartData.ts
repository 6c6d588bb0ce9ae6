/** Series for the training charts: smoothing and thinning of the per-step loss. Pure functions. */
import type { StepPoint } from './runStore';

/** Weight of the running average in the smoothed loss (TensorBoard's slider at 0.9). */
export const SMOOTHING = 0.9;
/** At most this many points per line; more are thinned evenly (the last point is always kept). */
export const MAX_CHART_POINTS = 400;

/**
 * Exponential moving average with TensorBoard's debiasing, so the first points are not pulled
 * towards 0: s_t = (w s_{t-1} + (1 - w) x_t) / (1 - w^t). Non-finite losses are skipped.
 */
export function smooth(points: readonly StepPoint[], weight = SMOOTHING): StepPoint[] {
  let avg = 0;
  let n = 0;
  const out: StepPoint[] = [];
  for (const p of points) {
    if (!Number.isFinite(p.loss)) continue;
    n++;
    avg = weight * avg + (1 - weight) * p.loss;
    out.push({ step: p.step, loss: avg / (1 - weight ** n) });
  }
  return out;
}

/** Every k-th point so that at most `max` remain, plus the last one. */
export function thin<T>(points: readonly T[], max = MAX_CHART_POINTS): T[] {
  if (points.length <= max) return [...points];
  const every = Math.ceil(points.length / max);
  const out = points.filter((_, i) => i % every === 0);
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]);
  return out;
}

/**
 * While a run trains, its charts are redrawn at most this often: recharts redraws a chart in one
 * piece (its store notifies in an animation frame, outside React's time slicing), so redrawing at
 * every metrics batch kept the main thread busy for tens of ms several times a second (issue 17).
 */
export const CHART_UPDATE_INTERVAL_MS = 1000;

/**
 * How long to wait before showing a new value, given when the shown one was shown (ms, same clock):
 * 0 when `interval` has passed (or there is no interval), else the rest of it; with a throttle, at
 * least `lag` (so that two charts throttled alike but lagged apart never redraw in one task).
 */
export function chartUpdateDelay(shownAt: number, now: number, interval: number, lag = 0): number {
  return interval <= 0 ? 0 : Math.max(lag, shownAt + interval - now);
}

/**
 * The validation chart's lag behind the loss chart while a run trains: an epoch's end changes both,
 * and recharts redraws each in one piece, so drawn in the same task they made one long task (issue 17).
 */
export const VALIDATION_CHART_LAG_MS = CHART_UPDATE_INTERVAL_MS / 2;
