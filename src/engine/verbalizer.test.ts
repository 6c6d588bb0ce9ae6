import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import { hfConfig, randomHfWeights, referenceEmbed, referenceForward, type HfTensors } from '../model/testing/hfCheckpoint';
import type { LanguageModel } from './languageModel';
import { createSoftPrompt, type SoftPrompt } from './softPrompt';
import { classificationLoss, classScores, makeClassificationBatch, type ClassifierParts, type LabeledExample } from './step';
import { compileTemplate, type Template } from './template';
import { fixtureDims, fixtureTokenizer, loadFixture } from './testing/fixtures';
import { buildVerbalizer, MASK_SLOT, VerbalizerError, type LabelWords } from './verbalizer';

const bertTok = fixtureTokenizer('bert');
const gptTok = fixtureTokenizer('gpt2');
const V = 40;
const id = (w: string) => bertTok.tokenToId(w) as number;

beforeAll(async () => {
  await useNodeBackend('wasm');
});

describe('buildVerbalizer errors', () => {
  const cases: { name: string; words: LabelWords; message: RegExp; tokenizer?: 'gpt2' }[] = [
    { name: 'a class with no words', words: { pos: ['great'], neg: [] }, message: /class "neg" has no label words/ },
    { name: 'a class with only blank words', words: { pos: ['great'], neg: [' ', ''] }, message: /class "neg" has no label words/ },
    { name: 'a word shared by two classes', words: { pos: ['great', 'good'], neg: ['good'] }, message: /"good" is a label word of both "pos" and "neg"/ },
    { name: 'an unknown word (WordPiece [UNK])', words: { pos: ['great'], neg: ['zebra'] }, message: /label word "zebra" \(class "neg"\) cannot be represented/ },
    { name: 'characters a byte-level BPE vocab drops', words: { pos: ['great'], neg: ['Great!'] }, message: /"Great!".*cannot be represented.*reads back as/, tokenizer: 'gpt2' },
    { name: 'two classes whose words are the same tokens', words: { pos: ['Good'], neg: ['good'] }, message: /"Good" \("pos"\) and "good" \("neg"\) are the same tokens \(good\), so these two cannot be told apart/ },
    { name: 'fewer than two classes', words: { pos: ['great'] }, message: /at least two classes/ },
  ];
  it.each(cases)('$name', ({ words, message, tokenizer }) => {
    const tok = tokenizer === 'gpt2' ? gptTok : bertTok;
    const run = () => buildVerbalizer(words, tok, { spaceBefore: false, vocabSize: V, lmKind: tokenizer === 'gpt2' ? 'causal-lm' : 'masked-lm' });
    expect(run).toThrow(VerbalizerError);
    expect(run).toThrow(message);
  });
});

describe('label words', () => {
  it('multi-token words keep all their tokens and are listed; the labels init gets first tokens', () => {
    const v = buildVerbalizer({ pos: ['films', 'great'], neg: ['bad'] }, bertTok, { spaceBefore: false, vocabSize: V, lmKind: 'masked-lm' });
    expect(bertTok.encode('films')).toEqual([id('film'), id('##s')]);
    expect(v.words[0][0].tokenIds).toEqual([id('film'), id('##s')]);
    expect(v.labelWordIds).toEqual([[id('film'), id('great')], [id('bad')]]);
    expect(v.multiTokenWords).toEqual([{ className: 'pos', word: 'films', tokenIds: [id('film'), id('##s')] }]);
    expect(v.extraPositions).toBe(1);
  });

  it('words of two classes where one is the start of the other are allowed and listed as prefix pairs', () => {
    const v = buildVerbalizer({ pos: ['film', 'great'], neg: ['films', 'bad'] }, bertTok, { spaceBefore: false, vocabSize: V, lmKind: 'masked-lm' });
    expect(v.prefixPairs).toEqual([
      { shorter: { className: 'pos', word: 'film', tokenIds: [id('film')] }, longer: { className: 'neg', word: 'films', tokenIds: [id('film'), id('##s')] } },
    ]);
    // Same first token, neither a prefix of the other: scored apart, nothing to report.
    expect(buildVerbalizer({ pos: ['films'], neg: ['filmly'] }, bertTok, { spaceBefore: false, vocabSize: V, lmKind: 'masked-lm' }).prefixPairs).toEqual([]);
  });

  it('encoders: one sequence per (piece count, filled prefix), each read at its next mask', () => {
    const v = buildVerbalizer({ pos: ['great', 'goodsly'], neg: ['films', 'badly'] }, bertTok, { spaceBefore: false, vocabSize: V, lmKind: 'masked-lm' });
    expect(bertTok.encode('goodsly')).toEqual([id('good'), id('##s'), id('##ly')]);
    const M = MASK_SLOT;
    expect(v.sequences).toEqual([
      { tokens: [M], reads: [0] },
      { tokens: [M, M], reads: [0] }, // shared by films and badly
      { tokens: [id('film'), M], reads: [1] },
      { tokens: [id('bad'), M], reads: [1] },
      { tokens: [M, M, M], reads: [0] },
      { tokens: [id('good'), M, M], reads: [1] },
      { tokens: [id('good'), id('##s'), M], reads: [2] },
    ]);
    // An example becomes those rows, the [MASK] widened in place; soft positions and the rest unchanged.
    const e = { ids: [2, 100, 4, 30], softIndex: [-1, 0, -1, -1], tokenTypes: [0, 0, 0, 0], maskPosition: 2, truncated: false };
    const { inputs, reads } = v.scoringInputs(e);
    expect(inputs[5]).toEqual({ ids: [2, 100, id('good'), 4, 4, 30], softIndex: [-1, 0, -1, -1, -1, -1], tokenTypes: [0, 0, 0, 0, 0, 0] });
    expect(reads).toEqual([[2], [2], [3], [3], [2], [3], [4]]);
    expect(v.extraPositions).toBe(2);
  });

  it('decoders: one sequence per longest needed prefix, read at every position from the prediction point', () => {
    const g = (t: string) => gptTok.tokenToId(t) as number;
    const v = buildVerbalizer({ pos: ['the', 'great'], neg: ['them', 'bad'], mid: ['theme'] }, gptTok, { spaceBefore: true, vocabSize: V, lmKind: 'causal-lm' });
    expect(v.words.map((ws) => ws.map((w) => w.tokenIds.map((i) => gptTok.idToToken(i))))).toEqual([
      [['Ġthe'], ['Ġ', 'great']],
      [['Ġthe', 'm'], ['Ġ', 'b', 'a', 'd']],
      [['Ġthe', 'm', 'e']],
    ]);
    // "the", "them" and "theme" share one sequence; "great" rides on "bad"'s.
    expect(v.sequences).toEqual([
      { tokens: [g('Ġthe'), g('m')], reads: [0, 1, 2] },
      { tokens: [g('Ġ'), g('b'), g('a')], reads: [0, 1, 2, 3] },
    ]);
    const e = { ids: [0, 7, 8], softIndex: [-1, 0, -1], tokenTypes: [0, 0, 0], maskPosition: 2, truncated: false };
    const { inputs, reads } = v.scoringInputs(e);
    expect(inputs[1].ids).toEqual([0, 7, 8, g('Ġ'), g('b'), g('a')]);
    expect(inputs[1].softIndex).toEqual([-1, 0, -1, -1, -1, -1]);
    expect(reads).toEqual([[2, 3, 4], [2, 3, 4, 5]]);
    // All one-token words: the template alone, read once, as before.
    expect(buildVerbalizer({ a: ['the'], b: ['great'] }, gptTok, { spaceBefore: false, vocabSize: V, lmKind: 'causal-lm' }).sequences).toEqual([{ tokens: [], reads: [0] }]);
  });

  it('byte-level BPE: the word is encoded with the space the template puts before it', () => {
    const spaced = buildVerbalizer({ a: ['the'], b: ['great'] }, gptTok, { spaceBefore: true, vocabSize: V, lmKind: 'causal-lm' });
    const bare = buildVerbalizer({ a: ['the'], b: ['great'] }, gptTok, { spaceBefore: false, vocabSize: V, lmKind: 'causal-lm' });
    expect(spaced.labelWordIds[0]).toEqual([gptTok.tokenToId('Ġthe')]);
    expect(bare.labelWordIds[0]).toEqual([gptTok.tokenToId('the')]);
    expect(spaced.labelWordIds[0]).not.toEqual(bare.labelWordIds[0]);
  });

  it('class score = mean log-probability of the class words at the mask', async () => {
    const v = buildVerbalizer({ pos: ['great', 'good'], neg: ['terrible'] }, bertTok, { spaceBefore: false, vocabSize: V, lmKind: 'masked-lm' });
    const logits = Array.from({ length: V }, (_, i) => Math.sin(i));
    const logp = tf.logSoftmax(tf.tensor2d([logits]));
    const lp = (await logp.array())[0];
    const scores = v.classScores(logp as tf.Tensor2D);
    const [got] = await scores.array();
    expect(got[0]).toBeCloseTo((lp[id('great')] + lp[id('good')]) / 2, 5);
    expect(got[1]).toBeCloseTo(lp[id('terrible')], 5);
    tf.dispose([logp, scores]);
    v.dispose();
  });
});

/**
 * Multi-token scoring against an independent computation: the float64 reference forward pass of
 * the model core's tests (src/model/testing), run with plain loops on each word's own sequences
 * (no sharing between words), and central finite differences of that reference for the gradient.
 */
describe('multi-token label words against the float64 reference', () => {
  const SEED = 4;
  const POSITIONS = 32;
  const PROMPT = 3;
  const rows = [
    { text: 'the movie was good', label: 'pos' },
    { text: 'bad', label: 'neg' },
    { text: 'a very good film and a plot', label: 'mid' },
  ];
  const cases: { name: string; family: 'bert' | 'gpt2'; template: string; words: LabelWords }[] = [
    // BERT: "goodsly" = good ##s ##ly, "films" = film ##s, "badly" = bad ##ly; "neg" has only multi-token words.
    { name: 'BERT, mixed and all-multi-token classes', family: 'bert', template: '{text} it was [MASK].', words: { pos: ['great', 'goodsly'], neg: ['films', 'badly'], mid: ['plot'] } },
    { name: 'BERT, every word multi-token', family: 'bert', template: '{text} it was [MASK].', words: { pos: ['goodsly'], neg: ['films', 'badly'], mid: ['movies'] } },
    // GPT-2 fixture BPE: " great" = Ġ great, " bad" = Ġ b a d, " them" = Ġthe m, " theme" = Ġthe m e.
    { name: 'GPT-2, mixed and all-multi-token classes', family: 'gpt2', template: '{text} it was', words: { pos: ['the', 'great'], neg: ['them', 'bad'], mid: ['theme'] } },
    { name: 'GPT-2, every word multi-token', family: 'gpt2', template: '{text} it was', words: { pos: ['great'], neg: ['them', 'bad'], mid: ['theme'] } },
  ];

  for (const c of cases) {
    describe(c.name, () => {
      let lm: LanguageModel;
      let weights: HfTensors;
      let template: Template;
      let prompt: SoftPrompt;
      let parts: ClassifierParts;
      let examples: LabeledExample[];
      let promptValues: number[][];
      const classes = Object.keys(c.words);

      beforeAll(async () => {
        lm = await loadFixture(c.family, { seed: SEED, positions: POSITIONS });
        weights = randomHfWeights(c.family, SEED, { d: fixtureDims(POSITIONS) });
        template = compileTemplate(c.template, { tokenizer: lm.tokenizer, config: lm.model.config, columns: ['text', 'label'], promptLength: PROMPT });
        const verbalizer = buildVerbalizer(c.words, lm.tokenizer, { spaceBefore: template.spaceBeforePrediction, vocabSize: lm.model.config.vocabSize, lmKind: lm.model.config.lmKind });
        prompt = await createSoftPrompt(lm.model, { length: PROMPT, init: 'random', seed: 2 });
        promptValues = (await prompt.vectors.array()) as number[][];
        parts = { model: lm.model, mode: 'verbalizer', verbalizer, prompt, numClasses: classes.length, padId: lm.tokenizer.special.pad ?? 0 };
        examples = rows.map((r) => ({ encoded: template.encode(r, { reserve: verbalizer.extraPositions }), label: classes.indexOf(r.label) }));
      });
      afterAll(() => {
        parts.verbalizer?.dispose();
        prompt.dispose();
        lm.model.dispose();
      });

      /** Per example, per class: mean over words of sum over pieces of log P, each word on its own sequences. */
      const referenceScores = (vectors: number[][], firstPieceOnly = false): number[][] => {
        const cfg = hfConfig(c.family, fixtureDims(POSITIONS));
        const logSoftmaxAt = (ids: number[], soft: number[], at: number): Float64Array => {
          const embeds = referenceEmbed(c.family, weights, [ids])[0].map((e, t) => (soft[t] >= 0 ? vectors[soft[t]] : e));
          const logits = referenceForward(c.family, weights, cfg, [embeds], [ids.map(() => 1)]).logits![0][at];
          const max = Math.max(...logits);
          const z = Math.log(logits.reduce((s, x) => s + Math.exp(x - max), 0)) + max;
          return logits.map((x) => x - z);
        };
        return examples.map(({ encoded: e }) => {
          const at = e.maskPosition;
          const wordLogP = (pieces: number[]): number => {
            const k = firstPieceOnly ? 1 : pieces.length;
            let sum = 0;
            for (let j = 0; j < k; j++) {
              // Decoders: the template then pieces 0..j-1, read at the position before piece j.
              // Encoders: pieces 0..j-1 then k-j masks in the [MASK]'s place, read at mask j.
              const inserted = c.family === 'gpt2' ? pieces.slice(0, j) : [...pieces.slice(0, j), ...new Array<number>(pieces.length - j).fill(e.ids[at])];
              const tail = c.family === 'gpt2' ? [] : e.ids.slice(at + 1);
              const ids = [...e.ids.slice(0, c.family === 'gpt2' ? at + 1 : at), ...inserted, ...tail];
              const softTail = c.family === 'gpt2' ? [] : e.softIndex.slice(at + 1);
              const soft = [...e.softIndex.slice(0, c.family === 'gpt2' ? at + 1 : at), ...inserted.map(() => -1), ...softTail];
              sum += logSoftmaxAt(ids, soft, at + j)[pieces[j]];
            }
            return sum;
          };
          return parts.verbalizer!.words.map((ws) => ws.reduce((s, w) => s + wordLogP(w.tokenIds), 0) / ws.length);
        });
      };
      const referenceLoss = (vectors: number[][], firstPieceOnly = false): number => {
        const scores = referenceScores(vectors, firstPieceOnly);
        return (
          scores.reduce((sum, s, b) => {
            const max = Math.max(...s);
            const z = Math.log(s.reduce((a, x) => a + Math.exp(x - max), 0)) + max;
            return sum - (s[examples[b].label] - z);
          }, 0) / scores.length
        );
      };

      it('class scores match the reference (padded batch, one row per scoring sequence)', async () => {
        expect(parts.verbalizer!.multiTokenWords.length).toBeGreaterThan(0);
        const before = tf.memory().numTensors;
        const batch = makeClassificationBatch(examples, parts);
        expect(batch.size).toBe(examples.length * parts.verbalizer!.sequences.length);
        const scores = classScores(parts, batch);
        const got = (await scores.array()) as number[][];
        tf.dispose(scores);
        batch.dispose();
        // Only the verbalizer's two matrices (selection, combination) stay, kept until its dispose().
        expect(tf.memory().numTensors).toBe(before + 2);
        const expected = referenceScores(promptValues);
        got.forEach((row, b) => row.forEach((x, k) => expect(Math.abs(x - expected[b][k])).toBeLessThan(1e-4)));
        // The later pieces matter: scoring by first pieces only is far from these values.
        const firstOnly = referenceScores(promptValues, true);
        expect(Math.max(...got.flatMap((row, b) => row.map((x, k) => Math.abs(x - firstOnly[b][k]))))).toBeGreaterThan(0.5);
      });

      it('the prompt gradient through every piece matches central finite differences of the reference', async () => {
        const batch = makeClassificationBatch(examples, parts);
        const before = tf.memory().numTensors;
        const { value, grads } = tf.variableGrads(() => classificationLoss(parts, batch), [prompt.vectors]);
        const grad = (await grads[prompt.vectors.name].array()) as number[][];
        const loss = (await value.data())[0];
        tf.dispose([value, grads]);
        expect(tf.memory().numTensors).toBe(before);
        batch.dispose();
        expect(Math.abs(loss - referenceLoss(promptValues))).toBeLessThan(1e-4);
        const eps = 1e-5;
        let firstOnlyGap = 0;
        for (let k = 0; k < 6; k++) {
          const [n, h] = [k % PROMPT, (k * 5) % lm.model.config.hiddenSize];
          const shifted = (d: number) => promptValues.map((row, i) => row.map((x, j) => (i === n && j === h ? x + d : x)));
          const fd = (referenceLoss(shifted(eps)) - referenceLoss(shifted(-eps))) / (2 * eps);
          expect(Math.abs(grad[n][h] - fd)).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
          const fdFirst = (referenceLoss(shifted(eps), true) - referenceLoss(shifted(-eps), true)) / (2 * eps);
          firstOnlyGap = Math.max(firstOnlyGap, Math.abs(grad[n][h] - fdFirst));
        }
        expect(Math.max(...grad.flat().map(Math.abs))).toBeGreaterThan(1e-3);
        // A gradient through the first pieces alone would not have matched.
        expect(firstOnlyGap).toBeGreaterThan(1e-2);
      });
    });
  }
});
