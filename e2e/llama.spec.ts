import { readFile } from 'node:fs/promises';
import type { Download } from '@playwright/test';
import { expect, test } from './fixtures/hub';

// A Llama-family checkpoint end to end in the page: the Hub stand-in serves a tiny random Llama
// (grouped-query attention, BF16 weights in two shards, a byte-level BPE tokenizer.json); the
// sentiment sample tunes one epoch on it with label words after the last token, and the export is a
// CAUSAL_LM PEFT adapter for that model.
test.setTimeout(300_000);

const bytesOf = async (download: Download) => readFile((await download.path()) as string);

test('a tiny Llama from the Hub tunes one epoch on the sentiment sample and exports a CAUSAL_LM PEFT adapter', async ({ studio, hub, page }) => {
  await studio.setup('?backend=wasm');
  await hub.loadById('studio-test/tiny-llama');
  await expect(hub.summary).toHaveAttribute('data-model-type', 'llama', { timeout: 60_000 });
  await expect(hub.file('model-00002-of-00002.safetensors')).toHaveAttribute('data-state', 'done');
  await expect(page.getByTestId('model.summary')).toContainText('causal LM');
  // The architecture facts of the family: grouped-query attention (4 query heads over 2 key/value
  // heads), RoPE, an untied head, BF16 storage; no sliding window in a llama config.
  await expect(studio.byId('model.attention')).toHaveText('4 query heads, 2 key/value heads (grouped-query, 2 per group), head dim 4');
  await expect(studio.byId('model.rope')).toHaveText('theta 10,000, no scaling');
  await expect(studio.byId('model.head')).toHaveText('untied (its own matrix)');
  await expect(studio.byId('model.weights')).toContainText('stored as BF16 (float32 on the device)');
  await expect(studio.byId('model.slidingWindow')).toHaveCount(0);

  await studio.byId('data.sample').selectOption('sentiment.csv');
  await studio.byId('data.sample.load').click();
  await studio.expectDataset('sentiment.csv', 300);
  // The sample's causal-LM template: the label word is predicted after the last token.
  await expect(studio.byId('template.input')).toHaveValue('{text} It was');
  await expect(studio.byId('template.preview.example').first().locator('.tok-mask')).toHaveCount(0);

  await studio.setTraining({ promptLength: 4, batchSize: 16, epochs: 1 });
  await studio.startTraining();
  expect(await studio.waitForRunEnd()).toBe('completed');
  await expect(studio.byId('results.tuned.value')).toHaveText(/^\d+\.\d%$/);

  const [file] = await Promise.all([page.waitForEvent('download'), studio.byId('export.peftConfig').click()]);
  const config = JSON.parse((await bytesOf(file)).toString('utf8'));
  // Prompt tuning: token_dim is the hidden size, the heads are the query heads (4; the model has 2 key/value heads).
  expect(config).toMatchObject({
    peft_type: 'PROMPT_TUNING',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: 'studio-test/tiny-llama',
    num_virtual_tokens: 4,
    token_dim: 16,
    num_attention_heads: 4,
    num_layers: 2,
  });
  const [weights] = await Promise.all([page.waitForEvent('download'), studio.byId('export.peftWeights').click()]);
  const buf = await bytesOf(weights);
  const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8'));
  expect(header.prompt_embeddings).toMatchObject({ dtype: 'F32', shape: [4, 16] });
  await studio.panelShot('model.panel', 'llama-model');
  expect(studio.errors).toEqual([]);
});

// The chat template of an instruct checkpoint, through the Hub: the tiny Llama's tokenizer_config.json
// has a Llama-3-style chat_template (src/node/hubTestServer.ts), its header and end-of-turn markers
// are added tokens. Ticking the option wraps the sample's template in one user turn; the run tunes
// with the label word as the assistant's first token.
test("a tiny Llama tunes one epoch inside its chat template", async ({ studio, hub }) => {
  await studio.setup('?backend=wasm');
  await hub.loadById('studio-test/tiny-llama');
  await expect(hub.summary).toHaveAttribute('data-model-type', 'llama', { timeout: 60_000 });
  await studio.byId('data.sample').selectOption('sentiment.csv');
  await studio.byId('data.sample.load').click();
  await studio.expectDataset('sentiment.csv', 300);
  await expect(studio.byId('template.input')).toHaveValue('{text} It was');

  const use = studio.byId('template.chat.use');
  await expect(use).not.toBeChecked();
  await use.check();
  // BOS is not in the wrapping: the tokenizer adds it (the template's {{ bos_token }} would double it).
  await expect(studio.byId('template.input')).toHaveValue(
    '<|start_header_id|>user<|end_header_id|>\n\n{text} It was<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  );
  await expect(studio.byId('template.error')).toBeHidden();
  // The preview: BOS, then the markers as single tokens, and the last token ends the assistant header.
  const example = studio.byId('template.preview.example').first();
  await expect(example.locator('.tok').first()).toHaveText('<|begin_of_text|>');
  await expect(example.locator('.tok-token').first()).toHaveText('<|start_header_id|>');
  await expect(example.locator('.tok', { hasText: /^<\|start_header_id\|>$/ })).toHaveCount(2);
  await expect(example.locator('.tok', { hasText: /^<\|eot_id\|>$/ })).toHaveCount(1);
  await expect(example.locator('.tok').nth(-3)).toHaveText('<|end_header_id|>');
  await expect(example.locator('.tok').last()).toHaveText('⏎');

  await studio.setTraining({ promptLength: 4, batchSize: 16, epochs: 1 });
  await studio.startTraining();
  expect(await studio.waitForRunEnd()).toBe('completed');
  await expect(studio.byId('results.tuned.value')).toHaveText(/^\d+\.\d%$/);
  expect(studio.errors).toEqual([]);
});
