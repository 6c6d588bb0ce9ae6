import { expect, test } from './fixtures/studio';

// Stop reaches the phases besides the steps: the zero-shot baseline and the final evaluation end
// within a second or two, and while they run the page names them and counts their rows instead of
// sitting at "ETA 0:00". A large validation split (270 of the sentiment sample's 300 rows) makes
// each evaluation pass take a few seconds on wasm.
test.setTimeout(240_000);

test('Stop during the zero-shot baseline and during the final evaluation ends the run within seconds; both phases show their progress', async ({ studio, page }) => {
  await studio.setup('?backend=wasm');
  await studio.loadEmbeddedModel('studio-bert-tiny');
  await studio.byId('data.sample').selectOption('sentiment.csv');
  await studio.byId('data.sample.load').click();
  await studio.expectDataset('sentiment.csv', 300);
  await studio.setTraining({ valFraction: 0.9, epochs: 1, batchSize: 16 });

  const phase = studio.byId('train.phase');
  const stopWithin = async (ms: number) => {
    const clicked = Date.now();
    await studio.byId('train.stop').click();
    await expect(studio.byId('train.state')).toHaveText('stopped', { timeout: ms });
    return Date.now() - clicked;
  };

  // 1. The zero-shot baseline, before any step.
  await studio.startTraining();
  await expect(phase).toHaveAttribute('data-stage', 'zero-shot baseline', { timeout: 30_000 });
  await expect(phase).toContainText(/^Zero-shot baseline: \d+ \/ 270 rows/);
  expect(await stopWithin(3000)).toBeLessThan(3000);
  await expect(studio.byId('train.message')).toHaveText('stopped by request during the zero-shot baseline, before training');

  // 2. The final evaluation, after the steps: its own line, not "ETA 0:00".
  await studio.startTraining();
  await expect(phase).toHaveAttribute('data-stage', 'final evaluation', { timeout: 120_000 });
  await expect(phase).toContainText(/^Final evaluation: \d+ \/ 270 rows/);
  await expect(studio.byId('train.status')).toContainText('ETA – (final evaluation)');
  await studio.panelShot('train.panel', 'stop-1-final-evaluation');
  expect(await stopWithin(3000)).toBeLessThan(3000);
  await expect(studio.byId('train.message')).toHaveText(/^stopped by request during the final evaluation, after all \d+ steps: the prompt is trained; its results are partial$/);
  await expect(phase).toHaveCount(0);
  expect(studio.errors).toEqual([]);
  void page;
});
