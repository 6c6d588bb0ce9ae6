/**
 * Data that would train nonsense, said before training starts: one class (100% accuracy that means
 * nothing), no validation rows (no accuracy at all), classes too small to learn or validate, and
 * inputs with no text left once the template has filled them in. The CLI stops on these unless
 * forced; the page can show them before Start.
 */
import { stratifiedSplit } from '../engine/data';
import { parseTemplate } from '../engine/template';
import type { TrainingWarning, TrainingWarningsPayload } from '../shared/tasks';
import { labelFor, type Dataset } from './dataset';

export type { TrainingWarning, TrainingWarningKind, TrainingWarningsPayload } from '../shared/tasks';

/** A class with fewer examples is warned about: 4 leave 3 to learn it from and 1 to judge it by. */
export const MIN_EXAMPLES_PER_CLASS = 5;

/** A character that shows: not whitespace, a control character or a format character (zero-width space, BOM, ...). */
const VISIBLE = /[^\p{White_Space}\p{Cc}\p{Cf}]/u;

const quoteList = (items: string[], max = 5) => items.slice(0, max).join(', ') + (items.length > max ? `, … (${items.length} in all)` : '');

export function trainingWarnings(dataset: Dataset, payload: TrainingWarningsPayload): TrainingWarning[] {
  const { task, labelColumn, textColumns, valFraction, seed, template } = payload;
  const { rows } = dataset.taskRows(labelColumn, textColumns);
  if (rows.length === 0) return []; // nothing to train on at all: an error, not a warning (see Dataset.stats' emptyLabel / emptyText)
  const warnings: TrainingWarning[] = [];
  const { val } = stratifiedSplit(rows, labelFor(task, labelColumn), valFraction, seed);
  if (task === 'classification') {
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r[labelColumn], (counts.get(r[labelColumn]) ?? 0) + 1);
    if (counts.size === 1) {
      const [only] = counts.keys();
      warnings.push({
        kind: 'one-class',
        message: `every row has the label "${only}" (column "${labelColumn}"): a classifier of one class scores 100% and learns nothing; add rows of another class`,
      });
    }
    const small = [...counts.entries()].filter(([, n]) => n < MIN_EXAMPLES_PER_CLASS).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
    if (small.length > 0 && counts.size > 1) {
      warnings.push({
        kind: 'small-classes',
        message:
          `${small.length} of ${counts.size} classes have fewer than ${MIN_EXAMPLES_PER_CLASS} examples (${quoteList(small.map(([c, n]) => `"${c}" ${n}`))}): ` +
          'too few to learn them or to validate on them; add examples or merge classes',
      });
    }
  }
  if (val.length === 0) {
    warnings.push({
      kind: 'no-validation',
      message: `no row is held out for validation (${rows.length} rows, validation split ${valFraction}), so the run would report no accuracy; raise the validation split or add rows`,
    });
  }
  const columns = [...new Set(parseTemplate(template).flatMap((p) => (p.kind === 'column' ? [p.column] : [])))];
  if (columns.length === 0) {
    warnings.push({ kind: 'no-text', message: `the template "${template}" uses no column, so every example is the same text; add a placeholder such as {${textColumns[0] ?? 'text'}}` });
  } else if (columns.every((c) => dataset.columns.includes(c)) && !rows.some((r) => columns.some((c) => VISIBLE.test(r[c])))) {
    warnings.push({
      kind: 'no-text',
      message: `every row's text is empty after the template (columns ${columns.join(', ')} hold only spaces, control or zero-width characters)`,
    });
  }
  return warnings;
}
