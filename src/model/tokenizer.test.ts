import { describe, expect, it } from 'vitest';
import { loadTokenizer, type TokenizerFiles } from './tokenizer';
import type { ModelType } from './types';
import { bpeFiles, vocabTxt } from './testing/hfCheckpoint';
import { BYTE_LEVEL_SPECIALS, byteLevelTokenizerJson, sentencePieceTokenizerJson, spByte, spId } from './testing/tokenizerJson';

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

// ---------------------------------------------------------------------------------------------
// The tokenizer.json forms of modern decoders (src/model/testing/tokenizerJson.ts explains the
// fixture vocabularies; every expected id below is worked out from them by hand).

const bytes = (s: string) => [...new TextEncoder().encode(s)];

describe('byte-level BPE with a Split regex and ignore_merges (Llama-3, Qwen2)', () => {
  const S = BYTE_LEVEL_SPECIALS;
  const llama3 = loadTokenizer({ tokenizerJson: byteLevelTokenizerJson('llama3'), tokenizerConfig: { bos_token: '<|begin_of_text|>', eos_token: '<|end_of_text|>' } }, 'llama', 'llama3');
  const qwen2 = loadTokenizer({ tokenizerJson: byteLevelTokenizerJson('qwen2'), tokenizerConfig: { bos_token: null, eos_token: '<|im_end|>', pad_token: '<|endoftext|>' } }, 'qwen2', 'qwen2');
  const cases: { name: string; text: string; llama3: number[]; qwen2?: number[] }[] = [
    // "the" is not a vocab entry: merged "t" + "he". "Ġhello" is one only because ignore_merges
    // takes a whole pre-token found in the vocab (no merge builds it).
    { name: 'plain words', text: 'the hello', llama3: [116, 257, 259] },
    { name: 'a leading space', text: ' the', llama3: [258] },
    // \s+(?!\S) leaves the last space to the word: "Ġ", "Ġthe".
    { name: 'two leading spaces', text: '  the', llama3: [32, 258] },
    // Llama-3 splits numbers in threes ("123" "45": "12" merges), Qwen2 digit by digit.
    { name: 'digits', text: '12345', llama3: [260, 51, 52, 53], qwen2: [49, 50, 51, 52, 53] },
    { name: 'accented text (é is bytes C3 A9, merged)', text: 'café', llama3: [99, 97, 102, 262] },
    // Decomposed é: Qwen2's NFC normalizer composes it first; Llama-3 has no normalizer.
    { name: 'decomposed accent', text: 'cafe\u0301', llama3: [99, 97, 102, 101, 0xcc, 0x81], qwen2: [99, 97, 102, 262] },
    { name: 'an emoji (four bytes)', text: '😀', llama3: bytes('😀') },
    { name: 'newlines', text: 'a\n\nb', llama3: [97, 10, 10, 98] },
    { name: 'special tokens in text', text: '<|begin_of_text|>the hello<|end_of_text|>', llama3: [S.beginOfText, 116, 257, 259, S.endOfText] },
    { name: '<|endoftext|> and the chat markers', text: '<|im_start|>user\n<|endoftext|>', llama3: [S.imStart, ...bytes('user\n'), S.endoftext] },
  ];
  for (const c of cases) {
    it(`${c.name}: ${JSON.stringify(c.text)}`, () => {
      expect(llama3.encodeStart(c.text)).toEqual(c.llama3);
      expect(llama3.encode(c.text)).toEqual(c.llama3); // byte-level BPE has no word-start marker
      expect(qwen2.encodeStart(c.text)).toEqual(c.qwen2 ?? c.llama3);
      if (!c.text.includes('\u0301')) expect(llama3.decode(c.llama3, false)).toBe(c.text);
    });
  }
  it('without ignore_merges the same vocabulary spells "Ġhello" out', () => {
    const json = byteLevelTokenizerJson('llama3');
    (json.model as { ignore_merges: boolean }).ignore_merges = false;
    const tok = loadTokenizer({ tokenizerJson: json }, 'llama', 'fixture');
    expect(tok.encode(' hello')).toEqual([32, 257, 108, 108, 111]);
  });
});

describe('SentencePiece-style BPE with byte fallback (Llama-2, TinyLlama, Mistral)', () => {
  const config = { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' };
  const forms = {
    normalizer: loadTokenizer({ tokenizerJson: sentencePieceTokenizerJson('normalizer'), tokenizerConfig: config }, 'llama', 'llama2'),
    metaspace: loadTokenizer({ tokenizerJson: sentencePieceTokenizerJson('metaspace'), tokenizerConfig: config }, 'mistral', 'mistral'),
  };
  const p = spId;
  const b = (s: string) => bytes(s).map(spByte);
  // encodeStart: as `tokenizer(text)` gives it (a "▁" before the first word).
  // `decoded`: what decode gives back (Fuse joins the pieces, Strip then drops one leading space),
  // when that is not the text itself.
  const cases: { name: string; text: string; ids: number[]; metaspace?: number[]; decoded?: { normalizer: string; metaspace: string } }[] = [
    { name: 'plain words', text: 'the world', ids: [p('▁the'), p('▁world')] },
    // The normalizer prepends "▁" to "▁the" as well; Metaspace only when there is none yet.
    { name: 'a leading space', text: ' the', ids: [p('▁'), p('▁the')], metaspace: [p('▁the')], decoded: { normalizer: ' the', metaspace: 'the' } },
    { name: 'accented text (é is a piece)', text: 'café', ids: [p('▁caf'), p('é')] },
    { name: 'a character not in the vocabulary (byte fallback)', text: 'the ü', ids: [p('▁the'), p('▁'), ...b('ü')] },
    { name: 'an emoji (byte fallback, four bytes)', text: '😀', ids: [p('▁'), ...b('😀')] },
    // After <s> the normalizer form still prepends "▁" (the "legacy" behaviour); prepend_scheme
    // "first" does not, the text no longer being first.
    { name: 'special tokens in text', text: '<s>the</s>', ids: [1, p('▁the'), 2], metaspace: [1, p('t'), p('he'), 2], decoded: { normalizer: '<s> the</s>', metaspace: '<s>the</s>' } },
  ];
  for (const [form, tok] of Object.entries(forms)) {
    for (const c of cases) {
      const expected = form === 'metaspace' ? (c.metaspace ?? c.ids) : c.ids;
      it(`${form}: ${c.name}: ${JSON.stringify(c.text)}`, () => {
        expect(tok.encodeStart(c.text)).toEqual(expected);
        expect(tok.decode(expected, false)).toBe(c.decoded?.[form as 'normalizer' | 'metaspace'] ?? c.text);
      });
    }
    it(`${form}: continuing text gets no word-start marker of its own`, () => {
      expect(tok.encode('the')).toEqual([p('t'), p('he')]);
      expect(tok.encode(' the')).toEqual([p('▁the')]);
      expect(tok.encode(' the world')).toEqual([p('▁the'), p('▁world')]);
      expect(tok.encode('ü')).toEqual(b('ü'));
      expect(tok.tokenize('the ü')).toEqual(['▁the', '▁', '<0xC3>', '<0xBC>']);
    });
  }
  it('byte fallback off: an unknown character is <unk>', () => {
    const json = sentencePieceTokenizerJson('normalizer');
    (json.model as { byte_fallback: boolean }).byte_fallback = false;
    expect(loadTokenizer({ tokenizerJson: json }, 'llama', 'fixture').encodeStart('the ü')).toEqual([p('▁the'), p('▁'), 0]);
  });
});

describe('BOS, EOS and padding from tokenizer_config.json and generation_config.json', () => {
  const S = BYTE_LEVEL_SPECIALS;
  const cases: {
    name: string;
    files: TokenizerFiles;
    type: ModelType;
    expected: { bos: number | null; eos: number | null; pad: number | null; addBos: boolean; eosIds: number[] };
  }[] = [
    {
      name: 'Llama-3: BOS from the post-processor, no pad token (pads with EOS), EOS list from generation_config.json',
      files: { tokenizerJson: byteLevelTokenizerJson('llama3'), tokenizerConfig: { bos_token: '<|begin_of_text|>', eos_token: '<|end_of_text|>' }, generationConfig: { bos_token_id: S.beginOfText, eos_token_id: [S.endOfText, S.imEnd] } },
      type: 'llama',
      expected: { bos: S.beginOfText, eos: S.endOfText, pad: S.endOfText, addBos: true, eosIds: [S.endOfText, S.imEnd] },
    },
    {
      name: 'add_bos_token: false overrides the post-processor',
      files: { tokenizerJson: byteLevelTokenizerJson('llama3'), tokenizerConfig: { bos_token: '<|begin_of_text|>', eos_token: '<|end_of_text|>', add_bos_token: false } },
      type: 'llama',
      expected: { bos: S.beginOfText, eos: S.endOfText, pad: S.endOfText, addBos: false, eosIds: [S.endOfText] },
    },
    {
      name: 'Qwen2.5-Instruct: bos_token null, eos <|im_end|>, pad <|endoftext|>, generation_config EOS a list',
      files: { tokenizerJson: byteLevelTokenizerJson('qwen2'), tokenizerConfig: { bos_token: null, eos_token: '<|im_end|>', pad_token: '<|endoftext|>' }, generationConfig: { eos_token_id: [S.imEnd, S.endoftext] } },
      type: 'qwen2',
      expected: { bos: null, eos: S.imEnd, pad: S.endoftext, addBos: false, eosIds: [S.imEnd, S.endoftext] },
    },
    {
      name: 'Qwen3 without tokenizer_config.json: the family defaults',
      files: { tokenizerJson: byteLevelTokenizerJson('qwen2'), generationConfig: { eos_token_id: S.endoftext } },
      type: 'qwen3',
      expected: { bos: null, eos: S.endoftext, pad: S.endoftext, addBos: false, eosIds: [S.endoftext] },
    },
    {
      name: 'SmolLM2 (model_type llama, GPT2Tokenizer): a BOS token that is never added',
      files: { tokenizerJson: byteLevelTokenizerJson('qwen2'), tokenizerConfig: { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', tokenizer_class: 'GPT2Tokenizer' } },
      type: 'llama',
      expected: { bos: S.endoftext, eos: S.endoftext, pad: S.endoftext, addBos: false, eosIds: [S.endoftext] },
    },
    {
      name: 'TinyLlama: add_bos_token true, pad </s>',
      files: { tokenizerJson: sentencePieceTokenizerJson('normalizer'), tokenizerConfig: { add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', pad_token: '</s>', unk_token: '<unk>', tokenizer_class: 'LlamaTokenizer' } },
      type: 'llama',
      expected: { bos: 1, eos: 2, pad: 2, addBos: true, eosIds: [2] },
    },
    {
      name: "Mistral: LlamaTokenizer's default adds BOS; pad_token null pads with EOS",
      files: { tokenizerJson: { ...sentencePieceTokenizerJson('metaspace'), post_processor: null }, tokenizerConfig: { bos_token: '<s>', eos_token: '</s>', pad_token: null, tokenizer_class: 'LlamaTokenizer' } },
      type: 'mistral',
      expected: { bos: 1, eos: 2, pad: 2, addBos: true, eosIds: [2] },
    },
    {
      name: 'no tokenizer_config.json: <s> </s> defaults, BOS from the post-processor',
      files: { tokenizerJson: sentencePieceTokenizerJson('metaspace') },
      type: 'mistral',
      expected: { bos: 1, eos: 2, pad: 2, addBos: true, eosIds: [2] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const tok = loadTokenizer(c.files, c.type, 'fixture');
      expect({ bos: tok.special.bos, eos: tok.special.eos, pad: tok.special.pad, addBos: tok.addBos, eosIds: tok.eosIds }).toEqual(c.expected);
    });
  }
  it('GPT-2 keeps <|endoftext|> first and has no pad token', () => {
    const { vocab, merges } = bpeFiles('gpt2', 40);
    const tok = loadTokenizer({ vocabJson: vocab, mergesTxt: merges, tokenizerConfig: { add_bos_token: false } }, 'gpt2', 'fixture');
    expect(tok.addBos).toBe(true);
    expect(tok.special.pad).toBeNull();
  });
  it('chat_template: a string, or the "default" of a list; chat_template.jinja otherwise', () => {
    const json = byteLevelTokenizerJson('qwen2');
    expect(loadTokenizer({ tokenizerJson: json, tokenizerConfig: { chat_template: 'A' } }, 'qwen2', 'f').chatTemplate).toBe('A');
    const list = [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D' }];
    expect(loadTokenizer({ tokenizerJson: json, tokenizerConfig: { chat_template: list } }, 'qwen2', 'f').chatTemplate).toBe('D');
    expect(loadTokenizer({ tokenizerJson: json, chatTemplateJinja: 'J' }, 'qwen2', 'f').chatTemplate).toBe('J');
    expect(loadTokenizer({ tokenizerJson: json }, 'qwen2', 'f').chatTemplate).toBeNull();
  });
});
