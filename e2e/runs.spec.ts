import { expect, test, tinySentimentCsv } from './fixtures/studio';

// Runs live in IndexedDB: a reload in the middle of training loses only the steps after the last
// checkpoint (a pause takes one), and the run resumes exactly from there, mid-epoch, to the planned
// step count (its dataset comes back from storage too). Rename and delete persist. The wasm backend keeps this spec quicker; WebGPU is covered by studio.spec.ts.
test.setTimeout(600_000);

test('a run interrupted by a reload resumes from its checkpoint; rename and delete survive reloads', async ({ studio, page }) => {
  const started = Date.now();
  await studio.setup('?backend=wasm');
  await studio.uploadCsv('tiny.csv', await tinySentimentCsv(15));
  await studio.expectDataset('tiny.csv', 30);
  await studio.loadEmbeddedModel('studio-bert-tiny');
  await studio.setTemplate('{text} It was [MASK].');
  // Suggested label words: the frozen model's most distinctive words per class; one click adds one.
  await studio.byId('labels.suggest').click();
  const suggestions = studio.byId('labels.suggestions.positive').locator('button.chip:not(.chip-plain)');
  await expect(suggestions.first()).toBeVisible({ timeout: 60_000 });
  await expect(studio.byId('labels.suggestions.negative')).toBeVisible();
  await studio.panelShot('template.panel', 'runs-0-suggestions');
  // A chip reads "+ word 1.23 · 78%" (its separation and zero-shot accuracy); the word is its data-word.
  const word = (await suggestions.first().getAttribute('data-word')) ?? '';
  await studio.setLabelWords('positive', 'good');
  await suggestions.first().click();
  await expect(studio.byId('labels.class.positive')).toHaveValue(word === 'good' ? 'good' : `good, ${word}`);
  await studio.setLabelWords('positive', 'good');
  await studio.setLabelWords('negative', 'bad');
  // 24 training rows, batch 1: 24 steps per epoch, 2 epochs = 48 steps (patience 0: no early stop).
  await studio.byId('train.advanced').click();
  await studio.setTraining({ promptLength: 4, batchSize: 1, epochs: 2, valFraction: 0.2, seed: 1, learningRate: 0.1, patience: 0 });
  await studio.startTraining();

  // Pause in the first epoch: the pause itself checkpoints the run's exact state (Adam, schedule,
  // shuffle position). Once that checkpoint is stored, reload mid-epoch.
  const run = studio.byId('runs.item').first();
  await expect(studio.byId('train.status')).toContainText(/Step [1-9]\d* \/ 48/, { timeout: 180_000 });
  await studio.byId('train.pause').click();
  await expect(run).toHaveAttribute('data-status', 'paused');
  let checkpointStep = 0;
  await expect(async () => {
    const shown = Number((await studio.byId('train.status').textContent())?.match(/Step (\d+) \/ 48/)?.[1]);
    checkpointStep = Number(await run.getAttribute('data-checkpoint-step'));
    expect(checkpointStep).toBe(shown); // the pause's checkpoint holds the step the run stopped at
  }).toPass({ timeout: 60_000 });
  expect(checkpointStep % 24).not.toBe(0); // mid-epoch
  await page.reload();
  await studio.setup('?backend=wasm');
  // The page would restore the session (dataset, model, editors); start fresh, so that resuming has to
  // bring back the run's own dataset and settings.
  await studio.byId('session.fresh').click();
  await expect(run).toHaveAttribute('data-status', 'interrupted');
  await expect(studio.byId('train.message')).toContainText(`the last checkpoint is at step ${checkpointStep}`);
  await studio.screenshot('runs-1-interrupted');

  // Resuming needs the model the run was tuned on; the message says so next to the run.
  await run.getByTestId('runs.resume').click();
  await expect(run.getByTestId('runs.resume.error')).toContainText('Load the model “studio-bert-tiny” in step 2 first');
  await studio.loadEmbeddedModel('studio-bert-tiny');
  await run.getByTestId('runs.resume').click();
  // The dataset is read back from IndexedDB and the editors take the run's settings; training
  // continues after the checkpoint's step.
  await studio.expectDataset('tiny.csv', 30);
  await expect(studio.byId('template.input')).toHaveValue('{text} It was [MASK].');
  await expect(studio.byId('labels.class.positive')).toHaveValue('good');
  await expect(studio.byId('train.batchSize')).toHaveValue('1');
  expect(await studio.waitForRunEnd()).toBe('completed');
  // Exactly the planned steps, every step's loss charted once, both epochs validated.
  await expect(studio.byId('train.status')).toContainText('Step 48 / 48 · epoch 2 / 2');
  await expect(studio.byId('train.valChart')).toHaveAttribute('data-points', '2');
  await expect(studio.byId('train.lossChart')).toHaveAttribute('data-points', '48');
  await expect(studio.byId('results.tuned.value')).toHaveText(/^\d+\.\d%$/);
  await studio.screenshot('runs-2-resumed');

  // A second, shorter run; the first one overlaid on its loss chart for comparison.
  await studio.setTraining({ epochs: 1, batchSize: 4, learningRate: 0.3 });
  await studio.startTraining();
  expect(await studio.waitForRunEnd()).toBe('completed');
  await expect(studio.byId('runs.item')).toHaveCount(2);
  const first = studio.byId('runs.item').nth(1); // newest first
  const curves = studio.byId('train.lossChart').locator('path.recharts-curve');
  await expect(curves).toHaveCount(2); // raw and smoothed
  await first.getByTestId('runs.overlay').check();
  await expect(curves).toHaveCount(3);
  await expect(studio.byId('train.lossChart')).toContainText('tiny.csv · studio-bert-tiny · #1');
  await studio.panelShot('train.panel', 'runs-3-overlay');
  await studio.byId('runs.item').first().getByTestId('runs.delete').click();
  await studio.byId('runs.delete.confirm').click();
  await expect(studio.byId('runs.item')).toHaveCount(1);

  // Rename, reload: the new name stays.
  await run.getByTestId('runs.rename').click();
  await studio.byId('runs.rename.input').fill('first prompt');
  await studio.byId('runs.rename.save').click();
  await expect(run.getByTestId('runs.open')).toHaveText('first prompt');
  await page.reload();
  await studio.setup('?backend=wasm');
  await expect(run.getByTestId('runs.open')).toHaveText('first prompt');
  await expect(run).toHaveAttribute('data-status', 'completed');

  // Delete (with a confirmation), reload: it stays gone.
  await run.getByTestId('runs.delete').click();
  await studio.byId('runs.delete.confirm').click();
  await expect(studio.byId('runs.item')).toHaveCount(0);
  await page.reload();
  await studio.setup('?backend=wasm');
  await expect(studio.byId('runs.list')).toContainText('No runs yet');
  expect(studio.errors).toEqual([]);
  console.log(`runs.spec: ${(Date.now() - started) / 1000}s`);
});
