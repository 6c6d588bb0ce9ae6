import { readFile } from 'node:fs/promises';
import { expect, test } from './fixtures/studio';

// A 2x2 sweep in the page (learning rate x prompt length) on the embedded BERT: each trial is an
// ordinary run kept in IndexedDB; stopped in its second trial and resumed after a reload, it runs
// only the trials it had left; the table compares them on validation, only the winner gets a test
// score (on rows held out before any trial), and the winner exports with the sweep's table.
test.setTimeout(600_000);

test('a 2x2 sweep runs its trials as runs, tests only the winner on held-out rows, and exports it', async ({ studio, page }) => {
  await studio.setup('?backend=wasm');
  await studio.prepareTinySentiment(10);
  // 20 rows: 4 held out for the test (0.2 of each class); of the 16 left, 4 validate and 12 train:
  // 6 steps of 2 per trial.
  await studio.byId('train.advanced').click();
  await studio.setTraining({ batchSize: 2, epochs: 1, valFraction: 0.25, patience: 0, seed: 3 });
  await studio.byId('sweep.learningRate').fill('0.03, 0.3');
  await studio.byId('sweep.promptLength').fill('2, 4');
  await studio.byId('sweep.testFraction').fill('0.2');
  await expect(studio.byId('sweep.count')).toHaveText('4 trials (2 × 2), one after another.');
  await expect(studio.byId('sweep.start')).toBeEnabled({ timeout: 30_000 });
  await studio.byId('sweep.start').click();
  // Training is one thing at a time: the Training panel waits for the sweep.
  await expect(studio.byId('train.start')).toBeDisabled();

  // Stop in the second trial: the first has ended, the second stops (checkpointed) or has just ended.
  await expect(studio.byId('sweep.status')).toContainText('trial 2 running', { timeout: 240_000 });
  await studio.byId('sweep.stop').click();
  await expect(studio.byId('sweep.state')).toHaveText('stopped', { timeout: 120_000 });
  await expect(studio.byId('sweep.row').first()).toHaveAttribute('data-status', 'completed');
  await expect(studio.byId('sweep.row').nth(3)).toHaveAttribute('data-status', 'pending');
  await expect(studio.byId('sweep.testAccuracy')).toHaveCount(0);
  await studio.panelShot('sweep.panel', 'sweeps-0-stopped');

  // After a reload (starting fresh, so resuming must bring back the sweep's dataset) it resumes.
  await page.reload();
  await studio.setup('?backend=wasm');
  await studio.byId('session.fresh').click();
  await expect(studio.byId('sweep.state')).toHaveText('stopped');
  await studio.loadEmbeddedModel('studio-bert-tiny');
  await studio.byId('sweep.resume').click();
  await studio.expectDataset('tiny.csv', 20);
  await expect(studio.byId('sweep.state')).toHaveText('completed', { timeout: 480_000 });

  const rows = studio.byId('sweep.row');
  await expect(rows).toHaveCount(4);
  for (let i = 0; i < 4; i++) await expect(rows.nth(i)).toHaveAttribute('data-status', 'completed');
  await expect(studio.byId('sweep.table').locator('tr[data-winner="true"]')).toHaveCount(1);
  await expect(studio.byId('sweep.testAccuracy')).toHaveText(/^\d+\.\d%$/);
  await expect(studio.byId('sweep.summary')).toContainText('picked on validation accuracy among 4 compared trials (of 4 planned)');
  await expect(studio.byId('sweep.summary')).toContainText('On the 4 held-out rows that no trial trained or validated on');
  // Each trial is an ordinary run in the runs list, with its settings in its name (the resumed one once).
  await expect(studio.byId('runs.item')).toHaveCount(4);
  await expect(studio.byId('runs.list')).toContainText('Sweep 1 · trial 4: lr 0.3 · prompt length 4');
  // The trials' loss charts hold all 6 steps each (the stopped one's before and after the stop).
  await studio.byId('sweep.row').nth(1).click();
  await expect(studio.byId('train.lossChart')).toHaveAttribute('data-points', '6');
  await expect(studio.byId('sweep.chart.learningRate')).toHaveAttribute('data-points', '4');
  await expect(studio.byId('sweep.chart.promptLength')).toHaveAttribute('data-points', '4');

  // Sorted by validation accuracy, best first.
  await studio.byId('sweep.sort.valAccuracy').click();
  const accuracies = (await rows.locator('td:nth-child(5)').allInnerTexts()).map((t) => Number(t.replace('%', '')));
  expect(accuracies).toEqual([...accuracies].sort((a, b) => b - a));

  // The four loss curves together on the Training panel's chart (the winner's plus three overlays).
  await studio.byId('sweep.overlay').click();
  await expect(studio.byId('train.lossChart').locator('.chart-legend-item')).toHaveCount(2 + 3);
  await studio.panelShot('sweep.panel', 'sweeps-1-completed');
  await studio.panelShot('train.panel', 'sweeps-2-overlaid');

  // Export the winner: its prompt, and the sweep's table and test in metrics.json.
  const winner = studio.byId('sweep.table').locator('tr[data-winner="true"]');
  const lr = (await winner.locator('td:nth-child(2)').innerText()).trim();
  const length = (await winner.locator('td:nth-child(3)').innerText()).trim();
  const [zip] = await Promise.all([page.waitForEvent('download'), studio.byId('sweep.exportWinner').click()]);
  const { unzipSync } = await import('fflate');
  const files = unzipSync(new Uint8Array(await readFile((await zip.path()) as string)));
  const metrics = JSON.parse(new TextDecoder().decode(files['metrics.json']));
  expect(metrics.sweep).toMatchObject({ planned: 4, compared: 4, test: { rows: 4 } });
  expect(metrics.sweep.trials).toHaveLength(4);
  const prompt = JSON.parse(new TextDecoder().decode(files['prompt.json']));
  expect(prompt.hyperparameters).toMatchObject({ learningRate: Number(lr), promptLength: Number(length) });
  expect(prompt.numTokens).toBe(Number(length));

  // "Use the winner's settings" puts them into the Training panel.
  await studio.byId('sweep.useWinner').click();
  await expect(studio.byId('train.learningRate')).toHaveValue(lr);
  await expect(studio.byId('train.promptLength')).toHaveValue(length);
  expect(studio.errors).toEqual([]);
});

// Two label-word sets, cross-validated on 2 folds (nothing held out): the consistency table has one
// row per class and set (2 x 2), each class's verdict counted over the 2 folds.
test('a label-word sweep with 2 folds shows the per-class consistency of the word sets', async ({ studio }) => {
  await studio.setup('?backend=wasm');
  await studio.prepareTinySentiment(10);
  // 2 folds of 10 rows: each fold run trains on 10 rows, 10 steps of 2 over 2 epochs.
  await studio.byId('train.advanced').click();
  await studio.setTraining({ learningRate: 0.3, promptLength: 4, batchSize: 2, epochs: 2, valFraction: 0.25, patience: 0, seed: 3 });
  await studio.byId('sweep.learningRate').fill('');
  await studio.byId('sweep.promptLength').fill('');
  await studio.byId('sweep.labelWords').fill('positive=good; negative=bad\npositive=great; negative=terrible');
  // A held-out share of 0 is refused without folds, allowed with them.
  await studio.byId('sweep.testFraction').fill('0');
  await expect(studio.byId('sweep.start')).toBeDisabled();
  await studio.byId('sweep.folds').fill('1');
  await expect(studio.byId('sweep.panel')).toContainText('a whole number of folds from 2 to 10, or empty for none');
  await studio.byId('sweep.folds').fill('2');
  await expect(studio.byId('sweep.count')).toHaveText('2 trials (2), one after another, each trained 2 times (once per fold).');
  await expect(studio.byId('sweep.start')).toBeEnabled({ timeout: 30_000 });
  await studio.byId('sweep.start').click();
  await expect(studio.byId('sweep.state')).toHaveText('completed', { timeout: 300_000 });

  await expect(studio.byId('sweep.row')).toHaveCount(2);
  await expect(studio.byId('sweep.summary')).toContainText('mean over 2 folds');
  await expect(studio.byId('sweep.summary')).toContainText('No rows were held out, so there is no test score');
  const table = studio.byId('sweep.consistency');
  await expect(table).toHaveAttribute('data-over', 'folds');
  const rows = studio.byId('sweep.consistency.row');
  await expect(rows).toHaveCount(4);
  await expect(table.locator('tr[data-class="positive"]')).toHaveCount(2);
  await expect(table.locator('tr[data-class="negative"]')).toHaveCount(2);
  // Sets named after their words, class by class in class-name order.
  await expect(rows.locator('td:nth-of-type(1)')).toHaveText(['bad / good', 'terrible / great', 'bad / good', 'terrible / great']);
  // Each class has a row in each of the 2 folds, so wins are counted out of 2.
  for (const text of await rows.locator('td:nth-of-type(2)').allInnerTexts()) expect(text).toMatch(/^[0-2] of 2$/);
  const verdicts = studio.byId('sweep.consistency.verdict');
  await expect(verdicts).toHaveCount(2);
  for (const text of await verdicts.allInnerTexts()) expect(text).toMatch(/^(stable: .+ wins in 2 of 2 folds|lucky: winners differ .+|undecided: .+)$/);
  await studio.panelShot('sweep.panel', 'sweeps-3-label-words');
  expect(studio.errors).toEqual([]);
});

// A generation sweep on the embedded GPT-2 with the antonyms sample: 2 learning rates, 1 epoch of a
// few large batches each. Label-word sets and folds are refused for generation at their fields; the
// table shows the generation columns (validation loss per target token, exact match, token F1), the
// winner (lowest validation loss) and only its held-out loss; the summary sets the winner's held-out
// exact match and token F1 beside the template alone's.
test('a generation sweep over 2 learning rates picks the lowest validation loss and tests it on held-out rows', async ({ studio }) => {
  await studio.setup('?backend=wasm');
  await studio.byId('data.sample').selectOption('antonyms.csv');
  await studio.byId('data.sample.load').click();
  await studio.expectDataset('antonyms.csv', 201);
  await expect(studio.byId('data.task.generation')).toBeChecked();
  await studio.loadEmbeddedModel('studio-gpt2-tiny');
  await expect(studio.byId('template.input')).toHaveValue('The opposite of {input} is');
  // 201 rows: 10 held out for the test (0.05); of the 191 left, 10 validate and 181 train: 6 steps of 32.
  await studio.byId('train.advanced').click();
  await studio.setTraining({ promptLength: 2, batchSize: 32, epochs: 1, valFraction: 0.05, patience: 0, seed: 3 });
  await studio.byId('sweep.learningRate').fill('0.03, 0.3');
  await studio.byId('sweep.promptLength').fill('');
  await studio.byId('sweep.testFraction').fill('0.05');
  await expect(studio.byId('sweep.count')).toHaveText('2 trials (2), one after another.');
  await expect(studio.byId('sweep.start')).toBeEnabled({ timeout: 30_000 });

  // What a generation sweep cannot do is refused at its field, and Start waits until it is cleared.
  await studio.byId('sweep.labelWords').fill('a=b; c=d');
  await expect(studio.byId('sweep.panel')).toContainText('Label-word sets are for classification sweeps: a generation task has no label words.');
  await expect(studio.byId('sweep.start')).toBeDisabled();
  await studio.byId('sweep.labelWords').fill('');
  await studio.byId('sweep.folds').fill('2');
  await expect(studio.byId('sweep.panel')).toContainText('Cross-validation is for classification sweeps');
  await expect(studio.byId('sweep.start')).toBeDisabled();
  await studio.byId('sweep.folds').fill('');
  await expect(studio.byId('sweep.start')).toBeEnabled();

  await studio.byId('sweep.start').click();
  await expect(studio.byId('sweep.state')).toHaveText('completed', { timeout: 480_000 });

  const rows = studio.byId('sweep.row');
  await expect(rows).toHaveCount(2);
  for (let i = 0; i < 2; i++) await expect(rows.nth(i)).toHaveAttribute('data-status', 'completed');
  const headings = await studio.byId('sweep.table').locator('thead th').allInnerTexts();
  expect(headings.map((h) => h.trim())).toEqual(['# ▲', 'learning rate', 'status', 'val. loss / token', 'val. exact match', 'val. token F1', 'test loss / token', 'steps', 'time']);
  for (const cell of await rows.locator('td[data-score="valLoss"]').allInnerTexts()) expect(cell).toMatch(/^\d+\.\d{3}$/);
  for (const cell of await rows.locator('td[data-score="valExactMatch"]').allInnerTexts()) expect(cell).toMatch(/^\d+\.\d%$/);
  for (const cell of await rows.locator('td[data-score="valTokenF1"]').allInnerTexts()) expect(cell).toMatch(/^\d+\.\d%$/);
  // The winner is the trial with the lowest validation loss, and only it has a held-out loss.
  const winner = studio.byId('sweep.table').locator('tr[data-winner="true"]');
  await expect(winner).toHaveCount(1);
  const losses = (await rows.locator('td[data-score="valLoss"]').allInnerTexts()).map(Number);
  expect(Number(await winner.locator('td[data-score="valLoss"]').innerText())).toBe(Math.min(...losses));
  // Sorted by validation loss, the best (lowest) first.
  await studio.byId('sweep.sort.valLoss').click();
  await expect(studio.byId('sweep.sort.valLoss')).toHaveText('val. loss / token ▲');
  await expect(rows.first()).toHaveAttribute('data-winner', 'true');
  await expect(studio.byId('sweep.testLoss')).toHaveCount(1);
  await expect(studio.byId('sweep.testLoss')).toHaveText(/^\d+\.\d{3}$/);
  await expect(winner.getByTestId('sweep.testLoss')).toHaveCount(1);
  await expect(studio.byId('sweep.summary')).toContainText('picked on the lowest validation loss per target token among 2 compared trials (of 2 planned)');
  await expect(studio.byId('sweep.summary')).toContainText(/On the 10 held-out rows that no trial trained or validated on: loss \d+\.\d{3} per target token, exact match \d+\.\d%, token F1 \d+\.\d% \(the template alone: exact match \d+\.\d%, token F1 \d+\.\d%\)/);
  await expect(studio.byId('sweep.chart.learningRate')).toHaveAttribute('data-points', '2');
  await expect(studio.byId('runs.item')).toHaveCount(2);
  await studio.panelShot('sweep.panel', 'sweeps-4-generation');
  expect(studio.errors).toEqual([]);
});
