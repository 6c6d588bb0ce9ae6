/**
 * The three prompt methods through the real engine on the tiny random checkpoints: prompt tuning,
 * P-tuning (an MLP encoder over the embeddings) and prefix tuning (keys and values at every layer,
 * with or without PEFT's projection). Each learns, keeps the tensor count flat, exports what PEFT
 * expects, and resumes exactly from a checkpoint (encoder variables included).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import { classifyRows, trainClassifier, type ClassificationData } from './classification';
import { trainGenerator, generate } from './generation';
import type { LanguageModel } from './languageModel';
import { createSoftPrompt, promptFromValues } from './softPrompt';
import { goodTask, loadFixture } from './testing/fixtures';
import { DEFAULT_TRAINING_CONFIG, type TrainingConfig, type TrainingState } from './train';
import type { PromptEncoderType, PromptMethod } from './types';

const data: ClassificationData = { rows: goodTask(48, 7), labelColumn: 'label', template: '{text} it was [MASK].', labelWords: { pos: ['great'], neg: ['terrible'] } };
const base: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, promptLength: 4, init: 'vocab', epochs: 6, batchSize: 8, learningRate: 0.05, valFraction: 0.25, patience: 0, seed: 3 };

const METHODS: { name: string; method: PromptMethod; prefixProjection?: boolean; encoderHiddenSize?: number; encoderType?: PromptEncoderType }[] = [
  { name: 'prompt tuning', method: 'prompt' },
  { name: 'P-tuning (MLP encoder)', method: 'p-tuning', encoderHiddenSize: 8 },
  { name: 'P-tuning (LSTM encoder)', method: 'p-tuning', encoderHiddenSize: 4, encoderType: 'lstm' },
  { name: 'prefix tuning', method: 'prefix' },
  { name: 'prefix tuning with projection', method: 'prefix', prefixProjection: true, encoderHiddenSize: 8 },
];

let bert: LanguageModel;
let gpt2: LanguageModel;
beforeAll(async () => {
  await useNodeBackend('cpu');
  bert = await loadFixture('bert', { positions: 32 });
  gpt2 = await loadFixture('gpt2', { positions: 32 });
});
afterAll(() => {
  bert.model.dispose();
  gpt2.model.dispose();
});

describe.each(METHODS)('$name', ({ method, prefixProjection, encoderHiddenSize, encoderType }) => {
  const config: TrainingConfig = { ...base, method, prefixProjection, encoderHiddenSize, encoderType };
  const H = 16;
  const L = 2;

  it('lowers the training loss, keeps the tensor count flat, and hands out what the model sees', async () => {
    const before = tf.memory().numTensors;
    const perEpoch: number[] = [];
    const r = await trainClassifier(bert, data, config, { onEpoch: () => perEpoch.push(tf.memory().numTensors) });
    expect(r.steps).toBe(30);
    expect(r.epochs.at(-1)!.trainLoss).toBeLessThan(r.epochs[0].trainLoss * 0.9);
    expect(new Set(perEpoch.slice(1)).size).toBe(1);
    const values = await r.prompt.values();
    expect(values.numTokens).toBe(4);
    expect(values.dim).toBe(method === 'prefix' ? L * 2 * H : H);
    expect(values.method ?? 'prompt').toBe(method);
    // The template holds no soft tokens for a prefix: nothing is added to the input.
    expect(r.prepared.template.softCount).toBe(method === 'prefix' ? 0 : 4);
    // The exported values score as the trained prompt did (an encoder's output replaces the encoder).
    const reloaded = promptFromValues(values, { length: 4, hiddenSize: H, numLayers: L, seed: 0 });
    const again = await trainClassifier(bert, data, config, {}, { initial: values, train: false });
    expect(again.validation!.loss).toBeCloseTo(r.validation!.loss, 5);
    reloaded.dispose();
    again.dispose();
    r.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('resumes exactly from a mid-epoch checkpoint (every trainable variable, encoder included)', async () => {
    const cfg = { ...config, epochs: 3 };
    const states: TrainingState[] = [];
    const full = await trainClassifier(bert, data, cfg, { checkpointEverySteps: 1, onCheckpoint: ({ state }) => void states.push(state) });
    const state = states.find((s) => s.step === 7)!;
    // Embeddings, then each linear layer's weight and bias: P-tuning's MLP has 3 layers, the projection 2;
    // the LSTM encoder 2 bidirectional layers (input weight, recurrent weight, bias per direction) and 2 linear layers.
    const variables = encoderType === 'lstm' ? 1 + 2 * 2 * 3 + 4 : method === 'p-tuning' ? 7 : prefixProjection ? 5 : 1;
    expect(state.variables).toHaveLength(variables);
    const resumed = await trainClassifier(bert, data, cfg, {}, { resume: structuredClone(state) as TrainingState<never> });
    expect(resumed.trainLosses).toHaveLength(full.trainLosses.length);
    resumed.trainLosses.forEach((loss, i) => expect(loss, `step ${i + 1}`).toBeCloseTo(full.trainLosses[i], 5));
    const [a, b] = [await full.prompt.values(), await resumed.prompt.values()];
    Array.from(b.vectors).forEach((x, i) => expect(x).toBeCloseTo(a.vectors[i], 5));
    full.dispose();
    resumed.dispose();
  });

  it('trains a generation prompt on the causal LM and generates with it', async () => {
    const rows = Array.from({ length: 16 }, (_, i) => (i % 2 ? { input: 'good', target: 'bad' } : { input: 'great', target: 'terrible' }));
    const r = await trainGenerator(gpt2, { rows, targetColumn: 'target', template: 'the {input} was' }, { ...config, epochs: 3, init: 'vocab' });
    expect(r.trainLosses.length).toBe(r.totalSteps);
    expect(r.trainLosses.every(Number.isFinite)).toBe(true);
    const [text] = await generate(gpt2, r.prepared.template, r.prompt, [{ input: 'good', target: '' }], { maxNewTokens: 3 });
    expect(typeof text).toBe('string');
    r.dispose();
  });
});

describe('prefix init and encoders', () => {
  it("a prefix started from a text holds exactly the model's keys and values for that text", async () => {
    const prompt = await createSoftPrompt(bert.model, { length: 3, init: 'text', text: 'the good movie', tokenizer: bert.tokenizer, seed: 1, method: 'prefix' });
    const ids = bert.tokenizer.encode('the good movie');
    expect(ids).toHaveLength(3);
    const expected = tf.tidy(() => {
      const t = tf.tensor2d([ids], [1, 3], 'int32');
      return bert.model.keyValues({ inputsEmbeds: bert.model.embed(t), attentionMask: tf.onesLike(t) }).reshape([3, 64]);
    });
    expect(Array.from(await prompt.prefix()!.data())).toEqual(Array.from(await expected.data()));
    expect(prompt.inputVectors()).toBeNull();
    expected.dispose();
    prompt.dispose();
  });

  it("P-tuning's vectors are the MLP H -> E -> E -> H (ReLU) of its embeddings, computed by hand", async () => {
    const prompt = await createSoftPrompt(bert.model, { length: 2, init: 'random', seed: 4, method: 'p-tuning', encoderHiddenSize: 5 });
    const emb = (await prompt.vectors.array()) as number[][];
    const layers = await Promise.all(prompt.encoder!.layers.map(async (l) => ({ w: (await l.weight.array()) as number[][], b: (await l.bias.array()) as number[] })));
    expect(layers.map((l) => [l.w.length, l.b.length])).toEqual([
      [16, 5],
      [5, 5],
      [5, 16],
    ]);
    const byHand = emb.map((row) =>
      layers.reduce((x, l, i) => {
        const y = l.b.map((bias, j) => bias + x.reduce((s, xi, k) => s + xi * l.w[k][j], 0));
        return i < layers.length - 1 ? y.map((v) => Math.max(0, v)) : y;
      }, row),
    );
    const out = (await prompt.inputVectors()!.array()) as number[][];
    out.forEach((row, n) => row.forEach((v, j) => expect(v).toBeCloseTo(byHand[n][j], 5)));
    prompt.dispose();
  });

  it('refuses a prefix of the wrong width and [SOFT] slots in a prefix run, saying what they need', async () => {
    expect(() => promptFromValues({ vectors: new Float32Array(4 * 16), numTokens: 4, dim: 16, method: 'prefix' }, { length: 4, hiddenSize: 16, numLayers: 2, seed: 0 })).toThrow(
      'the prefix has 16 values per virtual token but this model needs 64 (layers 2 x 2 x hidden 16)',
    );
    await expect(trainClassifier(bert, { ...data, template: '[SOFT*2] {text} it was [MASK].' }, { ...base, method: 'prefix' })).rejects.toThrow(/prefix tuning puts its 4 virtual tokens at every layer.*remove the \[SOFT\] slots/);
  });
});

describe('prompt ensembles', () => {
  const cfg: TrainingConfig = { ...base, epochs: 3, ensembleSize: 3 };

  it("trains each member as if alone: member 1 ends where the solo run with the run's seed ends", async () => {
    const noVal = { ...cfg, valFraction: 0 }; // no best-epoch pick, which an ensemble makes on its own validation
    const solo = await trainClassifier(bert, data, { ...noVal, ensembleSize: 1 });
    const ensemble = await trainClassifier(bert, data, noVal);
    expect(ensemble.members).toHaveLength(3);
    const [a, b] = [await solo.prompt.values(), await ensemble.members[0].values()];
    Array.from(b.vectors).forEach((x, i) => expect(x).toBeCloseTo(a.vectors[i], 4));
    // The members started apart (their own init seeds) and stay apart.
    const c = await ensemble.members[1].values();
    expect(Array.from(c.vectors).some((x, i) => Math.abs(x - b.vectors[i]) > 1e-3)).toBe(true);
    solo.dispose();
    ensemble.dispose();
  });

  it('scores by the mean of the members’ class probabilities, and says how much they disagree', async () => {
    const r = await trainClassifier(bert, data, cfg);
    const rows = r.prepared.valRows;
    const each = await Promise.all(r.members.map((m) => classifyRows(bert, r.prepared, m, rows)));
    const together = await classifyRows(bert, r.prepared, r.members, rows);
    together.forEach((p, i) => p.probabilities.forEach((q, c) => expect(q).toBeCloseTo(each.reduce((s, e) => s + e[i].probabilities[c], 0) / 3, 5)));
    expect(r.validation!.predictions.map((p) => p.predicted)).toEqual(together.map((p) => p.predicted));
    const split = rows.filter((_, i) => new Set(each.map((e) => e[i].predicted)).size > 1).length / rows.length;
    expect(r.ensemble!.disagreement).toBeCloseTo(split, 10);
    expect(r.ensemble!.members).toHaveLength(3);
    const values = await r.values();
    expect(values.members).toHaveLength(3);
    r.dispose();
  });

  it('the final evaluation scores the validation rows once per member, and each member’s report is its own evaluation', async () => {
    // A model that counts forward passes, and the stage they happen in.
    let stage = '';
    const forwards = new Map<string, number>();
    const model = Object.assign(Object.create(bert.model) as typeof bert.model, {
      forward(inputs: Parameters<typeof bert.model.forward>[0]) {
        forwards.set(stage, (forwards.get(stage) ?? 0) + 1);
        return bert.model.forward(inputs);
      },
    });
    const counted: LanguageModel = { ...bert, model };
    const onPhase = ({ stage: s }: { stage: string }) => void (stage = s);
    const short = { ...cfg, epochs: 1 };
    const solo = await trainClassifier(counted, data, { ...short, ensembleSize: 1 }, { onPhase });
    const perMember = forwards.get('final evaluation')!;
    expect(perMember).toBeGreaterThan(0);
    forwards.clear();
    const r = await trainClassifier(counted, data, short, { onPhase });
    expect(forwards.get('final evaluation')).toBe(3 * perMember);
    // The same numbers as scoring each member on its own, and the ensemble's as its mean.
    for (let k = 0; k < 3; k++) {
      const alone = (await classifyRows(bert, r.prepared, r.members[k], r.prepared.valRows)).map((p) => p.probabilities);
      const gold = r.prepared.val.map((e) => e.label);
      const loss = -alone.reduce((sum, probs, i) => sum + Math.log(probs[gold[i]]), 0) / alone.length;
      expect(r.ensemble!.members[k].loss).toBeCloseTo(loss, 5);
      expect(r.ensemble!.members[k].accuracy).toBe(alone.filter((probs, i) => probs.indexOf(Math.max(...probs)) === gold[i]).length / alone.length);
    }
    const together = await classifyRows(bert, r.prepared, r.members, r.prepared.valRows);
    r.validation!.predictions.forEach((p, i) => p.probabilities.forEach((q, c) => expect(q).toBeCloseTo(together[i].probabilities[c], 6)));
    solo.dispose();
    r.dispose();
  });

  it('resumes exactly from a mid-epoch checkpoint, every member', async () => {
    const states: TrainingState[] = [];
    const full = await trainClassifier(bert, data, cfg, { checkpointEverySteps: 1, onCheckpoint: ({ state }) => void states.push(state) });
    const state = states.find((s) => s.step === 4)!;
    expect(state.variables).toHaveLength(3);
    const resumed = await trainClassifier(bert, data, cfg, {}, { resume: structuredClone(state) as TrainingState<never> });
    resumed.trainLosses.forEach((loss, i) => expect(loss, `step ${i + 1}`).toBeCloseTo(full.trainLosses[i], 5));
    for (let k = 0; k < 3; k++) {
      const [a, b] = [await full.members[k].values(), await resumed.members[k].values()];
      Array.from(b.vectors).forEach((x, i) => expect(x).toBeCloseTo(a.vectors[i], 5));
    }
    full.dispose();
    resumed.dispose();
  });

  it('is for classification: generation refuses it, and a size outside 1..8 is named', async () => {
    const rows = [{ input: 'good', target: 'bad' }, { input: 'great', target: 'terrible' }];
    await expect(trainGenerator(gpt2, { rows, targetColumn: 'target', template: 'the {input} was' }, { ...base, ensembleSize: 2, init: 'vocab' })).rejects.toThrow(/ensembles average class probabilities: they are for classification/);
    await expect(trainClassifier(bert, data, { ...base, ensembleSize: 9 })).rejects.toThrow('ensemble size must be a whole number from 1 to 8, got 9');
  });
});
