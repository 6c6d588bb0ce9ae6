import { describe, expect, it } from 'vitest';
import { decodeCsvBytes, firstInvalidUtf8, parseCsvText } from './csv';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('parseCsvText', () => {
  it.each([
    { name: 'comma, LF', input: 'text,label\nhello,pos\nbye,neg\n', delimiter: ',', columns: ['text', 'label'], rows: [['hello', 'pos'], ['bye', 'neg']], numbers: [2, 3] },
    { name: 'semicolon, CRLF', input: 'text;label\r\nhallo;pos\r\ntschüss;neg\r\n', delimiter: ';', columns: ['text', 'label'], rows: [['hallo', 'pos'], ['tschüss', 'neg']], numbers: [2, 3] },
    { name: 'tab, no final newline', input: 'text\tlabel\na, b\tpos\nc; d\tneg', delimiter: '\t', columns: ['text', 'label'], rows: [['a, b', 'pos'], ['c; d', 'neg']], numbers: [2, 3] },
    {
      name: 'quoted fields with commas, quotes and newlines',
      input: 'text,label\n"one, two",pos\n"she said ""hi""",neg\n"line one\nline two",pos\nlast,neg\n',
      delimiter: ',',
      columns: ['text', 'label'],
      rows: [['one, two', 'pos'], ['she said "hi"', 'neg'], ['line one\nline two', 'pos'], ['last', 'neg']],
      numbers: [2, 3, 4, 5],
    },
    { name: 'blank lines keep row numbers', input: 'text,label\n\na,pos\n   \nb,neg\n', delimiter: ',', columns: ['text', 'label'], rows: [['a', 'pos'], ['b', 'neg']], numbers: [3, 5] },
    { name: 'trailing delimiter', input: 'text,label,\na,pos,\nb,neg,\n', delimiter: ',', columns: ['text', 'label', 'column 3'], rows: [['a', 'pos', ''], ['b', 'neg', '']], numbers: [2, 3] },
  ])('$name', ({ input, delimiter, columns, rows, numbers }) => {
    const parsed = parseCsvText(input, 'data.csv');
    expect(parsed.delimiter).toBe(delimiter);
    expect(parsed.columns).toEqual(columns);
    expect(parsed.rows).toEqual(rows);
    expect(parsed.rowNumbers).toEqual(numbers);
    expect(parsed.malformed.count).toBe(0);
  });

  it('lists rows with the wrong number of fields and leaves them out', () => {
    const parsed = parseCsvText('text,label\na,pos\nb\nc,neg,extra\nd,neg\n', 'data.csv');
    expect(parsed.rows).toEqual([['a', 'pos'], ['d', 'neg']]);
    expect(parsed.malformed).toEqual({ count: 2, rows: [3, 4] });
    expect(parsed.notices.join(' ')).toContain('2 of 4 rows do not have the header\'s 2 fields');
  });

  it('renames empty and duplicate column names and says so', () => {
    const parsed = parseCsvText('text,,text\na,b,c\n', 'data.csv');
    expect(parsed.columns).toEqual(['text', 'column 2', 'text (2)']);
    expect(parsed.notices[0]).toMatch(/^Columns renamed/);
  });

  it('reports parse progress up to 1 across chunks and keeps quoted newlines across chunk borders', () => {
    const body = Array.from({ length: 500 }, (_, i) => `"row ${i}\nsecond line, with comma",${i % 2 ? 'pos' : 'neg'}`).join('\n');
    const fractions: number[] = [];
    const parsed = parseCsvText(`text,label\n${body}\n`, 'big.csv', { chunkChars: 997, onProgress: (f) => fractions.push(f) });
    expect(parsed.rows).toHaveLength(500);
    expect(parsed.rows[499]).toEqual(['row 499\nsecond line, with comma', 'pos']);
    expect(parsed.rowNumbers[499]).toBe(501);
    expect(fractions.length).toBeGreaterThan(10);
    expect(fractions.at(-1)).toBe(1);
  });
});

describe('decodeCsvBytes', () => {
  it('strips a UTF-8 BOM', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('text,label\ncafé,pos\n')]);
    expect(decodeCsvBytes(bytes, 'a.csv')).toEqual({ text: 'text,label\ncafé,pos\n', encoding: 'utf-8' });
  });

  it('reads invalid UTF-8 as Windows-1252 and names the line of the first bad byte', () => {
    const bytes = new Uint8Array([...utf8('text,label\n'), 0x63, 0x61, 0x66, 0xe9, ...utf8(',pos\n'), 0x80, ...utf8(' off,neg\n')]);
    const decoded = decodeCsvBytes(bytes, 'latin.csv');
    expect(decoded.encoding).toBe('windows-1252');
    expect(decoded.text).toBe('text,label\ncafé,pos\n€ off,neg\n');
    expect(decoded.notice).toContain('latin.csv is not valid UTF-8 (the first invalid byte, 0xE9, is on line 2)');
  });

  it('decodes UTF-16 with a BOM', () => {
    const text = 'a,b\n1,2\n';
    const bytes = new Uint8Array(2 + text.length * 2);
    bytes.set([0xff, 0xfe]);
    for (let i = 0; i < text.length; i++) bytes[2 + 2 * i] = text.charCodeAt(i);
    expect(decodeCsvBytes(bytes, 'u16.csv')).toMatchObject({ text, encoding: 'utf-16le' });
  });

  it.each([
    { bytes: [0x61, 0x62], at: -1 },
    { bytes: [0x61, 0xc3, 0xa9], at: -1 },
    { bytes: [0x61, 0xe9, 0x62], at: 1 },
    { bytes: [0xc0, 0xaf], at: 0 }, // overlong
    { bytes: [0x61, 0xe2, 0x82], at: 1 }, // cut off
    { bytes: [0xed, 0xa0, 0x80], at: 0 }, // surrogate
    { bytes: [0xf0, 0x9f, 0x98, 0x80], at: -1 },
  ])('firstInvalidUtf8($bytes) = $at', ({ bytes, at }) => {
    expect(firstInvalidUtf8(new Uint8Array(bytes))).toBe(at);
  });
});

// Whole files, bad and odd (quote errors, NUL bytes, encodings, rows left out, ...), bytes to outcome through
// StudioSession.loadDataset: the reliability suite, src/session/reliability/csvCases.ts.
