import { describe, expect, it } from 'vitest';
import { smooth, thin } from './chartData';

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
