import { describe, expect, it } from 'vitest';
import { chartUpdateDelay, smooth, thin } from './chartData';

describe('smooth', () => {
  it('is debiased: a constant series stays constant from the first point', () => {
    const points = [1, 2, 3, 4].map((step) => ({ step, loss: 0.7 }));
    smooth(points).forEach((p) => expect(p.loss).toBeCloseTo(0.7, 12));
  });

  it('follows a step change gradually and skips non-finite losses', () => {
    const points = [
      { step: 1, loss: 1 },
      { step: 2, loss: NaN },
      { step: 3, loss: 0 },
    ];
    const s = smooth(points, 0.5);
    expect(s.map((p) => p.step)).toEqual([1, 3]);
    // (0.5 * 0.5 * 1 + 0.5 * 0) / (1 - 0.25) = 1/3
    expect(s[1].loss).toBeCloseTo(1 / 3, 12);
  });
});

describe('thin', () => {
  it('keeps short series whole', () => {
    expect(thin([1, 2, 3], 5)).toEqual([1, 2, 3]);
  });

  it('keeps at most about max points, evenly spaced, and always the last', () => {
    const out = thin(Array.from({ length: 1001 }, (_, i) => i), 100);
    expect(out.length).toBeLessThanOrEqual(102);
    expect(out[0]).toBe(0);
    expect(out[1]).toBe(11);
    expect(out.at(-1)).toBe(1000);
  });
});

describe('chartUpdateDelay', () => {
  it.each([
    { name: 'no interval: at once', shownAt: 1000, now: 1001, interval: 0, delay: 0 },
    { name: 'the interval has passed', shownAt: 1000, now: 2000, interval: 1000, delay: 0 },
    { name: 'long after', shownAt: 0, now: 99_999, interval: 1000, delay: 0 },
    { name: 'the rest of the interval', shownAt: 1000, now: 1250, interval: 1000, delay: 750 },
    { name: 'just shown', shownAt: 1000, now: 1000, interval: 1000, delay: 1000 },
    { name: 'lagged: at least the lag when the interval has passed', shownAt: 0, now: 5000, interval: 1000, lag: 500, delay: 500 },
    { name: 'lagged: the rest of the interval when longer', shownAt: 1000, now: 1250, interval: 1000, lag: 500, delay: 750 },
    { name: 'lagged without an interval: at once', shownAt: 0, now: 5000, interval: 0, lag: 500, delay: 0 },
  ])('$name', ({ shownAt, now, interval, lag, delay }) => {
    expect(chartUpdateDelay(shownAt, now, interval, lag)).toBe(delay);
  });
});
