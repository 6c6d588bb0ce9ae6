import { expect, test } from './fixtures/studio';

// Data that would train nonsense (src/session/warnings.ts, the same checks the CLI stops on without
// --force): the Training panel lists it before Start, and Start asks before training on it. The
// wasm backend keeps this quick.
test.setTimeout(300_000);

/** 12 rows of two classes, one "rare" row, and a `note` column of zero-width characters only. */
const CSV = [
  'text,note,label',
  ...Array.from({ length: 12 }, (_, i) => `${i % 2 ? 'A lovely warm evening' : 'A dull cold morning'} number ${i},\u200b,${i % 2 ? 'positive' : 'negative'}`),
  'Something else entirely,\u200b,rare',
].join('\n');

test('warnings before Start: listed in the Training panel, and Start asks first', async ({ studio }) => {
  await studio.setup('?backend=wasm');
  await studio.uploadCsv('warn.csv', CSV);
  await studio.expectDataset('warn.csv', 13);
  await studio.loadEmbeddedModel('studio-bert-tiny');
  await studio.setTemplate('{text} It was [MASK].');
  await studio.setLabelWords('positive', 'good');
  await studio.setLabelWords('negative', 'bad');
  await studio.setLabelWords('rare', 'odd');
  await studio.setTraining({ promptLength: 2, epochs: 1, batchSize: 4, valFraction: 0.25 });

  // A class of one example: the same message the CLI prints.
  const warnings = studio.byId('train.warning');
  await expect(warnings).toHaveCount(1);
  await expect(warnings.first()).toHaveAttribute('data-kind', 'small-classes');
  await expect(warnings.first()).toHaveText('1 of 3 classes have fewer than 5 examples ("rare" 1): too few to learn them or to validate on them; add examples or merge classes');
  // No validation rows, and a template whose only column holds zero-width characters: three warnings.
  await studio.setTraining({ valFraction: 0 });
  await studio.setTemplate('{note} It was [MASK].');
  await expect(warnings).toHaveCount(3);
  expect(await warnings.evaluateAll((items) => items.map((li) => li.getAttribute('data-kind')))).toEqual(['small-classes', 'no-validation', 'no-text']);
  await expect(studio.byId('train.warnings')).toContainText('no row is held out for validation (13 rows, validation split 0)');
  await expect(studio.byId('train.warnings')).toContainText("every row's text is empty after the template (columns note hold only spaces, control or zero-width characters)");
  await studio.panelShot('train.panel', 'warnings-1-listed');

  // Start asks first; Cancel trains nothing.
  await expect(studio.byId('train.start')).toBeEnabled({ timeout: 30_000 });
  await studio.byId('train.start').click();
  await expect(studio.byId('train.confirm')).toContainText('Train anyway?');
  await studio.byId('train.start.cancel').click();
  await expect(studio.byId('train.confirm')).toHaveCount(0);
  await expect(studio.byId('runs.item')).toHaveCount(0);

  // Fixing two of them changes the warnings, and a new confirmation is needed.
  await studio.setTemplate('{text} It was [MASK].');
  await studio.setTraining({ valFraction: 0.25 });
  await expect(warnings).toHaveCount(1);
  await studio.byId('train.start').click();
  await studio.byId('train.start.confirm').click();
  await expect(studio.byId('train.state')).toHaveText(/training|completed/);
  expect(await studio.waitForRunEnd()).toBe('completed');
  await expect(studio.byId('runs.item')).toHaveCount(1);

  // Data without any of these: Start starts at once.
  await studio.uploadCsv('fine.csv', CSV.split('\n').filter((l) => !l.endsWith(',rare')).join('\n'));
  await studio.expectDataset('fine.csv', 12);
  await expect(warnings).toHaveCount(0);
  await expect(studio.byId('train.warnings')).toHaveCount(0);
  await studio.startTraining();
  expect(await studio.waitForRunEnd()).toBe('completed');
  await expect(studio.byId('runs.item')).toHaveCount(2);
  expect(studio.errors).toEqual([]);
});
