import { describe, expect, it } from 'vitest';
import { DB_VERSION, MIGRATIONS, upgradeDatabase, upgradeSteps } from './runStore';

/** What an upgrade asks of the database: a stand-in for idb's database and versionchange transaction. */
function recordingDatabase() {
  const calls: string[] = [];
  const store = (name: string) => ({ createIndex: (index: string, keyPath: string) => calls.push(`index ${name}.${index} on ${keyPath}`) });
  const db = { createObjectStore: (name: string, options?: { keyPath?: string }) => (calls.push(`store ${name}${options?.keyPath ? ` by ${options.keyPath}` : ''}`), store(name)) };
  const tx = { objectStore: store };
  return { calls, db: db as never, tx: tx as never };
}

describe('the runs database: versions and upgrades', () => {
  it('has one migration per version', () => {
    expect(MIGRATIONS).toHaveLength(DB_VERSION);
  });

  it.each([
    { from: 0, steps: [1, 2, 3] },
    { from: 1, steps: [2, 3] },
    { from: 2, steps: [3] },
    { from: DB_VERSION, steps: [] },
  ])('from version $from runs $steps', ({ from, steps }) => {
    expect(upgradeSteps(from)).toEqual(steps);
  });

  it.each([
    { from: 0, calls: ['store runs by id', 'store datasets by key', 'store session', 'index runs.byDataset on datasetKey'] },
    { from: 1, calls: ['store session', 'index runs.byDataset on datasetKey'] },
    // The current schema's upgrade: an index on what version 2 stored, nothing dropped or made again.
    { from: 2, calls: ['index runs.byDataset on datasetKey'] },
    { from: 3, calls: [] },
  ])('upgrading from version $from: $calls', ({ from, calls }) => {
    const fake = recordingDatabase();
    upgradeDatabase(fake.db, from, fake.tx);
    expect(fake.calls).toEqual(calls);
  });
});
