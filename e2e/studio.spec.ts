import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Download } from '@playwright/test';
import { expect, test } from './fixtures/studio';

// One test: upload -> map -> template -> label words -> train a few steps -> results -> every
// export -> reload -> the run is restored. Software WebGPU is slow, so the data are 24 rows.
test.setTimeout(600_000);

const PROMPT_LENGTH = 4;

/** 12 positive and 12 negative rows of the sentiment sample, as a UTF-8 CSV with a BOM and CRLF. */
async function smallSentimentCsv(): Promise<string> {
  const lines = (await readFile(join('public', 'samples', 'sentiment.csv'), 'utf8')).trim().split('\n');
  const pos = lines.filter((l) => l.endsWith(',positive')).slice(0, 12);
  const neg = lines.filter((l) => l.endsWith(',negative')).slice(0, 12);
  const rows = pos.flatMap((p, i) => [p, neg[i]]);
  return `\ufefftext,label\r\n${rows.join('\r\n')}\r\n`;
}

async function bytesOf(download: Download): Promise<Buffer> {
  return readFile((await download.path()) as string);
}

/** safetensors: u64 little-endian header length, JSON header, then the data. */
function safetensorsHeader(bytes: Buffer): { header: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }> & { __metadata__?: Record<string, string> }; dataBytes: number } {
  const n = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')), dataBytes: bytes.length - 8 - n };
}

test('upload a CSV, tune a prompt on the embedded MLM, see the results, download every export, find the run after a reload', async ({ studio, page }) => {
  const started = Date.now();
  // WebGPU on purpose: on this software adapter the default would be wasm.
  await studio.setup('?backend=webgpu');
  await expect(studio.backendBadge).toHaveText('WebGPU');
  const modelConfig = JSON.parse(await readFile(join('public', 'models', 'studio-bert-tiny', 'config.json'), 'utf8'));
  const H = modelConfig.hidden_size as number;

  // 1. Data: upload, then map the columns.
  await studio.uploadCsv('reviews.csv', await smallSentimentCsv());
  await studio.expectDataset('reviews.csv', 24);
  // The file picker names the loaded file (a native input would say "No file chosen" again).
  await expect(studio.byId('data.file.current')).toHaveText('Loaded: reviews.csv');
  await expect(studio.byId('data.summary')).toContainText('comma-separated, UTF-8');
  await expect(studio.byId('data.preview')).toContainText('positive');
  await studio.byId('data.task.classification').check();
  await studio.byId('data.labelColumn').selectOption('label');
  await expect(studio.byId('data.textColumn.text')).toBeChecked();
  await expect(studio.byId('data.class.positive')).toContainText('12');
  await expect(studio.byId('data.class.negative')).toContainText('12');

  // 2. Model.
  await expect(studio.byId('model.panel').getByRole('heading', { level: 2 })).toHaveText('2. Model');
  await studio.loadEmbeddedModel('studio-bert-tiny');

  // 3. Template with a live tokenized preview, and label words.
  await studio.setTemplate('{text} Overall it was [MASK].');
  const example = studio.byId('template.preview.example').first();
  await expect(example.locator('.tok-mask')).toHaveText('[MASK]');
  await studio.setTraining({ promptLength: PROMPT_LENGTH });
  await expect(example.locator('.tok-soft')).toHaveCount(PROMPT_LENGTH);
  await expect(studio.byId('template.counts')).toContainText(`${PROMPT_LENGTH} soft tokens`);
  // The chip offers a [SOFT*N] of the prompt length set in Training.
  await expect(studio.byId('template.insert.soft')).toHaveText(`[SOFT*${PROMPT_LENGTH}]`);
  await studio.setLabelWords('positive', 'good, great');
  await studio.setLabelWords('negative', 'bad, terrible');
  await expect(studio.byId('labels.class.positive.error')).toHaveCount(0);
  await studio.screenshot('studio-1-data-template');
  // The charts are there before any run (mounted with the panel), empty, saying when they fill.
  await expect(studio.byId('train.lossChart')).toHaveAttribute('data-points', '0');
  await expect(studio.byId('train.lossChart')).toContainText('Appears when training starts.');
  await expect(studio.byId('train.valChart')).toContainText('Appears after the first epoch.');
  // Their invisible placeholder line (drawn so recharts' code is compiled before a run) shows no numbers.
  const tickLabels = () => studio.byId('train.lossChart').locator('.recharts-cartesian-axis-tick-value').allTextContents();
  expect((await tickLabels()).length).toBeGreaterThan(0);
  expect((await tickLabels()).filter((t) => t !== '')).toEqual([]);

  // 4. Train a few steps: 18 training rows, batch 6, 2 epochs = 6 steps.
  await studio.setTraining({ batchSize: 6, epochs: 2, learningRate: 0.1, valFraction: 0.25, seed: 7 });
  await studio.startTraining();
  // The page stays responsive while the worker trains: a main-thread task runs at once.
  const delayMs = await page.evaluate(() => new Promise<number>((resolve) => {
    const t0 = performance.now();
    setTimeout(() => resolve(performance.now() - t0), 0);
  }));
  expect(delayMs).toBeLessThan(250);
  await expect(studio.byId('train.status')).toContainText(/Step \d+ \/ 6 · epoch \d \/ 2 · ETA/, { timeout: 120_000 });
  await studio.screenshot('studio-2-training');
  expect(await studio.waitForRunEnd()).toBe('completed');
  await expect(studio.byId('train.status')).toContainText('Step 6 / 6');

  const lossChart = studio.byId('train.lossChart');
  await expect(lossChart).toHaveAttribute('data-points', '6');
  await expect(lossChart.locator('path.recharts-curve').first()).toHaveAttribute('d', /^M[\d.,-]+L/);
  await expect(studio.byId('train.valChart')).toHaveAttribute('data-points', '2');
  await expect(studio.byId('train.lossChart')).not.toContainText('Appears when training starts.');
  expect((await tickLabels()).filter((t) => t !== '').length).toBeGreaterThan(0);
  await expect(studio.byId('train.valChart')).not.toContainText('Appears after the first epoch.');
  // The legends name the series (plain HTML, not recharts' measured legend).
  await expect(lossChart.locator('.chart-legend-item')).toHaveText(['loss', 'smoothed']);
  await expect(studio.byId('train.valChart').locator('.chart-legend-item')).toHaveText(['validation loss', 'validation accuracy']);

  // 5. Results: zero-shot and tuned accuracy side by side, confusion matrix, predictions.
  await expect(studio.byId('results.zeroShot.value')).toHaveText(/^\d+\.\d%$/);
  await expect(studio.byId('results.tuned.value')).toHaveText(/^\d+\.\d%$/);
  await expect(studio.byId('results.confusion.tuned').locator('tbody tr')).toHaveCount(2);
  await expect(studio.byId('results.prediction')).toHaveCount(6);
  await studio.byId('results.filter.wrong').check();
  const wrong = await studio.byId('results.prediction').count();
  await expect(studio.byId('results.prediction').locator('xpath=self::*[@data-correct="true"]')).toHaveCount(0);
  await studio.byId('results.filter.wrong').uncheck();
  await studio.byId('results.filter.class').selectOption('positive');
  await expect(studio.byId('results.prediction')).toHaveCount(3);
  await studio.byId('results.filter.class').selectOption('');
  expect(wrong).toBeLessThanOrEqual(6);

  // The verdict: the tuned accuracy with its interval for 6 rows, the comparisons, and a constant
  // zero-shot flagged exactly when its confusion matrix has a single non-empty column.
  const verdict = studio.byId('results.verdict');
  await expect(verdict.locator('[data-kind="tuned-accuracy"]')).toHaveText(/^Tuned accuracy \d+\.\d% on 6 validation rows: .* between \d+\.\d% and \d+\.\d%\.$/);
  await expect(verdict.locator('[data-kind="vs-majority"]')).toHaveText(/always answering “(positive|negative)”/);
  await expect(verdict.locator('[data-kind="vs-zero-shot"]')).toHaveCount(1);
  const zeroShotCells = await studio.byId('results.confusion.zeroShot').locator('tbody tr').evaluateAll((rows) => rows.map((r) => Array.from(r.querySelectorAll('td'), (td) => Number(td.textContent))));
  const usedColumns = zeroShotCells[0].map((_, p) => zeroShotCells.reduce((a, row) => a + row[p], 0)).filter((n) => n > 0).length;
  await expect(verdict.locator('[data-kind="constant-zero-shot"]')).toHaveCount(usedColumns === 1 ? 1 : 0);
  // Right cells (diagonal) shade green, wrong ones red; empty cells stay unshaded.
  for (const testId of ['results.confusion.zeroShot', 'results.confusion.tuned']) {
    const cells = await studio.byId(testId).locator('tbody td').evaluateAll((tds) =>
      tds.map((td) => ({ correct: td.getAttribute('data-correct') === 'true', n: Number(td.textContent), rgba: getComputedStyle(td).backgroundColor.match(/[\d.]+/g)!.map(Number) })),
    );
    expect(cells).toHaveLength(4);
    for (const { correct, n, rgba } of cells) {
      const [r, g, , alpha = 1] = rgba;
      if (n === 0) expect(alpha).toBe(0);
      else if (correct) expect(g).toBeGreaterThan(r);
      else expect(r).toBeGreaterThan(g);
    }
  }
  await studio.byId('playground.input.text').fill('The food was wonderful and the staff were kind.');
  await studio.byId('playground.run').click();
  const probPositive = Number(await studio.byId('playground.prob.positive').getAttribute('data-prob', { timeout: 60_000 }));
  const probNegative = Number(await studio.byId('playground.prob.negative').getAttribute('data-prob'));
  expect(probPositive + probNegative).toBeCloseTo(1, 4);
  await expect(studio.byId('playground.predicted')).toHaveAttribute('data-class', probPositive > probNegative ? 'positive' : 'negative');
  await expect(studio.byId('playground.predicted.tuned')).toHaveText(probPositive > probNegative ? 'positive' : 'negative');
  await studio.panelShot('results.panel', 'studio-3-results');

  // 6. Every export, downloaded and checked.
  const download = async (testId: string, fileName: string | RegExp) => {
    const [file] = await Promise.all([page.waitForEvent('download'), studio.byId(testId).click()]);
    expect(file.suggestedFilename()).toMatch(fileName);
    return bytesOf(file);
  };
  const promptJson = JSON.parse((await download('export.json', 'prompt.json')).toString('utf8'));
  expect(promptJson).toMatchObject({
    format: 'prompt-tuning-studio/prompt',
    numTokens: PROMPT_LENGTH,
    dim: H,
    task: 'classification',
    template: '{text} Overall it was [MASK].',
    mode: 'verbalizer',
    classNames: ['negative', 'positive'],
    labelWords: { negative: ['bad', 'terrible'], positive: ['good', 'great'] },
    model: { id: 'studio-bert-tiny', modelType: 'bert', hiddenSize: H, checkpointHash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    hyperparameters: { promptLength: PROMPT_LENGTH, batchSize: 6, epochs: 2, learningRate: 0.1, valSplit: 0.25 },
    seed: 7,
    metrics: { kind: 'classification', accuracy: expect.any(Number), zeroShotAccuracy: expect.any(Number) },
  });
  expect(promptJson.vectors).toHaveLength(PROMPT_LENGTH);
  expect(promptJson.vectors[0]).toHaveLength(H);

  const st = safetensorsHeader(await download('export.safetensors', 'prompt.safetensors'));
  expect(st.header.prompt_embeddings).toMatchObject({ dtype: 'F32', shape: [PROMPT_LENGTH, H] });
  expect(st.dataBytes).toBe(PROMPT_LENGTH * H * 4);
  expect(JSON.parse(st.header.__metadata__!.prompt_tuning_studio)).toMatchObject({ template: '{text} Overall it was [MASK].' });

  const npy = await download('export.npy', 'prompt.npy');
  expect(npy.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
  expect(npy.toString('latin1', 10, 128)).toMatch(new RegExp(`'descr': '<f4', 'fortran_order': False, 'shape': \\(${PROMPT_LENGTH}, ${H}\\)`));

  const peftConfig = JSON.parse((await download('export.peftConfig', 'adapter_config.json')).toString('utf8'));
  expect(peftConfig).toMatchObject({
    peft_type: 'PROMPT_TUNING',
    task_type: 'FEATURE_EXTRACTION',
    num_virtual_tokens: PROMPT_LENGTH,
    token_dim: H,
    num_transformer_submodules: 1,
    num_layers: modelConfig.num_hidden_layers,
    num_attention_heads: modelConfig.num_attention_heads,
    base_model_name_or_path: 'studio-bert-tiny',
    prompt_tuning_init: 'RANDOM',
    inference_mode: true,
  });
  const peftWeights = safetensorsHeader(await download('export.peftWeights', 'adapter_model.safetensors'));
  expect(peftWeights.header.prompt_embeddings).toMatchObject({ dtype: 'F32', shape: [PROMPT_LENGTH, H] });
  expect(peftWeights.header.__metadata__).toEqual({ format: 'pt' });

  const zip = unzipSync(new Uint8Array(await download('export.zip', /\.zip$/)));
  expect(Object.keys(zip).sort()).toEqual(['README.md', 'metrics.json', 'peft/adapter_config.json', 'peft/adapter_model.safetensors', 'prompt.json', 'prompt.npy', 'prompt.safetensors']);
  const readme = new TextDecoder().decode(zip['README.md']);
  expect(readme).toContain('PeftModel.from_pretrained(AutoModelForMaskedLM.from_pretrained(base_id), "peft")');
  expect(readme).toContain('base_id = "studio-bert-tiny"');
  expect(readme).toContain('- `prompt.npy`');
  expect(JSON.parse(new TextDecoder().decode(zip['metrics.json']))).toMatchObject({ accuracy: expect.any(Number), zeroShotAccuracy: expect.any(Number) });
  await studio.panelShot('export.panel', 'studio-4-export');
  await studio.screenshot('studio-5-full');

  // Reload: the run, its charts and results come back from IndexedDB.
  const tunedText = await studio.byId('results.tuned.value').textContent();
  await page.reload();
  await studio.setup();
  const run = studio.byId('runs.item').first();
  await expect(run).toHaveAttribute('data-status', 'completed');
  await expect(run).toContainText('reviews.csv · studio-bert-tiny');
  await run.getByTestId('runs.open').click();
  await expect(studio.byId('results.tuned.value')).toHaveText(tunedText!);
  await expect(studio.byId('train.lossChart')).toHaveAttribute('data-points', '6');
  await expect(studio.byId('export.json')).toBeVisible();
  await studio.screenshot('studio-6-after-reload');
  expect(studio.errors).toEqual([]);
  console.log(`studio.spec: ${(Date.now() - started) / 1000}s`);
});
