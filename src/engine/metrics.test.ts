import { describe, expect, it } from 'vitest';
import { accuracy, confusionMatrix, exactMatch, macroF1, majorityBaseline, normalizeAnswer, tokenF1 } from './metrics';

describe('classification metrics (hand-computed)', () => {
  const predicted = [0, 0, 1, 1, 2, 0];
  const gold = [0, 1, 1, 1, 2, 2];

  it('accuracy and confusion matrix [gold][predicted]', () => {
    expect(accuracy(predicted, gold)).toBeCloseTo(4 / 6, 12);
    expect(confusionMatrix(predicted, gold, 3)).toEqual([
      [1, 0, 0],
      [1, 2, 0],
      [1, 0, 1],
    ]);
  });

  it('macro-F1 averages per-class F1 (0.5, 0.8, 2/3) over classes that occur', () => {
    const expected = (0.5 + 0.8 + 2 / 3) / 3;
    expect(macroF1(predicted, gold, 3)).toBeCloseTo(expected, 12);
    expect(macroF1(predicted, gold, 4)).toBeCloseTo(expected, 12); // class 3 never occurs: not averaged in
    expect(macroF1([1, 1], [0, 0], 2)).toBe(0);
  });

  it('majority baseline takes the most frequent training class', () => {
    expect(majorityBaseline([1, 1, 0, 2], [1, 0], 3)).toEqual({ classIndex: 1, accuracy: 0.5 });
  });
});

describe('generation metrics (hand-computed)', () => {
  const f1Cases: { predicted: string; gold: string; f1: number }[] = [
    { predicted: 'the cat sat', gold: 'the cat sat', f1: 1 },
    { predicted: 'cat', gold: 'the cat sat', f1: 0.5 }, // P 1, R 1/3
    { predicted: 'a b c d', gold: 'a b x y', f1: 0.5 },
    { predicted: 'a a b', gold: 'a b b', f1: 2 / 3 }, // overlap counts each token at most as often as in gold
    { predicted: 'Hello, World!', gold: 'hello world', f1: 1 },
    { predicted: 'x', gold: '', f1: 0 },
    { predicted: '', gold: '', f1: 1 },
    { predicted: 'dog', gold: 'cat', f1: 0 },
  ];
  it.each(f1Cases)('token F1("$predicted", "$gold") = $f1', ({ predicted, gold, f1 }) => {
    expect(tokenF1(predicted, gold)).toBeCloseTo(f1, 12);
  });

  const emCases: { predicted: string; gold: string; em: number }[] = [
    { predicted: 'Paris.', gold: 'paris', em: 1 },
    { predicted: '  big   dog ', gold: 'big dog', em: 1 },
    { predicted: 'Paris France', gold: 'Paris', em: 0 },
  ];
  it.each(emCases)('exact match("$predicted", "$gold") = $em', ({ predicted, gold, em }) => {
    expect(exactMatch(predicted, gold)).toBe(em);
  });

  it('normalises case, punctuation and whitespace only', () => {
    expect(normalizeAnswer(' The  Cat, sat! ')).toBe('the cat sat');
  });
});
