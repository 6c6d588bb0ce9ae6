import type { Page } from '@playwright/test';
import { expect, test, type StudioPage } from './fixtures/studio';
import { tapWorker } from './fixtures/workerTap';
import { PING_INTERVAL_MS, WORKER_SILENCE_MS } from '../src/ui/heartbeat';

// Faults the page survives: its worker crashing (an uncaught error outside any request, as a
// crash looks to the page) and its WebGPU device being lost (`device.destroy()`). Either way the
// client starts a new worker, which chooses its backend again and loads the model and dataset
// again, and the run in training goes on from its last checkpoint, said in one line. Both are
// caused through the worker's test hooks (src/worker/faults.ts) with Playwright's worker.evaluate.
test.setTimeout(600_000);

async function prepare(studio: StudioPage, settings: Parameters<StudioPage['setTraining']>[0]) {
  await studio.prepareTinySentiment(8);
  await studio.byId('train.advanced').click();
  await studio.setTraining({ promptLength: 4, valFraction: 0.25, seed: 1, learningRate: 0.1, patience: 0, ...settings });
}

/** The studio's one worker (the page starts another only after a fault; wasm's threads are blob: workers). */
function studioWorker(page: Page) {
  const workers = page.workers().filter((w) => !w.url().startsWith('blob:'));
  expect(workers).toHaveLength(1);
  return workers[0];
}

/** Requests of `kind` the page sent, in order. */
const requests = (page: Page, kind: string) =>
  page.evaluate((kind) => (window.__studioWorkerTap?.log ?? []).filter((m) => m.direction === 'request' && m.kind === kind).length, kind);

test('a worker that crashes mid-run is replaced, and the run resumes from its last checkpoint', async ({ studio, page }) => {
  await tapWorker(page);
  await studio.setup('?backend=wasm');
  // 12 training rows, batch 1, 3 epochs: 36 steps, checkpoints at 12, 24, 25 and 36.
  await prepare(studio, { batchSize: 1, epochs: 3 });
  await studio.startTraining();
  const run = studio.byId('runs.item').first();
  await expect(run).toHaveAttribute('data-checkpoint-step', /^\d+$/, { timeout: 180_000 });
  const oldWorker = studioWorker(page);
  await oldWorker.evaluate(() => (self as unknown as { __studioFaults: { crash(m: string): void } }).__studioFaults.crash('simulated crash'));

  const notice = studio.byId('studio.restart');
  await expect(notice).toHaveAttribute('data-run', 'resumed', { timeout: 120_000 });
  const text = (await notice.textContent()) ?? '';
  expect(text).toMatch(
    /^The worker stopped \(the worker failed: Uncaught Error: simulated crash\) and was restarted on WASM with studio-bert-tiny and tiny\.csv; run “tiny\.csv · studio-bert-tiny · #1” resumed from step (12|24|25|36)\./,
  );
  // One message: no panel shows an error of its own.
  await expect(page.locator('[role="alert"]:visible')).toHaveCount(0);
  expect(await studio.waitForRunEnd()).toBe('completed');
  // Exactly the planned steps, each step's loss charted once, every epoch validated.
  await expect(studio.byId('train.status')).toContainText('Step 36 / 36 · epoch 3 / 3');
  await expect(studio.byId('train.lossChart')).toHaveAttribute('data-points', '36');
  await expect(studio.byId('train.valChart')).toHaveAttribute('data-points', '3');
  await expect(studio.byId('results.tuned.value')).toHaveText(/^\d+\.\d%$/);
  // One new worker, set up once: the backend chosen again, the model and dataset loaded again.
  expect(await requests(page, 'init')).toBe(2);
  expect(await requests(page, 'loadModel')).toBe(2);
  expect(await requests(page, 'loadDataset')).toBe(2);
  expect(await requests(page, 'train')).toBe(2);
  expect(studioWorker(page)).not.toBe(oldWorker);
  await expect(studio.backendBadge).toHaveAttribute('data-backend', 'wasm');
  await studio.screenshot('faults-1-worker-crash');
  // The run is the same one, kept in the store.
  await expect(studio.byId('runs.item')).toHaveCount(1);
  await expect(run).toHaveAttribute('data-status', 'completed');
  expect(studio.errors).toEqual([]);
});

test('a worker that stops answering without an error event is found by the heartbeat and replaced; runs are kept and the run resumes', async ({ studio, page }) => {
  // The page's clock is Playwright's (time flows as usual), so the heartbeat's two minutes of silence can be run through at once.
  await page.clock.install();
  await tapWorker(page);
  await studio.setup('?backend=wasm');
  // A first run that completes (12 training rows, batch 4, 1 epoch: 3 steps): it must come through untouched.
  await prepare(studio, { batchSize: 4, epochs: 1 });
  await studio.startTraining();
  expect(await studio.waitForRunEnd()).toBe('completed');
  const first = studio.byId('runs.item').first();
  const firstId = await first.getAttribute('data-run-id');
  const firstAccuracy = await studio.byId('results.tuned.value').textContent();
  // The second: batch 1, 3 epochs: 36 steps, checkpoints at 12, 24, 25 and 36.
  await studio.setTraining({ batchSize: 1, epochs: 3 });
  await studio.startTraining();
  await expect(studio.byId('runs.item')).toHaveCount(2);
  const run = studio.byId('runs.item').first(); // newest first
  await expect(run).toHaveAttribute('data-checkpoint-step', /^\d+$/, { timeout: 180_000 });
  const oldWorker = studioWorker(page);
  // Stuck for good, with no error event: only the heartbeat can tell.
  await oldWorker.evaluate(() => (self as unknown as { __studioFaults: { hang(): void } }).__studioFaults.hang());
  const notice = studio.byId('studio.restart');
  await page.clock.runFor(WORKER_SILENCE_MS - 2 * PING_INTERVAL_MS);
  expect(await requests(page, 'init')).toBe(1); // not replaced before the limit (a restart sends init at once)
  // The limit is at least WORKER_SILENCE_MS, more when this worker has come back from a long silence
  // before (4x it: a slow step on a loaded machine): run the clock on, a ping interval at a time,
  // until the notice shows.
  let silentMs = WORKER_SILENCE_MS - 2 * PING_INTERVAL_MS;
  await expect
    .poll(
      async () => {
        await page.clock.runFor(PING_INTERVAL_MS);
        silentMs += PING_INTERVAL_MS;
        return notice.count();
      },
      { timeout: 120_000 },
    )
    .toBe(1);
  expect(silentMs).toBeGreaterThan(WORKER_SILENCE_MS);
  await expect(notice).toHaveAttribute('data-run', 'resumed', { timeout: 120_000 });
  expect((await notice.textContent()) ?? '').toMatch(
    /^The worker stopped \(the worker did not answer for \d+ s\) and was restarted on WASM with studio-bert-tiny and tiny\.csv; run “tiny\.csv · studio-bert-tiny · #2” resumed from step (12|24|25|36)\./,
  );
  await expect(page.locator('[role="alert"]:visible')).toHaveCount(0);
  // The stuck worker was terminated, not left spinning beside the new one. The page terminates it at once
  // (StudioClient.crashed); Chromium's teardown of a thread blocked in Atomics.wait, with its wasm pthreads,
  // reached Playwright after more than 30 s once under a full CI run's load, hence the patience.
  await expect.poll(() => page.workers().includes(oldWorker), { timeout: 90_000 }).toBe(false);
  expect(studioWorker(page)).not.toBe(oldWorker);
  expect(await studio.waitForRunEnd()).toBe('completed');
  await expect(studio.byId('train.status')).toContainText('Step 36 / 36 · epoch 3 / 3');
  await expect(studio.byId('train.lossChart')).toHaveAttribute('data-points', '36');
  expect(await requests(page, 'init')).toBe(2);
  expect(await requests(page, 'train')).toBe(3);
  await studio.screenshot('faults-4-worker-silent');
  // Nothing the user made is lost: both runs are there, the first as it was.
  await expect(studio.byId('runs.item')).toHaveCount(2);
  await expect(run).toHaveAttribute('data-status', 'completed');
  const kept = studio.byId('runs.item').nth(1);
  await expect(kept).toHaveAttribute('data-run-id', firstId!);
  await expect(kept).toHaveAttribute('data-status', 'completed');
  await kept.getByTestId('runs.open').click();
  await expect(studio.byId('results.tuned.value')).toHaveText(firstAccuracy!);
  expect(studio.errors).toEqual([]);
});

test('a lost WebGPU device: a new worker chooses WebGPU again, and the paused run stays paused at its checkpoint, then finishes', async ({ studio, page }) => {
  await tapWorker(page);
  await studio.setup('?backend=webgpu');
  await expect(studio.backendBadge).toHaveText(/WebGPU/);
  // 12 training rows, batch 2, 1 epoch: 6 steps (no validation until the end, which a slow software GPU would make the pause wait for).
  await prepare(studio, { batchSize: 2, epochs: 1 });
  await studio.startTraining();
  const run = studio.byId('runs.item').first();
  await expect(studio.byId('train.status')).toContainText(/Step [1-4] \/ 6/, { timeout: 240_000 });
  await studio.byId('train.pause').click();
  await expect(run).toHaveAttribute('data-status', 'paused');
  let checkpointStep = 0;
  await expect(async () => {
    const shown = Number((await studio.byId('train.status').textContent())?.match(/Step (\d+) \/ 6/)?.[1]);
    checkpointStep = Number(await run.getAttribute('data-checkpoint-step'));
    expect(checkpointStep).toBe(shown); // the pause's checkpoint holds the step the run stopped at
  }).toPass({ timeout: 240_000 });

  expect(await studioWorker(page).evaluate(() => (self as unknown as { __studioFaults: { loseWebGpuDevice(): boolean } }).__studioFaults.loseWebGpuDevice())).toBe(true);
  const notice = studio.byId('studio.restart');
  await expect(notice).toHaveAttribute('data-run', 'resumed', { timeout: 120_000 });
  await expect(notice).toContainText(
    `The worker stopped (the WebGPU device was destroyed) and was restarted on WebGPU with studio-bert-tiny and tiny.csv; run “tiny.csv · studio-bert-tiny · #1” resumed from step ${checkpointStep}.`,
  );
  await expect(studio.backendBadge).toHaveText(/WebGPU/);
  // Still paused, where it was.
  await expect(studio.byId('train.state')).toHaveText('paused');
  await expect(run).toHaveAttribute('data-status', 'paused');
  await expect(run).toHaveAttribute('data-checkpoint-step', String(checkpointStep));
  expect(await requests(page, 'pauseTraining')).toBe(2);
  await studio.screenshot('faults-2-device-lost-paused');

  await studio.byId('train.resume').click();
  expect(await studio.waitForRunEnd()).toBe('completed');
  await expect(studio.byId('train.status')).toContainText('Step 6 / 6 · epoch 1 / 1');
  await expect(studio.byId('train.lossChart')).toHaveAttribute('data-points', '6');
  await expect(studio.byId('train.valChart')).toHaveAttribute('data-points', '1');
  expect(await requests(page, 'init')).toBe(2);
  expect(studio.errors).toEqual([]);
});

test('a panel that throws while rendering leaves a page that offers a reload, and the runs are there after it', async ({ studio, page }) => {
  await studio.setup('?backend=wasm');
  // 12 training rows, batch 4, 1 epoch: 3 steps.
  await prepare(studio, { batchSize: 4, epochs: 1 });
  await studio.startTraining();
  expect(await studio.waitForRunEnd()).toBe('completed');
  await expect(studio.byId('results.tuned.value')).toHaveText(/^\d+\.\d%$/);
  const runId = await studio.byId('runs.item').getAttribute('data-run-id');

  // The Results panel throws while rendering (the worker's test hook asks it to).
  await studioWorker(page).evaluate(() => (self as unknown as { __studioFaults: { breakPanel(panel: string): void } }).__studioFaults.breakPanel('results'));
  const crashed = studio.byId('studio.crashed');
  await expect(crashed).toBeVisible();
  await expect(crashed).toHaveAttribute('role', 'alert');
  await expect(studio.byId('studio.crashed.message')).toHaveText('test fault: the results panel threw while rendering');
  await expect(crashed).toContainText('Your runs are stored in this browser and were not touched');
  // Not a blank page: the header and the status line are still there; the panels are gone.
  await expect(studio.backendBadge).toHaveAttribute('data-backend', 'wasm');
  await expect(studio.status).toContainText('Ready');
  await expect(studio.byId('data.panel')).toHaveCount(0);
  await studio.screenshot('faults-3-render-error');
  // The only errors are the fault's own (React's report and the boundary's line).
  expect(studio.errors.length).toBeGreaterThan(0);
  for (const e of studio.errors) expect(e).toContain('test fault: the results panel threw while rendering');

  await Promise.all([page.waitForEvent('load'), studio.byId('studio.reload').click()]);
  await expect(studio.app).toHaveAttribute('data-state', 'ready', { timeout: 120_000 });
  await expect(studio.byId('runs.item')).toHaveCount(1);
  await expect(studio.byId('runs.item')).toHaveAttribute('data-run-id', runId!);
  await expect(studio.byId('runs.item')).toHaveAttribute('data-status', 'completed');
});
