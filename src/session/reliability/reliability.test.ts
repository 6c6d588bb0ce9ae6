/**
 * The reliability suite: every bad (and odd but good) input the studio is known to meet, with what
 * it gets, run through the code the page and the CLI run. The cases are data (./*Cases.ts); README's
 * table "Bad inputs and what they get" is written from them and checked here.
 * `UPDATE_README=1 npx vitest run src/session/reliability` rewrites that table.
 */
import { readFile, writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { PromptImportError } from '../../engine/export/schema';
import { bits, makePrompt } from '../../engine/export/testing';
import { loadFromSource } from '../../model/hubLoad';
import { loadPretrained } from '../../model/loader';
import { memFolder } from '../../model/testing/hfCheckpoint';
import { useNodeBackend } from '../../node/model';
import type { RequestEvents } from '../../shared/protocol';
import { CsvError } from '../csv';
import { StudioSession } from '../StudioSession';
import { CHECKPOINT_CASES } from './checkpointCases';
import { CSV_CASES } from './csvCases';
import { IMPORT_CASES } from './importCases';
import { reliabilityTable, TABLE_BEGIN, TABLE_END } from './table';

const quiet: RequestEvents = { progress: () => {}, metrics: () => {}, checkpoint: () => {} };
/** A session for data and imports: no model is needed, so none can be loaded. */
const session = () => new StudioSession({ load: () => Promise.reject(new Error('no model in these tests')), cancel: () => false });
const SPEC = { task: 'classification' as const, labelColumn: 'label', textColumns: ['text'], valFraction: 0.2, seed: 42 };

it('holds at least 30 CSV, 20 checkpoint and 15 import cases, each named once', () => {
  expect(CSV_CASES.length).toBeGreaterThanOrEqual(30);
  expect(CHECKPOINT_CASES.length).toBeGreaterThanOrEqual(20);
  expect(IMPORT_CASES.length).toBeGreaterThanOrEqual(15);
  for (const cases of [CSV_CASES, CHECKPOINT_CASES, IMPORT_CASES]) expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
});

describe('CSV files, read as the page and `npm run tune` read them (StudioSession.loadDataset on the bytes)', () => {
  it.each(CSV_CASES)('$name', async ({ file, bytes, outcome }) => {
    const s = session();
    const load = s.loadDataset({ source: { kind: 'bytes', name: file, bytes: bytes() } }, quiet);
    if ('refused' in outcome) {
      await expect(load).rejects.toThrow(CsvError);
      await expect(load).rejects.toThrow(outcome.refused);
      await expect(load).rejects.toThrow(new RegExp(`^${file.replace('.', '\\.')}\\b`));
      return;
    }
    const info = await load;
    expect(info.rowCount).toBe(outcome.rows);
    if (outcome.encoding) expect(info.encoding).toBe(outcome.encoding);
    expect(info.columns).toEqual(outcome.columns ?? ['text', 'label']);
    expect(info.malformedRows.rows).toEqual(outcome.malformed ?? []);
    if (outcome.notice) expect(info.notices.join(' ')).toContain(outcome.notice);
    else expect(info.notices).toEqual([]);
    if (outcome.first) expect(info.preview[0].cells.slice(0, outcome.first.length)).toEqual(outcome.first);
    const labelColumn = info.columns.includes('label') ? 'label' : info.columns[0];
    const textColumns = info.columns.includes('text') ? ['text'] : info.columns.slice(0, 1);
    const stats = s.datasetStats({ ...SPEC, labelColumn, textColumns });
    expect(stats.kept).toBe(outcome.kept ?? outcome.rows);
    expect(stats.emptyLabel.rows).toEqual(outcome.emptyLabel ?? []);
    expect(stats.emptyText.rows).toEqual(outcome.emptyText ?? []);
    if (outcome.warnings) {
      const warnings = s.trainingWarnings({ ...SPEC, labelColumn, textColumns, template: `{${textColumns[0]}} It was [MASK].` });
      expect(warnings.map((w) => w.kind)).toEqual(outcome.warnings);
    }
  });
});

describe('checkpoints, loaded as the page loads picked files and as the CLI loads a folder', () => {
  beforeAll(async () => {
    await useNodeBackend('cpu');
  });

  it.each(CHECKPOINT_CASES)('$name', async ({ files, outcome }) => {
    const before = tf.memory().numTensors;
    const blobs = [...files()].map(([name, data]) => new File([data.slice()], name));
    const page = loadFromSource({ kind: 'files', label: 'picked', files: blobs }, { progress: () => {}, limits: { backend: 'cpu' }, cacheStorage: null });
    // One load at a time: a second one started now could reject while the first is awaited, unhandled.
    const cli = () => loadPretrained(memFolder(files(), '/models/folder'));
    if ('refused' in outcome) {
      await expect(page).rejects.toThrow(outcome.refused.replaceAll('<folder>', 'picked'));
      await expect(cli()).rejects.toThrow(outcome.refused.replaceAll('<folder>', '/models/folder'));
    } else {
      const loaded = [(await page).model, await cli()];
      for (const model of loaded) {
        expect(model.config.modelType).toBe(outcome.loaded);
        model.model.dispose();
      }
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('prompt imports, as the page imports them (StudioSession.importPrompt)', () => {
  it.each(IMPORT_CASES)('$name', async ({ file, bytes, outcome }) => {
    const result = session().importPrompt({ fileName: file, bytes: bytes() });
    if ('refused' in outcome) {
      await expect(result).rejects.toThrow(PromptImportError);
      await expect(result).rejects.toThrow(outcome.refused);
      await expect(result).rejects.toThrow(new RegExp(`^${file.replace('.', '\\.')}`));
      return;
    }
    const imported = await result;
    expect(imported.format).toBe(outcome.imported.format);
    expect([imported.prompt.numTokens, imported.prompt.dim]).toEqual(outcome.imported.shape);
    expect(imported.prompt.vectors.every(Number.isFinite)).toBe(true);
    // Every importable case carries the export tests' makePrompt(): it must come back bit for bit.
    expect(bits(imported.prompt.vectors)).toEqual(bits(makePrompt().vectors));
  });
});

it("README's table lists every case with what it gets", async () => {
  const readme = await readFile('README.md', 'utf8');
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  expect(begin, `README.md has no line ${TABLE_BEGIN}`).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(begin);
  const table = reliabilityTable();
  if (process.env.UPDATE_README) {
    await writeFile('README.md', `${readme.slice(0, begin + TABLE_BEGIN.length)}\n${table}\n${readme.slice(end)}`);
    return;
  }
  expect(readme.slice(begin + TABLE_BEGIN.length, end).trim(), 'README.md is out of date: run UPDATE_README=1 npx vitest run src/session/reliability').toBe(table);
});
