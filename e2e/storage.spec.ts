import type { Page } from '@playwright/test';
import type { TaskSpec, TrainingConfig } from '../src/shared/tasks';
import { expect, test, type StudioPage } from './fixtures/studio';
import { openBlank, readDatabase, STUDIO_DB, writeDatabase } from './fixtures/storage';

// Browser storage never costs a finished run: the runs database upgrades from the current schema
// keeping everything, deleting a run deletes its stored dataset only when nothing else uses it, and
// a full storage or an upgrade blocked by another tab keeps runs in the tab (marked "not saved")
// until they can be written. The wasm backend keeps this quick.
test.setTimeout(400_000);

const spec: TaskSpec = { task: 'classification', template: '{text} It was [MASK].', labelColumn: 'label', textColumns: ['text'], labelWords: { positive: ['good'], negative: ['bad'] } };
const config: TrainingConfig = {
  method: 'prompt',
  mode: 'verbalizer',
  promptLength: 4,
  init: 'labels',
  learningRate: 0.1,
  warmupFraction: 0,
  batchSize: 4,
  epochs: 1,
  maxGradNorm: 1,
  valFraction: 0.2,
  patience: 0,
  seed: 1,
} as TrainingConfig;

/** A dataset as the `datasets` store keeps a pasted one: its key is what runStore.datasetKey gives. */
function dataset(name: string) {
  const text = `text,label\n${name} was good,positive\n${name} was bad,negative\n`;
  return { key: `text:${name}:${text.length}`, source: { kind: 'text', name, text } };
}

function run(id: string, datasetKey: string | null) {
  return {
    id,
    name: `run ${id}`,
    createdAt: `2026-11-0${id.slice(1)}T10:00:00.000Z`,
    updatedAt: '2026-11-10T10:00:00.000Z',
    status: 'completed',
    modelId: 'studio-bert-tiny',
    datasetName: 'x.csv',
    datasetKey,
    spec,
    config,
    steps: [],
    epochs: [],
    zeroShotAccuracy: null,
    progress: null,
    checkpoint: null,
    outcome: null,
    message: null,
  };
}

const runItem = (studio: StudioPage, id: string) => studio.page.locator(`[data-testid="runs.item"][data-run-id="${id}"]`);

async function deleteRun(studio: StudioPage, id: string): Promise<void> {
  await runItem(studio, id).getByTestId('runs.delete').click();
  await runItem(studio, id).getByTestId('runs.delete.confirm').click();
  await expect(runItem(studio, id)).toHaveCount(0);
}

const storedDatasets = async (page: Page) => (await readDatabase(page)).stores.datasets.keys;

test('the database upgrades from the current schema keeping everything; deleting runs deletes only the datasets nothing else uses', async ({ studio, page }) => {
  // Version 2 (the schema before this one): four runs on three datasets, and a session on the third.
  const [a, b, c] = [dataset('a.csv'), dataset('b.csv'), dataset('c.csv')];
  await openBlank(page);
  await writeDatabase(page, 2, {
    runs: [
      ['r1', run('r1', a.key)],
      ['r2', run('r2', a.key)],
      ['r3', run('r3', b.key)],
      ['r4', run('r4', c.key)],
      ['r5', run('r5', null)],
    ],
    datasets: [a, b, c].map((d) => [d.key, d]),
    session: [
      [
        'current',
        {
          version: 1,
          savedAt: '2026-11-10T10:00:00.000Z',
          dataset: { key: c.key, name: 'c.csv' },
          mapping: { task: 'classification', textColumns: ['text'], labelColumn: 'label', targetColumn: 'label' },
          model: null,
          template: '{text} Verdict: [MASK].',
          templateEdited: true,
          labelWords: {},
          draft: {},
        },
      ],
    ],
  });

  await studio.setup('?backend=wasm');
  await expect(studio.byId('runs.item')).toHaveCount(5);
  await expect(studio.byId('session.restored')).toHaveText('Restored your session: c.csv, template.');
  await studio.expectDataset('c.csv', 2);
  const upgraded = await readDatabase(page);
  expect(upgraded.version).toBe(3);
  expect(upgraded.stores.runs).toEqual({ indexes: ['byDataset'], keys: ['r1', 'r2', 'r3', 'r4', 'r5'] });
  expect(upgraded.stores.datasets.keys).toEqual([a.key, b.key, c.key].sort());
  expect(upgraded.stores.session.keys).toEqual(['current']);

  // b.csv: only r3 used it.
  await deleteRun(studio, 'r3');
  await expect.poll(() => storedDatasets(page)).toEqual([a.key, c.key].sort());
  // a.csv: r2 still uses it, then nothing.
  await deleteRun(studio, 'r1');
  await deleteRun(studio, 'r5');
  await expect.poll(() => storedDatasets(page)).toEqual([a.key, c.key].sort());
  await deleteRun(studio, 'r2');
  await expect.poll(() => storedDatasets(page)).toEqual([c.key]);
  // c.csv: the session uses it.
  await deleteRun(studio, 'r4');
  await expect.poll(async () => (await readDatabase(page)).stores.runs.keys).toEqual([]);
  expect(await storedDatasets(page)).toEqual([c.key]);
  await page.reload();
  await studio.setup('?backend=wasm');
  await studio.expectDataset('c.csv', 2);
  expect(studio.errors).toEqual([]);
});

/** Trains a 3-step run on 16 rows and waits for it to finish. */
async function trainTinyRun(studio: StudioPage): Promise<void> {
  await studio.prepareTinySentiment(8);
  await studio.setTraining({ promptLength: 4, batchSize: 4, epochs: 1, valFraction: 0.25, learningRate: 0.1 });
  await studio.startTraining();
  expect(await studio.waitForRunEnd()).toBe('completed');
}

/** Whether leaving the page now would ask first (a `beforeunload` handler cancels the event). */
const leavingAsks = (page: Page) =>
  page.evaluate(() => {
    const event = new Event('beforeunload', { cancelable: true });
    window.dispatchEvent(event);
    return event.defaultPrevented;
  });

test('a full storage keeps the finished run in the tab, marked not saved, until it can be written', async ({ studio, page }) => {
  await studio.setup('?backend=wasm');
  const origin = new URL(page.url()).origin;
  // The browser's own quota, made as small as what this origin already stores (DevTools' "custom storage quota").
  const cdp = await page.context().newCDPSession(page);
  const { usage } = await page.evaluate(() => navigator.storage.estimate());
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: (usage ?? 0) + 1 });

  await trainTinyRun(studio);
  const item = studio.byId('runs.item').first();
  await expect(item.getByTestId('runs.unsaved')).toBeVisible();
  await expect(studio.byId('runs.storageError')).toContainText('Browser storage is full');
  await expect(studio.byId('runs.storageError')).toContainText('QuotaExceededError');
  await expect(studio.byId('runs.unsavedNote')).toContainText('1 run is kept only in this tab');
  // The results are there, and leaving now would ask first.
  await expect(studio.byId('results.tuned.value')).toHaveText(/^\d+\.\d%$/);
  expect(await leavingAsks(page)).toBe(true);
  await studio.screenshot('storage-1-quota');

  // Room again: "Save again" writes it, and a reload finds it.
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  await studio.byId('runs.saveAgain').click();
  await expect(item.getByTestId('runs.unsaved')).toHaveCount(0);
  await expect(studio.byId('runs.unsavedNote')).toHaveCount(0);
  expect(await leavingAsks(page)).toBe(false);
  const tuned = await studio.byId('results.tuned.value').textContent();
  await page.reload();
  await studio.setup('?backend=wasm');
  await expect(studio.byId('runs.item')).toHaveCount(1);
  await expect(studio.byId('runs.item').first()).toHaveAttribute('data-status', 'completed');
  await studio.byId('runs.open').click();
  await expect(studio.byId('results.tuned.value')).toHaveText(tuned!);
  expect(studio.errors.filter((e) => !e.includes('QuotaExceededError'))).toEqual([]);
});

test('an upgrade blocked by another tab keeps runs in this tab, and writes them once that tab lets go', async ({ studio, page, context }) => {
  // Another tab holds the database open at version 2 and ignores requests to close it (an old studio would).
  const other = await context.newPage();
  await openBlank(other);
  await writeDatabase(other, 2, { runs: [['r1', run('r1', null)]] });
  await other.evaluate(
    (name) =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open(name, 2);
        open.onsuccess = () => ((window as unknown as { held: IDBDatabase }).held = open.result, resolve());
        open.onerror = () => reject(open.error);
      }),
    STUDIO_DB,
  );

  await studio.setup('?backend=wasm');
  await expect(studio.byId('runs.storageError')).toContainText('Another tab has this browser’s runs open with an older version of the studio');
  await trainTinyRun(studio);
  const item = studio.byId('runs.item').first();
  await expect(item.getByTestId('runs.unsaved')).toBeVisible();
  expect(await leavingAsks(page)).toBe(true);
  await studio.screenshot('storage-2-blocked');

  // The other tab lets go: the upgrade runs, the old run appears beside the new one, which is written.
  await other.evaluate(() => (window as unknown as { held: IDBDatabase }).held.close());
  await expect(studio.byId('runs.item')).toHaveCount(2);
  await expect(studio.byId('runs.unsaved')).toHaveCount(0);
  await expect(studio.byId('runs.storageError')).toHaveCount(0);
  expect((await readDatabase(page)).version).toBe(3);
  await page.reload();
  await studio.setup('?backend=wasm');
  await expect(studio.byId('runs.item')).toHaveCount(2);
  await expect(studio.page.locator('[data-testid="runs.item"][data-status="completed"]')).toHaveCount(2);
  expect(studio.errors).toEqual([]);
});
