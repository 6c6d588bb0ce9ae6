import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from './fixtures/studio';
import { hfCheckpointFiles, TINY } from '../src/model/testing/hfCheckpoint';

// The linear-head mode on a checkpoint saved without its LM head (a plain BertModel), with none of the
// old workarounds: no [MASK] in the template, no label words, the default 'labels' init.
test.setTimeout(180_000);

test('head mode on a BertModel without an LM head: a template without [MASK], no label words, the default init falls back and says so', async ({ studio }) => {
  const dir = await mkdtemp(join(tmpdir(), 'studio-headless-'));
  const folder = join(dir, 'plain-bert');
  await mkdir(folder);
  for (const [name, bytes] of hfCheckpointFiles('bert', { seed: 3, withHead: false, d: { ...TINY, positions: 64 } })) await writeFile(join(folder, name), bytes);
  const csv = ['text,label', ...Array.from({ length: 24 }, (_, i) => (i % 2 ? 'the movie was very good,pos' : 'the film was bad,neg'))].join('\n');

  await studio.setup('?backend=wasm');
  await studio.uploadCsv('plain.csv', csv);
  await studio.expectDataset('plain.csv', 24);
  await studio.byId('data.task.classification').check();
  await studio.byId('data.labelColumn').selectOption('label');
  await studio.byId('model.tab.local').click();
  await studio.byId('local.folder').setInputFiles(folder);
  await expect(studio.byId('model.summary')).toHaveAttribute('data-model-type', 'bert');

  // Label-word mode cannot work here, and Start says why.
  await expect(studio.byId('train.blocked')).toContainText('This checkpoint has no LM head: choose the linear-head mode.');
  await studio.byId('train.mode').selectOption('head');
  await studio.setTraining({ promptLength: 4, epochs: 1, batchSize: 6 });

  // No [MASK]: the head reads [CLS].
  await studio.setTemplate('{text}');
  await expect(studio.byId('template.preview.example').first()).toBeVisible();
  await expect(studio.byId('template.error')).toBeHidden();
  await expect(studio.byId('template.panel')).toContainText('Linear-head mode reads the [CLS] position, so [MASK] is optional');
  // Label words stay optional: empty ones are fine; given ones are no error, only a note.
  await studio.setLabelWords('pos', 'good');
  await studio.setLabelWords('neg', 'bad');
  await expect(studio.byId('labels.note')).toContainText('not scored (this checkpoint has no LM head)');
  await expect(studio.byId('train.init.note')).toHaveText("The 'labels' init starts from the label words' first tokens (this checkpoint has no LM head to score them).");
  await studio.setLabelWords('pos', '');
  await studio.setLabelWords('neg', '');
  await expect(studio.byId('train.init.note')).toHaveText(
    "Without label words, and with class names this tokenizer does not know (neg, pos), the prompt starts from frequent tokens of the training texts (the 'vocab' init) instead of 'labels'.",
  );
  await expect(studio.byId('train.init')).toHaveValue('labels');
  await studio.panelShot('train.panel', 'head-mode-1-ready');

  await studio.startTraining();
  expect(await studio.waitForRunEnd()).toBe('completed');
  await expect(studio.byId('results.tuned.value')).toHaveText(/^\d+\.\d%$/);
  expect(studio.errors).toEqual([]);
});
