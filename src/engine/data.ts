/** Dataset rows and the stratified train/validation split. */
import { seededRandom } from './random';

/** One CSV row: column name -> cell text. */
export type Row = Record<string, string>;

export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

export interface Split<T> {
  train: T[];
  val: T[];
}

/**
 * Per class, a seeded shuffle puts round(n * valFraction) items into validation (at least one
 * when the class has two or more items and valFraction > 0), so both sides keep the class mix.
 * Within each side the original order is kept.
 */
export function stratifiedSplit<T>(items: readonly T[], labelOf: (item: T) => string, valFraction: number, seed: number): Split<T> {
  if (!(valFraction >= 0 && valFraction < 1)) throw new DataError(`validation fraction must be in [0, 1), got ${valFraction}`);
  const byClass = new Map<string, number[]>();
  items.forEach((item, i) => {
    const label = labelOf(item);
    const list = byClass.get(label) ?? [];
    list.push(i);
    byClass.set(label, list);
  });
  const rng = seededRandom(seed, 'split');
  const isVal = new Uint8Array(items.length);
  for (const label of [...byClass.keys()].sort()) {
    const idx = byClass.get(label) as number[];
    let n = Math.round(idx.length * valFraction);
    if (valFraction > 0 && idx.length >= 2) n = Math.min(Math.max(n, 1), idx.length - 1);
    for (const i of rng.shuffle(idx).slice(0, n)) isVal[i] = 1;
  }
  return { train: items.filter((_, i) => !isVal[i]), val: items.filter((_, i) => isVal[i] === 1) };
}

/**
 * Stratified k-fold assignment: per class (in sorted order), a seeded shuffle deals the class's
 * items to folds 0..k-1 in turn, the dealing continuing across classes, so every fold gets each
 * class's share to within one item and the folds' sizes differ by at most one. Returns each item's fold.
 */
export function stratifiedFolds<T>(items: readonly T[], labelOf: (item: T) => string, k: number, seed: number): number[] {
  if (!(Number.isInteger(k) && k >= 2)) throw new DataError(`k-fold cross-validation needs k >= 2 folds, got ${k}`);
  if (items.length < k) throw new DataError(`${k} folds need at least ${k} rows; there are ${items.length}`);
  const byClass = new Map<string, number[]>();
  items.forEach((item, i) => {
    const label = labelOf(item);
    byClass.set(label, [...(byClass.get(label) ?? []), i]);
  });
  const rng = seededRandom(seed, 'folds');
  const fold = new Array<number>(items.length).fill(-1);
  let next = 0;
  for (const label of [...byClass.keys()].sort()) {
    for (const i of rng.shuffle(byClass.get(label) as number[])) {
      fold[i] = next;
      next = (next + 1) % k;
    }
  }
  return fold;
}

/** Checks that every named column exists, naming the ones that do otherwise. */
export function requireColumns(columns: readonly string[], needed: readonly string[], what: string): void {
  for (const c of needed) {
    if (!columns.includes(c)) {
      throw new DataError(`${what} "${c}" is not a column of the data (columns: ${columns.join(', ') || 'none'})`);
    }
  }
}
