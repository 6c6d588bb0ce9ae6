/**
 * The studio's session as it is kept across reloads: which dataset (by its key in the runs
 * database's `datasets` store, where the source itself is stored once), the column mapping, where
 * the model came from, the template, the label words and the training settings as typed. And the
 * one line the page shows after putting a session back. Pure functions; `useSavedSession` does the I/O.
 *
 * What is never kept: a Hub access token (it lives only in the Hub form's memory), and local
 * model files. A checkpoint folder is usually hundreds of MB (BERT-base 440 MB, GPT-2 550 MB);
 * copying it into IndexedDB on every load would double its disk use and spend the site's storage
 * quota that the runs (whose loss the studio promises to avoid) need. The session keeps the
 * folder's name, and the page asks for the files again.
 */
import { EMBEDDED_MODELS } from '../shared/models';
import type { ModelSource } from '../shared/protocol';
import type { DatasetSource, PromptInit, TaskKind } from '../shared/tasks';
import type { Mapping } from './mapping';
import { NUMERIC_FIELDS, type ConfigDraft } from './trainingConfig';
import { parseSweepDraft, sweepDraftChanged, type SweepDraft } from './sweepDraft';

/** Bumped when the record's shape changes; an older record is then not restored (nothing else breaks). */
export const SESSION_VERSION = 1;

/** A model source as the session keeps it. */
export type SessionModel =
  /** One of EMBEDDED_MODELS, found again by id (its URL depends on where the page is served). */
  | { kind: 'embedded'; id: string }
  | { kind: 'url'; url: string; id: string }
  | {
      kind: 'hub';
      repo: string;
      revision: string;
      endpoint: string;
      /** The load used an access token. The token is not kept; when the browser cache no longer holds the model, it is asked for again. */
      usedToken: boolean;
    }
  /** Local files are not kept (see above): their folder name, to ask for them again. */
  | { kind: 'files'; label: string };

export interface SessionRecord {
  version: typeof SESSION_VERSION;
  savedAt: string;
  /** The dataset's key in the `datasets` store and its name (for the restored line when it is gone). */
  dataset: { key: string; name: string } | null;
  mapping: Mapping | null;
  model: SessionModel | null;
  template: string;
  /** False: the template is the studio's starting one and follows the model and columns, as before the reload. */
  templateEdited: boolean;
  /** Per class, as typed ("good, great"). */
  labelWords: Record<string, string>;
  draft: ConfigDraft;
  /** The Sweep panel's form as typed (a record written before it existed restores the default form). */
  sweep: SweepDraft;
}

/** The model sources a load can come from. */
export type LoadedModelSource = ModelSource;

/** What the session keeps of a loaded model's source: never the token, never the files. */
export function sessionModel(source: LoadedModelSource): SessionModel {
  switch (source.kind) {
    case 'url':
      return EMBEDDED_MODELS.some((m) => m.id === source.id) ? { kind: 'embedded', id: source.id } : { kind: 'url', url: source.url, id: source.id };
    case 'hub':
      return {
        kind: 'hub',
        repo: source.repo,
        revision: source.revision ?? 'main',
        endpoint: source.endpoint ?? 'https://huggingface.co',
        usedToken: !!source.token,
      };
    case 'files':
      return { kind: 'files', label: source.label };
  }
}

/** The source to load a kept model from; null for local files (they must be picked again). */
export function modelSourceOf(model: SessionModel, baseUri: string): Exclude<LoadedModelSource, { kind: 'files' }> | null {
  switch (model.kind) {
    case 'embedded': {
      const embedded = EMBEDDED_MODELS.find((m) => m.id === model.id);
      return embedded ? { kind: 'url', url: new URL(`${embedded.path}/`, baseUri).href, id: embedded.id } : null;
    }
    case 'url':
      return { kind: 'url', url: model.url, id: model.id };
    case 'hub':
      return { kind: 'hub', repo: model.repo, revision: model.revision, endpoint: model.endpoint };
    case 'files':
      return null;
  }
}

/** How the page names a kept model. */
export function modelName(model: SessionModel): string {
  switch (model.kind) {
    case 'embedded':
    case 'url':
      return model.id;
    case 'hub':
      return model.revision === 'main' ? model.repo : `${model.repo}@${model.revision}`;
    case 'files':
      return model.label;
  }
}

export function datasetName(source: DatasetSource): string {
  return source.kind === 'file' ? source.file.name : source.name;
}

/** A session with nothing worth putting back: a page as it opens. Such a session is not stored. */
export function isEmptySession(record: SessionRecord, defaults: ConfigDraft): boolean {
  return (
    !record.dataset &&
    !record.model &&
    !record.templateEdited &&
    Object.values(record.labelWords).every((w) => w.trim() === '') &&
    changedSettings(record.draft, defaults).length === 0 &&
    !sweepDraftChanged(record.sweep)
  );
}

/** The settings that differ from the defaults, as "epochs 3", in the form's order. */
export function changedSettings(draft: ConfigDraft, defaults: ConfigDraft): string[] {
  const changed: string[] = [];
  for (const f of NUMERIC_FIELDS) {
    if (draft[f.key].trim() !== defaults[f.key].trim()) changed.push(`${f.label.toLowerCase()} ${draft[f.key].trim()}`);
  }
  if (draft.init !== defaults.init) changed.push(`initialisation ${draft.init}`);
  if (draft.init === 'text' && draft.initText !== defaults.initText) changed.push(`init text “${draft.initText}”`);
  if (draft.mode !== defaults.mode) changed.push(draft.mode === 'head' ? 'linear-head mode' : 'label-words mode');
  if (draft.method !== defaults.method) changed.push(`method ${draft.method}`);
  return changed;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
const TASKS: readonly TaskKind[] = ['classification', 'generation'];

function parseModel(v: unknown): SessionModel | null {
  if (!isObject(v)) return null;
  if (v.kind === 'embedded' && isString(v.id)) return { kind: 'embedded', id: v.id };
  if (v.kind === 'url' && isString(v.url) && isString(v.id)) return { kind: 'url', url: v.url, id: v.id };
  if (v.kind === 'hub' && isString(v.repo) && isString(v.revision) && isString(v.endpoint)) {
    return { kind: 'hub', repo: v.repo, revision: v.revision, endpoint: v.endpoint, usedToken: v.usedToken === true };
  }
  if (v.kind === 'files' && isString(v.label)) return { kind: 'files', label: v.label };
  return null;
}

function parseMapping(v: unknown): Mapping | null {
  if (!isObject(v) || !TASKS.includes(v.task as TaskKind) || !isStringArray(v.textColumns) || !isString(v.labelColumn) || !isString(v.targetColumn)) return null;
  return { task: v.task as TaskKind, textColumns: v.textColumns, labelColumn: v.labelColumn, targetColumn: v.targetColumn };
}

/** A kept draft over the defaults: a field that is missing or of the wrong type keeps its default. */
function parseDraftRecord(v: unknown, defaults: ConfigDraft, inits: readonly PromptInit[]): ConfigDraft {
  const draft = { ...defaults };
  if (!isObject(v)) return draft;
  for (const f of NUMERIC_FIELDS) if (isString(v[f.key])) draft[f.key] = v[f.key] as string;
  if (inits.includes(v.init as PromptInit)) draft.init = v.init as PromptInit;
  if (v.mode === 'verbalizer' || v.mode === 'head') draft.mode = v.mode;
  if (v.method === 'prompt' || v.method === 'p-tuning' || v.method === 'prefix') draft.method = v.method;
  if (v.encoderType === 'mlp' || v.encoderType === 'lstm') draft.encoderType = v.encoderType;
  if (isString(v.initText)) draft.initText = v.initText;
  return draft;
}

/**
 * A stored value read back as a session, or null when it is not one this version can restore.
 * Parts that do not parse are left out (restored as on a fresh page) rather than failing the rest.
 * `inits` are the engine's prompt initialisations (engineInfo), the ones a draft may name.
 */
export function parseSession(value: unknown, defaults: ConfigDraft, inits: readonly PromptInit[]): SessionRecord | null {
  if (!isObject(value) || value.version !== SESSION_VERSION) return null;
  const dataset = isObject(value.dataset) && isString(value.dataset.key) && isString(value.dataset.name) ? { key: value.dataset.key, name: value.dataset.name } : null;
  const labelWords: Record<string, string> = {};
  if (isObject(value.labelWords)) for (const [c, w] of Object.entries(value.labelWords)) if (isString(w)) labelWords[c] = w;
  const template = isString(value.template) ? value.template : '';
  return {
    version: SESSION_VERSION,
    savedAt: isString(value.savedAt) ? value.savedAt : '',
    dataset,
    mapping: dataset ? parseMapping(value.mapping) : null,
    model: parseModel(value.model),
    template,
    templateEdited: value.templateEdited === true && template !== '',
    labelWords,
    draft: parseDraftRecord(value.draft, defaults, inits),
    sweep: parseSweepDraft(value.sweep),
  };
}

/** How putting a session back went, part by part (null: the session had no such part). */
export interface RestoreReport {
  dataset: { name: string; outcome: 'restored' | 'not-stored' | 'failed'; error?: string } | null;
  model: { name: string; outcome: 'restored' | 'needs-files' | 'needs-token' | 'failed'; error?: string } | null;
  /** An edited template was put back. */
  template: boolean;
  labelWords: boolean;
  /** The settings that differ from the defaults ("epochs 3"). */
  settings: string[];
  /** A sweep form other than the default was put back. */
  sweep: boolean;
}

/** Why a part could not be restored, in words that say what to do. */
function problem(report: RestoreReport): string[] {
  const out: string[] = [];
  const d = report.dataset;
  if (d?.outcome === 'not-stored') out.push(`the dataset “${d.name}” is no longer stored in this browser: load it again in step 1`);
  if (d?.outcome === 'failed') out.push(`the dataset “${d.name}” could not be read again${d.error ? ` (${d.error})` : ''}: load it again in step 1`);
  const m = report.model;
  if (m?.outcome === 'needs-files') out.push(`the model “${m.name}” came from local files, which are not kept in the browser: pick them again in step 2`);
  if (m?.outcome === 'needs-token') out.push(`the model “${m.name}” needs its access token again (tokens are never stored) unless it is in the browser cache: enter it in step 2${m.error ? ` (${m.error})` : ''}`);
  if (m?.outcome === 'failed') out.push(`the model “${m.name}” could not be loaded again${m.error ? ` (${m.error})` : ''}: load it in step 2`);
  return out;
}

/**
 * The one line shown after a reload, e.g. "Restored your session: sentiment.csv, studio-bert-tiny,
 * template, label words, settings (epochs 3)." plus what could not be restored and why. Null when
 * there was nothing to say.
 */
export function restoredLine(report: RestoreReport): string | null {
  const restored: string[] = [];
  if (report.dataset?.outcome === 'restored') restored.push(report.dataset.name);
  if (report.model?.outcome === 'restored') restored.push(report.model.name);
  if (report.template) restored.push('template');
  if (report.labelWords) restored.push('label words');
  if (report.settings.length) restored.push(`settings (${report.settings.join(', ')})`);
  if (report.sweep) restored.push('sweep form');
  const problems = problem(report);
  if (!restored.length && !problems.length) return null;
  if (!restored.length) return `Your last session could not be restored: ${problems.join('; ')}.`;
  const head = `Restored your session: ${restored.join(', ')}.`;
  return problems.length ? `${head} Not restored: ${problems.join('; ')}.` : head;
}
