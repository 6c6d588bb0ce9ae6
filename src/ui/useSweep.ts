import { useCallback, useRef, useState } from 'react';
import type { TaskSpec, TrainingConfig, TrainingEvent, TrainingState } from '../shared/tasks';
import { describeSettings, type SweepOutcome, type SweepPlan, type SweepTrialResult } from '../shared/sweep';
import { StudioError, type StudioClient } from './StudioClient';
import type { RunsApi } from './useRuns';
import { applyTrainingEvent, finishedRun, resumingRun, startingRun } from './runEvents';
import { resumeRequest, type RunSweepTag, type SweepView } from './sweeps';
import { newRunId } from './useTrainer';
import { errorText } from './format';

/** Trials checkpoint every this many steps, as single runs do (useTrainer's CHECKPOINT_EVERY_STEPS). */
export const SWEEP_CHECKPOINT_EVERY_STEPS = 25;

export interface NewSweep {
  name: string;
  spec: TaskSpec;
  config: TrainingConfig;
  plan: SweepPlan;
  modelId: string;
  datasetName: string;
  datasetKey: string | null;
}

export interface SweepApi {
  /** The sweep running now, and its trial's run. */
  sweepId: string | null;
  runId: string | null;
  state: 'idle' | 'running' | 'stopping';
  error: string | null;
  start(sweep: NewSweep): Promise<void>;
  /** Continues a stopped or interrupted sweep: the trials it had left, the cut-off one from its checkpoint. */
  resume(view: SweepView, where: { datasetKey: string | null }): Promise<void>;
  stop(): void;
  /** Shows why a sweep could not start or resume (found before it was sent). */
  report(message: string): void;
}

/**
 * Runs one sweep at a time in the worker (the session's loop) and keeps each trial as an ordinary
 * run: a record made when the trial starts, following its events like any run, tagged with the
 * sweep; the sweep's end and the winner's held-out test are written onto the trials' records.
 */
export function useSweep(client: StudioClient | null, runs: RunsApi): SweepApi {
  const [sweepId, setSweepId] = useState<string | null>(null);
  const [runId, setRunId] = useState<string | null>(null);
  const [state, setState] = useState<SweepApi['state']>('idle');
  const [error, setError] = useState<string | null>(null);
  const active = useRef<string | null>(null);

  const drive = useCallback(
    async (sweep: NewSweep & { id: string }, from: { previous?: SweepTrialResult[]; resume?: { index: number; state: TrainingState } }) => {
      if (!client) return;
      active.current = sweep.id;
      setSweepId(sweep.id);
      setState('running');
      setError(null);
      const tag = (index: number): RunSweepTag => ({ id: sweep.id, name: sweep.name, index, plan: sweep.plan, baseSpec: sweep.spec, baseConfig: sweep.config });
      let trial: { id: string; config: TrainingConfig } | null = null;
      const onMetrics = (m: TrainingEvent) => {
        if (m.series === 'trialStart') {
          trial = { id: m.runId, config: m.config };
          setRunId(m.runId);
          const existing = runs.get(m.runId);
          if (existing) {
            const cp = existing.checkpoint;
            runs.update(m.runId, (r) => ({ ...(m.resumed && cp ? resumingRun(r, cp.step, cp.epochsDone) : { ...r, status: 'running' as const, steps: [], epochs: [], outcome: null, message: null, checkpoint: null, progress: null }), sweep: tag(m.index) }), 'now');
          } else {
            runs.create(
              startingRun(m.runId, {
                name: `${sweep.name} · trial ${m.index + 1}: ${describeSettings(sweep.plan, m.settings)}`,
                modelId: sweep.modelId,
                datasetName: sweep.datasetName,
                datasetKey: sweep.datasetKey,
                spec: m.spec,
                config: m.config,
                sweep: tag(m.index),
              }),
            );
          }
        } else if (m.series === 'trialEnd') {
          const { result, outcome } = m;
          if (runs.get(result.runId)) {
            runs.update(
              result.runId,
              (r) => {
                const ended = outcome ? finishedRun(r, outcome) : { ...r, status: 'failed' as const, message: result.message ?? 'failed' };
                return { ...ended, sweep: { ...(r.sweep as RunSweepTag), result } };
              },
              'now',
            );
          }
          trial = null;
          setRunId(null);
        } else if (m.series === 'heldOut') {
          runs.update(m.report.runId, (r) => ({ ...r, sweep: { ...(r.sweep as RunSweepTag), heldOut: m.report } }), 'now');
        } else if (m.series === 'heldOutGeneration') {
          runs.update(m.report.runId, (r) => ({ ...r, sweep: { ...(r.sweep as RunSweepTag), heldOutGeneration: m.report } }), 'now');
        } else if (trial) {
          const { id, config } = trial;
          runs.update(id, (r) => applyTrainingEvent(r, m, config), 'soon');
        }
      };
      try {
        const outcome: SweepOutcome = await client.call(
          'sweep',
          { sweepId: sweep.id, spec: sweep.spec, config: sweep.config, plan: sweep.plan, checkpointEverySteps: SWEEP_CHECKPOINT_EVERY_STEPS, ...from },
          {
            onMetrics,
            onCheckpoint(checkpoint) {
              const id = (trial as { id: string } | null)?.id;
              if (id) runs.update(id, (r) => ({ ...r, checkpoint }), 'now');
            },
          },
        );
        const { trials, test: _, generationTest: _g, ...rest } = outcome;
        const final = { ...rest, skipped: trials.filter((t) => t.status === 'skipped').map(({ prompt: __, ...t }) => t) };
        for (const t of trials) if (runs.get(t.runId)) runs.update(t.runId, (r) => ({ ...r, sweep: { ...(r.sweep as RunSweepTag), final } }), 'now');
      } catch (e) {
        const message = errorText(e);
        const id = (trial as { id: string } | null)?.id;
        // A worker that went away cut the trial off: it resumes from its checkpoint, as after a reload.
        const cut = e instanceof StudioError && e.code === 'worker-crashed';
        if (id) runs.update(id, (r) => ({ ...r, status: cut ? 'interrupted' : 'failed', message: cut ? `Interrupted: ${message}. Resume the sweep to continue from the last checkpoint.` : message }), 'now');
        setError(message);
      } finally {
        active.current = null;
        setSweepId(null);
        setRunId(null);
        setState('idle');
      }
    },
    [client, runs],
  );

  const start = useCallback(
    async (sweep: NewSweep) => {
      if (active.current) return;
      await drive({ ...sweep, id: `sweep-${newRunId()}` }, {});
    },
    [drive],
  );

  const resume = useCallback(
    async (view: SweepView, where: { datasetKey: string | null }) => {
      if (active.current) return;
      const from = resumeRequest(view);
      await drive(
        { id: view.id, name: view.name, spec: view.baseSpec, config: view.baseConfig, plan: view.plan, modelId: view.modelId, datasetName: view.datasetName, datasetKey: where.datasetKey },
        from,
      );
    },
    [drive],
  );

  const stop = useCallback(() => {
    const id = active.current;
    if (!client || !id) return;
    setState('stopping');
    client.call('stopSweep', { sweepId: id }).catch((e: unknown) => setError(errorText(e)));
  }, [client]);

  return { sweepId, runId, state, error, start, resume, stop, report: setError };
}
