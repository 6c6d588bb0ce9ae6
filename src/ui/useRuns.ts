import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { RunStore, StorageError, type RunRecord } from './runStore';
import type { DatasetSource } from '../shared/tasks';

/** Metrics-only changes are written at most this often; checkpoints and status changes at once. */
export const RUN_SAVE_INTERVAL_MS = 2000;

export type Persist = 'now' | 'soon' | 'memory';

export interface RunsApi {
  runs: RunRecord[];
  /** The stored runs have been read. */
  ready: boolean;
  /** The last failed write (a full storage says so), shown until dismissed. */
  storageError: string | null;
  dismissStorageError(): void;
  get(id: string): RunRecord | undefined;
  create(run: RunRecord): void;
  update(id: string, change: (run: RunRecord) => RunRecord, persist: Persist): void;
  rename(id: string, name: string): void;
  remove(id: string): void;
  storeDataset(source: DatasetSource): Promise<string | null>;
  storedDataset(key: string): Promise<DatasetSource | null>;
}

/**
 * Runs in memory (for rendering) and in IndexedDB (for reloads). Runs found 'running' or 'paused'
 * when the page opens were cut off by a reload or a closed tab: they become 'interrupted', and
 * can be resumed from their last checkpoint.
 */
export function useRuns(): RunsApi {
  const storeRef = useRef<RunStore | null>(null);
  const runsRef = useRef(new Map<string, RunRecord>());
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  const [version, setVersion] = useState(0);
  const [ready, setReady] = useState(false);
  const [storageError, setStorageError] = useState<string | null>(null);

  const report = useCallback((e: unknown) => {
    setStorageError(e instanceof StorageError ? e.message : `Browser storage failed: ${e instanceof Error ? e.message : String(e)}`);
  }, []);

  const write = useCallback(
    (id: string) => {
      const pending = timers.current.get(id);
      if (pending) clearTimeout(pending);
      timers.current.delete(id);
      const run = runsRef.current.get(id);
      if (run && storeRef.current) storeRef.current.putRun(run).catch(report);
    },
    [report],
  );

  useEffect(() => {
    let closed = false;
    let store: RunStore | null = null;
    RunStore.open()
      .then(async (opened) => {
        if (closed) return opened.close();
        store = opened;
        storeRef.current = opened;
        for (const run of await opened.listRuns()) {
          const cut = run.status === 'running' || run.status === 'paused';
          const restored: RunRecord = cut
            ? {
                ...run,
                status: 'interrupted',
                message: run.checkpoint
                  ? `Interrupted (page closed or reloaded) after step ${run.progress?.step ?? run.checkpoint.step}; the last checkpoint is at step ${run.checkpoint.step}.`
                  : 'Interrupted (page closed or reloaded) before the first checkpoint.',
              }
            : run;
          if (!runsRef.current.has(run.id)) runsRef.current.set(run.id, restored);
          if (cut) opened.putRun(restored).catch(report);
        }
        setVersion((v) => v + 1);
        setReady(true);
      })
      .catch((e: unknown) => {
        setStorageError(`Runs cannot be kept across reloads: IndexedDB did not open (${e instanceof Error ? e.message : String(e)}).`);
        setReady(true);
      });
    const pending = timers.current;
    return () => {
      closed = true;
      pending.forEach((t) => clearTimeout(t));
      pending.clear();
      store?.close();
      storeRef.current = null;
    };
  }, [report]);

  const update = useCallback(
    (id: string, change: (run: RunRecord) => RunRecord, persist: Persist) => {
      const run = runsRef.current.get(id);
      if (!run) return;
      runsRef.current.set(id, { ...change(run), updatedAt: new Date().toISOString() });
      setVersion((v) => v + 1);
      if (persist === 'now') write(id);
      else if (persist === 'soon' && !timers.current.has(id)) timers.current.set(id, setTimeout(() => write(id), RUN_SAVE_INTERVAL_MS));
    },
    [write],
  );

  const create = useCallback(
    (run: RunRecord) => {
      runsRef.current.set(run.id, run);
      setVersion((v) => v + 1);
      write(run.id);
    },
    [write],
  );

  const remove = useCallback(
    (id: string) => {
      const pending = timers.current.get(id);
      if (pending) clearTimeout(pending);
      timers.current.delete(id);
      runsRef.current.delete(id);
      setVersion((v) => v + 1);
      storeRef.current?.deleteRun(id).catch(report);
    },
    [report],
  );

  const runs = useMemo(() => [...runsRef.current.values()].sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1)), [version]); // eslint-disable-line react-hooks/exhaustive-deps

  return {
    runs,
    ready,
    storageError,
    dismissStorageError: useCallback(() => setStorageError(null), []),
    get: useCallback((id: string) => runsRef.current.get(id), []),
    create,
    update,
    rename: useCallback((id: string, name: string) => update(id, (r) => ({ ...r, name }), 'now'), [update]),
    remove,
    storeDataset: useCallback(
      async (source: DatasetSource) => {
        if (!storeRef.current) return null;
        try {
          return await storeRef.current.putDataset(source);
        } catch (e) {
          report(e);
          return null;
        }
      },
      [report],
    ),
    storedDataset: useCallback(async (key: string) => (storeRef.current ? storeRef.current.getDataset(key) : null), []),
  };
}
