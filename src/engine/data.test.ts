import { describe, expect, it } from 'vitest';
import { stratifiedSplit } from './data';
import { PERTURBATIONS, perturbText } from './perturb';
import { seededRandom } from './random';

describe('stratifiedSplit', () => {
  const items = [...Array(30).keys()].map((i) => ({ i, label: i < 20 ? 'a' : i < 28 ? 'b' : 'c' }));

  it('holds out each class in proportion, deterministically per seed', () => {
    const s = stratifiedSplit(items, (x) => x.label, 0.25, 7);
    const count = (xs: typeof items, l: string) => xs.filter((x) => x.label === l).length;
    expect([count(s.val, 'a'), count(s.val, 'b'), count(s.val, 'c')]).toEqual([5, 2, 1]); // c: 0.5 rounds to 1, keeps 1 in train
    expect(s.train.length + s.val.length).toBe(30);
    expect(new Set([...s.train, ...s.val].map((x) => x.i)).size).toBe(30);
    expect(stratifiedSplit(items, (x) => x.label, 0.25, 7)).toEqual(s);
    expect(stratifiedSplit(items, (x) => x.label, 0.25, 8).val).not.toEqual(s.val);
  });

  it('valFraction 0 keeps everything for training; out of range is an error', () => {
    expect(stratifiedSplit(items, (x) => x.label, 0, 1).val).toEqual([]);
    expect(() => stratifiedSplit(items, (x) => x.label, 1, 1)).toThrow(/validation fraction/);
  });
});

describe('perturbText', () => {
  const text = 'The Quick brown foxes jumped over lazy sleeping dogs';

  it('lower-cases', () => {
    expect(perturbText(text, 'lowercase', seededRandom(1))).toBe(text.toLowerCase());
  });

  it('typos change some long words by one edit and keep the word count', () => {
    const out = perturbText(text, 'typos', seededRandom(1));
    expect(out).not.toBe(text);
    expect(out.split(' ').length).toBe(text.split(' ').length);
    out.split(' ').forEach((w, i) => expect(Math.abs(w.length - text.split(' ')[i].length)).toBeLessThanOrEqual(1));
  });

  it('dropped words keep a subsequence, never nothing', () => {
    const out = perturbText(text, 'droppedWords', seededRandom(3)).split(' ');
    expect(out.length).toBeLessThan(9);
    expect(out.length).toBeGreaterThan(0);
    let at = 0;
    const words = text.split(' ');
    for (const w of out) at = words.indexOf(w, at) + 1;
    expect(at).toBeGreaterThan(0);
    expect(perturbText('single', 'droppedWords', seededRandom(3))).toBe('single');
  });

  it.each(PERTURBATIONS)('%s is seeded', (kind) => {
    expect(perturbText(text, kind, seededRandom(5))).toBe(perturbText(text, kind, seededRandom(5)));
  });
});
