import { expect, test } from './fixtures/studio';

// Error paths: a malformed CSV, an empty label column, a template without [MASK] for an encoder,
// an invalid label word, invalid settings and a full browser storage. Each message must appear in
// the panel (next to the control) that caused it, and the page must keep working afterwards.
test.setTimeout(400_000);
// A narrow window: the panels, messages and label-word rows must stay readable there too.
test.use({ viewport: { width: 420, height: 900 } });

const GOOD_CSV = [
  'text,label',
  'The soup was delicious and warm.,positive',
  'The room was dirty and loud.,negative',
  'Great service and friendly staff.,positive',
  'The film was boring and far too long.,negative',
  ',positive',
  'Lovely view from the balcony.,positive',
  'The battery died after an hour.,negative',
  'A wonderful little book.,positive',
  'Cold food and a rude waiter.,negative',
  'The shoes fell apart in a week.,',
  'Fast delivery and good packaging.,positive',
  'The app crashes every time.,negative',
  'Nice and quiet neighbourhood.,positive',
  'Terrible customer support.,negative',
].join('\n');

/** prompt.npy bytes: float32 (rows, cols) in C order. */
function npy(rows: number, cols: number): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const data = Buffer.alloc(rows * cols * 4);
  for (let i = 0; i < rows * cols; i++) data.writeFloatLE(Math.sin(i) * 0.05, i * 4);
  const pre = Buffer.from([0x93, ...Buffer.from('NUMPY', 'latin1'), 1, 0, header.length & 0xff, header.length >> 8]);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), data]);
}

test('each error shows its message next to its cause, and the page keeps working', async ({ studio, page }) => {
  const started = Date.now();
  // Simulates a full disk: IndexedDB writes fail once the test says so.
  await page.addInitScript(() => {
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if ((window as unknown as { __storageFull?: boolean }).__storageFull) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.apply(this, args);
    };
  });
  await studio.setup();
  const data = studio.byId('data.panel');

  // A malformed CSV: an unclosed quote. The message sits in the Data panel, under the file input.
  await studio.uploadCsv('broken.csv', 'text,label\n"good movie,positive\nbad movie,negative\n');
  await expect(data.getByTestId('data.error')).toContainText('broken.csv: row 2 opens a quoted field (") that is never closed');
  await expect(data.getByTestId('data.error.kept')).toHaveCount(0);
  await expect(data.getByTestId('data.file.current')).toHaveText('No dataset loaded yet');
  await studio.panelShot('data.panel', 'errors-1-malformed-csv');

  // A file that is not UTF-8 is read as Windows-1252, with a notice; the error is gone.
  await studio.uploadCsv('latin1.csv', Buffer.from('text,label\ncaf\xe9 cr\xe8me,positive\nna\xefve plot,negative\n', 'latin1'));
  await studio.expectDataset('latin1.csv', 2);
  await expect(data.getByTestId('data.error')).toHaveCount(0);
  await expect(data.getByTestId('data.notice')).toContainText('latin1.csv is not valid UTF-8 (the first invalid byte, 0xE9, is on line 2), so it was read as Windows-1252');
  await expect(data.getByTestId('data.preview')).toContainText('café crème');

  // An empty label column: every row is listed, and training is blocked with the reason.
  await studio.uploadCsv('nolabels.csv', 'text,label\nfirst,\nsecond,\nthird,\n');
  await studio.expectDataset('nolabels.csv', 3);
  await expect(data.getByTestId('data.emptyLabel')).toContainText('3 rows with an empty label left out: rows 2, 3, 4');
  await expect(studio.byId('train.blocked')).toContainText('no rows left to train on');
  await studio.panelShot('data.panel', 'errors-2-empty-labels');

  // A good file again (with one empty text and one empty label, listed by row number).
  await studio.uploadCsv('reviews.csv', GOOD_CSV);
  await studio.expectDataset('reviews.csv', 14);
  await expect(data.getByTestId('data.emptyLabel')).toContainText('1 row with an empty label left out: rows 11');
  await expect(data.getByTestId('data.emptyText')).toContainText('1 row with no input text left out: rows 6');
  await expect(data.getByTestId('data.file.current')).toHaveText('Loaded: reviews.csv');

  // A failed upload keeps the loaded dataset and says so.
  await studio.uploadCsv('broken-again.csv', 'text,label\n"never closed,positive\n');
  await expect(data.getByTestId('data.error')).toContainText('broken-again.csv: row 2 opens a quoted field');
  await expect(data.getByTestId('data.error.kept')).toHaveText('Nothing changed: reviews.csv is still the loaded dataset.');
  await studio.expectDataset('reviews.csv', 14);
  await expect(data.getByTestId('data.file.current')).toHaveText('Loaded: reviews.csv');
  await studio.loadEmbeddedModel('studio-bert-tiny');

  // A template without [MASK] for an encoder: the message is under the template.
  const template = studio.byId('template.panel');
  await studio.setTemplate('{text} It was great.');
  await expect(template.getByTestId('template.error')).toContainText('has no [MASK]: an encoder (bert) predicts the label word at [MASK]');
  await expect(studio.byId('template.input')).toHaveAttribute('aria-invalid', 'true');
  await expect(studio.byId('train.start')).toBeDisabled();
  await expect(studio.byId('train.blocked')).toContainText('Template:');
  await studio.setTemplate('{text} It was [MASK].');
  await expect(template.getByTestId('template.error')).toBeHidden();
  await expect(studio.byId('template.preview.example').first().locator('.tok-mask')).toHaveText('[MASK]');

  // An invalid label word: the message is under that class's input.
  await studio.setLabelWords('positive', 'good, 猫');
  await studio.setLabelWords('negative', 'bad');
  const positiveError = studio.byId('labels.class.positive.error');
  await expect(positiveError).toContainText('label word "猫" (class "positive") cannot be represented by this tokenizer');
  await expect(studio.byId('labels.class.negative.error')).toHaveCount(0);
  await expect(studio.byId('train.start')).toBeDisabled();
  await studio.panelShot('template.panel', 'errors-3-template-label-word');
  // A word in two classes is caught at once, before the worker answers.
  await studio.setLabelWords('positive', 'good, bad');
  await expect(positiveError).toContainText('"bad" is already a label word of "negative"');
  await studio.setLabelWords('positive', 'good, great');
  await expect(positiveError).toHaveCount(0);
  // A word of two tokens is scored by both (the note says how); one that starts with another class's
  // word is a warning, not an error.
  await studio.setLabelWords('negative', 'bad, goodness');
  await expect(studio.byId('labels.class.negative.note')).toHaveText(
    '“goodness” is 2 tokens (good ##ness), scored by all of them at 2 [MASK]s: log P(good) + log P(##ness | good).',
  );
  await expect(studio.byId('labels.class.negative.warning')).toContainText('"goodness" ("negative") is "good" ("positive") followed by ##ness');
  await expect(studio.byId('labels.cost')).toContainText('runs 3 sequences per example');
  await expect(studio.byId('labels.class.negative.error')).toHaveCount(0);
  await studio.setLabelWords('negative', 'bad');
  await expect(studio.byId('labels.class.negative.warning')).toHaveCount(0);
  await expect(studio.byId('labels.cost')).toHaveCount(0);

  // An invalid setting: the message replaces the field's help.
  await studio.setTraining({ learningRate: 0 as unknown as number });
  await expect(studio.byId('train.learningRate.error')).toHaveText('Learning rate: must be more than 0');
  await expect(studio.byId('train.start')).toBeDisabled();
  await studio.setTraining({ learningRate: 0.1, promptLength: 4, valFraction: 0.25 });
  await expect(studio.byId('train.start')).toBeEnabled({ timeout: 30_000 });

  // Full storage: import a prompt, evaluate it; saving the run fails and says so.
  await studio.byId('export.import').setInputFiles({ name: 'prompt.npy', mimeType: 'application/octet-stream', buffer: npy(4, 128) });
  await expect(studio.byId('export.import.summary')).toContainText('prompt.npy (npy): 4 vectors × 128');
  await page.evaluate(() => ((window as unknown as { __storageFull: boolean }).__storageFull = true));
  await studio.byId('export.import.evaluate').click();
  await expect(studio.byId('runs.storageError')).toContainText('Browser storage is full', { timeout: 120_000 });
  await expect(studio.byId('runs.storageError')).toContainText('QuotaExceededError');
  // The evaluation itself worked and is shown; the page goes on.
  await expect(studio.byId('results.tuned.value')).toHaveText(/^\d+\.\d%$/);
  await studio.screenshot('errors-4-storage-full');
  expect(studio.errors).toEqual([]);
  console.log(`errors.spec: ${(Date.now() - started) / 1000}s`);
});
