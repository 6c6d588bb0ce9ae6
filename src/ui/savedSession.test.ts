import { describe, expect, it } from 'vitest';
import {
  changedSettings,
  isEmptySession,
  modelSourceOf,
  parseSession,
  restoredLine,
  sessionModel,
  SESSION_VERSION,
  type RestoreReport,
  type SessionModel,
  type SessionRecord,
} from './savedSession';
import { draftFrom } from './trainingConfig';
import { DEFAULT_SWEEP_DRAFT } from './sweepDraft';
import type { ModelSource } from '../shared/protocol';
import type { PromptInit } from '../shared/tasks';

const defaults = draftFrom({
  mode: 'verbalizer',
  promptLength: 20,
  init: 'labels',
  learningRate: 0.1,
  warmupFraction: 0.06,
  batchSize: 16,
  epochs: 20,
  maxGradNorm: 1,
  valFraction: 0.2,
  patience: 5,
  seed: 42,
});
const inits: PromptInit[] = ['random', 'vocab', 'text', 'labels'];
const BASE = 'http://127.0.0.1:4173/';

const record: SessionRecord = {
  version: SESSION_VERSION,
  savedAt: '2026-11-29T12:00:00.000Z',
  dataset: { key: 'url:http://127.0.0.1:4173/samples/sentiment.csv', name: 'sentiment.csv' },
  mapping: { task: 'classification', textColumns: ['text'], labelColumn: 'label', targetColumn: 'label' },
  model: { kind: 'embedded', id: 'studio-bert-tiny' },
  template: '{text} All in all, [MASK].',
  templateEdited: true,
  labelWords: { positive: 'good, great', negative: 'awful' },
  draft: { ...defaults, epochs: '3' },
  sweep: { ...DEFAULT_SWEEP_DRAFT, learningRate: '0.01, 0.3', search: 'random', randomTrials: '3', labelWords: 'positive=good; negative=bad\npositive=great; negative=awful' },
};

describe('sessionModel: what is kept of a loaded model', () => {
  it.each<{ source: ModelSource; kept: SessionModel }>([
    { source: { kind: 'url', url: `${BASE}models/studio-bert-tiny/`, id: 'studio-bert-tiny' }, kept: { kind: 'embedded', id: 'studio-bert-tiny' } },
    { source: { kind: 'url', url: 'https://example.org/m/', id: 'm' }, kept: { kind: 'url', url: 'https://example.org/m/', id: 'm' } },
    {
      source: { kind: 'hub', repo: 'org/gated', revision: 'v1', endpoint: 'https://hf-mirror.example', token: 'hf_secretToken' },
      kept: { kind: 'hub', repo: 'org/gated', revision: 'v1', endpoint: 'https://hf-mirror.example', usedToken: true },
    },
    { source: { kind: 'hub', repo: 'gpt2' }, kept: { kind: 'hub', repo: 'gpt2', revision: 'main', endpoint: 'https://huggingface.co', usedToken: false } },
    { source: { kind: 'files', label: 'my-bert', files: [new File(['{}'], 'config.json')] }, kept: { kind: 'files', label: 'my-bert' } },
  ])('$source.kind $kept.kind', ({ source, kept }) => {
    expect(sessionModel(source)).toEqual(kept);
  });

  it('never keeps the access token', () => {
    const kept = sessionModel({ kind: 'hub', repo: 'org/gated', token: 'hf_secretToken' });
    expect(JSON.stringify(kept)).not.toContain('hf_secretToken');
  });
});

describe('modelSourceOf: loading a kept model again', () => {
  it.each<{ model: SessionModel; source: ModelSource | null }>([
    // The embedded model's URL follows the page's address, not the one it was saved under.
    { model: { kind: 'embedded', id: 'studio-gpt2-tiny' }, source: { kind: 'url', url: `${BASE}models/studio-gpt2-tiny/`, id: 'studio-gpt2-tiny' } },
    { model: { kind: 'embedded', id: 'no-longer-shipped' }, source: null },
    { model: { kind: 'hub', repo: 'org/x', revision: 'main', endpoint: 'https://huggingface.co', usedToken: true }, source: { kind: 'hub', repo: 'org/x', revision: 'main', endpoint: 'https://huggingface.co' } },
    { model: { kind: 'files', label: 'my-bert' }, source: null },
  ])('$model.kind', ({ model, source }) => {
    expect(modelSourceOf(model, BASE)).toEqual(source);
  });
});

describe('parseSession', () => {
  it('reads back what was written (as IndexedDB clones it)', () => {
    expect(parseSession(structuredClone(record), defaults, inits)).toEqual(record);
  });

  it.each([
    { what: 'nothing stored', value: null },
    { what: 'not an object', value: 'session' },
    { what: 'another version', value: { ...record, version: SESSION_VERSION + 1 } },
  ])('is null for $what', ({ value }) => {
    expect(parseSession(value, defaults, inits)).toBeNull();
  });

  it('keeps the defaults for settings it cannot read, and drops parts that do not parse', () => {
    const parsed = parseSession(
      {
        ...record,
        draft: { epochs: '3', seed: 7, init: 'nonsense', mode: 'head' },
        mapping: { task: 'regression', textColumns: ['text'] },
        model: { kind: 'hub', repo: 'org/x' },
        labelWords: { positive: 'good', negative: 3 },
      },
      defaults,
      inits,
    );
    expect(parsed?.draft).toEqual({ ...defaults, epochs: '3', mode: 'head' });
    expect(parsed?.mapping).toBeNull();
    expect(parsed?.model).toBeNull();
    expect(parsed?.labelWords).toEqual({ positive: 'good' });
    expect(parsed?.dataset).toEqual(record.dataset);
  });

  it('keeps the sweep form; a record written before the form was kept, or a field of the wrong type, gives the default', () => {
    const { sweep: _, ...older } = record;
    expect(parseSession(older, defaults, inits)?.sweep).toEqual(DEFAULT_SWEEP_DRAFT);
    expect(parseSession({ ...record, sweep: { epochs: '5, 10', search: 'bayes', budgetSteps: 40 } }, defaults, inits)?.sweep).toEqual({ ...DEFAULT_SWEEP_DRAFT, epochs: '5, 10' });
  });

  it('treats an empty template as not edited (the starting template then follows the model)', () => {
    expect(parseSession({ ...record, template: '' }, defaults, inits)?.templateEdited).toBe(false);
  });

  it('has no mapping without a dataset', () => {
    expect(parseSession({ ...record, dataset: null }, defaults, inits)?.mapping).toBeNull();
  });
});

describe('isEmptySession and changedSettings', () => {
  const empty: SessionRecord = { ...record, dataset: null, mapping: null, model: null, template: '', templateEdited: false, labelWords: {}, draft: defaults, sweep: DEFAULT_SWEEP_DRAFT };

  it('a page as it opens is empty; any one part makes it worth keeping', () => {
    expect(isEmptySession(empty, defaults)).toBe(true);
    expect(isEmptySession({ ...empty, labelWords: { a: ' ' } }, defaults)).toBe(true);
    expect(isEmptySession({ ...empty, dataset: record.dataset }, defaults)).toBe(false);
    expect(isEmptySession({ ...empty, model: record.model }, defaults)).toBe(false);
    expect(isEmptySession({ ...empty, template: 'x [MASK]', templateEdited: true }, defaults)).toBe(false);
    expect(isEmptySession({ ...empty, labelWords: { a: 'yes' } }, defaults)).toBe(false);
    expect(isEmptySession({ ...empty, draft: { ...defaults, seed: '1' } }, defaults)).toBe(false);
    expect(isEmptySession({ ...empty, sweep: { ...DEFAULT_SWEEP_DRAFT, budgetSteps: '100' } }, defaults)).toBe(false);
  });

  it('names the settings that differ from the defaults, in the form order', () => {
    expect(changedSettings(defaults, defaults)).toEqual([]);
    expect(changedSettings({ ...defaults, seed: '7', epochs: ' 3 ', mode: 'head' }, defaults)).toEqual(['epochs 3', 'seed 7', 'linear-head mode']);
    expect(changedSettings({ ...defaults, init: 'text', initText: 'movie review' }, defaults)).toEqual(['initialisation text', 'init text “movie review”']);
  });
});

describe('restoredLine', () => {
  const all: RestoreReport = {
    dataset: { name: 'sentiment.csv', outcome: 'restored' },
    model: { name: 'studio-bert-tiny', outcome: 'restored' },
    template: true,
    labelWords: true,
    settings: ['epochs 3'],
    sweep: true,
  };

  it.each<{ what: string; report: RestoreReport; line: string | null }>([
    { what: 'everything', report: all, line: 'Restored your session: sentiment.csv, studio-bert-tiny, template, label words, settings (epochs 3), sweep form.' },
    {
      what: 'a dataset no longer stored and local model files',
      report: { ...all, dataset: { name: 'mine.csv', outcome: 'not-stored' }, model: { name: 'my-bert', outcome: 'needs-files' } },
      line:
        'Restored your session: template, label words, settings (epochs 3), sweep form. Not restored: the dataset “mine.csv” is no longer stored in this browser: load it again in step 1; ' +
        'the model “my-bert” came from local files, which are not kept in the browser: pick them again in step 2.',
    },
    {
      what: 'a gated Hub model that is not cached',
      report: { dataset: null, model: { name: 'org/gated', outcome: 'needs-token', error: 'HTTP 401' }, template: false, labelWords: false, settings: [], sweep: false },
      line: 'Your last session could not be restored: the model “org/gated” needs its access token again (tokens are never stored) unless it is in the browser cache: enter it in step 2 (HTTP 401).',
    },
    {
      what: 'a model that failed and a dataset that could not be read',
      report: { ...all, dataset: { name: 'big.csv', outcome: 'failed' }, model: { name: 'org/x', outcome: 'failed', error: 'offline' }, template: false, labelWords: false, settings: [], sweep: false },
      line: 'Your last session could not be restored: the dataset “big.csv” could not be read again: load it again in step 1; the model “org/x” could not be loaded again (offline): load it in step 2.',
    },
    { what: 'nothing', report: { dataset: null, model: null, template: false, labelWords: false, settings: [], sweep: false }, line: null },
  ])('$what', ({ report, line }) => {
    expect(restoredLine(report)).toBe(line);
  });
});
