import { describe, expect, it } from 'vitest';
import { startingRun } from './runEvents';
import type { TaskSpec, TrainingConfig } from '../shared/tasks';

describe('startingRun', () => {
  const spec = { task: 'classification', template: '{text} [MASK]', labelColumn: 'label', textColumns: ['text'] } as TaskSpec;
  const config = { epochs: 1 } as TrainingConfig;
  const fields = { name: 'r', modelId: 'm', datasetName: 'd.csv', datasetKey: 'k', spec, config };

  it('is running with nothing recorded yet, stamped now', () => {
    const run = startingRun('id-1', fields);
    expect(run).toMatchObject({ id: 'id-1', status: 'running', steps: [], epochs: [], zeroShotAccuracy: null, progress: null, checkpoint: null, outcome: null, message: null, ...fields });
    expect(run.createdAt).toBe(run.updatedAt);
    expect(Number.isNaN(Date.parse(run.createdAt))).toBe(false);
    expect('sweep' in run || 'importedFrom' in run).toBe(false);
  });

  it("keeps a sweep trial's tag", () => {
    const sweep = { sweepId: 's', index: 2 } as unknown as NonNullable<Parameters<typeof startingRun>[1]['sweep']>;
    expect(startingRun('id-2', { ...fields, sweep }).sweep).toBe(sweep);
  });
});
