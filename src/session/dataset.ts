/**
 * The loaded CSV as the worker keeps it: rows as column -> text records with their spreadsheet
 * row numbers, and which rows a task leaves out (empty label or target, or no input text).
 */
import { stratifiedSplit, type Row } from '../engine/data';
import type { ParsedCsv } from './csv';
import { MAX_LISTED_CLASSES, MAX_LISTED_ROWS } from '../shared/tasks';
import type { DatasetInfo, DatasetStats, DatasetStatsPayload, RowIssues, TaskKind, TextEncodingName } from '../shared/tasks';

/** Rows shown in the data preview. */
export const PREVIEW_ROWS = 8;

const listIssues = (rows: number[]): RowIssues => ({ count: rows.length, rows: rows.slice(0, MAX_LISTED_ROWS) });

export interface TaskRows {
  rows: Row[];
  emptyLabel: number[];
  emptyText: number[];
}

export class Dataset {
  private readonly rowNumber = new WeakMap<Row, number>();

  constructor(
    readonly name: string,
    readonly columns: string[],
    readonly rows: Row[],
    rowNumbers: number[],
  ) {
    rows.forEach((row, i) => this.rowNumber.set(row, rowNumbers[i]));
  }

  static fromParsed(name: string, parsed: ParsedCsv): Dataset {
    const rows = parsed.rows.map((cells) => Object.fromEntries(parsed.columns.map((c, i) => [c, cells[i]])) as Row);
    return new Dataset(name, parsed.columns, rows, parsed.rowNumbers);
  }

  /** The spreadsheet row number of one of this dataset's rows. */
  rowNumberOf(row: Row): number {
    return this.rowNumber.get(row) ?? -1;
  }

  info(parsed: ParsedCsv, extra: { bytes: number; encoding: TextEncodingName; notices: string[] }): DatasetInfo {
    const emptyCells: Record<string, RowIssues> = {};
    for (const column of this.columns) {
      emptyCells[column] = listIssues(this.rows.filter((r) => r[column].trim() === '').map((r) => this.rowNumberOf(r)));
    }
    return {
      name: this.name,
      bytes: extra.bytes,
      encoding: extra.encoding,
      notices: [...extra.notices, ...parsed.notices],
      delimiter: parsed.delimiter,
      columns: this.columns,
      rowCount: this.rows.length,
      preview: this.rows.slice(0, PREVIEW_ROWS).map((r) => ({ row: this.rowNumberOf(r), cells: this.columns.map((c) => r[c]) })),
      malformedRows: parsed.malformed,
      emptyCells,
    };
  }

  /** Checks that the columns exist; names the missing one. */
  requireColumns(columns: readonly string[], what: string): void {
    for (const c of columns) {
      if (!this.columns.includes(c)) throw new Error(`${what} "${c}" is not a column of ${this.name} (columns: ${this.columns.join(', ')})`);
    }
  }

  /**
   * The rows a task uses: those with a label (or target) and some input text. The others are
   * returned by row number, so the UI lists them; nothing is dropped without being listed.
   */
  taskRows(labelColumn: string, textColumns: readonly string[]): TaskRows {
    this.requireColumns([labelColumn], 'the label column');
    this.requireColumns(textColumns, 'the text column');
    const rows: Row[] = [];
    const emptyLabel: number[] = [];
    const emptyText: number[] = [];
    for (const r of this.rows) {
      if (r[labelColumn].trim() === '') emptyLabel.push(this.rowNumberOf(r));
      else if (textColumns.length > 0 && textColumns.every((c) => r[c].trim() === '')) emptyText.push(this.rowNumberOf(r));
      else rows.push(r);
    }
    return { rows, emptyLabel, emptyText };
  }

  stats({ task, labelColumn, textColumns, valFraction, seed }: DatasetStatsPayload): DatasetStats {
    const { rows, emptyLabel, emptyText } = this.taskRows(labelColumn, textColumns);
    const labelOf = labelFor(task, labelColumn);
    const { train, val } = stratifiedSplit(rows, labelOf, valFraction, seed);
    const classes = new Map<string, { count: number; train: number; val: number }>();
    const bump = (r: Row, side: 'train' | 'val') => {
      const c = classes.get(r[labelColumn]) ?? { count: 0, train: 0, val: 0 };
      c.count++;
      c[side]++;
      classes.set(r[labelColumn], c);
    };
    if (task === 'classification') {
      train.forEach((r) => bump(r, 'train'));
      val.forEach((r) => bump(r, 'val'));
    }
    const sorted = [...classes.entries()].sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1));
    return {
      kept: rows.length,
      train: train.length,
      val: val.length,
      emptyLabel: listIssues(emptyLabel),
      emptyText: listIssues(emptyText),
      classes: sorted.slice(0, MAX_LISTED_CLASSES).map(([name, c]) => ({ name, ...c })),
      distinctLabels: classes.size,
    };
  }
}

/** Classification splits stratified by label; generation splits at random (one stratum). */
export function labelFor(task: TaskKind, labelColumn: string): (r: Row) => string {
  return task === 'classification' ? (r) => r[labelColumn] : () => '';
}
