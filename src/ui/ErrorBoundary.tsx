import { Component, useEffect, useState, type ErrorInfo, type ReactNode } from 'react';
import type { FaultPanel } from '../shared/protocol';
import type { StudioClient } from './StudioClient';

/**
 * Catches an error thrown while the studio's panels render, so a bug in one view leaves a page that
 * says what happened and offers a reload instead of a blank one. The runs are in IndexedDB and
 * nothing here touches them: after the reload they are listed again, a run that was training
 * resumable from its last checkpoint.
 */
export class StudioErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: unknown): { error: Error } {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error(`The studio's panels failed to render: ${error.message}`, info.componentStack);
  }

  override render(): ReactNode {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <section className="panel" role="alert" data-testid="studio.crashed" aria-labelledby="studio-crashed-h">
        <h2 id="studio-crashed-h">Something went wrong in the studio</h2>
        <p>
          A part of the page failed while drawing itself: <code data-testid="studio.crashed.message">{error.message}</code>
        </p>
        <p>
          Your runs are stored in this browser and were not touched: reload to see them again. A run that was training goes on from its
          last checkpoint when you resume it.
        </p>
        <button type="button" data-testid="studio.reload" onClick={() => location.reload()}>
          Reload the studio
        </button>
      </section>
    );
  }
}

/**
 * Test only: throws while rendering once the worker's fault hook has asked `panel` to break (see
 * TestFaultEvent in src/shared/protocol.ts). Nothing happens unless that hook is called.
 */
export function useInjectedFault(client: StudioClient, panel: FaultPanel): void {
  const [broken, setBroken] = useState(false);
  useEffect(() => client.onTestFault((p) => p === panel && setBroken(true)), [client, panel]);
  if (broken) throw new Error(`test fault: the ${panel} panel threw while rendering`);
}
