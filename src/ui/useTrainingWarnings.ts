import { useEffect, useState } from 'react';
import type { TrainingWarning, TrainingWarningsPayload } from '../shared/tasks';
import type { StudioClient } from './StudioClient';
import { useDebounced } from './useDebounced';

/**
 * The session's warnings about the loaded data (one class, no validation rows, classes too small,
 * no text after the template: src/session/warnings.ts, the same the CLI stops on), asked again
 * when the dataset (`datasetKey`), mapping, split or template changes. Null payload: nothing to ask yet.
 */
export function useTrainingWarnings(client: StudioClient, payload: TrainingWarningsPayload | null, datasetKey: string): TrainingWarning[] {
  const [warnings, setWarnings] = useState<TrainingWarning[]>([]);
  const request = useDebounced(payload ? JSON.stringify({ datasetKey, payload }) : null, 200);
  useEffect(() => {
    if (!request) {
      setWarnings([]);
      return;
    }
    let current = true;
    client
      .call('trainingWarnings', (JSON.parse(request) as { payload: TrainingWarningsPayload }).payload)
      // A data problem that stops the request (a column gone) is shown by the Data panel.
      .then((w) => current && setWarnings(w))
      .catch(() => current && setWarnings([]));
    return () => {
      current = false;
    };
  }, [client, request]);
  return warnings;
}
