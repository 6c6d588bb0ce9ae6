import { useEffect, useState } from 'react';
import type { RestartEvent, StudioClient } from './StudioClient';
import type { TrainerApi } from './useTrainer';
import { backendLabel } from './BackendBadge';
import { restartLine } from './recovery';

/**
 * The one line shown after the worker crashed or lost its GPU: that a new worker was started, on
 * which backend, what was loaded into it again, and what became of the run that was training.
 */
export function RestartNotice({ client, trainer }: { client: StudioClient; trainer: TrainerApi }) {
  const [event, setEvent] = useState<RestartEvent | null>(null);
  useEffect(() => client.onRestart(setEvent), [client]);
  if (!event) return null;
  if (event.phase === 'restarting') {
    return (
      <p className="note note-warn" role="status" data-testid="studio.restart" data-phase="restarting">
        The worker stopped ({event.reason}); starting a new one…
      </p>
    );
  }
  const { report } = event;
  const run = trainer.recovery && trainer.recovery.after === report ? trainer.recovery.run : null;
  const line = restartLine({ ...report, backend: report.init ? backendLabel(report.init.backend) : null }, run);
  const bad = report.gaveUp || report.init === null || report.reloaded.some((r) => r.error) || run?.outcome === 'interrupted';
  return (
    <p className={`note ${bad ? 'note-error' : 'note-warn'}`} role="status" data-testid="studio.restart" data-phase="restarted" data-run={run?.outcome ?? ''}>
      {line}{' '}
      <button type="button" className="link-button" data-testid="studio.restart.dismiss" onClick={() => setEvent(null)}>
        Dismiss
      </button>
    </p>
  );
}
