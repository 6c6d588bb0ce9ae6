import { expect, test } from './fixtures/studio';
import { stepAfterAnswer, stepEvents, tapWorker } from './fixtures/workerTap';

// A generation task on the embedded causal LM: the antonyms sample, a template that frames the
// input, a short run that is paused, resumed and stopped, then the playground continues a text.
test.setTimeout(600_000);

test('antonyms on the embedded GPT-2: train, pause, resume, stop, then generate in the playground', async ({ studio, page }) => {
  const started = Date.now();
  await tapWorker(page);
  // WebGPU on purpose: on this software adapter the default would be wasm.
  await studio.setup('?backend=webgpu');
  await expect(studio.backendBadge).toHaveText('WebGPU');

  await studio.byId('data.sample').selectOption('antonyms.csv');
  await studio.byId('data.sample.load').click();
  await studio.expectDataset('antonyms.csv', 201);
  // input,target columns: the studio offers a generation task with those columns.
  await expect(studio.byId('data.task.generation')).toBeChecked();
  await expect(studio.byId('data.targetColumn')).toHaveValue('target');
  await expect(studio.byId('data.textColumn.input')).toBeChecked();

  await studio.loadEmbeddedModel('studio-gpt2-tiny');
  // The sample comes with its own template for a causal LM.
  await expect(studio.byId('template.input')).toHaveValue('The opposite of {input} is');
  await studio.setTraining({ promptLength: 4, batchSize: 16, epochs: 1, learningRate: 0.1, valFraction: 0.05, seed: 3 });
  const example = studio.byId('template.preview.example').first();
  await expect(example.locator('.tok-soft')).toHaveCount(4);
  await expect(example.locator('.tok-target').first()).toBeVisible(); // the target tokens the loss is on
  await expect(studio.byId('template.counts')).toContainText('4 soft tokens');
  await studio.screenshot('generation-1-template');

  await studio.startTraining();
  const status = studio.byId('train.status');
  await expect(status).toContainText(/Step [2-9]\d* \/ \d+/, { timeout: 180_000 });
  await studio.byId('train.pause').click();
  await expect(studio.byId('train.state')).toHaveText('paused');
  await expect(studio.byId('runs.item').first()).toHaveAttribute('data-status', 'paused');
  // The worker answers the pause at once; the loop finishes the step in flight, sends that step's
  // metrics and waits. Every step event after the answer carries that last step.
  const pausedAt = await stepAfterAnswer(page, 'pauseTraining');
  await expect(status).toContainText(`Step ${pausedAt} / `);
  await studio.panelShot('train.panel', 'generation-1b-paused');
  // Nothing moved while paused: no step past it, up to the resume.
  expect(Math.max(...(await stepEvents(page)))).toBe(pausedAt);
  await studio.byId('train.resume').click();
  await expect(studio.byId('train.state')).toHaveText('training');
  await studio.byId('train.stop').click();
  expect(await studio.waitForRunEnd()).toBe('stopped');
  await expect(studio.byId('train.message')).toContainText('stopped by request after step');

  // Results: exact match and token F1 before and after, and the validation samples.
  await expect(studio.byId('results.zeroShot.value')).toHaveText(/^\d+\.\d%$/);
  await expect(studio.byId('results.tuned.value')).toHaveText(/^\d+\.\d%$/);
  await expect(studio.byId('results.zeroShot')).toContainText('exact match · token F1');
  await expect(studio.byId('results.sample')).toHaveCount(10);
  // The verdict reads exact match on the 10 validation rows and compares it with the template alone.
  await expect(studio.byId('results.verdict').locator('[data-kind="tuned-accuracy"]')).toHaveText(/^Tuned exact match \d+\.\d% on 10 validation rows/);
  await expect(studio.byId('results.verdict').locator('[data-kind="vs-zero-shot"]')).toHaveText(/the template alone/);
  expect(Number(await studio.byId('train.lossChart').getAttribute('data-points'))).toBeGreaterThanOrEqual(2);

  // Playground: the tuned prompt continues a new input.
  await studio.byId('playground.input.input').fill('cold');
  await studio.byId('playground.maxTokens').fill('4');
  await studio.byId('playground.run').click();
  const output = studio.byId('playground.output');
  await expect(output).toBeVisible({ timeout: 60_000 });
  await expect(output).toHaveAttribute('data-text', /\S/);
  await expect(studio.byId('playground.zeroShot')).toBeVisible();
  await studio.panelShot('results.panel', 'generation-2-results');
  await studio.screenshot('generation-3-full');
  expect(studio.errors).toEqual([]);
  console.log(`generation.spec: ${(Date.now() - started) / 1000}s`);
});
