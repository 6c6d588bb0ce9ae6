import { describe, expect, it } from 'vitest';
import { BertNormalizer, BertPreTokenizer, ByteLevelPreTokenizer, Tokenizer } from '@huggingface/tokenizers';
import {
  BERT_SPECIAL_TOKENS,
  BYTE_SYMBOL_ORDER,
  BYTE_TO_SYMBOL,
  GPT2_END_OF_TEXT,
  bertNormalize,
  bertPreTokenize,
  byteLevelPreTokenize,
  trainByteLevelBpe,
  trainWordPiece,
  type TrainedTokenizer,
} from './tokenizerTrainer';

/** A small fixed text; every expectation below follows from its word counts. */
const TEXT = [
  'The cat sat on the mat. The cats sat on the mats.',
  'A low wall, a lower wall, the lowest wall.',
  'Newer is not always better; newest is not always best!',
  'She walked, he walks, they are walking.',
  "It's the café's best coffee, isn't it?",
];
const TEXTS = [...TEXT, ...TEXT, ...TEXT];

/** Loads a trained tokenizer the way the studio does: through @huggingface/tokenizers. */
function load(trained: TrainedTokenizer): Tokenizer {
  return new Tokenizer(JSON.parse(JSON.stringify(trained.tokenizerJson)), JSON.parse(JSON.stringify(trained.tokenizerConfig)));
}

describe('WordPiece trainer', () => {
  const trained = trainWordPiece(TEXTS, { vocabSize: 120, modelMaxLength: 64 });
  const tokenizer = load(trained);

  it.each([
    { text: 'The cats sat.', tokens: ['[CLS]', 'the', 'cats', 'sat', '.', '[SEP]'] },
    { text: 'LOWEST walls', tokens: ['[CLS]', 'lowest', 'wall', '##s', '[SEP]'] },
    { text: 'walking newer', tokens: ['[CLS]', 'walking', 'newer', '[SEP]'] },
    // lowercased and accent-stripped; punctuation split off
    { text: 'Café!', tokens: ['[CLS]', 'cafe', '!', '[SEP]'] },
    // greedy longest match over learnt pieces
    { text: 'batter', tokens: ['[CLS]', 'b', '##at', '##t', '##er', '[SEP]'] },
    // a character never seen in training makes its word unknown
    { text: 'the ☃ sat', tokens: ['[CLS]', 'the', '[UNK]', 'sat', '[SEP]'] },
    { text: 'cat☃', tokens: ['[CLS]', '[UNK]', '[SEP]'] },
    // [MASK] in text stays the single mask token, even next to punctuation
    { text: 'the [MASK] sat', tokens: ['[CLS]', 'the', '[MASK]', 'sat', '[SEP]'] },
    { text: 'The cat sat on the [MASK].', tokens: ['[CLS]', 'the', 'cat', 'sat', 'on', 'the', '[MASK]', '.', '[SEP]'] },
  ])('encodes $text', ({ text, tokens }) => {
    const encoding = tokenizer.encode(text);
    expect(encoding.tokens).toEqual(tokens);
    expect(encoding.ids.map((id) => tokenizer.id_to_token(id))).toEqual(tokens);
  });

  it('numbers the special tokens [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4', () => {
    expect(BERT_SPECIAL_TOKENS.map((t) => tokenizer.token_to_id(t))).toEqual([0, 1, 2, 3, 4]);
    expect(tokenizer.encode('[MASK]').ids).toEqual([2, 4, 3]);
  });

  it('adds [CLS] ... [SEP] only through the post-processor', () => {
    expect(tokenizer.encode('cat', { add_special_tokens: false }).tokens).toEqual(['cat']);
    const pair = tokenizer.encode('cat', { text_pair: 'mat', return_token_type_ids: true });
    expect(pair.tokens).toEqual(['[CLS]', 'cat', '[SEP]', 'mat', '[SEP]']);
    expect(pair.token_type_ids).toEqual([0, 0, 0, 1, 1]);
  });

  it('decodes ## pieces back into words', () => {
    expect(tokenizer.decode(tokenizer.encode('the lowest walls!').ids, { skip_special_tokens: true })).toBe('the lowest walls!');
  });

  it('writes a BertTokenizerFast config', () => {
    expect(trained.tokenizerConfig).toMatchObject({
      tokenizer_class: 'BertTokenizerFast',
      model_max_length: 64,
      do_lower_case: true,
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      mask_token: '[MASK]',
      pad_token: '[PAD]',
      unk_token: '[UNK]',
    });
    expect(trained.stats.vocabSize).toBe(Object.keys(trained.tokenizerJson.model.vocab).length);
    expect(tokenizer.get_vocab().size).toBe(trained.stats.vocabSize);
  });

  it('stops at the requested vocabulary size', () => {
    const small = trainWordPiece(TEXTS, { vocabSize: 60, modelMaxLength: 64 });
    expect(small.stats.vocabSize).toBe(60);
    // ids are dense 0..V-1
    expect(Object.values(small.tokenizerJson.model.vocab).sort((a, b) => a - b)).toEqual([...Array(60).keys()]);
  });

  it('refuses a vocabulary too small for its alphabet', () => {
    expect(() => trainWordPiece(TEXTS, { vocabSize: 10, modelMaxLength: 64 })).toThrow(/smaller than/);
  });

  it('is deterministic', () => {
    const again = trainWordPiece(TEXTS, { vocabSize: 120, modelMaxLength: 64 });
    expect(JSON.stringify(again.tokenizerJson)).toBe(JSON.stringify(trained.tokenizerJson));
  });
});

describe('byte-level BPE trainer', () => {
  const trained = trainByteLevelBpe(TEXTS, { vocabSize: 300, modelMaxLength: 64 });
  const tokenizer = load(trained);

  it.each([
    { text: 'The cats sat on the mat.', tokens: ['The', 'Ġc', 'ats', 'Ġsat', 'Ġon', 'Ġthe', 'Ġm', 'at', '.'] },
    { text: 'lowest walls', tokens: ['low', 'est', 'Ġwall', 's'] },
    // no prefix space is added: a leading word is not the same token as a word after a space
    { text: 'the cat', tokens: ['the', 'Ġc', 'at'] },
    { text: 'Cat', tokens: ['C', 'at'] },
    // accents are split into their UTF-8 bytes ("é" = C3 A9 -> "Ã©")
    { text: " café's", tokens: ['Ġc', 'a', 'f', 'Ã', '©', "'s"] },
    { text: 'the<|endoftext|>cat', tokens: ['the', GPT2_END_OF_TEXT, 'c', 'at'] },
  ])('encodes $text', ({ text, tokens }) => {
    expect(tokenizer.encode(text).tokens).toEqual(tokens);
  });

  it.each([
    'The cats sat on the mat.',
    'Naïve café owners in São Paulo, Zürich and Kraków 🎉🚀 — “quotes” & ‘apostrophes’',
    '  two  leading spaces, tabs\tand\nnew lines\n\n',
    '日本語のテキスト, 한국어, العربية, emoji 👩‍👩‍👧 and flags 🇳🇿',
    "Symbols: ∑∫√π ≠ ≤ ≥, control \u0001 char, NBSP\u00a0here, it's 100% (ok?)",
    'x',
  ])('round-trips %j through encode and decode', (text) => {
    const { ids } = tokenizer.encode(text);
    expect(tokenizer.decode(ids)).toBe(text);
    expect(ids).not.toContain(undefined);
  });

  it('has the 256 byte symbols first, in GPT-2 order, and <|endoftext|> last', () => {
    const vocab = trained.tokenizerJson.model.vocab;
    BYTE_SYMBOL_ORDER.forEach((byte, id) => expect(vocab[BYTE_TO_SYMBOL[byte]]).toBe(id));
    expect(vocab['!']).toBe(0);
    expect(vocab['Ġ']).toBe(220); // the space byte, as in GPT-2
    expect(tokenizer.token_to_id(GPT2_END_OF_TEXT)).toBe(trained.stats.vocabSize - 1);
  });

  it('writes a GPT2TokenizerFast config with <|endoftext|> as every special token', () => {
    expect(trained.tokenizerConfig).toMatchObject({
      tokenizer_class: 'GPT2TokenizerFast',
      model_max_length: 64,
      add_prefix_space: false,
      bos_token: GPT2_END_OF_TEXT,
      eos_token: GPT2_END_OF_TEXT,
      unk_token: GPT2_END_OF_TEXT,
      pad_token: GPT2_END_OF_TEXT,
    });
    expect(trained.tokenizerJson.pre_tokenizer).toMatchObject({ type: 'ByteLevel', add_prefix_space: false });
  });

  it('learns merges in frequency order and stops at the requested size', () => {
    const small = trainByteLevelBpe(TEXTS, { vocabSize: 262, modelMaxLength: 64 });
    expect(small.stats.vocabSize).toBe(262);
    // "h e" (in the, The, She, he, they) is the most frequent pair of the text
    expect((small.tokenizerJson.model as { merges: string[] }).merges[0]).toBe('h e');
  });

  it('stops early when no pair is frequent enough', () => {
    const tiny = trainByteLevelBpe(['abc abd'], { vocabSize: 1000, modelMaxLength: 64 });
    // "a b" occurs twice; every other pair once
    expect((tiny.tokenizerJson.model as { merges: string[] }).merges).toEqual(['a b']);
    expect(tiny.stats.vocabSize).toBe(258);
  });
});

describe('training-time pre-tokenisation matches @huggingface/tokenizers', () => {
  const samples = [
    'The Fulton County Grand Jury said Friday "no evidence".',
    "Naïve CAFÉ-owners don't pay $1,000.50 (honestly)!",
    'tabs\tand\nnew lines, 日本語 mixed with ascii',
    'e-mail me @ home... or not?!',
  ];

  it.each(samples)('BERT: %j', (text) => {
    const normalizer = new BertNormalizer({ type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: undefined, lowercase: true });
    const expected = new BertPreTokenizer().pre_tokenize(normalizer.normalize(text));
    expect(bertPreTokenize(bertNormalize(text))).toEqual(expected);
  });

  it.each(samples)('byte level: %j', (text) => {
    const expected = new ByteLevelPreTokenizer({ type: 'ByteLevel', add_prefix_space: false }).pre_tokenize(text);
    expect(byteLevelPreTokenize(text)).toEqual(expected);
  });
});
