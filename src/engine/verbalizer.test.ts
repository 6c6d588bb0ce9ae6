import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import { compileTemplate } from './template';
import { BagOfWordsLM, fixtureConfig, fixtureTokenizer } from './testing/fixtures';
import { buildVerbalizer, suggestLabelWords, VerbalizerError, type LabelWords } from './verbalizer';

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
    { name: 'two classes whose words start with the same token', words: { pos: ['film'], neg: ['films'] }, message: /"film" \("pos"\) and "films" \("neg"\) both start with the token "film"/ },
    { name: 'fewer than two classes', words: { pos: ['great'] }, message: /at least two classes/ },
  ];
  it.each(cases)('$name', ({ words, message, tokenizer }) => {
    const tok = tokenizer === 'gpt2' ? gptTok : bertTok;
    const run = () => buildVerbalizer(words, tok, { spaceBefore: false, vocabSize: V });
    expect(run).toThrow(VerbalizerError);
    expect(run).toThrow(message);
  });
});

describe('label words', () => {
  it('multi-token words are scored by their first sub-token and listed', () => {
    const v = buildVerbalizer({ pos: ['films', 'great'], neg: ['bad'] }, bertTok, { spaceBefore: false, vocabSize: V });
    expect(bertTok.encode('films')).toEqual([id('film'), id('##s')]);
    expect(v.labelWordIds).toEqual([[id('film'), id('great')], [id('bad')]]);
    expect(v.multiTokenWords).toEqual([{ className: 'pos', word: 'films', tokenIds: [id('film'), id('##s')] }]);
  });

  it('byte-level BPE: the word is encoded with the space the template puts before it', () => {
    const spaced = buildVerbalizer({ a: ['the'], b: ['great'] }, gptTok, { spaceBefore: true, vocabSize: V });
    const bare = buildVerbalizer({ a: ['the'], b: ['great'] }, gptTok, { spaceBefore: false, vocabSize: V });
    expect(spaced.labelWordIds[0]).toEqual([gptTok.tokenToId('Ġthe')]);
    expect(bare.labelWordIds[0]).toEqual([gptTok.tokenToId('the')]);
    expect(spaced.labelWordIds[0]).not.toEqual(bare.labelWordIds[0]);
  });

  it('class score = mean log-probability of the class words at the mask', async () => {
    const v = buildVerbalizer({ pos: ['great', 'good'], neg: ['terrible'] }, bertTok, { spaceBefore: false, vocabSize: V });
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

describe('suggestLabelWords', () => {
  let model: BagOfWordsLM;
  beforeAll(() => {
    model = new BagOfWordsLM(fixtureConfig('bert'));
  });
  afterAll(() => model.dispose());

  it('finds the words that separate the classes, whole words only, each for one class', async () => {
    // The bag-of-words model predicts the words of the input at the mask: "good"/"great" only occur
    // in pos rows, "bad"/"terrible" only in neg rows, "the movie was" in both.
    const rows = [
      { text: 'the movie was good great', label: 'pos' },
      { text: 'the movie was good', label: 'pos' },
      { text: 'great film', label: 'pos' },
      { text: 'the movie was bad terrible', label: 'neg' },
      { text: 'the movie was bad', label: 'neg' },
      { text: 'terrible plot', label: 'neg' },
    ];
    const template = compileTemplate('{text} [MASK]', { tokenizer: bertTok, config: model.config, columns: ['text', 'label'], promptLength: 0 });
    const before = tf.memory().numTensors;
    const s = await suggestLabelWords(model, bertTok, template, rows, 'label', { topK: 3 });
    expect(tf.memory().numTensors).toBe(before);
    expect(s.pos.map((w) => w.word).slice(0, 2).sort()).toEqual(['good', 'great']);
    expect(s.neg.map((w) => w.word).slice(0, 2).sort()).toEqual(['bad', 'terrible']);
    expect(s.pos[2].word).toMatch(/^(film)$/);
    const all = [...s.pos, ...s.neg].map((w) => w.word);
    expect(new Set(all).size).toBe(all.length);
    for (const w of all) expect(w).toMatch(/^[a-z]{2,}$/); // no ##s, no [MASK], no punctuation
    expect(s.pos[0].score).toBeGreaterThan(0);
    expect(s.pos[0].score).toBeGreaterThanOrEqual(s.pos[1].score);
  });
});
