import { readFile } from 'node:fs/promises';
import type { Download } from '@playwright/test';
import { expect, test, type StudioPage } from './fixtures/studio';

// The prompt methods in the page: prefix tuning on the embedded BERT trains, shows its results,
// and exports a PEFT PREFIX_TUNING adapter whose prompt_embeddings hold every layer's keys and values.
test.setTimeout(300_000);

const bytesOf = async (download: Download) => readFile((await download.path()) as string);

/** The page on wasm with 20 sentiment rows, the embedded BERT, a template and one label word per class. */
async function tinySentiment(studio: StudioPage): Promise<void> {
  await studio.setup('?backend=wasm');
  await studio.prepareTinySentiment(10);
}

test('prefix tuning trains in the page and exports a PREFIX_TUNING adapter', async ({ studio, page }) => {
  await tinySentiment(studio);
  await studio.byId('train.method').selectOption('prefix');
  await expect(studio.byId('train.panel')).toContainText('keys and values at every layer');
  // The learning rate, left at prompt tuning's default, moves to prefix tuning's measured one.
  await expect(studio.byId('train.learningRate')).toHaveValue('0.01');
  // The template preview shows no soft tokens: a prefix is not part of the input.
  const examples = studio.byId('template.preview.example');
  await expect(examples.locator('.tok-soft')).toHaveCount(0);
  await expect(examples.first()).toContainText('[MASK]');
  await expect(studio.byId('template.insert.soft')).toHaveCount(0);
  await studio.setTraining({ promptLength: 4, batchSize: 4, epochs: 2, valFraction: 0.2, learningRate: 0.01 });
  await studio.startTraining();
  expect(await studio.waitForRunEnd()).toBe('completed');
  await expect(studio.byId('results.tuned.value')).toHaveText(/^\d+\.\d%$/);

  const [file] = await Promise.all([page.waitForEvent('download'), studio.byId('export.peftConfig').click()]);
  const config = JSON.parse((await bytesOf(file)).toString('utf8'));
  expect(config).toMatchObject({ peft_type: 'PREFIX_TUNING', num_virtual_tokens: 4, num_layers: 4, token_dim: 128, prefix_projection: false });
  const [weights] = await Promise.all([page.waitForEvent('download'), studio.byId('export.peftWeights').click()]);
  const buf = await bytesOf(weights);
  const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8'));
  expect(header.prompt_embeddings.shape).toEqual([4, 4 * 2 * 128]);
  await studio.panelShot('train.panel', 'methods-prefix');
  expect(studio.errors).toEqual([]);
});

test('an ensemble of prompts: the members and their disagreement in the results, every member in the zip', async ({ studio, page }) => {
  await tinySentiment(studio);
  await studio.byId('train.advanced').click();
  await studio.setTraining({ promptLength: 4, batchSize: 4, epochs: 2, valFraction: 0.2 });
  await studio.byId('train.ensembleSize').fill('2');
  await studio.startTraining();
  expect(await studio.waitForRunEnd()).toBe('completed');
  await expect(studio.byId('results.ensemble.member')).toHaveCount(2);
  await expect(studio.byId('results.ensemble')).toContainText(/members\s+disagree on \d+\.\d% of the validation rows/);
  await expect(studio.byId('results.ensemble.all')).toContainText(await studio.byId('results.tuned.value').innerText());
  const [zip] = await Promise.all([page.waitForEvent('download'), studio.byId('export.zip').click()]);
  const { unzipSync } = await import('fflate');
  const zipBytes = await bytesOf(zip);
  const names = Object.keys(unzipSync(new Uint8Array(zipBytes)));
  expect(names).toEqual(expect.arrayContaining(['prompt.json', 'members/1/prompt.json', 'members/2/prompt.json', 'members/2/peft/adapter_config.json']));
  await studio.panelShot('results.panel', 'methods-ensemble');

  // The zip imported back is the ensemble again: both members, scored as the run scored them.
  const tuned = await studio.byId('results.tuned.value').innerText();
  const members = await studio.byId('results.ensemble.member').allInnerTexts();
  await studio.byId('export.import').setInputFiles({ name: 'ensemble.zip', mimeType: 'application/zip', buffer: zipBytes });
  await expect(studio.byId('export.import.summary')).toContainText('ensemble.zip (zip)');
  await studio.byId('export.import.evaluate').click();
  await expect(studio.byId('results.ensemble.member')).toHaveCount(2, { timeout: 120_000 });
  await expect(studio.byId('results.tuned.value')).toHaveText(tuned);
  expect(await studio.byId('results.ensemble.member').allInnerTexts()).toEqual(members);
  expect(studio.errors).toEqual([]);
});

test("P-tuning with the LSTM encoder: chosen in the form, exported as PEFT's LSTM P_TUNING with the encoder kept", async ({ studio, page }) => {
  await tinySentiment(studio);
  await expect(studio.byId('train.encoder')).toHaveCount(0);
  await studio.byId('train.method').selectOption('p-tuning');
  await studio.byId('train.encoder').selectOption('lstm');
  await expect(studio.byId('train.panel')).toContainText('bidirectional 2-layer LSTM');
  await studio.setTraining({ promptLength: 4, batchSize: 4, epochs: 1, valFraction: 0.2 });
  await studio.startTraining();
  expect(await studio.waitForRunEnd()).toBe('completed');
  const [zip] = await Promise.all([page.waitForEvent('download'), studio.byId('export.zip').click()]);
  const { unzipSync } = await import('fflate');
  const files = unzipSync(new Uint8Array(await bytesOf(zip)));
  const config = JSON.parse(new TextDecoder().decode(files['peft/adapter_config.json']));
  expect(config).toMatchObject({ peft_type: 'P_TUNING', encoder_reparameterization_type: 'LSTM', encoder_num_layers: 2, num_virtual_tokens: 4, token_dim: 128 });
  const encoder = Buffer.from(files['encoder.safetensors']);
  const header = JSON.parse(encoder.subarray(8, 8 + Number(encoder.readBigUInt64LE(0))).toString('utf8'));
  expect(header.__metadata__).toMatchObject({ encoder_type: 'lstm' });
  expect(header['lstm.1.backward.recurrent_weight'].shape).toEqual([128, 512]);
  expect(studio.errors).toEqual([]);
});
