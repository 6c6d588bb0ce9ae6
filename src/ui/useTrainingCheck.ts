import { useEffect, useState } from 'react';
import type { TaskSpec, TrainingConfig } from '../shared/tasks';
import type { StudioClient } from './StudioClient';
import { errorText } from './format';
import { useDebounced } from './useDebounced';

/** Settings are checked once editing pauses this long. */
export const TRAINING_CHECK_DELAY_MS = 300;

export interface TrainingCheckState {
  /** What the run would refuse with these settings (the worker's words). */
  problems: string[];
  /** What the run would do differently from the settings as given (the 'labels' init's fallback). */
  notes: string[];
  /** The worker has not answered for the latest settings yet. */
  pending: boolean;
}

/**
 * Asks the worker to try the run's own preparation with these settings (`checkTraining`), so that
 * Start is never offered for a run the worker would refuse. `inputs` null: nothing to check yet.
 */
export function useTrainingCheck(client: StudioClient | null, inputs: { key: string; spec: TaskSpec; config: TrainingConfig } | null): TrainingCheckState {
  const wanted = JSON.stringify(inputs);
  const settled = useDebounced(wanted, TRAINING_CHECK_DELAY_MS);
  const [answer, setAnswer] = useState<{ for: string; problems: string[]; notes: string[] } | null>(null);

  useEffect(() => {
    const p = JSON.parse(settled) as typeof inputs;
    if (!client || !p) {
      setAnswer({ for: settled, problems: [], notes: [] });
      return;
    }
    let current = true;
    client
      .call('checkTraining', { spec: p.spec, config: p.config })
      .then((r) => current && setAnswer({ for: settled, ...r }))
      .catch((e: unknown) => current && setAnswer({ for: settled, problems: [errorText(e)], notes: [] }));
    return () => {
      current = false;
    };
  }, [client, settled]);

  const fresh = answer !== null && answer.for === wanted ? answer : null;
  return { problems: fresh?.problems ?? [], notes: answer?.notes ?? [], pending: fresh === null };
}
