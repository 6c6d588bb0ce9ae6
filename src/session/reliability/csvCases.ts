/**
 * CSV files, good, odd and bad, each with what the studio does with it. They are read as the page
 * and `npm run tune` read them: StudioSession.loadDataset on the file's bytes, then the dataset's
 * stats and the training warnings for a classification of `label` from `text` (validation 0.2).
 */
import type { TextEncodingName, TrainingWarningKind } from '../../shared/tasks';
import { b, rows, utf16be, utf16le, utf8 } from './bytes';

export type CsvOutcome =
  /** The one error that refuses the file: it names the file (and the row, where there is one). */
  | { refused: string }
  | {
      /** Data rows loaded (rows with the wrong number of fields are not). */
      rows: number;
      /** Rows kept for training: those with a label and a text. Defaults to `rows`. */
      kept?: number;
      encoding?: TextEncodingName;
      columns?: string[];
      /** Spreadsheet numbers of the rows left out for their number of fields. */
      malformed?: number[];
      /** Spreadsheet numbers of the rows left out for an empty label / an empty text. */
      emptyLabel?: number[];
      emptyText?: number[];
      /** A notice the load gives (an encoding fallback, renamed columns), as a substring. */
      notice?: string;
      /** The warnings before training (the CLI exits 2 on these unless --force; the page asks). */
      warnings?: TrainingWarningKind[];
      /** The first data row's cells, where the case is about how they are read. */
      first?: string[];
    };

export interface CsvCase {
  name: string;
  file: string;
  bytes: () => Uint8Array;
  outcome: CsvOutcome;
}

const HEADER = 'text,label\n';
/** 100 kB: past every prefix that is sniffed for the delimiter or the encoding. */
const big = () => HEADER + 'a fine sentence,pos\n'.repeat(5000);

export const CSV_CASES: CsvCase[] = [
  // Ordinary shapes.
  { name: 'comma, LF', file: 'plain.csv', bytes: () => utf8(HEADER + rows(10)), outcome: { rows: 10, encoding: 'utf-8', warnings: [] } },
  { name: 'semicolon, CRLF', file: 'semi.csv', bytes: () => utf8('text;label\r\n' + rows(10).replaceAll(',', ';').replaceAll('\n', '\r\n')), outcome: { rows: 10, warnings: [] } },
  { name: 'tab-separated, commas inside the text', file: 'tabs.tsv', bytes: () => utf8('text\tlabel\n' + Array.from({ length: 10 }, (_, i) => `a, b ${i}\t${i % 2 ? 'pos' : 'neg'}\n`).join('')), outcome: { rows: 10, first: ['a, b 0', 'neg'] } },
  { name: 'classic Mac line ends (CR only)', file: 'cr.csv', bytes: () => utf8((HEADER + rows(10)).replaceAll('\n', '\r')), outcome: { rows: 10 } },
  { name: 'no newline after the last row', file: 'nofinal.csv', bytes: () => utf8(HEADER + rows(10).trimEnd()), outcome: { rows: 10 } },
  { name: 'quoted fields with commas, doubled quotes and newlines', file: 'quoted.csv', bytes: () => utf8(HEADER + '"one, two",pos\n"she said ""hi""",neg\n"line one\nline two",pos\n' + rows(7)), outcome: { rows: 10, first: ['one, two', 'pos'] } },
  { name: 'a quote inside an unquoted field (12" pizza)', file: 'inch.csv', bytes: () => utf8(HEADER + 'a 12" pizza,pos\n' + rows(9)), outcome: { rows: 10, first: ['a 12" pizza', 'pos'] } },
  { name: 'blank lines between rows keep spreadsheet numbers', file: 'blank.csv', bytes: () => utf8(HEADER + '\n' + rows(5) + '   \n' + rows(5)), outcome: { rows: 10 } },
  { name: 'trailing delimiter on every line', file: 'trailing.csv', bytes: () => utf8('text,label,\n' + rows(10).replaceAll('\n', ',\n')), outcome: { rows: 10, columns: ['text', 'label', 'column 3'], notice: 'Columns renamed: column 3 has no name' } },
  { name: 'empty and duplicate column names', file: 'dupcols.csv', bytes: () => utf8('text,label,,text\n' + rows(10).replaceAll('\n', ',x,y\n')), outcome: { rows: 10, columns: ['text', 'label', 'column 3', 'text (2)'], notice: 'Columns renamed: column 3 has no name; it is called "column 3"; the header names "text" twice; the second is called "text (2)"' } },
  { name: '5,000 rows (past the sniffed prefix)', file: 'big.csv', bytes: () => utf8(HEADER + rows(5000)), outcome: { rows: 5000 } },
  // Rows the studio leaves out, and lists.
  { name: 'rows with too few / too many fields', file: 'fields.csv', bytes: () => utf8(HEADER + rows(4) + 'lonely\n' + 'a,pos,extra\n' + rows(6)), outcome: { rows: 10, malformed: [6, 7], notice: "2 of 12 rows do not have the header's 2 fields (comma-separated; row 6 has 1 field); those rows were left out" } },
  { name: 'empty labels', file: 'nolabel.csv', bytes: () => utf8(HEADER + rows(10) + 'no label here,\nnor here,  \n'), outcome: { rows: 12, kept: 10, emptyLabel: [12, 13] } },
  { name: 'empty and whitespace-only texts', file: 'notext.csv', bytes: () => utf8(HEADER + rows(10) + ',pos\n   ,neg\n'), outcome: { rows: 12, kept: 10, emptyText: [12, 13] } },
  // Data that would train nonsense: warned before training.
  { name: 'one class only', file: 'oneclass.csv', bytes: () => utf8(HEADER + rows(20, ['pos'])), outcome: { rows: 20, warnings: ['one-class'] } },
  { name: 'too few rows for a validation split', file: 'tiny.csv', bytes: () => utf8(HEADER + rows(2)), outcome: { rows: 2, warnings: ['small-classes', 'no-validation'] } },
  { name: 'a class with 2 examples', file: 'small.csv', bytes: () => utf8(HEADER + rows(20) + 'x,rare\ny,rare\n'), outcome: { rows: 22, warnings: ['small-classes'] } },
  { name: 'texts of zero-width and control characters only', file: 'invisible.csv', bytes: () => utf8(HEADER + Array.from({ length: 10 }, (_, i) => `\u200b\u2060\u0007,${i % 2 ? 'pos' : 'neg'}\n`).join('')), outcome: { rows: 10, warnings: ['no-text'] } },
  // Quote errors: fatal, naming the row where the quote opened.
  { name: 'text after a closing quote ("quoted"tail)', file: 'q.csv', bytes: () => utf8(HEADER + 'a,pos\n"quoted"tail,neg\nb,pos\nc,neg\n'), outcome: { refused: 'q.csv: row 3 opens a quoted field with text after its closing quote' } },
  { name: 'text after a closing quote, after blank and multi-line rows', file: 'q.csv', bytes: () => utf8(HEADER + '\na,pos\n"x\ny",pos\n"q"t,neg\nb,pos\n'), outcome: { refused: 'q.csv: row 5 opens a quoted field with text after' } },
  { name: 'an unclosed quote', file: 'q.csv', bytes: () => utf8(HEADER + 'a,pos\nb,neg\n"never closed,pos\nc,neg\n'), outcome: { refused: 'q.csv: row 4 opens a quoted field (") that is never closed, so the rest of the file would be read as one cell' } },
  { name: 'an unclosed quote 100 kB into the file', file: 'q.csv', bytes: () => utf8(big() + '"open,pos\nlast,neg\n'), outcome: { refused: 'q.csv: row 5002 opens a quoted field' } },
  // Not a table.
  { name: 'an empty file', file: 'empty.csv', bytes: () => new Uint8Array(), outcome: { refused: 'empty.csv is empty' } },
  { name: 'a header and no rows', file: 'header.csv', bytes: () => utf8(HEADER), outcome: { refused: 'header.csv has a header (text, label) but no data rows' } },
  { name: 'nothing but blank lines', file: 'blanks.csv', bytes: () => utf8('\n\n  \n'), outcome: { refused: 'blanks.csv has no rows' } },
  { name: 'mostly rows with the wrong number of fields', file: 'ragged.csv', bytes: () => utf8('a,b,c\n1\n2\n3\n4,5,6\n'), outcome: { refused: 'ragged.csv could not be read as a table: 3 of 4 rows' } },
  { name: 'a zip renamed to .csv', file: 'archive.csv', bytes: () => b('504b0304', '000a'), outcome: { refused: 'archive.csv is not a text file (it has a NUL byte on line 1)' } },
  // NUL bytes, wherever they are.
  { name: 'a NUL byte in a row', file: 'nul.csv', bytes: () => b(HEADER, '00', 'a,pos\n'), outcome: { refused: 'nul.csv is not a text file (it has a NUL byte on line 2)' } },
  { name: 'a NUL byte 100 kB into the file', file: 'nul.csv', bytes: () => b(big(), 'bad', '00', ',neg\n'), outcome: { refused: 'NUL byte on line 5002' } },
  { name: 'a NUL character in UTF-16', file: 'nul16.csv', bytes: () => utf16le(HEADER + 'a,pos\nb\0,neg\n', true), outcome: { refused: 'NUL byte on line 3' } },
  // Encodings: UTF-8, UTF-16 and Windows-1252 are read; others are refused by name.
  { name: 'UTF-8 with a BOM, accents and emoji', file: 'bom.csv', bytes: () => b('efbbbf', HEADER + 'café 😀,pos\n' + rows(9)), outcome: { rows: 10, encoding: 'utf-8', columns: ['text', 'label'], first: ['café 😀', 'pos'] } },
  { name: 'UTF-16LE with a BOM', file: 'u16.csv', bytes: () => utf16le(HEADER + 'naïve,pos\n' + rows(9), true), outcome: { rows: 10, encoding: 'utf-16le', first: ['naïve', 'pos'], notice: 'u16.csv is UTF-16 (little-endian); it was decoded as such' } },
  { name: 'UTF-16BE with a BOM', file: 'u16be.csv', bytes: () => utf16be(HEADER + rows(10), true), outcome: { rows: 10, encoding: 'utf-16be', notice: 'u16be.csv is UTF-16 (big-endian); it was decoded as such' } },
  { name: 'UTF-16LE without a BOM', file: 'u16.csv', bytes: () => utf16le(HEADER + 'café,pos\n' + rows(9), false), outcome: { rows: 10, encoding: 'utf-16le', first: ['café', 'pos'], notice: 'u16.csv is UTF-16 (little-endian) without a byte-order mark; it was decoded as such' } },
  { name: 'UTF-16BE without a BOM', file: 'u16.csv', bytes: () => utf16be(HEADER + rows(10)), outcome: { rows: 10, encoding: 'utf-16be', notice: 'u16.csv is UTF-16 (big-endian) without a byte-order mark; it was decoded as such' } },
  {
    name: 'Windows-1252 smart quotes and accents',
    file: 'cp1252.csv',
    bytes: () => b(HEADER, '93536d6172742071756f74657394209720697492732066696e65', ',pos\n', 'c76120636ffb7465207472e87320636865722064e9e775', ',neg\n'),
    outcome: { rows: 2, encoding: 'windows-1252', first: ['“Smart quotes” — it’s fine', 'pos'], notice: 'cp1252.csv is not valid UTF-8 (the first invalid byte, 0x93, is on line 2), so it was read as Windows-1252 (Western European)', warnings: ['small-classes', 'no-validation'] },
  },
  { name: 'Windows-1252 symbols that look like EUC-JP to a detector', file: 'cp1252.csv', bytes: () => b('x\n', '808080', ' ', 'a3a3', ' ', 'a5a5', ' ', 'a9ae99', '\n'), outcome: { rows: 1, encoding: 'windows-1252', columns: ['x'], first: ['€€€ ££ ¥¥ ©®™'], notice: 'cp1252.csv is not valid UTF-8 (the first invalid byte, 0x80, is on line 2), so it was read as Windows-1252' } },
  { name: 'Shift_JIS', file: 'sjis.csv', bytes: () => b(HEADER, '82b182cc896689e682cd82c682c482e096ca949282a982c182bd82c582b7', ',pos\n', '8dc588ab82cc91cc8cb182c582b582bd', ',neg\n'), outcome: { refused: 'sjis.csv is not UTF-8 (the first invalid byte, 0x82, is on line 2): it looks like Shift_JIS (Japanese), which the studio does not read' } },
  { name: 'GBK / GB18030', file: 'gbk.csv', bytes: () => b(HEADER, 'd5e2b2bfb5e7d3b0b7c7b3a3bac3bfb4', ',pos\n', 'b7fecef1badcb2eeb2bbcdc6bcf6', ',neg\n'), outcome: { refused: 'it looks like GB18030 (Chinese)' } },
  { name: 'EUC-KR', file: 'euckr.csv', bytes: () => b(HEADER, 'c0cc20bfb5c8adb4c220c1a4b8bb20c0e7b9ccc0d6befabeeebfe4', ',pos\n', 'c3d6bec7c0c720b0e6c7e8c0ccbefabdc0b4cfb4d9', ',neg\n'), outcome: { refused: 'it looks like EUC-KR (Korean)' } },
  { name: 'windows-1251 (Cyrillic)', file: 'cp1251.csv', bytes: () => b(HEADER, 'ddf2eef220f4e8ebfcec20eef7e5edfc20f5eef0eef8e8e9', ',pos\n', 'd3e6e0f1edeee520eee1f1ebf3e6e8e2e0ede8e5', ',neg\n'), outcome: { refused: 'it looks like windows-1251 (Russian)' } },
];
