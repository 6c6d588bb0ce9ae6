/** README's table of the reliability cases: what is tried and what it gets, written from the cases themselves. */
import { CHECKPOINT_CASES, type CheckpointOutcome } from './checkpointCases';
import { CSV_CASES, type CsvOutcome } from './csvCases';
import { IMPORT_CASES, type ImportOutcome } from './importCases';

export const TABLE_BEGIN = '<!-- reliability cases: begin (written by src/session/reliability/table.ts) -->';
export const TABLE_END = '<!-- reliability cases: end -->';

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
const refused = (message: string) => `refused: “${message}”`;
const rowList = (rows: number[]) => `row${rows.length > 1 ? 's' : ''} ${rows.join(', ')}`;

export function csvOutcomeText(o: CsvOutcome): string {
  if ('refused' in o) return refused(o.refused);
  const parts = [`${o.rows} row${o.rows === 1 ? '' : 's'}${o.encoding && o.encoding !== 'utf-8' ? ` (${o.encoding})` : ''}`];
  if (o.malformed?.length) parts.push(`${rowList(o.malformed)} left out and listed (wrong number of fields)`);
  if (o.emptyLabel?.length) parts.push(`${rowList(o.emptyLabel)} left out (empty label)`);
  if (o.emptyText?.length) parts.push(`${rowList(o.emptyText)} left out (empty text)`);
  if (o.columns) parts.push(`columns ${o.columns.join(', ')}`);
  if (o.notice) parts.push(`notice “${o.notice}…”`);
  if (o.warnings?.length) parts.push(`warned before training: ${o.warnings.join(', ')} (CLI exit 2 unless --force)`);
  return `read: ${parts.join('; ')}`;
}

export const checkpointOutcomeText = (o: CheckpointOutcome): string => ('refused' in o ? refused(o.refused) : `loads (${o.loaded})`);

export const importOutcomeText = (o: ImportOutcome): string => ('refused' in o ? refused(o.refused) : `imported (${o.imported.format}, [${o.imported.shape.join(', ')}])`);

/** The markdown between TABLE_BEGIN and TABLE_END in README.md. */
export function reliabilityTable(): string {
  const section = (title: string, rows: [string, string][]) => [`| ${title} (${rows.length}) | What it gets |`, '| --- | --- |', ...rows.map(([a, b]) => `| ${cell(a)} | ${cell(b)} |`)].join('\n');
  return [
    section('CSV file', CSV_CASES.map((c) => [`${c.name} (\`${c.file}\`)`, csvOutcomeText(c.outcome)])),
    section('Checkpoint', CHECKPOINT_CASES.map((c) => [c.name, checkpointOutcomeText(c.outcome)])),
    section('Prompt import', IMPORT_CASES.map((c) => [`${c.name} (\`${c.file}\`)`, importOutcomeText(c.outcome)])),
  ].join('\n\n');
}
