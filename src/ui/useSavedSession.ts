import { useCallback, useEffect, useRef, useState } from 'react';
import type { DatasetSource, PromptInit } from '../shared/tasks';
import { RunStore, StorageError } from './runStore';
import { isEmptySession, parseSession, restoredLine, type RestoreReport, type SessionRecord } from './savedSession';
import type { ConfigDraft } from './trainingConfig';
import { errorText } from './format';

/** The session is written once edits have paused this long (and at once when the page is hidden). */
export const SESSION_SAVE_DELAY_MS = 400;

/** 'reading' the stored session, 'restoring' it into the page, then 'live': changes are saved. */
export type SessionPhase = 'reading' | 'restoring' | 'live';

export interface SessionApi {
  phase: SessionPhase;
  /** What was restored (and what not, and why), once restoring has ended; null when nothing was. */
  line: string | null;
  /** Why the session cannot be kept across reloads. */
  error: string | null;
  /**
   * Forgets the stored session (its dataset too, unless a run uses it); nothing is saved
   * afterwards. False when storage failed (then `error` says why).
   */
  clear(): Promise<boolean>;
}

export interface SessionOptions {
  /** The page's session now (`savedAt` is set when written) and the dataset source its key names. */
  current: { record: SessionRecord; datasetSource: DatasetSource | null };
  defaults: ConfigDraft;
  inits: readonly PromptInit[];
  /** Puts a stored session back into the page; `dataset` is its stored source, null when it is gone. */
  restore(record: SessionRecord, dataset: DatasetSource | null): Promise<RestoreReport>;
  /** A run was trained on the dataset with this key (so it stays stored when the session moves on). */
  datasetInUse(key: string): boolean;
}

/**
 * The studio's session in IndexedDB (the runs database's `session` store): read and restored
 * once when the page opens, then written whenever it changes (debounced). Nothing here touches
 * the runs: if the session cannot be read or restored, the page opens as new and says why.
 */
export function useSavedSession(options: SessionOptions): SessionApi {
  const [phase, setPhase] = useState<SessionPhase>('reading');
  const [line, setLine] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const storeRef = useRef<RunStore | null>(null);
  const latest = useRef(options);
  latest.current = options;
  // The dataset key the stored record names (its dataset is stored: written with the record, or restored).
  const sessionDataset = useRef<string | null>(null);
  const cleared = useRef(false);

  const report = useCallback((e: unknown) => {
    setError(e instanceof StorageError ? e.message : `Your session could not be saved in this browser: ${errorText(e)}`);
  }, []);

  useEffect(() => {
    let closed = false;
    let store: RunStore | null = null;
    (async () => {
      let opened: RunStore;
      try {
        opened = await RunStore.open();
      } catch (e) {
        if (!closed) {
          setError(`Your session cannot be kept across reloads: IndexedDB did not open (${errorText(e)}).`);
          setPhase('live');
        }
        return;
      }
      if (closed) return opened.close();
      store = opened;
      storeRef.current = opened;
      const { defaults, inits } = latest.current;
      let record: SessionRecord | null = null;
      let dataset: DatasetSource | null = null;
      try {
        record = parseSession(await opened.getSession(), defaults, inits);
        if (record?.dataset) dataset = await opened.getDataset(record.dataset.key);
      } catch (e) {
        setLine(`Your last session could not be read: ${errorText(e)}.`);
      }
      if (closed) return;
      if (record && !isEmptySession(record, defaults)) {
        if (record.dataset && dataset) sessionDataset.current = record.dataset.key;
        setPhase('restoring');
        try {
          setLine(restoredLine(await latest.current.restore(record, dataset)));
        } catch (e) {
          setLine(`Your last session could not be restored: ${errorText(e)}.`);
        }
      }
      if (!closed) setPhase('live');
    })();
    return () => {
      closed = true;
      store?.close();
      storeRef.current = null;
    };
  }, []);

  const write = useCallback(async () => {
    const store = storeRef.current;
    if (!store || cleared.current) return;
    const { current, defaults, datasetInUse } = latest.current;
    const record: SessionRecord = { ...current.record, savedAt: new Date().toISOString() };
    try {
      const key = record.dataset?.key ?? null;
      // Written again whenever the session moves to another dataset: deleting a run may have
      // deleted a dataset this session named before.
      if (key && current.datasetSource && key !== sessionDataset.current) await store.putDataset(current.datasetSource);
      if (isEmptySession(record, defaults)) await store.deleteSession();
      else await store.putSession(record);
      // The dataset the session named before, when nothing else needs it any more.
      const previous = sessionDataset.current;
      sessionDataset.current = key;
      if (previous && previous !== key && !datasetInUse(previous)) {
        await store.deleteDataset(previous);
      }
      setError(null);
    } catch (e) {
      report(e);
    }
  }, [report]);

  // What would be written, without the time: a new value means the session changed.
  const { savedAt: _, ...content } = options.current.record;
  const contentKey = JSON.stringify(content);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => {
    if (phase !== 'live') return;
    pending.current = setTimeout(() => {
      pending.current = null;
      void write();
    }, SESSION_SAVE_DELAY_MS);
    return () => {
      if (pending.current) clearTimeout(pending.current);
      pending.current = null;
    };
  }, [phase, contentKey, write]);

  // A reload or a closed tab right after an edit: write what the timer would have.
  useEffect(() => {
    const flush = () => {
      if (!pending.current) return;
      clearTimeout(pending.current);
      pending.current = null;
      void write();
    };
    window.addEventListener('pagehide', flush);
    return () => window.removeEventListener('pagehide', flush);
  }, [write]);

  const clear = useCallback(async () => {
    cleared.current = true;
    if (pending.current) clearTimeout(pending.current);
    pending.current = null;
    const store = storeRef.current;
    if (!store) return true;
    try {
      await store.deleteSession();
      const key = sessionDataset.current;
      if (key && !latest.current.datasetInUse(key)) await store.deleteDataset(key);
      return true;
    } catch (e) {
      cleared.current = false;
      setError(`Your session could not be cleared: ${errorText(e)}`);
      return false;
    }
  }, []);

  return { phase, line, error, clear };
}
