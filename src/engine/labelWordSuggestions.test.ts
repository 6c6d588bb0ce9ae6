import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import { binomialUpperTail, MIN_SEPARATION, STOP_WORDS, suggestLabelWords } from './labelWordSuggestions';
import { compileTemplate } from './template';
import { BagOfWordsLM, fixtureConfig, fixtureTokenizer } from './testing/fixtures';

const bertTok = fixtureTokenizer('bert');
const gptTok = fixtureTokenizer('gpt2');
const SCALE = 8;

beforeAll(async () => {
  await useNodeBackend('wasm');
});

/**
 * The bag-of-words model's log P at the mask, by hand: the logits are SCALE x (count of each token
 * / sequence length) over [CLS] text [MASK] [SEP], then a log-softmax in float64.
 */
function handLogProbs(text: string, V: number): number[] {
  const ids = [bertTok.special.cls as number, ...bertTok.encode(text), bertTok.special.mask as number, bertTok.special.sep as number];
  const logits = new Array<number>(V).fill(0);
  for (const id of ids) logits[id] += SCALE / ids.length;
  const max = Math.max(...logits);
  const logZ = max + Math.log(logits.reduce((a, l) => a + Math.exp(l - max), 0));
  return logits.map((l) => l - logZ);
}

describe('suggestLabelWords (bag-of-words model: it predicts the words of the input at the mask)', () => {
  let model: BagOfWordsLM;
  const template = () => compileTemplate('{text} [MASK]', { tokenizer: bertTok, config: model.config, columns: ['text', 'label'], promptLength: 0 });
  beforeAll(() => {
    model = new BagOfWordsLM(fixtureConfig('bert'), SCALE);
  });
  afterAll(() => model.dispose());

  it('offers whole words only: no ## pieces, punctuation, stop words or special tokens, each word for one class', async () => {
    // "goods" = good ##s and "." rise on pos rows as much as "good" does, "the" and "very" are stop
    // words that rise there too: only "good" (and "great") may be offered. Rows of both classes
    // have six distinct tokens (plus "plot" on every other one), so words absent from both keep
    // the same probability.
    const rows = [
      ...Array.from({ length: 6 }, (_, i) => ({ text: `the very goods . great ${i % 2 ? 'plot' : ''}`, label: 'pos' })),
      ...Array.from({ length: 6 }, (_, i) => ({ text: `it not bad terrible , and ${i % 2 ? 'plot' : ''}`, label: 'neg' })),
    ];
    const before = tf.memory().numTensors;
    const s = await suggestLabelWords(model, bertTok, template(), rows, 'label', { topK: 5, batchSize: 4 });
    expect(tf.memory().numTensors).toBe(before);
    const offered = Object.values(s.classes).flat().map((w) => w.word);
    expect(offered.length).toBeGreaterThan(0);
    for (const w of offered) {
      expect(w).toMatch(/^\p{L}{2,}$/u);
      expect(STOP_WORDS.has(w)).toBe(false);
      expect(bertTok.encode(w)).toHaveLength(1);
    }
    expect(new Set(offered).size).toBe(offered.length);
    expect(s.classes.pos.map((w) => w.word).sort()).toEqual(['good', 'great']);
    expect(s.classes.neg.map((w) => w.word).sort()).toEqual(['bad', 'terrible']);
  });

  it('drops byte-level BPE pieces that are not a word after the space the template puts before it', async () => {
    const gpt = new BagOfWordsLM(fixtureConfig('gpt2'), SCALE);
    try {
      // The fixture BPE has "great", "grea", "gre", "gr" without the leading-space marker: after
      // "... it was" the word would be " great" = Ġ great, two tokens, so none of them is a word here.
      const t = compileTemplate('{text} it was', { tokenizer: gptTok, config: gpt.config, columns: ['text', 'label'], promptLength: 0 });
      expect(t.spaceBeforePrediction).toBe(true);
      const rows = [
        ...Array.from({ length: 4 }, () => ({ text: 'great great', label: 'pos' })),
        ...Array.from({ length: 4 }, () => ({ text: 'the m', label: 'neg' })),
      ];
      const s = await suggestLabelWords(gpt, gptTok, t, rows, 'label');
      for (const w of Object.values(s.classes).flat()) expect(gptTok.encode(` ${w.word}`)).toHaveLength(1);
      expect(s.classes.pos).toEqual([]);
      expect(s.convincing).toBe(false);
    } finally {
      gpt.dispose();
    }
  });

  it('ranks by how consistently the probability rises for the class, not by how probable the word is; scores and accuracies match a hand computation', async () => {
    // "film" is the most probable word on every row of both classes (no separation); "good" is on
    // every pos row; "plot" on half the pos rows and one neg row (a smaller, noisier rise).
    const rows = [
      ...Array.from({ length: 8 }, (_, i) => ({ text: `film film film good ${i % 2 ? 'plot' : 'movie'}`, label: 'pos' })),
      ...Array.from({ length: 8 }, (_, i) => ({ text: `film film film bad ${i === 0 ? 'plot' : 'movie'}`, label: 'neg' })),
    ];
    const s = await suggestLabelWords(model, bertTok, template(), rows, 'label', { topK: 3 });
    const pos = s.classes.pos.map((w) => w.word);
    expect(pos.slice(0, 2)).toEqual(['good', 'plot']);
    expect(pos).not.toContain('film');
    expect(s.classes.neg[0].word).toBe('bad');

    // The score of "plot" for pos: rise / pooled within-class standard deviation of log P(plot).
    const V = model.config.vocabSize;
    const plot = bertTok.tokenToId('plot') as number;
    const logP = rows.map((r) => handLogProbs(r.text, V));
    const values = (label: string) => rows.flatMap((r, i) => (r.label === label ? [logP[i][plot]] : []));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [p, n] = [values('pos'), values('neg')];
    const ss = [p, n].reduce((a, xs) => a + xs.reduce((b, x) => b + (x - mean(xs)) ** 2, 0), 0);
    const rise = mean(p) - mean(n);
    const plotWord = s.classes.pos.find((w) => w.word === 'plot')!;
    expect(plotWord.rise).toBeCloseTo(rise, 4);
    expect(plotWord.score).toBeCloseTo(rise / Math.sqrt(ss / (rows.length - 2)), 3);

    // The top-1 set (good vs bad), scored as the verbalizer scores: argmax of log P(word).
    const good = bertTok.tokenToId('good') as number;
    const bad = bertTok.tokenToId('bad') as number;
    const right = rows.filter((r, i) => (logP[i][good] > logP[i][bad] ? 'pos' : 'neg') === r.label).length;
    expect(s.sets[0]).toEqual({ wordsPerClass: 1, words: { neg: ['bad'], pos: ['good'] }, accuracy: right / rows.length });
    expect(s.sets[0].accuracy).toBe(1);
    // "plot" alone for pos against "bad": the rows without plot or bad go by the ties of equal counts.
    const plotRight = rows.filter((r, i) => (logP[i][plot] > logP[i][bad] ? 'pos' : 'neg') === r.label).length;
    expect(plotWord.accuracy).toBeCloseTo(plotRight / rows.length, 6);
    expect(s.majority).toEqual({ label: 'neg', accuracy: 0.5 });
    expect(s.convincing).toBe(true);
    expect(s.verdict).toMatch(/^These words separate the classes: the top word of each class gives 100% zero-shot on these 16 training rows, against 50% for always answering "neg"/);
  });

  it('says when nothing is convincing: no word rises for a class, or a perfect split of too few rows', async () => {
    // The same texts in both classes: nothing rises for either.
    const same = ['film good', 'plot bad', 'movie great', 'film terrible'].flatMap((text) => [
      { text, label: 'pos' },
      { text, label: 'neg' },
    ]);
    const none = await suggestLabelWords(model, bertTok, template(), same, 'label');
    expect(none.convincing).toBe(false);
    expect(none.best).toBeNull();
    expect(none.sets).toEqual([]);
    expect(none.verdict).toMatch(/^Nothing convincing: no word's probability rises on the rows of /);

    // good vs bad separates 3 + 3 rows perfectly, which a coin does 1 time in 64 (p = 0.016 >= 0.01).
    const few = [...Array.from({ length: 3 }, () => ({ text: 'good', label: 'pos' })), ...Array.from({ length: 3 }, () => ({ text: 'bad', label: 'neg' }))];
    const small = await suggestLabelWords(model, bertTok, template(), few, 'label');
    expect(small.sets[small.best!].accuracy).toBe(1);
    expect(small.convincing).toBe(false);
    expect(small.verdict).toMatch(/^Nothing convincing: .* gives? 100% zero-shot on these 6 training rows, against 50% .*which chance alone could give/);
    // Twice the rows: p = 1/4096, convincing.
    const more = await suggestLabelWords(model, bertTok, template(), [...few, ...few], 'label');
    expect(more.convincing).toBe(true);
    expect(more.classes.pos[0].score).toBeGreaterThanOrEqual(MIN_SEPARATION);
  });

  it('refuses a checkpoint without an LM head and an encoder template without [MASK]', async () => {
    const headless = Object.assign(Object.create(model), { hasLmHead: false }) as BagOfWordsLM;
    const rows = [
      { text: 'good', label: 'pos' },
      { text: 'bad', label: 'neg' },
    ];
    await expect(suggestLabelWords(headless, bertTok, template(), rows, 'label')).rejects.toThrow(/needs a checkpoint with its LM head/);
    const noMask = compileTemplate('{text}', { tokenizer: bertTok, config: model.config, columns: ['text', 'label'], promptLength: 0, maskRequired: false });
    await expect(suggestLabelWords(model, bertTok, noMask, rows, 'label')).rejects.toThrow(/reads the model at the \[MASK\]/);
  });
});

describe('binomialUpperTail', () => {
  it.each([
    { k: 6, n: 6, p: 0.5, tail: 1 / 64 },
    { k: 0, n: 5, p: 0.3, tail: 1 },
    { k: 3, n: 4, p: 0.5, tail: 5 / 16 },
    { k: 2, n: 3, p: 0.2, tail: 3 * 0.04 * 0.8 + 0.008 },
  ])('P(X >= $k | n $n, p $p)', ({ k, n, p, tail }) => {
    expect(binomialUpperTail(k, n, p)).toBeCloseTo(tail, 12);
  });
});
