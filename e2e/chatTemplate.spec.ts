import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from './fixtures/studio';
import { hfCheckpointFiles, TINY } from '../src/model/testing/hfCheckpoint';
import { byteLevelTokenizerJson } from '../src/model/testing/tokenizerJson';

// An instruct checkpoint's chat template in the template editor: a tiny decoder whose
// tokenizer_config.json has a ChatML chat_template (written for this test from the documented
// format), loaded from local files. The session renders it; the page wraps the template in it.
const CHATML =
  "{%- for message in messages %}{%- if loop.first and message['role'] != 'system' %}{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}" +
  "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
const BEFORE = '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n';
const AFTER = '<|im_end|>\n<|im_start|>assistant\n';

test("the template editor offers the model's chat template and wraps the template in it", async ({ studio, page }) => {
  const dir = await mkdtemp(join(tmpdir(), 'studio-chat-'));
  const folder = join(dir, 'tiny-chat');
  await mkdir(folder);
  // A GPT-2 body under a byte-level tokenizer.json with the ChatML markers as added tokens (305 ids).
  const files = hfCheckpointFiles('gpt2', { seed: 7, d: { ...TINY, vocab: 305, positions: 128 }, tokenizer: 'none' });
  files.set('tokenizer.json', Buffer.from(JSON.stringify(byteLevelTokenizerJson('qwen2'))));
  files.set('tokenizer_config.json', Buffer.from(JSON.stringify({ eos_token: '<|endoftext|>', chat_template: CHATML })));
  const paths: string[] = [];
  for (const [name, bytes] of files) {
    await writeFile(join(folder, name), bytes);
    paths.push(join(folder, name));
  }

  await studio.setup('?backend=wasm');
  await studio.uploadCsv('reviews.csv', 'text,label\nthe hello,pos\nhello the,neg\n');
  await studio.expectDataset('reviews.csv', 2);
  await page.getByTestId('model.tab.local').click();
  await page.getByTestId('local.files').setInputFiles(paths);
  await expect(page.getByTestId('model.summary')).toHaveAttribute('data-model-type', 'gpt2');

  await studio.setTemplate('Is {text} good?');
  const use = studio.byId('template.chat.use');
  await expect(use).not.toBeChecked();
  await use.check();
  await expect(studio.byId('template.input')).toHaveValue(`${BEFORE}Is {text} good?${AFTER}`);
  await expect(studio.byId('template.error')).toBeHidden();
  // The preview: GPT-2's BOS (<|endoftext|>, the gpt2 body adds it), then the chat: its markers are
  // single tokens, and the last tokens open the assistant's turn.
  const example = studio.byId('template.preview.example').first();
  await expect(example.locator('.tok').first()).toHaveText('<|endoftext|>');
  await expect(example.locator('.tok-token').first()).toHaveText('<|im_start|>');
  await expect(example.locator('.tok', { hasText: '<|im_start|>' })).toHaveCount(3);
  await expect(example.locator('.tok').last()).toHaveText('⏎');
  await expect(example.locator('.tok').nth(-2)).toHaveText('t'); // "assistant", byte by byte in this vocabulary

  await studio.panelShot('template.panel', 'chat-template');

  // Unticking takes the wrapping off again.
  await use.uncheck();
  await expect(studio.byId('template.input')).toHaveValue('Is {text} good?');
});
