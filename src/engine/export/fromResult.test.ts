import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../../node/model';
import { classifyRows, trainClassifier, type ClassificationData } from '../classification';
import type { LanguageModel } from '../languageModel';
import { loadFixture } from '../testing/fixtures';
import { DEFAULT_TRAINING_CONFIG, type TrainingConfig } from '../train';
import { exportFiles, importPrompt } from './bundle';
import { checkPromptAgainstModel } from './compatibility';
import { classificationExport, softPromptFromImport } from './fromResult';
import { EXPORT_FILE_NAMES } from './schema';

let lm: LanguageModel;
beforeAll(async () => {
  await useNodeBackend('wasm');
  lm = await loadFixture('bert', { positions: 32 });
});
afterAll(() => lm.model.dispose());

const data: ClassificationData = {
  rows: ['the good movie', 'good plot', 'a good film', 'bad movie', 'the bad plot', 'a bad film'].map((text) => ({ text, label: text.includes('good') ? 'pos' : 'neg' })),
  labelColumn: 'label',
  template: '{text} it was [MASK].',
  labelWords: { pos: ['great'], neg: ['terrible'] },
};

describe('exporting a trained prompt and importing it back', () => {
  for (const mode of ['verbalizer', 'head'] as const) {
    it(`${mode} mode: exports pass the export checks, and the imported prompt predicts the same`, async () => {
      const config: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, mode, promptLength: 3, epochs: 2, batchSize: 2, valFraction: 0.34 };
      const result = await trainClassifier(lm, data, config);
      const hash = 'ab'.repeat(32);
      const { prompt, meta } = await classificationExport(result, data, config, { id: 'fixture-bert', checkpointHash: hash, config: lm.model.config }, '2026-01-02T03:04:05.000Z');
      expect(meta.placement).toBe('after-first-token');
      expect(meta.hyperparameters).toMatchObject({ promptLength: 3, learningRate: config.learningRate, epochs: 2, warmupSteps: Math.round(config.warmupFraction * result.totalSteps), clipNorm: 1 });
      expect(meta.metrics).toMatchObject({ kind: 'classification', accuracy: result.validation!.accuracy, zeroShotAccuracy: result.zeroShot!.accuracy });
      expect(meta.head !== undefined).toBe(mode === 'head');
      const files = exportFiles(prompt, meta); // throws on inconsistent metadata
      const imported = await importPrompt('prompt.json', files[EXPORT_FILE_NAMES.promptJson]);
      expect(checkPromptAgainstModel(imported, { id: 'fixture-bert', checkpointHash: hash, config: lm.model.config }).errors).toEqual([]);
      const restored = softPromptFromImport(imported);
      const rows = data.rows.slice(0, 3);
      const a = await classifyRows(lm, result.prepared, result.prompt, rows);
      const b = await classifyRows(lm, result.prepared, restored, rows);
      b.forEach((p, i) => p.probabilities.forEach((x, c) => expect(x).toBeCloseTo(a[i].probabilities[c], 5)));
      restored.dispose();
      result.dispose();
    });
  }

  it('leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const config: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, promptLength: 2, epochs: 1, batchSize: 2 };
    const result = await trainClassifier(lm, data, config);
    await classificationExport(result, data, config, { id: 'x', checkpointHash: null, config: lm.model.config });
    result.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
