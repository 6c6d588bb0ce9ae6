import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import type { ForwardInputs, FrozenLM } from '../model/types';
import { classifyRows, ENCODE_PROGRESS_ROWS, evaluateClassifier, prepareClassification, trainClassifier, type ClassificationData } from './classification';
import type { PhaseProgress } from './phase';
import type { LanguageModel } from './languageModel';
import { goodTask, loadFixture } from './testing/fixtures';
import { DEFAULT_TRAINING_CONFIG, type TrainingConfig } from './train';

const data: ClassificationData = {
  rows: goodTask(64, 7),
  labelColumn: 'label',
  template: '{text} it was [MASK].',
  labelWords: { pos: ['great'], neg: ['terrible'] },
};
const config: TrainingConfig = {
  ...DEFAULT_TRAINING_CONFIG,
  promptLength: 4,
  init: 'random',
  epochs: 8,
  batchSize: 8,
  learningRate: 0.1,
  valFraction: 0.25,
  patience: 0,
  seed: 3,
};

let lm: LanguageModel;
beforeAll(async () => {
  await useNodeBackend('wasm');
  lm = await loadFixture('bert', { positions: 32 });
});
afterAll(() => lm.model.dispose());

describe('trainClassifier on the tiny random BERT', () => {
  it('reduces the loss and beats the zero-shot baseline, held-in and on validation; tensor count stays flat', async () => {
    const before = tf.memory().numTensors;
    const perEpochTensors: number[] = [];
    let zeroShotSeen = false;
    const r = await trainClassifier(lm, data, config, {
      onBaseline: () => (zeroShotSeen = true),
      onEpoch: () => perEpochTensors.push(tf.memory().numTensors),
    });
    expect(zeroShotSeen).toBe(true);
    expect(r.stopReason).toBe('completed');
    expect(r.steps).toBe(48); // 48 train rows / 8 * 8 epochs
    // Flat from epoch to epoch over 48 steps (after epoch 1 the loop also holds the best-epoch snapshot).
    expect(perEpochTensors.length).toBe(8);
    expect(new Set(perEpochTensors.slice(1)).size).toBe(1);
    const first = r.epochs[0].trainLoss;
    const last = r.epochs[r.epochs.length - 1].trainLoss;
    expect(last).toBeLessThan(first * 0.6);
    // Validation: better than zero-shot and the majority class.
    expect(r.zeroShot).not.toBeNull();
    expect(r.validation!.accuracy).toBeGreaterThanOrEqual(r.zeroShot!.accuracy + 0.25);
    expect(r.validation!.accuracy).toBeGreaterThan(r.majority.accuracy);
    expect(r.majority.accuracy).toBe(0.5);
    // Held in: the training rows themselves.
    const parts = { model: lm.model, mode: 'verbalizer' as const, verbalizer: r.prepared.verbalizer, prompt: r.prompt, numClasses: 2, padId: 0 };
    const heldIn = await evaluateClassifier(parts, r.prepared.train, r.classes);
    const zeroShotHeldIn = await evaluateClassifier({ ...parts, prompt: null }, r.prepared.trainRows.map((row) => ({ encoded: r.prepared.template.encode(row, { withSoft: false }), label: r.classes.indexOf(row.label) })), r.classes);
    expect(heldIn.accuracy).toBeGreaterThanOrEqual(0.85);
    expect(heldIn.accuracy).toBeGreaterThan(zeroShotHeldIn.accuracy + 0.25);
    // Reports hang together.
    const v = r.validation!;
    expect(v.predictions.length).toBe(r.valSize);
    expect(v.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(r.valSize);
    expect(v.predictions.filter((p) => p.gold === p.predicted).length / r.valSize).toBeCloseTo(v.accuracy, 12);
    for (const p of v.predictions) expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(r.epochs.every((e) => e.validation !== null && e.validation.macroF1 >= 0)).toBe(true);
    expect(r.robustness?.clean).toBeCloseTo(v.accuracy, 12);
    expect(Object.keys(r.robustness!.perturbed).sort()).toEqual(['droppedWords', 'lowercase', 'typos']);
    const predictions = await classifyRows(lm, r.prepared, r.prompt, [{ text: 'the good movie', label: '' }]);
    expect(predictions[0].predicted).toMatch(/^(pos|neg)$/);
    r.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('multi-token label words: the loss through every piece trains, all reports use it, tensor count stays flat', async () => {
    const before = tf.memory().numTensors;
    const perEpochTensors: number[] = [];
    // "greatly" = great ##ly, "films" = film ##s, "badly" = bad ##ly: the class "neg" has no one-token word.
    const words = { pos: ['greatly', 'good'], neg: ['films', 'badly'] };
    const r = await trainClassifier(lm, { ...data, labelWords: words }, { ...config, epochs: 4 }, { onEpoch: () => perEpochTensors.push(tf.memory().numTensors) });
    expect(r.prepared.verbalizer!.sequences.length).toBe(5); // [MASK]; [MASK] [MASK]; great/film/bad [MASK]
    expect(perEpochTensors.length).toBe(4);
    expect(new Set(perEpochTensors.slice(1)).size).toBe(1);
    expect(r.epochs[r.epochs.length - 1].trainLoss).toBeLessThan(r.epochs[0].trainLoss * 0.8);
    expect(r.zeroShot!.predictions.length).toBe(r.valSize);
    expect(r.validation!.predictions.length).toBe(r.valSize);
    expect(r.robustness?.clean).toBeCloseTo(r.validation!.accuracy, 12);
    // The playground path scores the same way as validation.
    const [p] = await classifyRows(lm, r.prepared, r.prompt, [r.prepared.valRows[0]]);
    r.validation!.predictions[0].probabilities.forEach((x, i) => expect(p.probabilities[i]).toBeCloseTo(x, 5));
    r.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is deterministic: same seed and data give identical loss arrays', async () => {
    const run = async (seed: number) => {
      const r = await trainClassifier(lm, data, { ...config, epochs: 2, seed });
      r.dispose();
      return r.trainLosses;
    };
    const a = await run(5);
    expect(a.length).toBe(12);
    expect(await run(5)).toEqual(a);
    expect(await run(6)).not.toEqual(a);
  });

  it('head mode trains the prompt and a linear head on [CLS]', async () => {
    const r = await trainClassifier(lm, data, { ...config, mode: 'head', epochs: 6 });
    expect(r.prompt.head).not.toBeNull();
    expect(r.epochs[r.epochs.length - 1].trainLoss).toBeLessThan(r.epochs[0].trainLoss);
    expect(r.zeroShot).not.toBeNull(); // label words given: the zero-shot baseline is still measured
    r.dispose();
  });

  it("head mode without label words: the 'labels' init starts from the class names' embeddings", async () => {
    const rows = data.rows.map((r) => ({ ...r, label: r.label === 'pos' ? 'good' : 'bad' }));
    const r = await trainClassifier(lm, { ...data, rows, labelWords: undefined }, { ...config, mode: 'head', init: 'labels', epochs: 1, learningRate: 1e-12 });
    expect(r.zeroShot).toBeNull(); // no label words: no zero-shot baseline
    expect(r.classes).toEqual(['bad', 'good']);
    const table = (await lm.model.wordEmbeddings.array()) as number[][];
    const rowsNow = (await r.prompt.vectors.array()) as number[][];
    const id = (w: string) => lm.tokenizer.tokenToId(w) as number;
    [table[id('bad')], table[id('good')]].forEach((expected, i) => expected.forEach((x, h) => expect(rowsNow[i][h]).toBeCloseTo(x, 5)));
    r.dispose();
  });

  it('starts from given values and continues where they left off', async () => {
    const first = await trainClassifier(lm, data, { ...config, epochs: 2 });
    const values = await first.prompt.values();
    const firstVal = first.validation!.loss;
    first.dispose();
    const resumed = await trainClassifier(lm, data, { ...config, epochs: 1, learningRate: 1e-12 }, {}, { initial: values });
    Array.from((await resumed.prompt.values()).vectors).forEach((x, i) => expect(x).toBeCloseTo(values.vectors[i], 6));
    // With a vanishing learning rate the resumed run keeps the given prompt, so it scores as the first run ended.
    expect(resumed.validation!.loss).toBeCloseTo(firstVal, 5);
    expect(resumed.trainLosses.length).toBe(6);
    resumed.dispose();
  });

  it('train: false evaluates the given prompt without a step; a wrong prompt length is named', async () => {
    const trained = await trainClassifier(lm, data, { ...config, mode: 'head', epochs: 2 });
    const values = await trained.prompt.values();
    const expected = trained.validation!;
    trained.dispose();
    const before = tf.memory().numTensors;
    const r = await trainClassifier(lm, data, { ...config, mode: 'head' }, {}, { initial: values, train: false });
    expect(r.steps).toBe(0);
    expect(r.trainLosses).toEqual([]);
    expect(r.validation!.accuracy).toBe(expected.accuracy);
    expect(r.validation!.loss).toBeCloseTo(expected.loss, 6);
    expect(Array.from(r.prompt.head!.bias.dataSync())).toEqual(Array.from(values.head!.bias));
    r.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await expect(trainClassifier(lm, data, { ...config, promptLength: 5 }, {}, { initial: values, train: false })).rejects.toThrow(
      /the prompt has 4 vectors but the template and prompt length ask for 5/,
    );
    await expect(trainClassifier(lm, data, { ...config, valFraction: 0 }, {}, { initial: values, train: false })).rejects.toThrow(/needs a validation split/);
  });

  it('an injected NaN stops training with a message; the prompt stays finite', async () => {
    let calls = 0;
    const poisoned: FrozenLM = Object.create(lm.model, {
      forward: {
        value: (inputs: ForwardInputs) => {
          calls++;
          const h = lm.model.forward(inputs);
          if (calls < 20) return h;
          const bad = tf.mul(h, NaN) as tf.Tensor3D;
          h.dispose();
          return bad;
        },
      },
    });
    const r = await trainClassifier({ model: poisoned, tokenizer: lm.tokenizer }, data, config);
    expect(r.stopReason).toBe('non-finite-loss');
    expect(r.message).toMatch(/the loss became NaN/);
    expect(r.trainLosses[r.trainLosses.length - 1]).toBeNaN();
    const values = await r.prompt.values();
    expect(values.vectors.every(Number.isFinite)).toBe(true);
    r.dispose();
  });
});

describe('prepareClassification errors', () => {
  const cases: { name: string; change: Partial<ClassificationData>; c?: Partial<TrainingConfig>; message: RegExp }[] = [
    { name: 'a label without label words', change: { labelWords: { pos: ['great'] , other: ['bad'] } }, message: /labels "neg" have no label words/ },
    { name: 'missing label column', change: { labelColumn: 'y' }, message: /label column "y" is not a column.*text, label/ },
    { name: 'verbalizer mode without label words', change: { labelWords: undefined }, message: /needs label words/ },
    { name: 'an empty label', change: { rows: [...goodTask(4, 1), { text: 'x', label: '' }] }, message: /row 5 has an empty label/ },
  ];
  it.each(cases)('$name', ({ change, c, message }) => {
    expect(() => prepareClassification(lm, { ...data, ...change }, { ...config, ...c })).toThrow(message);
  });

  it(`reports the encoding every ${ENCODE_PROGRESS_ROWS} rows, and its start and end (a large file is not silent)`, () => {
    const rows = goodTask(2 * ENCODE_PROGRESS_ROWS + 100, 5);
    const heard: PhaseProgress[] = [];
    const p = prepareClassification(lm, { ...data, rows }, config, (progress) => heard.push(progress));
    const n = rows.length;
    expect(heard).toEqual([
      { stage: 'encoding examples', done: 0, total: n },
      { stage: 'encoding examples', done: ENCODE_PROGRESS_ROWS, total: n },
      { stage: 'encoding examples', done: 2 * ENCODE_PROGRESS_ROWS, total: n },
      { stage: 'encoding examples', done: n, total: n },
    ]);
    expect(p.train.length + p.val.length).toBe(n);
    p.verbalizer?.dispose();
  });

  it('counts truncated rows', () => {
    const long = { text: Array(40).fill('movie').join(' '), label: 'pos' };
    const p = prepareClassification(lm, { ...data, rows: [...data.rows, long, long] }, config);
    expect(p.truncatedCount).toBe(2);
    p.verbalizer?.dispose();
  });
});
