/** Classification and generation metrics on plain arrays (no tensors). */

/** Fraction of positions where `predicted[i] === gold[i]`; 0 for empty input. */
export function accuracy(predicted: readonly number[], gold: readonly number[]): number {
  if (gold.length === 0) return 0;
  let ok = 0;
  gold.forEach((g, i) => (ok += predicted[i] === g ? 1 : 0));
  return ok / gold.length;
}

/** counts[gold][predicted] over `numClasses` classes. */
export function confusionMatrix(predicted: readonly number[], gold: readonly number[], numClasses: number): number[][] {
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  gold.forEach((g, i) => m[g][predicted[i]]++);
  return m;
}

/**
 * Unweighted mean of per-class F1 over the classes that occur in gold or predictions (as
 * scikit-learn does without an explicit label list); a class with no true positives scores 0.
 */
export function macroF1(predicted: readonly number[], gold: readonly number[], numClasses: number): number {
  const m = confusionMatrix(predicted, gold, numClasses);
  let sum = 0;
  let n = 0;
  for (let c = 0; c < numClasses; c++) {
    const tp = m[c][c];
    const support = m[c].reduce((a, b) => a + b, 0);
    const predictedC = m.reduce((a, row) => a + row[c], 0);
    if (support === 0 && predictedC === 0) continue;
    n++;
    sum += tp === 0 ? 0 : (2 * tp) / (support + predictedC);
  }
  return n === 0 ? 0 : sum / n;
}

/** The class most frequent in `trainGold` (lowest index on ties) and its accuracy on `valGold`. */
export function majorityBaseline(trainGold: readonly number[], valGold: readonly number[], numClasses: number): { classIndex: number; accuracy: number } {
  const counts = new Array<number>(numClasses).fill(0);
  for (const g of trainGold) counts[g]++;
  const classIndex = counts.indexOf(Math.max(...counts));
  return { classIndex, accuracy: accuracy(valGold.map(() => classIndex), valGold) };
}

/**
 * Answer normalisation before comparing generated text: lower-case, punctuation removed,
 * whitespace collapsed. (SQuAD also drops English articles; we do not, since targets here are
 * arbitrary short strings, not English answers.)
 */
export function normalizeAnswer(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\p{P}\p{S}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function exactMatch(predicted: string, gold: string): number {
  return normalizeAnswer(predicted) === normalizeAnswer(gold) ? 1 : 0;
}

/** SQuAD-style token F1: bag-of-words overlap of the normalised whitespace tokens. */
export function tokenF1(predicted: string, gold: string): number {
  const p = normalizeAnswer(predicted).split(' ').filter(Boolean);
  const g = normalizeAnswer(gold).split(' ').filter(Boolean);
  if (p.length === 0 || g.length === 0) return p.length === g.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of g) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of p) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      common++;
      counts.set(t, c - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / p.length;
  const recall = common / g.length;
  return (2 * precision * recall) / (precision + recall);
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}
