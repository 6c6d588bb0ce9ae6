import { describe, expect, it } from 'vitest';
import { loadTokenizer } from './tokenizer';
import { bpeFiles, vocabTxt } from './testing/hfCheckpoint';

describe('WordPiece from vocab.txt', () => {
  const tok = loadTokenizer({ vocabTxt: vocabTxt(40), tokenizerConfig: { do_lower_case: true } }, 'bert', 'fixture');
  const cases: { text: string; tokens: string[] }[] = [
    { text: 'The movie was great.', tokens: ['the', 'movie', 'was', 'great', '.'] },
    { text: 'Movies, badly', tokens: ['movie', '##s', ',', 'bad', '##ly'] },
    { text: 'zebra', tokens: ['[UNK]'] },
  ];
  for (const c of cases) {
    it(`"${c.text}"`, () => {
      expect(tok.tokenize(c.text)).toEqual(c.tokens);
      expect(tok.encode(c.text)).toEqual(c.tokens.map((t) => tok.tokenToId(t)));
    });
  }
  it('knows its special tokens and keeps [MASK] whole', () => {
    expect(tok.special).toMatchObject({ pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 });
    expect(tok.maskToken).toBe('[MASK]');
    expect(tok.tokenize('it was [MASK] .')).toEqual(['it', 'was', '[MASK]', '.']);
    expect(tok.decode(tok.encode('the movie was great'))).toBe('the movie was great');
  });
});

describe('byte-level BPE from vocab.json + merges.txt', () => {
  it('GPT-2: merges apply, spaces become Ġ, decode restores the text', () => {
    const { vocab, merges } = bpeFiles('gpt2', 40);
    const tok = loadTokenizer({ vocabJson: vocab, mergesTxt: merges }, 'gpt2', 'fixture');
    expect(tok.tokenize('the great')).toEqual(['the', 'Ġ', 'great']);
    expect(tok.tokenize(' the')).toEqual(['Ġthe']);
    expect(tok.decode(tok.encode('the great me'))).toBe('the great me');
    expect(tok.special.eos).toBe(0);
    expect(tok.special.mask).toBeNull();
    expect(tok.maskToken).toBeNull();
  });
  it('RoBERTa: <mask> and the other specials resolve', () => {
    const { vocab, merges } = bpeFiles('roberta', 44);
    const tok = loadTokenizer({ vocabJson: vocab, mergesTxt: merges }, 'roberta', 'fixture');
    expect(tok.special).toMatchObject({ cls: 0, pad: 1, sep: 2, unk: 3, mask: 4 });
    expect(tok.maskToken).toBe('<mask>');
  });
});

describe('tokenizer.json', () => {
  it('is used as is, and tokenizer_config.json can rename the special tokens', () => {
    const json = {
      version: '1.0',
      added_tokens: [{ id: 0, content: '<X>', special: true, single_word: false, lstrip: false, rstrip: false, normalized: false }],
      normalizer: null,
      pre_tokenizer: { type: 'Whitespace' },
      model: { type: 'WordLevel', vocab: { '<X>': 0, hello: 1, world: 2, '<unk>': 3 }, unk_token: '<unk>' },
      decoder: null,
      post_processor: null,
    };
    const tok = loadTokenizer({ tokenizerJson: json, tokenizerConfig: { mask_token: { content: '<X>' }, unk_token: '<unk>' } }, 'bert', 'fixture');
    expect(tok.encode('hello world')).toEqual([1, 2]);
    expect(tok.special.mask).toBe(0);
    expect(tok.special.unk).toBe(3);
    expect(tok.maskToken).toBe('<X>');
  });
  it('a broken tokenizer.json names the folder', () => {
    expect(() => loadTokenizer({ tokenizerJson: { model: { type: 'Nope' } } }, 'bert', 'my-model')).toThrow(/my-model: tokenizer could not be built/);
  });
});
