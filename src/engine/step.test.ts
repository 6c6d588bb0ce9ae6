import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import { embedInputs, forwardWithPrompt, makeBatch, padSideFor, readHidden } from './batch';
import type { LanguageModel } from './languageModel';
import { createSoftPrompt, SoftPrompt } from './softPrompt';
import { classificationLoss, classScores, makeClassificationBatch, promptTuningStep, readPosition, type ClassifierParts } from './step';
import { compileTemplate } from './template';
import { loadFixture } from './testing/fixtures';
import { buildVerbalizer } from './verbalizer';

beforeAll(async () => {
  await useNodeBackend('wasm');
});

describe('promptTuningStep', () => {
  it('clips the global gradient norm (SGD makes the update equal the clipped gradient)', async () => {
    const v = tf.variable(tf.zeros([2, 2]) as tf.Tensor2D);
    const w = tf.variable(tf.zeros([2]));
    const c = tf.tensor2d([[30, 0], [0, 40]]); // |grad| = 50 with w's gradient [0, 0]
    const objective = () => tf.add(tf.sum(tf.mul(v, c)), tf.sum(tf.mul(w, 0))) as tf.Scalar;
    const sgd = tf.train.sgd(1);
    tf.dispose(promptTuningStep(objective, [v, w], sgd, { learningRate: 1, maxGradNorm: 5 }));
    const moved = (await v.array()).flat();
    expect(moved[0]).toBeCloseTo(-3, 4); // -30 * 5/50
    expect(moved[3]).toBeCloseTo(-4, 4);
    tf.dispose(promptTuningStep(objective, [v, w], sgd, { learningRate: 0.5, maxGradNorm: 0 })); // no clipping, lr set per step
    expect((await v.array()).flat()[0]).toBeCloseTo(-3 - 15, 4);
    tf.dispose([v, w, c]);
    sgd.dispose();
  });

  it('a non-finite loss leaves the variables unchanged (decided on the device)', async () => {
    const before = tf.memory().numTensors;
    const init = tf.tensor1d([1, 2]);
    const v = tf.variable(init);
    init.dispose();
    const adam = tf.train.adam(0.1);
    const loss = promptTuningStep(() => tf.mul(tf.sum(v), NaN) as tf.Scalar, [v], adam, { learningRate: 0.1, maxGradNorm: 1 });
    expect(Number.isNaN((await loss.data())[0])).toBe(true);
    expect(await v.array()).toEqual([1, 2]);
    loss.dispose();
    const ok = promptTuningStep(() => tf.sum(tf.square(v)) as tf.Scalar, [v], adam, { learningRate: 0.1, maxGradNorm: 1 });
    ok.dispose();
    expect((await v.array())[0]).toBeLessThan(1);
    adam.dispose();
    v.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

for (const family of ['bert', 'gpt2'] as const) {
  describe(`classification step (${family})`, () => {
    let lm: LanguageModel;
    let parts: ClassifierParts;
    const source = family === 'bert' ? '{text} it was [MASK].' : '{text} a';
    const words = family === 'bert' ? { pos: ['great'], neg: ['terrible'] } : { pos: ['the'], neg: ['great'] };
    const rows = [
      { text: family === 'bert' ? 'the movie was good' : 'the great', label: 'pos' },
      { text: family === 'bert' ? 'bad' : 'a', label: 'neg' },
    ];

    beforeAll(async () => {
      lm = await loadFixture(family, { positions: 32 });
      const template = compileTemplate(source, { tokenizer: lm.tokenizer, config: lm.model.config, columns: ['text', 'label'], promptLength: 3 });
      const verbalizer = buildVerbalizer(words, lm.tokenizer, { spaceBefore: template.spaceBeforePrediction, vocabSize: lm.model.config.vocabSize, lmKind: lm.model.config.lmKind });
      const prompt = await createSoftPrompt(lm.model, { length: 3, init: 'random', seed: 1 });
      parts = { model: lm.model, mode: 'verbalizer', verbalizer, prompt, numClasses: 2, padId: lm.tokenizer.special.pad ?? 0 };
      (parts as { template?: unknown }).template = template;
    });
    afterAll(() => {
      parts.prompt?.dispose();
      parts.verbalizer?.dispose();
      lm.model.dispose();
    });
    const examples = () => {
      const t = (parts as unknown as { template: ReturnType<typeof compileTemplate> }).template;
      return rows.map((r) => ({ encoded: t.encode(r), label: r.label === 'pos' ? 0 : 1 }));
    };

    it('dynamic padding does not change an example\'s class scores', async () => {
      const [long, short] = examples().sort((a, b) => b.encoded.ids.length - a.encoded.ids.length);
      expect(long.encoded.ids.length).toBeGreaterThan(short.encoded.ids.length);
      const alone = makeClassificationBatch([short], parts);
      const padded = makeClassificationBatch([long, short], parts);
      const a = classScores(parts, alone);
      const p = classScores(parts, padded);
      const [sa] = (await a.array()) as number[][];
      const sp = ((await p.array()) as number[][])[1];
      sa.forEach((x, i) => expect(sp[i]).toBeCloseTo(x, 4));
      tf.dispose([a, p]);
      alone.dispose();
      padded.dispose();
    });

    it('the prompt gradient is the input-embedding gradient summed over its soft positions', async () => {
      const ex = examples();
      const batch = makeClassificationBatch(ex, parts);
      const prompt = parts.prompt!.vectors;
      // A prompt whose vectors are the differentiated tensor (a plain tensor standing in for the variable).
      const gPrompt = tf.grad((p: tf.Tensor) => classificationLoss({ ...parts, prompt: new SoftPrompt(p as tf.Variable<tf.Rank.R2>) }, batch))(prompt);
      const embeds = embedInputs(lm.model, batch, prompt);
      const gEmbeds = tf.grad((e: tf.Tensor) => {
        const h = lm.model.forward({ inputsEmbeds: e as tf.Tensor3D, attentionMask: batch.attentionMask, tokenTypeIds: batch.tokenTypeIds });
        // One row per example here (GPT-2's " great" is Ġ great: one sequence, read twice).
        const hm = readHidden(h, batch).reshape([-1, lm.model.config.hiddenSize]);
        const scores = parts.verbalizer!.classScores(tf.logSoftmax(lm.model.lmLogits(hm) as tf.Tensor2D));
        return tf.neg(tf.mean(tf.sum(tf.mul(batch.labels, tf.logSoftmax(scores)), -1)));
      })(embeds);
      const ge = (await gEmbeds.array()) as number[][][];
      const expected = Array.from({ length: 3 }, () => new Array(lm.model.config.hiddenSize).fill(0));
      ex.forEach((e, b) => {
        const off = batch.offsets[b]; // the scoring row may be longer than the example (a decoder's appended pieces)
        e.encoded.softIndex.forEach((s, t) => {
          if (s >= 0) ge[b][off + t].forEach((g, h) => (expected[s][h] += g));
        });
      });
      const got = (await gPrompt.array()) as number[][];
      got.forEach((row, n) => row.forEach((g, h) => expect(g).toBeCloseTo(expected[n][h], 4)));
      expect(Math.max(...got.flat().map(Math.abs))).toBeGreaterThan(1e-4);
      tf.dispose([gPrompt, embeds, gEmbeds]);
      batch.dispose();
    });

    it('head mode reads [CLS] for encoders, the last token for decoders', () => {
      const [e] = examples();
      expect(readPosition(e.encoded, 'head', lm.model.config.lmKind)).toBe(family === 'bert' ? 0 : e.encoded.ids.length - 1);
      expect(readPosition(e.encoded, 'verbalizer', lm.model.config.lmKind)).toBe(e.encoded.maskPosition);
    });

    it('forwardWithPrompt leaves no tensors behind but its output', () => {
      const batch = makeBatch([examples()[0].encoded], { side: padSideFor(lm.model.config.lmKind), padId: 0, promptLength: 3, reads: [[0]] });
      const before = tf.memory().numTensors;
      const h = forwardWithPrompt(lm.model, batch, parts.prompt);
      expect(tf.memory().numTensors).toBe(before + 1);
      h.dispose();
      batch.dispose();
    });
  });
}
