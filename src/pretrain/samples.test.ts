import { readFileSync, statSync } from 'node:fs';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';

const SAMPLES_DIR = 'public/samples';
const MAX_SAMPLE_BYTES = 1_000_000;

function readCsv(name: string): { header: string[]; rows: Record<string, string>[] } {
  const text = readFileSync(`${SAMPLES_DIR}/${name}`, 'utf8');
  const parsed = Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: true });
  expect(parsed.errors).toEqual([]);
  return { header: parsed.meta.fields ?? [], rows: parsed.data };
}

describe.each([
  { file: 'spam.csv', header: ['text', 'label'], labels: { spam: 300, ham: 300 } },
  { file: 'sentiment.csv', header: ['text', 'label'], labels: { positive: 150, negative: 150 } },
])('$file', ({ file, header, labels }) => {
  const { header: actualHeader, rows } = readCsv(file);

  it('has the expected header, balanced labels and distinct non-empty texts', () => {
    expect(actualHeader).toEqual(header);
    const counts: Record<string, number> = {};
    for (const row of rows) counts[row.label] = (counts[row.label] ?? 0) + 1;
    expect(counts).toEqual(labels);
    expect(rows.every((row) => row.text.trim().length > 10)).toBe(true);
    expect(new Set(rows.map((row) => row.text.toLowerCase())).size).toBe(rows.length);
  });

  it('is small and free of replacement characters', () => {
    expect(statSync(`${SAMPLES_DIR}/${file}`).size).toBeLessThan(MAX_SAMPLE_BYTES);
    expect(rows.some((row) => row.text.includes('\ufffd'))).toBe(false);
  });
});

describe('antonyms.csv', () => {
  const { header, rows } = readCsv('antonyms.csv');

  it('has about 200 distinct pairs, none of them also present reversed', () => {
    expect(header).toEqual(['input', 'target']);
    expect(rows.length).toBeGreaterThanOrEqual(200);
    const inputs = rows.map((row) => row.input);
    expect(new Set(inputs).size).toBe(rows.length);
    const pairs = new Set(rows.map((row) => `${row.input}|${row.target}`));
    expect(rows.filter((row) => pairs.has(`${row.target}|${row.input}`))).toEqual([]);
    expect(rows.every((row) => /^[a-z]+( [a-z]+)?$/.test(row.input) && /^[a-z]+( [a-z]+)?$/.test(row.target))).toBe(true);
    expect(rows.every((row) => row.input !== row.target)).toBe(true);
  });
});
