import { useCallback, useEffect, useRef, useState } from 'react';
import type { Progress } from '../shared/protocol';
import type { DatasetInfo, DatasetSource, DatasetStats } from '../shared/tasks';
import type { StudioClient } from './StudioClient';
import { errorText } from './format';
import { answerColumn, guessMapping, mappingProblems, type Mapping } from './mapping';
import { useDebounced } from './useDebounced';

export interface DatasetState {
  source: DatasetSource | null;
  info: DatasetInfo | null;
  /** While a file is read and parsed in the worker. */
  loading: Progress | null;
  error: string | null;
  mapping: Mapping;
  stats: DatasetStats | null;
  statsError: string | null;
  load(source: DatasetSource): Promise<DatasetInfo | null>;
  setMapping(mapping: Mapping): void;
}

const NO_MAPPING: Mapping = { task: 'classification', textColumns: [], labelColumn: '', targetColumn: '' };

/**
 * The dataset in the worker as the UI sees it: loading (with progress), the column mapping, and
 * the label distribution and split for the current mapping (asked again when it changes).
 */
export function useDataset(client: StudioClient | null, split: { valFraction: number; seed: number }, textColumns: string[] | null): DatasetState {
  const [source, setSource] = useState<DatasetSource | null>(null);
  const [info, setInfo] = useState<DatasetInfo | null>(null);
  const [loading, setLoading] = useState<Progress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [mapping, setMapping] = useState<Mapping>(NO_MAPPING);
  const [stats, setStats] = useState<DatasetStats | null>(null);
  const [statsError, setStatsError] = useState<string | null>(null);
  const loads = useRef(0);

  const load = useCallback(
    async (next: DatasetSource) => {
      if (!client) return null;
      const ticket = ++loads.current;
      setLoading({ stage: 'reading file', fraction: 0 });
      setError(null);
      try {
        const loaded = await client.call('loadDataset', { source: next }, { onProgress: (p) => ticket === loads.current && setLoading(p) });
        if (ticket !== loads.current) return null;
        setSource(next);
        setInfo(loaded);
        setMapping(guessMapping(loaded.columns));
        return loaded;
      } catch (e) {
        // The worker keeps the previous dataset when a load fails; so does the page.
        if (ticket === loads.current) setError(errorText(e));
        return null;
      } finally {
        if (ticket === loads.current) setLoading(null);
      }
    },
    [client],
  );

  const columns = textColumns && textColumns.length ? textColumns : mapping.textColumns;
  const request = useDebounced(
    JSON.stringify({ task: mapping.task, labelColumn: answerColumn(mapping), textColumns: columns, valFraction: split.valFraction, seed: split.seed, name: info?.name, rows: info?.rowCount }),
    150,
  );
  useEffect(() => {
    if (!client || !info) return;
    const payload = JSON.parse(request) as { task: Mapping['task']; labelColumn: string; textColumns: string[]; valFraction: number; seed: number };
    const problems = mappingProblems({ ...mapping, textColumns: payload.textColumns }, info.columns);
    if (problems.length > 0 || !(payload.valFraction >= 0 && payload.valFraction < 1)) {
      setStats(null);
      setStatsError(null);
      return;
    }
    let current = true;
    client
      .call('datasetStats', payload)
      .then((s) => current && (setStats(s), setStatsError(null)))
      .catch((e: unknown) => current && (setStats(null), setStatsError(errorText(e))));
    return () => {
      current = false;
    };
  }, [client, info, request]); // eslint-disable-line react-hooks/exhaustive-deps

  return { source, info, loading, error, mapping, stats, statsError, load, setMapping };
}
