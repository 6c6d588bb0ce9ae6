/**
 * CSV files as the studio reads them: bytes -> text (UTF-8 with or without BOM, UTF-16 with a
 * BOM or plainly ASCII-looking UTF-16 without one, otherwise Windows-1252 with a notice, unless
 * chardet recognises another encoding, which is refused by name), then papaparse in chunks
 * (delimiter guessed among comma, semicolon, tab; CRLF or LF; RFC 4180 quoting, so fields may hold
 * delimiters, quotes and newlines). Nothing is dropped silently: rows with the wrong number of
 * fields are left out and listed by row number; a quote error (a quoted field never closed, or text
 * after a closing quote) refuses the file with the row where the quote opened, and so does a NUL
 * byte anywhere.
 *
 * Row numbers are spreadsheet row numbers: the header is row 1, the first data row is row 2, and a
 * record whose quoted field spans several lines is still one row.
 */
import { analyse } from 'chardet';
import Papa from 'papaparse';
import type { RowIssues, TextEncodingName } from '../shared/tasks';
import { MAX_LISTED_ROWS } from '../shared/tasks';

/** Larger files are refused: the rows are kept in memory as strings. */
export const MAX_UPLOAD_BYTES = 256 * 1024 * 1024;
/** papaparse reads the text in chunks of this many characters; progress is reported per chunk. */
export const CSV_CHUNK_CHARS = 1 << 20;
export const DELIMITERS_GUESSED = [',', ';', '\t'];

export class CsvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvError';
  }
}

export interface DecodedText {
  text: string;
  encoding: TextEncodingName;
  /** Set when the encoding was not plain UTF-8: what was done about it. */
  notice?: string;
}

/** Offset of the first byte that does not belong to a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    if (i + need >= bytes.length) return i; // a sequence cut off by the end of the file
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/**
 * Windows-1252's 0x80-0x9F (the rest of its bytes equal their Latin-1 code points); 0 marks the
 * five undefined bytes, which decode to the C1 control of the same number as the WHATWG decoder does.
 * Written out because Node's TextDecoder('windows-1252') decodes these as Latin-1.
 */
const CP1252_HIGH = [
  0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
  0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
];

export function decodeWindows1252(bytes: Uint8Array): string {
  const parts: string[] = [];
  const CHUNK = 8192;
  for (let start = 0; start < bytes.length; start += CHUNK) {
    const codes = Array.from(bytes.subarray(start, start + CHUNK), (b) => (b >= 0x80 && b <= 0x9f ? CP1252_HIGH[b - 0x80] || b : b));
    parts.push(String.fromCharCode(...codes));
  }
  return parts.join('');
}

function lineOf(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

function lineOfText(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

const nulError = (name: string, line: number) =>
  new CsvError(`${name} is not a text file (it has a NUL byte on line ${line}); export the data as CSV (UTF-8) and load that`);

/** A NUL anywhere in the decoded text refuses the file: no spreadsheet writes one into a CSV. */
function refuseNul(decoded: DecodedText, name: string): DecodedText {
  const at = decoded.text.indexOf('\0');
  if (at >= 0) throw nulError(name, lineOfText(decoded.text, at));
  return decoded;
}

/** Bytes looked at for UTF-16 without a BOM and, from the first invalid UTF-8 byte's line, by chardet. */
const SNIFF_BYTES = 1 << 16;

/**
 * 'utf-16le' / 'utf-16be' for UTF-16 without a byte-order mark that is mostly ASCII (a CSV's
 * header and delimiters are): at least 90% of the high bytes of its first characters are NUL and
 * none of the low ones. Else null.
 */
export function utf16WithoutBom(bytes: Uint8Array): 'utf-16le' | 'utf-16be' | null {
  const n = Math.min(bytes.length, SNIFF_BYTES) & ~1;
  if (n < 4) return null;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenNul++;
    if (bytes[i + 1] === 0) oddNul++;
  }
  const chars = n / 2;
  if (oddNul >= 0.9 * chars && evenNul === 0) return 'utf-16le';
  if (evenNul >= 0.9 * chars && oddNul === 0) return 'utf-16be';
  return null;
}

/** The languages chardet names (ISO 639-1) with the encodings refused here. */
const LANGUAGES: Record<string, string> = {
  ja: 'Japanese', zh: 'Chinese', ko: 'Korean', ru: 'Russian', uk: 'Ukrainian', bg: 'Bulgarian', el: 'Greek', he: 'Hebrew', ar: 'Arabic',
};

/**
 * Encodings that reading as Windows-1252 would turn into mojibake, with the chardet confidence (0-100)
 * that refuses a file: the CJK multi-byte ones (which score 100 on real text, and 10 on a Windows-1252
 * line like "€€€ ££ ¥¥"), and the Cyrillic, Greek, Hebrew and Arabic code pages (which score 25-40 on a
 * line or two, where Latin text scores them under 15). chardet tells the Latin code pages (ISO-8859-1/2,
 * windows-1250/1252, ...) apart unreliably on short files, so those are all read as Windows-1252, with a notice.
 */
const REFUSED_ENCODINGS = new Map([
  ...['Shift_JIS', 'EUC-JP', 'GB18030', 'Big5', 'EUC-KR'].map((name) => [name, 50] as const),
  ...['windows-1251', 'KOI8-R', 'ISO-8859-5', 'ISO-8859-6', 'windows-1256', 'ISO-8859-7', 'ISO-8859-8'].map((name) => [name, 20] as const),
]);

/**
 * The encoding chardet finds for the text from the line of the first invalid UTF-8 byte on (so no
 * multi-byte character is cut), when it is one that Windows-1252 would garble; else null.
 */
export function foreignEncoding(bytes: Uint8Array, firstInvalid: number): { encoding: string; language?: string } | null {
  let start = Math.max(0, firstInvalid);
  const floor = Math.max(0, start - SNIFF_BYTES);
  while (start > floor && bytes[start - 1] !== 0x0a) start--;
  const best = analyse(bytes.subarray(start, start + SNIFF_BYTES))[0];
  if (!best || best.confidence < (REFUSED_ENCODINGS.get(best.name) ?? Infinity)) return null;
  return { encoding: best.name, language: best.lang ? (LANGUAGES[best.lang] ?? best.lang) : undefined };
}

/** The file's text; throws CsvError for what cannot be a CSV text file. */
export function decodeCsvBytes(bytes: Uint8Array, name: string): DecodedText {
  if (bytes.length === 0) throw new CsvError(`${name} is empty`);
  if (bytes.length > MAX_UPLOAD_BYTES) {
    throw new CsvError(`${name} is ${(bytes.length / 1e6).toFixed(0)} MB; the studio reads CSV files up to ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`);
  }
  if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    return refuseNul({ text: new TextDecoder('utf-16le').decode(bytes), encoding: 'utf-16le', notice: `${name} is UTF-16 (little-endian); it was decoded as such.` }, name);
  }
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    return refuseNul({ text: new TextDecoder('utf-16be').decode(bytes), encoding: 'utf-16be', notice: `${name} is UTF-16 (big-endian); it was decoded as such.` }, name);
  }
  const utf16 = utf16WithoutBom(bytes);
  if (utf16) {
    const order = utf16 === 'utf-16le' ? 'little-endian' : 'big-endian';
    const notice = `${name} is UTF-16 (${order}) without a byte-order mark; it was decoded as such.`;
    return refuseNul({ text: new TextDecoder(utf16).decode(bytes), encoding: utf16, notice }, name);
  }
  // Every byte is looked at: a NUL at the end of a large file is as wrong as one at the start.
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw nulError(name, lineOf(bytes, nul));
  try {
    // fatal: invalid UTF-8 throws instead of turning into U+FFFD; a UTF-8 BOM is removed.
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf-8' };
  } catch {
    const at = firstInvalidUtf8(bytes);
    const where = at >= 0 ? ` (the first invalid byte, 0x${bytes[at].toString(16).toUpperCase()}, is on line ${lineOf(bytes, at)})` : '';
    const foreign = foreignEncoding(bytes, at);
    if (foreign) {
      throw new CsvError(
        `${name} is not UTF-8${where}: it looks like ${foreign.encoding}${foreign.language ? ` (${foreign.language})` : ''}, ` +
          'which the studio does not read (it reads UTF-8, UTF-16 and Windows-1252). Save the file as CSV UTF-8 and load that.',
      );
    }
    return {
      text: decodeWindows1252(bytes),
      encoding: 'windows-1252',
      notice:
        `${name} is not valid UTF-8${where}, so it was read as Windows-1252 (Western European). ` +
        'If accented letters look wrong in the preview, save the file as UTF-8 and load it again.',
    };
  }
}

export interface ParsedCsv {
  delimiter: string;
  columns: string[];
  /** Data rows with as many cells as columns, and their spreadsheet row numbers. */
  rows: string[][];
  rowNumbers: number[];
  malformed: RowIssues;
  notices: string[];
}

export interface ParseOptions {
  /** 0..1 as the text is read. */
  onProgress?: (fraction: number) => void;
  chunkChars?: number;
}

const describeDelimiter = (d: string) => (d === '\t' ? 'tab' : d === ',' ? 'comma' : d === ';' ? 'semicolon' : JSON.stringify(d));

function issues(rows: number[], count = rows.length): RowIssues {
  return { count, rows: rows.slice(0, MAX_LISTED_ROWS) };
}

/** Column names: trimmed, unique, none empty (renamed ones are reported). */
function headerNames(cells: string[], notices: string[]): string[] {
  const seen = new Map<string, number>();
  const renamed: string[] = [];
  const names = cells.map((cell, i) => {
    let name = cell.trim();
    if (name.length === 0) {
      name = `column ${i + 1}`;
      renamed.push(`column ${i + 1} has no name; it is called "${name}"`);
    }
    const n = seen.get(name) ?? 0;
    seen.set(name, n + 1);
    if (n > 0) {
      const unique = `${name} (${n + 1})`;
      renamed.push(`the header names "${name}" twice; the second is called "${unique}"`);
      name = unique;
    }
    return name;
  });
  if (renamed.length) notices.push(`Columns renamed: ${renamed.join('; ')}.`);
  return names;
}

/**
 * The delimiter among DELIMITERS_GUESSED that splits the first rows most consistently (papaparse's
 * guess, run with blank lines skipped so a trailing newline does not count as a one-field row);
 * comma when none splits them.
 */
export function guessDelimiter(text: string): string {
  const head = Papa.parse<string[]>(text.slice(0, 1 << 16), { delimitersToGuess: DELIMITERS_GUESSED, skipEmptyLines: 'greedy', preview: 20 });
  return DELIMITERS_GUESSED.includes(head.meta.delimiter) ? head.meta.delimiter : ',';
}

/** papaparse's quote errors: MissingQuotes (never closed) or InvalidQuotes (text after the closing quote). */
interface QuoteError {
  row: number;
  unclosed: boolean;
}

const isBlank = (record: string[]) => record.length === 1 && record[0].trim() === '';

/** Parses CSV text (header row first); throws CsvError when the file cannot be read as a table. */
export function parseCsvText(text: string, name: string, options: ParseOptions = {}): ParsedCsv {
  const chunkChars = options.chunkChars ?? CSV_CHUNK_CHARS;
  const notices: string[] = [];
  let header: string[] | null = null;
  let headerRow = 0;
  const rows: string[][] = [];
  const rowNumbers: number[] = [];
  const malformedRows: number[] = [];
  let malformedCount = 0;
  let firstMalformed = '';
  // The first quote error, by the spreadsheet row where its quoted field opened.
  let quoteError: QuoteError | null = null;
  let record = 0; // spreadsheet row number of the last record seen
  let chars = 0;
  const delimiter = guessDelimiter(text);

  Papa.parse<string[]>(text, {
    delimiter,
    quoteChar: '"',
    skipEmptyLines: false,
    chunkSize: chunkChars,
    chunk(results: Papa.ParseResult<string[]>) {
      const base = record;
      for (const error of results.errors) {
        const row = base + (error.row ?? 0) + 1;
        if (quoteError || (error.code !== 'MissingQuotes' && error.code !== 'InvalidQuotes')) continue;
        quoteError = { row, unclosed: error.code === 'MissingQuotes' };
      }
      for (const cells of results.data) {
        record++;
        if (isBlank(cells)) continue;
        if (!header) {
          header = headerNames(cells, notices);
          headerRow = record;
          continue;
        }
        let fields = cells;
        // A trailing delimiter (or several) gives empty extra fields: harmless, trimmed.
        if (fields.length > header.length && fields.slice(header.length).every((f: string) => f.trim() === '')) fields = fields.slice(0, header.length);
        if (fields.length !== header.length) {
          malformedCount++;
          if (malformedRows.length < MAX_LISTED_ROWS) malformedRows.push(record);
          firstMalformed ||= `row ${record} has ${fields.length} field${fields.length === 1 ? '' : 's'}`;
          continue;
        }
        rows.push(fields);
        rowNumbers.push(record);
      }
      chars += chunkChars;
      options.onProgress?.(Math.min(1, chars / Math.max(1, text.length)));
    },
    // A string is parsed synchronously, chunk by chunk: every chunk has been seen when parse returns.
    complete: () => undefined,
  });

  // After either error papaparse goes on looking for a closing quote, so the rows after it would be
  // merged into one cell: the file is refused rather than read wrong.
  const quote = quoteError as QuoteError | null;
  if (quote?.unclosed) {
    throw new CsvError(
      `${name}: row ${quote.row} opens a quoted field (") that is never closed, so the rest of the file would be read as one cell. ` +
        'Close the quote, or double a quote inside a quoted field ("").',
    );
  }
  if (quote) {
    throw new CsvError(
      `${name}: row ${quote.row} opens a quoted field with text after its closing quote ("abc"def), so the rows after it would be read as one cell. ` +
        'Quote the whole field and double the quotes inside it ("""abc""def"), or remove the quotes.',
    );
  }
  if (!header) throw new CsvError(`${name} has no rows`);
  const columns: string[] = header;
  if (headerRow !== 1) notices.push(`The header is on row ${headerRow} (blank rows before it were skipped).`);
  if (rows.length === 0 && malformedCount === 0) throw new CsvError(`${name} has a header (${columns.join(', ')}) but no data rows`);
  if (malformedCount > 0) {
    const total = malformedCount + rows.length;
    const detail =
      `${malformedCount} of ${total} rows do not have the header's ${columns.length} field${columns.length === 1 ? '' : 's'} ` +
      `(${describeDelimiter(delimiter)}-separated; ${firstMalformed})`;
    if (malformedCount * 2 > total) {
      throw new CsvError(`${name} could not be read as a table: ${detail}. Check the delimiter and the quoting.`);
    }
    notices.push(`${detail}; those rows were left out.`);
  }
  return { delimiter, columns, rows, rowNumbers, malformed: issues(malformedRows, malformedCount), notices };
}
