/**
 * Runs kept in IndexedDB (through `idb`), so a reload or a closed tab loses at most the steps
 * after the last checkpoint: configuration, metrics history, the latest prompt checkpoint and the
 * results. The dataset a run trained on is kept beside it (the picked File itself, or the sample's
 * URL) so the run can be resumed after a reload. The same database keeps the page's session
 * (`session` store, see savedSession.ts), whose dataset is kept in the same `datasets` store.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { Checkpoint, DatasetSource, EpochMetrics, TaskSpec, TrainingConfig, TrainOutcome } from '../shared/tasks';
import type { SessionRecord } from './savedSession';

export const DB_NAME = 'prompt-tuning-studio';
/** 1: runs and datasets. 2: the session store (useSavedSession). */
export const DB_VERSION = 2;
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
}

/** A stored dataset source: a File (IndexedDB keeps Blobs), the sample URL, or pasted text. */
export interface StoredDataset {
  key: string;
  source: DatasetSource;
}

interface StudioDb extends DBSchema {
  runs: { key: string; value: RunRecord };
  datasets: { key: string; value: StoredDataset };
  /** The page's session (dataset key, model source, editors), so a reload puts it back. */
  session: { key: string; value: SessionRecord };
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

  static async open(): Promise<RunStore> {
    const db = await openDB<StudioDb>(DB_NAME, DB_VERSION, {
      // Each version adds stores; what an older version stored (runs, datasets) stays as it is.
      upgrade(database, oldVersion) {
        if (oldVersion < 1) {
          database.createObjectStore('runs', { keyPath: 'id' });
          database.createObjectStore('datasets', { keyPath: 'key' });
        }
        if (oldVersion < 2) database.createObjectStore('session');
      },
      // A newer version in another tab waits for this connection: close it so that tab can open
      // (this tab's later writes then fail, and say so).
      blocking() {
        db.close();
      },
    });
    return new RunStore(db);
  }

  async listRuns(): Promise<RunRecord[]> {
    const runs = await this.db.getAll('runs');
    return runs.sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
  }

  async putRun(run: RunRecord): Promise<void> {
    try {
      await this.db.put('runs', run);
    } catch (e) {
      throw storageError(`run "${run.name}"`, e);
    }
  }

  async deleteRun(id: string): Promise<void> {
    await this.db.delete('runs', id);
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
