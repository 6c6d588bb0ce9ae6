import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, unzipSync, zipSync } from 'fflate';
import type { Download } from '@playwright/test';
import { expect, test } from './fixtures/studio';

// "Train at scale": the Export panel's project zip holds train.py, the settings, the studio's split,
// the accelerate configs and requirements; a project's output (prompt files + metrics.json) comes
// back through the import, zipped or as a folder, and its own accuracy is shown beside the studio's.
test.setTimeout(300_000);

const bytesOf = async (download: Download) => new Uint8Array(await readFile((await download.path()) as string));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** train.py's metrics.json for a run that reached 75% on the 4 validation rows. */
const projectMetrics = {
  format: 'prompt-tuning-studio/project-metrics',
  formatVersion: 1,
  model: { id: 'studio-bert-tiny', modelType: 'bert' },
  task: 'classification',
  method: 'prompt',
  mode: 'verbalizer',
  classes: ['negative', 'positive'],
  trainSize: 16,
  valSize: 4,
  processes: 2,
  zeroShot: { loss: 0.69, accuracy: 0.5, macroF1: 0.33 },
  validation: { loss: 0.52, accuracy: 0.75, macroF1: 0.73 },
  bestEpoch: 2,
  epochs: [],
  steps: 8,
  totalSteps: 8,
  stopReason: 'completed',
  seconds: 2.5,
  predictions: { zeroShot: null, validation: null },
};

test('Train at scale: the project zip, and its output imported back and evaluated', async ({ studio, page }) => {
  await studio.setup('?backend=cpu'); // the backend is not what this tests; cpu starts fastest
  await studio.prepareTinySentiment(10);
  await studio.setTraining({ promptLength: 4, batchSize: 4, epochs: 2, valFraction: 0.2 });
  await studio.startTraining();
  expect(await studio.waitForRunEnd()).toBe('completed');

  const [download] = await Promise.all([page.waitForEvent('download'), studio.byId('export.project').click()]);
  expect(download.suggestedFilename()).toMatch(/-project\.zip$/);
  const project = unzipSync(await bytesOf(download));
  expect(Object.keys(project).sort()).toEqual([
    'README.md',
    'accelerate/ddp.yaml',
    'accelerate/fsdp.yaml',
    'accelerate/multi_node.yaml',
    'data/train.csv',
    'data/validation.csv',
    'initial_prompt/prompt.json',
    'requirements.txt',
    'studio_config.json',
    'train.py',
  ]);
  const config = JSON.parse(text(project['studio_config.json']));
  expect(config).toMatchObject({ template: '{text} It was [MASK].', classes: ['negative', 'positive'], labelWords: { negative: ['bad'], positive: ['good'] }, split: { train: 16, validation: 4 } });
  expect(config.model).toMatchObject({ id: 'studio-bert-tiny', modelType: 'bert', lmKind: 'masked-lm' });
  // Header plus one record per row (no text here spans lines).
  expect(text(project['data/train.csv']).trim().split('\r\n')).toHaveLength(17);
  expect(text(project['data/validation.csv']).trim().split('\r\n')).toHaveLength(5);
  expect(text(project['README.md'])).toContain('accelerate launch --config_file accelerate/ddp.yaml train.py');
  expect(text(project['train.py'])).toContain('from accelerate import Accelerator');
  await expect(studio.byId('export.project.notes')).toContainText('16 training and 4 validation rows');

  // The output of a run of that project: the studio's own export files stand in for train.py's (the
  // same formats), with train.py's metrics.json.
  const [exported] = await Promise.all([page.waitForEvent('download'), studio.byId('export.zip').click()]);
  const files = unzipSync(await bytesOf(exported));
  const output = {
    'prompt.json': files['prompt.json'],
    'peft/adapter_config.json': files['peft/adapter_config.json'],
    'peft/adapter_model.safetensors': files['peft/adapter_model.safetensors'],
    'metrics.json': strToU8(JSON.stringify(projectMetrics)),
  };
  await studio.byId('export.import').setInputFiles({ name: 'output.zip', mimeType: 'application/zip', buffer: Buffer.from(zipSync(output)) });
  const line = studio.byId('export.import.projectMetrics');
  await expect(line).toContainText('best validation accuracy 75.0% (epoch 2) on 4 rows, zero-shot 50.0%');
  await expect(line).toContainText('2 processes');
  await studio.byId('export.import.evaluate').click();
  expect(await studio.waitForRunEnd()).toBe('completed');
  await expect(studio.byId('export.import.studioAccuracy')).toHaveText(/^\d+\.\d%$/);

  // The same output picked as a folder.
  const dir = join(await mkdtemp(join(tmpdir(), 'project-output-')), 'output');
  await mkdir(join(dir, 'peft'), { recursive: true });
  for (const [path, bytes] of Object.entries(output)) await writeFile(join(dir, path), bytes);
  await studio.byId('export.importFolder').setInputFiles(dir);
  await expect(studio.byId('export.import.summary')).toContainText('output.zip (zip): 4 vectors × 128');
  await expect(studio.byId('export.import.projectMetrics')).toContainText('best validation accuracy 75.0%');
  expect(studio.errors).toEqual([]);
});
