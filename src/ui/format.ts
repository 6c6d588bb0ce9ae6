/** Number formats shared by the panels. */

export const percent = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(digits)}%`;

export const fixed = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);

/** 0.0123 -> "0.0123", 3e-5 -> "3.0e-5". */
export const compact = (x: number): string => (x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential(1) : String(Number(x.toPrecision(3))));

/** Seconds -> "1:05" or "2:03:04"; unknown -> "–". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** "rows 3, 7, 12 and 4 more" from an issue list. */
export function rowList(rows: readonly number[], count: number, shown = 12): string {
  const head = rows.slice(0, shown).join(', ');
  const more = count - Math.min(shown, rows.length);
  return more > 0 ? `${head} and ${more.toLocaleString('en')} more` : head;
}

export const plural = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
