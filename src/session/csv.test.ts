import { describe, expect, it } from 'vitest';
import { CsvError, decodeCsvBytes, firstInvalidUtf8, parseCsvText } from './csv';

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

  it.each([
    { name: 'an unclosed quote', input: 'text,label\na,pos\n"never closed,neg\nb,pos\n', message: /row 3 opens a quoted field \(".*never closed/ },
    { name: 'a header only', input: 'text,label\n', message: /has a header \(text, label\) but no data rows/ },
    { name: 'nothing but blank lines', input: '\n\n  \n', message: /has no rows/ },
    { name: 'mostly wrong field counts', input: 'a,b,c\n1\n2\n3\n4,5,6\n', message: /could not be read as a table: 3 of 4 rows/ },
  ])('refuses $name with a message', ({ input, message }) => {
    expect(() => parseCsvText(input, 'bad.csv')).toThrow(CsvError);
    expect(() => parseCsvText(input, 'bad.csv')).toThrow(message);
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
    { name: 'an empty file', bytes: new Uint8Array(), message: /is empty/ },
    { name: 'a binary file', bytes: new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x00, 0x0a]), message: /not a text file \(it has a NUL byte on line 1\)/ },
  ])('refuses $name', ({ bytes, message }) => {
    expect(() => decodeCsvBytes(bytes, 'x.csv')).toThrow(message);
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

/** Bytes from ASCII text and hex runs: b('text,label\n', 'c3a9', ',pos\n'); a run of hex digits only is hex. */
const b = (...parts: string[]) => new Uint8Array(parts.flatMap((p) => (/^(?:[0-9a-f]{2})+$/.test(p) ? p.match(/../g)!.map((h) => parseInt(h, 16)) : [...utf8(p)])));
const utf16le = (s: string, bom: boolean) => {
  const out = new Uint8Array((bom ? 2 : 0) + 2 * s.length);
  if (bom) out.set([0xff, 0xfe]);
  for (let i = 0; i < s.length; i++) out.set([s.charCodeAt(i) & 0xff, s.charCodeAt(i) >> 8], (bom ? 2 : 0) + 2 * i);
  return out;
};
const utf16be = (s: string) => {
  const out = new Uint8Array(2 * s.length);
  for (let i = 0; i < s.length; i++) out.set([s.charCodeAt(i) >> 8, s.charCodeAt(i) & 0xff], 2 * i);
  return out;
};

/**
 * Bad and odd files end to end (bytes -> rows), as the page and `npm run tune` read them: the rows
 * kept with their spreadsheet numbers, the encoding, or the one error that refuses the file.
 */
describe('CSV files: {input, rows, errors}', () => {
  const big = 'text,label\n' + 'a fine sentence,pos\n'.repeat(5000); // 100 kB, past every sniffed prefix
  it.each([
    // Quote errors refuse the file and name the row where the quote opened (papaparse would merge the rows after it into one cell).
    { name: 'text after a closing quote', input: utf8('text,label\na,pos\n"quoted"tail,neg\nb,pos\nc,neg\n'), errors: /^q\.csv: row 3 opens a quoted field with text after its closing quote/ },
    { name: 'text after a closing quote, after blank and multi-line rows', input: utf8('text,label\n\na,pos\n"x\ny",pos\n"q"t,neg\nb,pos\n'), errors: /row 5 opens a quoted field with text after/ },
    { name: 'an unclosed quote', input: utf8('text,label\na,pos\nb,neg\n"never closed,pos\nc,neg\n'), errors: /row 4 opens a quoted field \(".*never closed/ },
    { name: 'an unclosed quote in a later parse chunk', input: utf8(big + '"open,pos\nlast,neg\n'), errors: /row 5002 opens a quoted field/ },
    // A quote inside an unquoted field is an ordinary character (5'11", 12" pizza).
    { name: 'a quote inside an unquoted field', input: utf8('text,label\na 12" pizza,pos\nb,neg\n'), rows: [['a 12" pizza', 'pos'], ['b', 'neg']], numbers: [2, 3], encoding: 'utf-8' },
    // NUL bytes, wherever they are.
    { name: 'a NUL byte in the first row', input: b('text,label\n', '00', 'a,pos\n'), errors: /not a text file \(it has a NUL byte on line 2\)/ },
    { name: 'a NUL byte past the first 64 kB', input: b(big, 'bad', '00', ',neg\n'), errors: /NUL byte on line 5002/ },
    { name: 'a NUL character in UTF-16', input: utf16le('text,label\na,pos\nb\0,neg\n', true), errors: /NUL byte on line 3/ },
    // Encodings: UTF-8, UTF-16 (with a BOM, or ASCII-looking without one) and Windows-1252 are read; others are refused by name.
    { name: 'UTF-16LE without a BOM', input: utf16le('text,label\ncafé,pos\nbye,neg\n', false), rows: [['café', 'pos'], ['bye', 'neg']], numbers: [2, 3], encoding: 'utf-16le' },
    { name: 'UTF-16BE without a BOM', input: utf16be('text,label\nhi,pos\nbye,neg\n'), rows: [['hi', 'pos'], ['bye', 'neg']], numbers: [2, 3], encoding: 'utf-16be' },
    { name: 'Windows-1252 smart quotes and accents', input: b('text,label\n', '93536d6172742071756f74657394209720697492732066696e65', ',pos\n', 'c76120636ffb7465207472e87320636865722064e9e775', ',neg\n'), rows: [['“Smart quotes” — it’s fine', 'pos'], ['Ça coûte très cher déçu', 'neg']], numbers: [2, 3], encoding: 'windows-1252' },
    { name: 'Windows-1252 symbols that chardet scores as EUC-JP at 10%', input: b('x\n', '808080', ' ', 'a3a3', ' ', 'a5a5', ' ', 'a9ae99', '\n'), rows: [['€€€ ££ ¥¥ ©®™']], numbers: [2], encoding: 'windows-1252' },
    { name: 'Shift_JIS', input: b('text,label\n', '82b182cc896689e682cd82c682c482e096ca949282a982c182bd82c582b7', ',pos\n', '8dc588ab82cc91cc8cb182c582b582bd', ',neg\n'), errors: /is not UTF-8 \(the first invalid byte, 0x82, is on line 2\): it looks like Shift_JIS \(Japanese\), which the studio does not read/ },
    { name: 'GBK', input: b('text,label\n', 'd5e2b2bfb5e7d3b0b7c7b3a3bac3bfb4', ',pos\n', 'b7fecef1badcb2eeb2bbcdc6bcf6', ',neg\n'), errors: /looks like GB18030 \(Chinese\)/ },
    { name: 'EUC-KR', input: b('text,label\n', 'c0cc20bfb5c8adb4c220c1a4b8bb20c0e7b9ccc0d6befabeeebfe4', ',pos\n', 'c3d6bec7c0c720b0e6c7e8c0ccbefabdc0b4cfb4d9', ',neg\n'), errors: /looks like EUC-KR \(Korean\)/ },
    { name: 'windows-1251', input: b('text,label\n', 'ddf2eef220f4e8ebfcec20eef7e5edfc20f5eef0eef8e8e9', ',pos\n', 'd3e6e0f1edeee520eee1f1ebf3e6e8e2e0ede8e5', ',neg\n'), errors: /looks like windows-1251 \(Russian\)/ },
  ])('$name', ({ input, rows, numbers, encoding, errors }) => {
    const read = () => {
      const decoded = decodeCsvBytes(input, 'q.csv');
      return { decoded, parsed: parseCsvText(decoded.text, 'q.csv', { chunkChars: 4096 }) };
    };
    if (errors) {
      expect(read).toThrow(CsvError);
      expect(read).toThrow(errors);
      return;
    }
    const { decoded, parsed } = read();
    expect(decoded.encoding).toBe(encoding);
    expect(parsed.rows).toEqual(rows);
    expect(parsed.rowNumbers).toEqual(numbers);
  });
});
