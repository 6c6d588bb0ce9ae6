import { startTransition, useCallback, useEffect, useMemo, useRef, useState } from 'react';
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
  /** Runs whose latest state is only in this tab's memory (a write failed, or the database is not open). */
  unsaved: ReadonlySet<string>;
  /** Writes the unsaved runs again (after freeing space, or once another tab has let go of the database). */
  saveAgain(): void;
  get(id: string): RunRecord | undefined;
  create(run: RunRecord): void;
  update(id: string, change: (run: RunRecord) => RunRecord, persist: Persist): void;
  rename(id: string, name: string): void;
  /** Deletes a run, and its stored dataset unless another run or `sessionDataset` (the page's, by key) uses it. */
  remove(id: string, sessionDataset?: string | null): void;
  storeDataset(source: DatasetSource): Promise<string | null>;
  storedDataset(key: string): Promise<DatasetSource | null>;
}

/**
 * Runs in memory (for rendering) and in IndexedDB (for reloads). Runs found 'running' or 'paused'
 * when the page opens were cut off by a reload or a closed tab: they become 'interrupted', and
 * can be resumed from their last checkpoint.
 *
 * A run is never lost to storage trouble while the tab is open: a write that fails (storage full,
 * the database held at an older version by another tab, or closed for a newer one) leaves the run
 * marked unsaved in memory; it is written again when space is freed (a run deleted, or Save again)
 * or when the database opens, and leaving the page with a finished run unsaved asks first.
 */
export function useRuns(): RunsApi {
  const storeRef = useRef<RunStore | null>(null);
  const runsRef = useRef(new Map<string, RunRecord>());
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  const [version, setVersion] = useState(0);
  const [ready, setReady] = useState(false);
  const [storageError, setStorageError] = useState<string | null>(null);
  const [unsaved, setUnsaved] = useState<ReadonlySet<string>>(new Set());
  const unsavedRef = useRef(new Set<string>());

  const report = useCallback((e: unknown) => {
    setStorageError(e instanceof StorageError ? e.message : `Browser storage failed: ${e instanceof Error ? e.message : String(e)}`);
  }, []);

  const markSaved = useCallback((id: string, saved: boolean) => {
    if (saved === !unsavedRef.current.has(id)) return;
    if (saved) unsavedRef.current.delete(id);
    else unsavedRef.current.add(id);
    setUnsaved(new Set(unsavedRef.current));
  }, []);

  const write = useCallback(
    (id: string) => {
      const pending = timers.current.get(id);
      if (pending) clearTimeout(pending);
      timers.current.delete(id);
      const run = runsRef.current.get(id);
      if (!run) return markSaved(id, true);
      if (!storeRef.current) return markSaved(id, false); // not open (yet, or any more): kept for later
      const held = new Set([...runsRef.current.values()].flatMap((r) => (r.datasetKey ? [r.datasetKey] : [])));
      storeRef.current.putRun(run, held).then(
        () => runsRef.current.get(id) === run && markSaved(id, true),
        (e: unknown) => {
          markSaved(id, false);
          report(e);
        },
      );
    },
    [markSaved, report],
  );

  const saveAgain = useCallback(() => {
    setStorageError(null);
    for (const id of [...unsavedRef.current]) write(id);
  }, [write]);

  // Leaving with a finished run that is only in memory would lose it: the browser asks first.
  const anyUnsaved = unsaved.size > 0;
  useEffect(() => {
    if (!anyUnsaved) return;
    const guard = (event: BeforeUnloadEvent) => {
      if ([...unsavedRef.current].some((id) => runsRef.current.get(id)?.outcome)) event.preventDefault();
    };
    window.addEventListener('beforeunload', guard);
    return () => window.removeEventListener('beforeunload', guard);
  }, [anyUnsaved]);

  useEffect(() => {
    let closed = false;
    let store: RunStore | null = null;
    RunStore.open({
      blocked: () =>
        !closed &&
        setStorageError(
          'Another tab has this browser’s runs open with an older version of the studio, so this tab cannot open them yet: close or reload that tab. ' +
            'Until then, runs made here are kept in this tab only (and saved once it can).',
        ),
      closed: (why) => {
        if (closed) return;
        storeRef.current = null;
        setStorageError(
          why === 'newer-version'
            ? 'A newer version of the studio was opened in another tab: reload this tab to keep saving runs. Runs made here until then are kept in this tab only.'
            : 'The browser closed the runs database: reload the page to keep saving runs. Runs made here until then are kept in this tab only.',
        );
      },
    })
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
        // Runs made while the database could not open (another tab held it) are written now.
        if (unsavedRef.current.size > 0) {
          setStorageError(null);
          for (const id of [...unsavedRef.current]) write(id);
        } else setStorageError((e) => (e?.startsWith('Another tab') ? null : e));
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
  }, [report]); // eslint-disable-line react-hooks/exhaustive-deps

  const update = useCallback(
    (id: string, change: (run: RunRecord) => RunRecord, persist: Persist) => {
      const run = runsRef.current.get(id);
      if (!run) return;
      runsRef.current.set(id, { ...change(run), updatedAt: new Date().toISOString() });
      // Updates (a training's metrics and checkpoints, most of all) re-render the panels as a transition:
      // React renders it in slices that yield to the browser and merges the updates that arrive while it
      // renders, so the main thread is not held for long (issue 17: no long task during training; `npm run bench:ui`).
      startTransition(() => setVersion((v) => v + 1));
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
    (id: string, sessionDataset: string | null = null) => {
      const pending = timers.current.get(id);
      if (pending) clearTimeout(pending);
      timers.current.delete(id);
      runsRef.current.delete(id);
      markSaved(id, true);
      setVersion((v) => v + 1);
      // Datasets the page still needs: the session's, and those of runs not (yet) written.
      const inUse = new Set([...runsRef.current.values()].flatMap((r) => (r.datasetKey ? [r.datasetKey] : [])));
      if (sessionDataset) inUse.add(sessionDataset);
      storeRef.current
        ?.deleteRun(id, inUse)
        // The space it held may be what an unsaved run was waiting for.
        .then(() => unsavedRef.current.size > 0 && saveAgain())
        .catch(report);
    },
    [markSaved, report, saveAgain],
  );

  const runs = useMemo(() => [...runsRef.current.values()].sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1)), [version]); // eslint-disable-line react-hooks/exhaustive-deps

  return {
    runs,
    ready,
    storageError,
    dismissStorageError: useCallback(() => setStorageError(null), []),
    unsaved,
    saveAgain,
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
