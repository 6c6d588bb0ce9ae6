import type { Page } from '@playwright/test';
import type { TaskSpec, TrainingConfig } from '../src/shared/tasks';
import { expect, test } from './fixtures/studio';
import { test as hubTest } from './fixtures/hub';
import { FIXTURE_TOKEN } from '../src/node/hubTestServer';
import { storageText } from './fixtures/storage';

// The studio's session (dataset, model, template, label words, settings) lives in IndexedDB beside
// the runs: a reload puts it back and says so in one line; "Start fresh" forgets it. The wasm
// backend keeps this quick (nothing is trained here).
test.setTimeout(300_000);

const DB = 'prompt-tuning-studio';

/** The stored session record as the page wrote it (null when there is none). */
function storedSession(page: Page): Promise<Record<string, unknown> | null> {
  return page.evaluate(
    (name) =>
      new Promise<Record<string, unknown> | null>((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains('session')) return db.close(), resolve(null);
          const get = db.transaction('session').objectStore('session').get('current');
          get.onsuccess = () => (db.close(), resolve((get.result as Record<string, unknown> | undefined) ?? null));
          get.onerror = () => (db.close(), reject(get.error));
        };
      }),
    DB,
  );
}

/** Writes the database as the studio's first version (runs and datasets, no session store) left it. */
async function writeVersion1Database(page: Page, run: Record<string, unknown>): Promise<void> {
  await page.evaluate(
    ({ name, run }) =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open(name, 1);
        open.onupgradeneeded = () => {
          open.result.createObjectStore('runs', { keyPath: 'id' });
          open.result.createObjectStore('datasets', { keyPath: 'key' });
        };
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction('runs', 'readwrite');
          tx.objectStore('runs').put(run);
          tx.oncomplete = () => (db.close(), resolve());
          tx.onerror = () => reject(tx.error);
        };
      }),
    { name: DB, run },
  );
}

const spec: TaskSpec = { task: 'classification', template: '{text} It was [MASK].', labelColumn: 'label', textColumns: ['text'], labelWords: { positive: ['good'], negative: ['bad'] } };
const config: TrainingConfig = {
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
};
const oldRun = {
  id: 'run-from-version-1',
  name: 'a run from before sessions were kept',
  createdAt: '2026-11-01T10:00:00.000Z',
  updatedAt: '2026-11-01T10:05:00.000Z',
  status: 'stopped',
  modelId: 'studio-bert-tiny',
  datasetName: 'sentiment.csv',
  datasetKey: null,
  spec,
  config,
  steps: [],
  epochs: [],
  zeroShotAccuracy: null,
  progress: null,
  checkpoint: null,
  outcome: null,
  message: 'stopped by request after step 0',
};

test('the session survives a reload, over a database from before sessions; start fresh forgets it', async ({ studio, page }) => {
  // The page's origin, without the studio on it, holds version 1 of the database with one run.
  await page.route('**/blank.html', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>blank</title>' }));
  await page.goto('/blank.html');
  await writeVersion1Database(page, oldRun);

  await studio.setup('?backend=wasm');
  // The upgrade to the session store kept the run.
  await expect(studio.byId('runs.item')).toHaveCount(1);
  await expect(studio.byId('runs.open')).toHaveText(oldRun.name);
  // A first visit has nothing to restore.
  await expect(studio.byId('session.bar')).toHaveCount(0);

  await studio.byId('data.sample').selectOption('sentiment.csv');
  await studio.byId('data.sample.load').click();
  await studio.expectDataset('sentiment.csv', 300);
  await studio.loadEmbeddedModel('studio-bert-tiny');
  await expect(studio.byId('template.input')).toHaveValue('{text} It was [MASK].'); // the sample's own
  const template = '{text} All in all, it was [MASK].';
  await studio.setTemplate(template);
  await studio.setLabelWords('negative', 'bad, awful');
  await studio.setTraining({ epochs: 3 });
  // Written once the edits pause.
  await expect
    .poll(() => storedSession(page), { timeout: 10_000 })
    .toMatchObject({ template, templateEdited: true, labelWords: { negative: 'bad, awful', positive: 'good, great' }, draft: { epochs: '3' }, model: { kind: 'embedded', id: 'studio-bert-tiny' } });

  await page.reload();
  await studio.setup('?backend=wasm');
  await expect(studio.byId('session.restored')).toHaveText('Restored your session: sentiment.csv, studio-bert-tiny, template, label words, settings (epochs 3).');
  await studio.expectDataset('sentiment.csv', 300);
  await expect(studio.byId('model.summary')).toContainText('studio-bert-tiny');
  await expect(studio.byId('data.textColumn.text')).toBeChecked();
  await expect(studio.byId('data.labelColumn')).toHaveValue('label');
  // The sample's template and words did not replace the restored ones once dataset and model were back.
  await expect(studio.byId('template.preview.example').first()).toContainText('allinall,itwas[MASK]'); // the tokens, lower-cased
  await expect(studio.byId('template.input')).toHaveValue(template);
  await expect(studio.byId('labels.class.negative')).toHaveValue('bad, awful');
  await expect(studio.byId('labels.class.positive')).toHaveValue('good, great');
  await expect(studio.byId('train.epochs')).toHaveValue('3');
  await expect(studio.byId('train.start')).toBeEnabled({ timeout: 30_000 });
  await expect(studio.byId('runs.item')).toHaveCount(1);
  await studio.screenshot('session-1-restored');

  // Start fresh: empty editors and nothing stored; the run stays.
  await studio.byId('session.fresh').click();
  await expect(studio.byId('session.bar')).toHaveCount(0);
  await expect(studio.byId('data.summary')).toHaveCount(0);
  await expect(studio.byId('template.blocked')).toBeVisible();
  await expect(studio.byId('train.epochs')).toHaveValue('20');
  await expect.poll(() => storedSession(page), { timeout: 10_000 }).toBeNull();
  await page.reload();
  await studio.setup('?backend=wasm');
  await expect(studio.byId('runs.item')).toHaveCount(1);
  await expect(studio.byId('train.epochs')).toHaveValue('20');
  await expect(studio.byId('session.bar')).toHaveCount(0);
  await expect(studio.byId('data.summary')).toHaveCount(0);
  expect(studio.errors).toEqual([]);
});

test('what cannot be restored is named, and the rest comes back', async ({ studio, page }) => {
  await studio.setup('?backend=wasm');
  // A session whose dataset is no longer stored and whose model came from local files.
  await page.evaluate(
    (name) =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction('session', 'readwrite');
          tx.objectStore('session').put(
            {
              version: 1,
              savedAt: '2026-11-29T12:00:00.000Z',
              dataset: { key: 'file:gone.csv:1234:1', name: 'gone.csv' },
              mapping: { task: 'classification', textColumns: ['text'], labelColumn: 'label', targetColumn: 'label' },
              model: { kind: 'files', label: 'my-bert' },
              template: '{text} Verdict: [MASK].',
              templateEdited: true,
              labelWords: { yes: 'yes' },
              draft: { epochs: '5', seed: '7' },
            },
            'current',
          );
          tx.oncomplete = () => (db.close(), resolve());
          tx.onerror = () => reject(tx.error);
        };
      }),
    DB,
  );
  await page.reload();
  await studio.setup('?backend=wasm');
  await expect(studio.byId('session.restored')).toHaveText(
    'Restored your session: template, label words, settings (epochs 5, seed 7). Not restored: the dataset “gone.csv” is no longer stored in this browser: load it again in step 1; ' +
      'the model “my-bert” came from local files, which are not kept in the browser: pick them again in step 2.',
  );
  await expect(studio.byId('train.epochs')).toHaveValue('5');
  await expect(studio.byId('train.seed')).toHaveValue('7');
  await expect(studio.byId('runs.list')).toBeVisible();
  await studio.panelShot('session.bar', 'session-2-not-restored');
  expect(studio.errors).toEqual([]);
});

hubTest('a Hub model comes back from the browser cache; its token is never stored, and is asked for once the cache is gone', async ({ studio, hub, page }) => {
  await studio.setup('?backend=wasm');
  await hub.loadById('studio-test/gated-roberta', { token: FIXTURE_TOKEN });
  await expect(hub.summary).toHaveAttribute('data-model-type', 'roberta');
  await expect.poll(() => storedSession(page), { timeout: 10_000 }).toMatchObject({ model: { kind: 'hub', repo: 'studio-test/gated-roberta', usedToken: true } });
  expect(JSON.stringify(await storedSession(page))).not.toContain(FIXTURE_TOKEN);
  // Nowhere in the origin's storage: every IndexedDB record, every Cache Storage entry (the model's
  // files, their request and response headers), localStorage and sessionStorage.
  const stored = await storageText(page);
  expect(stored.indexedDb).toContain('studio-test/gated-roberta'); // the scan reads the session...
  expect(stored.cacheStorage).toContain('config.json'); // ...and the cached model
  for (const [where, text] of Object.entries(stored)) expect(text, where).not.toContain(FIXTURE_TOKEN);

  // Reload: loaded from the cache, without a request (so without the token).
  const before = hub.server.requests.length;
  await page.reload();
  await studio.setup('?backend=wasm');
  await expect(studio.byId('session.restored')).toHaveText('Restored your session: studio-test/gated-roberta.');
  await expect(hub.summary).toHaveAttribute('data-model-type', 'roberta');
  await expect(hub.progress).toHaveAttribute('data-from-cache', 'true');
  expect(hub.requestsSince(before)).toEqual([]);
  // The Hub tab shows the model's id and endpoint again; the token field is empty.
  await expect(hub.id).toHaveValue('studio-test/gated-roberta');
  await expect(hub.endpoint).toHaveValue(hub.server.endpoint);
  await expect(hub.token).toHaveValue('');

  // Without the cache, the gated model needs its token: the line says so.
  await page.getByTestId('hub.cached.delete').click();
  await expect(hub.cachedItems).toHaveCount(0);
  await page.reload();
  await studio.setup('?backend=wasm');
  await expect(studio.byId('session.restored')).toContainText(
    'Your last session could not be restored: the model “studio-test/gated-roberta” needs its access token again (tokens are never stored)',
  );
  await expect(hub.error).toContainText('HTTP 401');
  expect(studio.errors.filter((e) => !e.includes('401'))).toEqual([]);
});

test('the sweep form survives a reload', async ({ studio, page }) => {
  await studio.setup('?backend=wasm');
  await studio.byId('sweep.learningRate').fill('0.01, 0.3');
  await studio.byId('sweep.epochs').fill('2, 4');
  await studio.byId('sweep.labelWords').fill('positive=good; negative=bad\npositive=great; negative=awful');
  await studio.byId('sweep.search').selectOption('random');
  await studio.byId('sweep.randomTrials').fill('3');
  await studio.byId('sweep.budgetSteps').fill('120');
  await studio.byId('sweep.testFraction').fill('0.25');
  await expect
    .poll(() => storedSession(page), { timeout: 10_000 })
    .toMatchObject({ sweep: { learningRate: '0.01, 0.3', epochs: '2, 4', search: 'random', randomTrials: '3', budgetSteps: '120', testFraction: '0.25' } });

  await page.reload();
  await studio.setup('?backend=wasm');
  await expect(studio.byId('session.restored')).toHaveText('Restored your session: sweep form.');
  await expect(studio.byId('sweep.learningRate')).toHaveValue('0.01, 0.3');
  await expect(studio.byId('sweep.promptLength')).toHaveValue('5, 20'); // untouched: the default
  await expect(studio.byId('sweep.epochs')).toHaveValue('2, 4');
  await expect(studio.byId('sweep.labelWords')).toHaveValue('positive=good; negative=bad\npositive=great; negative=awful');
  await expect(studio.byId('sweep.search')).toHaveValue('random');
  await expect(studio.byId('sweep.randomTrials')).toHaveValue('3');
  await expect(studio.byId('sweep.budgetSteps')).toHaveValue('120');
  await expect(studio.byId('sweep.testFraction')).toHaveValue('0.25');
});
