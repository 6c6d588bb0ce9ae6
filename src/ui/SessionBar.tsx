import type { SessionApi } from './useSavedSession';

/**
 * One line above the panels after a reload: what of the last session was put back (or could not
 * be, and why), and "Start fresh", which forgets it. Nothing while there is nothing to say.
 */
export function SessionBar({ session, busy, onFresh }: { session: SessionApi; busy: boolean; onFresh(): void }) {
  const { phase, line, error } = session;
  if (phase !== 'restoring' && !line && !error) return null;
  return (
    <div className={`note session-bar${error ? ' note-error' : ''}`} data-testid="session.bar" data-state={phase}>
      <span data-testid="session.restored" aria-live="polite">
        {phase === 'restoring' ? 'Putting your last session back…' : line}
      </span>
      {error && <span data-testid="session.error"> {error}</span>}
      <button
        type="button"
        className="link-button"
        data-testid="session.fresh"
        disabled={busy || phase !== 'live'}
        title={busy ? 'Wait for the current training to end.' : 'Forget the saved session and start with empty editors; runs are kept.'}
        onClick={async () => {
          if (await session.clear()) onFresh();
        }}
      >
        Start fresh
      </button>
    </div>
  );
}
