import { describe, expect, it } from 'vitest';
import { compileTemplate, parseTemplate, TemplateError, type TemplatePiece } from './template';
import { fixtureConfig, fixtureTokenizer } from './testing/fixtures';

const bertTok = fixtureTokenizer('bert');
const gptTok = fixtureTokenizer('gpt2');
const robertaTok = fixtureTokenizer('roberta');
const bert = (source: string, opts: { promptLength?: number; columns?: string[]; positions?: number; maxLength?: number } = {}) =>
  compileTemplate(source, {
    tokenizer: bertTok,
    config: fixtureConfig('bert', opts.positions),
    columns: opts.columns ?? ['text', 'label'],
    promptLength: opts.promptLength ?? 0,
    maxLength: opts.maxLength,
  });
const gpt = (source: string, opts: { promptLength?: number; columns?: string[] } = {}) =>
  compileTemplate(source, { tokenizer: gptTok, config: fixtureConfig('gpt2'), columns: opts.columns ?? ['text'], promptLength: opts.promptLength ?? 0 });
const S = bertTok.special;

describe('parseTemplate', () => {
  const cases: { source: string; pieces: TemplatePiece[] }[] = [
    {
      source: '{text} It was [MASK].',
      pieces: [{ kind: 'column', column: 'text' }, { kind: 'text', text: ' It was ' }, { kind: 'mask' }, { kind: 'text', text: '.' }],
    },
    { source: '[SOFT*3]{a}[SOFT]', pieces: [{ kind: 'soft', count: 3 }, { kind: 'column', column: 'a' }, { kind: 'soft', count: 1 }] },
    { source: 'x <mask> y', pieces: [{ kind: 'text', text: 'x ' }, { kind: 'mask' }, { kind: 'text', text: ' y' }] },
    { source: '{ text }', pieces: [{ kind: 'column', column: 'text' }] },
    { source: '{a} [SEP] {b}', pieces: [{ kind: 'column', column: 'a' }, { kind: 'text', text: ' ' }, { kind: 'sep' }, { kind: 'text', text: ' ' }, { kind: 'column', column: 'b' }] },
    { source: 'plain { text', pieces: [{ kind: 'text', text: 'plain { text' }] },
  ];
  it.each(cases)('$source', ({ source, pieces }) => {
    expect(parseTemplate(source)).toEqual(pieces);
  });

  const errors: { source: string; message: RegExp }[] = [
    { source: '[MASK] and [MASK]', message: /two \[MASK\]s/ },
    { source: '[SOFT*0] {text}', message: /\[SOFT\*0\] is not a soft slot/ },
    { source: '[SOFT*x] {text}', message: /\[SOFT\*x\] is not a soft slot/ },
    { source: '{} [MASK]', message: /empty placeholder/ },
  ];
  it.each(errors)('rejects $source', ({ source, message }) => {
    expect(() => parseTemplate(source)).toThrow(TemplateError);
    expect(() => parseTemplate(source)).toThrow(message);
  });
});

describe('compileTemplate errors', () => {
  const cases: { name: string; run: () => unknown; message: RegExp }[] = [
    { name: 'unknown column, listing the available ones', run: () => bert('{review} [MASK]'), message: /unknown column \{review\}; the data has columns: text, label/ },
    { name: 'no [MASK] for an encoder', run: () => bert('{text} was great'), message: /has no \[MASK\].*encoder/ },
    { name: 'two masks', run: () => bert('[MASK] {text} [MASK]'), message: /two \[MASK\]s/ },
    { name: '[MASK] not last for a decoder', run: () => gpt('[MASK] {text}'), message: /\[MASK\] must be last/ },
    {
      name: 'template alone longer than the positions',
      run: () => bert('[SOFT*20] {text} it was [MASK].', { positions: 24 }),
      message: /alone takes 26 tokens \(20 soft.*more than the 24 positions/,
    },
    { name: 'default soft tokens count too', run: () => bert('{text} [MASK]', { promptLength: 23 }), message: /alone takes 26 tokens/ },
    { name: '[SEP] without a separator token', run: () => gpt('{text} [SEP] x'), message: /no separator token/ },
  ];
  it.each(cases)('$name', ({ run, message }) => {
    expect(run).toThrow(TemplateError);
    expect(run).toThrow(message);
  });
});

describe('encoding', () => {
  const ids = (t: string) => bertTok.encode(t);

  it('puts the default soft slot right after [CLS] and marks the mask', () => {
    const t = bert('{text} it was [MASK].', { promptLength: 3 });
    expect(t.softCount).toBe(3);
    expect(t.placement).toBe('after-first-token');
    const e = t.encode({ text: 'the movie', label: 'x' });
    const pad = S.pad as number;
    expect(e.ids).toEqual([S.cls, pad, pad, pad, ...ids('the movie'), ...ids('it was'), S.mask, ...ids('.'), S.sep]);
    expect(e.softIndex).toEqual([-1, 0, 1, 2, -1, -1, -1, -1, -1, -1, -1]);
    expect(e.maskPosition).toBe(8);
    expect(e.ids[e.maskPosition]).toBe(S.mask);
    expect(e.tokenTypes.every((x) => x === 0)).toBe(true);
    expect(e.truncated).toBe(false);
  });

  it('withSoft: false drops the soft positions (zero-shot) and moves the mask with them', () => {
    const t = bert('{text} it was [MASK].', { promptLength: 3 });
    const e = t.encode({ text: 'the movie' }, { withSoft: false });
    expect(e.softIndex.every((s) => s === -1)).toBe(true);
    expect(e.ids).toEqual([S.cls, ...ids('the movie'), ...ids('it was'), S.mask, ...ids('.'), S.sep]);
    expect(e.maskPosition).toBe(5);
  });

  it('explicit slots anywhere number the prompt rows in template order; no default slot is added', () => {
    const t = bert('[SOFT*2] {text} [SOFT] [MASK]', { promptLength: 7 });
    expect(t.softCount).toBe(3);
    expect(t.placement).toBe('template');
    const e = t.encode({ text: 'good' });
    expect(e.softIndex).toEqual([-1, 0, 1, -1, 2, -1, -1]);
    expect(e.ids[e.maskPosition]).toBe(S.mask);
  });

  it('[SEP] starts segment 1', () => {
    const t = compileTemplate('{a} [SEP] {b} [MASK]', { tokenizer: bertTok, config: fixtureConfig('bert'), columns: ['a', 'b'], promptLength: 0 });
    const e = t.encode({ a: 'good', b: 'bad' });
    expect(e.ids).toEqual([S.cls, ...ids('good'), S.sep, ...ids('bad'), S.mask, S.sep]);
    expect(e.tokenTypes).toEqual([0, 0, 0, 1, 1, 1]);
  });

  it('RoBERTa uses <s> ... </s> and its <mask>', () => {
    const t = compileTemplate('{text} <mask>', { tokenizer: robertaTok, config: fixtureConfig('roberta'), columns: ['text'], promptLength: 0 });
    const e = t.encode({ text: 'a' });
    const R = robertaTok.special;
    expect(e.ids[0]).toBe(R.cls);
    expect(e.ids[e.ids.length - 1]).toBe(R.sep);
    expect(e.ids[e.maskPosition]).toBe(R.mask);
  });

  it('decoder: BOS first, soft slot after it, the prediction at the last token', () => {
    const t = gpt('{text} the', { promptLength: 2 });
    const e = t.encode({ text: 'a' });
    const G = gptTok.special;
    expect(e.ids).toEqual([G.bos, G.pad ?? 0, G.pad ?? 0, ...gptTok.encode('a'), ...gptTok.encode(' the')]);
    expect(e.softIndex.slice(0, 3)).toEqual([-1, 0, 1]);
    expect(e.maskPosition).toBe(e.ids.length - 1);
  });
});

describe('spaces for byte-level BPE', () => {
  const cases: { source: string; text: string; expected: () => number[] }[] = [
    // A column after "a " is encoded as " the"; at the start it has no space.
    { source: 'a {text}', text: 'the', expected: () => [...gptTok.encode('a'), ...gptTok.encode(' the')] },
    { source: '{text}', text: 'the', expected: () => gptTok.encode('the') },
    // Text after a column keeps its own leading space.
    { source: '{text} the', text: 'a', expected: () => [...gptTok.encode('a'), ...gptTok.encode(' the')] },
    // Leading spaces at the template's start are dropped; the value itself is trimmed.
    { source: '  {text}', text: '  the ', expected: () => gptTok.encode('the') },
  ];
  it.each(cases)('"$source" with "$text"', ({ source, text, expected }) => {
    const e = gpt(source).encode({ text });
    expect(e.ids.slice(1)).toEqual(expected()); // after BOS
  });

  const predictionCases: { source: string; decoder: boolean; space: boolean }[] = [
    { source: 'a {text} b', decoder: true, space: true },
    { source: 'a {text} b\n', decoder: true, space: false },
    { source: 'a {text} b [MASK]', decoder: true, space: true },
    { source: 'a {text} b[MASK]', decoder: true, space: false },
    { source: '{text} it was [MASK].', decoder: false, space: false }, // WordPiece ignores spaces
  ];
  it.each(predictionCases)('"$source": space before the predicted word = $space', ({ source, decoder, space }) => {
    expect((decoder ? gpt(source) : bert(source)).spaceBeforePrediction).toBe(space);
  });

  it('RoBERTa: "It was <mask>" predicts a space-prefixed word', () => {
    const t = compileTemplate('{text} a <mask>', { tokenizer: robertaTok, config: fixtureConfig('roberta'), columns: ['text'], promptLength: 0 });
    expect(t.spaceBeforePrediction).toBe(true);
  });
});

describe('truncation', () => {
  const two = (maxLength: number) =>
    compileTemplate('[SOFT*2] {a} and {b} [MASK]', { tokenizer: bertTok, config: fixtureConfig('bert'), columns: ['a', 'b'], promptLength: 0, maxLength });
  const words = (n: number) => Array.from({ length: n }, (_, i) => ['good', 'bad', 'movie'][i % 3]).join(' ');

  it('cuts only the longest column, from its end, to exactly the limit; template, soft slots and mask stay', () => {
    const t = two(16); // fixed: CLS + 2 soft + "and" + MASK + SEP = 6
    expect(t.fixedLength).toBe(6);
    const e = t.encode({ a: words(12), b: words(2) });
    expect(e.truncated).toBe(true);
    expect(e.ids.length).toBe(16);
    expect(e.ids.slice(3, 11)).toEqual(bertTok.encode(words(8))); // a kept its first 8 tokens
    expect(e.ids.slice(11, 14)).toEqual(bertTok.encode('and ' + words(2))); // b untouched
    expect(e.ids[e.maskPosition]).toBe(S.mask);
    expect(e.softIndex.filter((s) => s >= 0)).toEqual([0, 1]);
  });

  it('cuts two long columns down evenly and counts truncated rows', () => {
    const t = two(16);
    const { examples, truncatedCount } = t.encodeAll([
      { a: words(9), b: words(7) },
      { a: 'good', b: 'bad' },
      { a: words(20), b: words(20) },
    ]);
    expect(truncatedCount).toBe(2);
    expect(examples[0].ids.length).toBe(16);
    expect(examples[0].ids.slice(3, 8)).toEqual(bertTok.encode(words(5))); // 10 column tokens: 5 + 5
    expect(examples[1].truncated).toBe(false);
    expect(examples[2].ids.length).toBe(16);
  });

  it('reserve keeps room for a generation target', () => {
    const t = gpt('{text} the');
    const e = t.encode({ text: 'a '.repeat(40) }, { reserve: 5 });
    expect(e.ids.length).toBe(t.maxLength - 5);
    expect(e.truncated).toBe(true);
  });
});
