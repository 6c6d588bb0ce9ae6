/**
 * Runs kept in IndexedDB (through `idb`), so a reload or a closed tab loses at most the steps
 * after the last checkpoint: configuration, metrics history, the latest prompt checkpoint and the
 * results. The dataset a run trained on is kept beside it (the picked File itself, or the sample's
 * URL) so the run can be resumed after a reload. The same database keeps the page's session
 * (`session` store, see savedSession.ts), whose dataset is kept in the same `datasets` store.
 */
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { Checkpoint, DatasetSource, EpochMetrics, TaskSpec, TrainingConfig, TrainOutcome } from '../shared/tasks';
import type { SessionRecord } from './savedSession';
import type { RunSweepTag } from './sweeps';

export const DB_NAME = 'prompt-tuning-studio';
/** The schema's version: the number of MIGRATIONS. */
export const DB_VERSION = 3;
/** The session store holds one record, under this key. */
export const SESSION_KEY = 'current';

export type RunStatus = 'running' | 'paused' | 'completed' | 'stopped' | 'interrupted' | 'failed';

/** One point of the training-loss series (a metrics event: the mean loss since the previous one). */
export interface StepPoint {
  step: number;
  loss: number;
}

export interface RunProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  totalEpochs: number;
  etaSeconds: number;
  /** The ETA rests on the first step alone, whose time includes one-time warm-up. Absent in older records. */
  etaFromFirstStep?: boolean;
  elapsedSeconds: number;
  examplesPerSecond: number;
  tokensPerSecond: number;
  learningRate: number;
  loss: number;
}

export interface RunRecord {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
  status: RunStatus;
  modelId: string;
  datasetName: string;
  /** Key of the stored dataset (null when it could not be stored). */
  datasetKey: string | null;
  spec: TaskSpec;
  config: TrainingConfig;
  steps: StepPoint[];
  epochs: EpochMetrics[];
  zeroShotAccuracy: number | null;
  progress: RunProgress | null;
  checkpoint: Checkpoint | null;
  outcome: TrainOutcome | null;
  /** Why the run failed or stopped early, in words. */
  message: string | null;
  /** Set for runs that evaluate or continue an imported prompt: the file's name. */
  importedFrom?: string;
  /** Set for a sweep's trials: which sweep, which trial, and how it ended (src/ui/sweeps.ts). */
  sweep?: RunSweepTag;
}

/** A stored dataset source: a File (IndexedDB keeps Blobs), the sample URL, or pasted text. */
export interface StoredDataset {
  key: string;
  source: DatasetSource;
}

interface StudioDb extends DBSchema {
  /** `byDataset`: the runs trained on a stored dataset (runs without one are not in the index). */
  runs: { key: string; value: RunRecord; indexes: { byDataset: string } };
  datasets: { key: string; value: StoredDataset };
  /** The page's session (dataset key, model source, editors), so a reload puts it back. */
  session: { key: string; value: SessionRecord };
}

type UpgradeTransaction = IDBPTransaction<StudioDb, StoreNames<StudioDb>[], 'versionchange'>;

/**
 * How each version of the database is made from the one before; `MIGRATIONS[v - 1]` makes version
 * v. A migration adds (stores, indexes) and never drops what an older version stored, so opening
 * any older database keeps its runs, datasets and session. A new version is one more entry here.
 */
export const MIGRATIONS: readonly ((db: IDBPDatabase<StudioDb>, tx: UpgradeTransaction) => void)[] = [
  // 1: runs and the datasets they were trained on.
  (db) => {
    db.createObjectStore('runs', { keyPath: 'id' });
    db.createObjectStore('datasets', { keyPath: 'key' });
  },
  // 2: the page's session (useSavedSession).
  (db) => void db.createObjectStore('session'),
  // 3: runs by dataset, so deleting a run can tell whether another run still needs its dataset.
  (_db, tx) => void tx.objectStore('runs').createIndex('byDataset', 'datasetKey'),
];

/** The versions an upgrade from `oldVersion` runs, in order (none when already current). */
export function upgradeSteps(oldVersion: number, newVersion = DB_VERSION): number[] {
  const steps: number[] = [];
  for (let v = Math.max(oldVersion, 0) + 1; v <= newVersion; v++) steps.push(v);
  return steps;
}

/** Brings a database at `oldVersion` (0: new) to DB_VERSION, one migration after the other. */
export function upgradeDatabase(db: IDBPDatabase<StudioDb>, oldVersion: number, tx: UpgradeTransaction): void {
  for (const version of upgradeSteps(oldVersion)) MIGRATIONS[version - 1](db, tx);
}

/** What the page hears about the database connection besides requests' own errors. */
export interface StoreEvents {
  /** Another tab holds an older version open and has not let go: opening waits until it does. */
  blocked?(): void;
  /** This connection was closed: another tab needs a newer version, or the browser closed it. */
  closed?(why: 'newer-version' | 'terminated'): void;
}

/** A failed write to browser storage; `quota` when the browser says storage is full. */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly quota: boolean,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

export function isQuotaError(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED';
}

function storageError(what: string, error: unknown): StorageError {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (isQuotaError(error)) {
    return new StorageError(`Browser storage is full: ${what} could not be saved (${detail}). Delete old runs to make room; until then the studio keeps working, but unsaved changes are lost on reload.`, true);
  }
  return new StorageError(`${what} could not be saved in browser storage (${detail}).`, false);
}

/** The dataset key a stored session names (the record's shape is checked, as useSavedSession does). */
function sessionDatasetKey(record: unknown): string | null {
  const dataset = (record as { dataset?: { key?: unknown } } | null | undefined)?.dataset;
  return typeof dataset?.key === 'string' ? dataset.key : null;
}

export function datasetKey(source: DatasetSource): string {
  switch (source.kind) {
    case 'file':
      return `file:${source.file.name}:${source.file.size}:${source.file.lastModified}`;
    case 'url':
      return `url:${source.url}`;
    case 'text':
      return `text:${source.name}:${source.text.length}`;
    case 'bytes':
      return `bytes:${source.name}:${source.bytes.length}`;
  }
}

export class RunStore {
  private constructor(private readonly db: IDBPDatabase<StudioDb>) {}

  static async open(events: StoreEvents = {}): Promise<RunStore> {
    const db = await openDB<StudioDb>(DB_NAME, DB_VERSION, {
      upgrade: (database, oldVersion, _newVersion, tx) => upgradeDatabase(database, oldVersion, tx),
      blocked: () => events.blocked?.(),
      // A newer version in another tab waits for this connection: close it so that tab can open
      // (this tab's later writes then fail, and the page keeps its runs in memory and says so).
      blocking() {
        db.close();
        events.closed?.('newer-version');
      },
      terminated: () => events.closed?.('terminated'),
    });
    return new RunStore(db);
  }

  async listRuns(): Promise<RunRecord[]> {
    const runs = await this.db.getAll('runs');
    return runs.sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
  }

  /**
   * Writes a run; when storage is full, first frees what no run or session needs (freeSpace, keeping
   * `keep` too: the datasets of runs the page holds but has not written) and tries once more.
   */
  async putRun(run: RunRecord, keep: ReadonlySet<string> = new Set()): Promise<void> {
    try {
      await this.db.put('runs', run);
    } catch (e) {
      if (!isQuotaError(e)) throw storageError(`run "${run.name}"`, e);
      try {
        await this.freeSpace(new Set([...keep, ...(run.datasetKey ? [run.datasetKey] : [])]));
        await this.db.put('runs', run);
      } catch (again) {
        throw storageError(`run "${run.name}"`, isQuotaError(again) ? again : e);
      }
    }
  }

  /** Deletes stored datasets that no stored run, no session and nothing in `keep` names; returns their keys. */
  async freeSpace(keep: ReadonlySet<string> = new Set()): Promise<string[]> {
    const tx = this.db.transaction(['runs', 'datasets', 'session'], 'readwrite');
    const runs = tx.objectStore('runs').index('byDataset');
    const session = sessionDatasetKey(await tx.objectStore('session').get(SESSION_KEY));
    const deleted: string[] = [];
    for (const key of await tx.objectStore('datasets').getAllKeys()) {
      if (keep.has(key) || key === session || (await runs.count(key)) > 0) continue;
      await tx.objectStore('datasets').delete(key);
      deleted.push(key);
    }
    await tx.done;
    return deleted;
  }

  /**
   * Deletes a run, and its stored dataset when no other stored run, not the stored session and
   * nothing in `inUse` (runs and the session as the page holds them now) names it. One transaction.
   */
  async deleteRun(id: string, inUse: ReadonlySet<string> = new Set()): Promise<{ datasetDeleted: string | null }> {
    const tx = this.db.transaction(['runs', 'datasets', 'session'], 'readwrite');
    const runs = tx.objectStore('runs');
    const key = (await runs.get(id))?.datasetKey ?? null;
    await runs.delete(id);
    let datasetDeleted: string | null = null;
    if (key && !inUse.has(key) && (await runs.index('byDataset').count(key)) === 0 && sessionDatasetKey(await tx.objectStore('session').get(SESSION_KEY)) !== key) {
      await tx.objectStore('datasets').delete(key);
      datasetDeleted = key;
    }
    await tx.done;
    return { datasetDeleted };
  }

  async putDataset(source: DatasetSource): Promise<string> {
    const key = datasetKey(source);
    try {
      await this.db.put('datasets', { key, source });
    } catch (e) {
      throw storageError('the dataset', e);
    }
    return key;
  }

  async getDataset(key: string): Promise<DatasetSource | null> {
    return (await this.db.get('datasets', key))?.source ?? null;
  }

  async deleteDataset(key: string): Promise<void> {
    await this.db.delete('datasets', key);
  }

  /** The stored session as it was written (useSavedSession checks its shape). */
  async getSession(): Promise<unknown> {
    return (await this.db.get('session', SESSION_KEY)) ?? null;
  }

  async putSession(session: SessionRecord): Promise<void> {
    try {
      await this.db.put('session', session, SESSION_KEY);
    } catch (e) {
      throw storageError('the session', e);
    }
  }

  async deleteSession(): Promise<void> {
    await this.db.delete('session', SESSION_KEY);
  }

  close(): void {
    this.db.close();
  }
}
