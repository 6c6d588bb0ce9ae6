/**
 * Test support: tokenizer.json files of the forms modern decoder checkpoints ship, with tiny
 * vocabularies whose ids can be worked out by hand.
 *
 *   byte-level BPE (Llama-3, Qwen2/2.5/3, SmolLM2): a Split pre-tokenizer with the checkpoint's
 *   regex, then ByteLevel without its own regex; `ignore_merges`; ByteLevel decoder.
 *   SentencePiece-style BPE (Llama-2, TinyLlama, Mistral): "▁" for spaces, either a normalizer
 *   (Prepend "▁", Replace " " -> "▁") or a Metaspace pre-tokenizer (prepend_scheme "first");
 *   `byte_fallback` with <0x00>..<0xFF> tokens; Replace/ByteFallback/Fuse/Strip decoder.
 *
 * The regexes and layouts follow the published tokenizer.json format (tokenizers' serialisation);
 * the vocabularies are invented.
 */

/** Llama-3's pre-tokenizer regex: contractions case-insensitive, numbers in groups of up to three. */
export const LLAMA3_SPLIT_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** Qwen2's: the same, but every digit on its own. */
export const QWEN2_SPLIT_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * GPT-2's byte -> printable character table (the ByteLevel alphabet): printable Latin-1 bytes map
 * to themselves, the other bytes in order to U+0100 onwards (so a space, 0x20, is "Ġ", U+0120).
 */
export function byteChar(byte: number): string {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  if (printable(byte)) return String.fromCharCode(byte);
  let n = 0;
  for (let b = 0; b < byte; b++) if (!printable(b)) n++;
  return String.fromCharCode(256 + n);
}

function added(id: number, content: string, special = true) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special };
}

/** Specials of the byte-level fixture, after the 256 byte tokens and the merged tokens. */
export const BYTE_LEVEL_SPECIALS = { beginOfText: 300, endOfText: 301, endoftext: 302, imStart: 303, imEnd: 304 } as const;

/**
 * Byte-level BPE: ids 0..255 are the bytes (id = byte value), then these merged tokens:
 *   256 Ġt  257 he  258 Ġthe  259 Ġhello (no merge builds it: only `ignore_merges` finds it)
 *   260 12  261 34  262 é (bytes C3 A9 as "Ã©")
 * merges, by rank: "Ġ t", "h e", "Ġt he", "1 2", "3 4", "Ã ©".
 */
export function byteLevelTokenizerJson(variant: 'llama3' | 'qwen2'): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[byteChar(b)] = b;
  const merged = ['Ġt', 'he', 'Ġthe', 'Ġhello', '12', '34', 'Ã©'];
  merged.forEach((t, i) => (vocab[t] = 256 + i));
  const merges = [['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['1', '2'], ['3', '4'], ['Ã', '©']];
  const S = BYTE_LEVEL_SPECIALS;
  const specials = [
    added(S.beginOfText, '<|begin_of_text|>'), added(S.endOfText, '<|end_of_text|>'), added(S.endoftext, '<|endoftext|>'),
    added(S.imStart, '<|im_start|>'), added(S.imEnd, '<|im_end|>'),
  ];
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  const split = { type: 'Split', pattern: { Regex: variant === 'llama3' ? LLAMA3_SPLIT_REGEX : QWEN2_SPLIT_REGEX }, behavior: 'Isolated', invert: false };
  const bos = { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [], special_tokens: {} };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials,
    normalizer: variant === 'qwen2' ? { type: 'NFC' } : null,
    pre_tokenizer: { type: 'Sequence', pretokenizers: [split, byteLevel] },
    // Llama-3 puts <|begin_of_text|> first in its post-processor; Qwen2 adds nothing.
    post_processor: variant === 'llama3' ? { type: 'Sequence', processors: [{ ...byteLevel, trim_offsets: true }, bos] } : { ...byteLevel, trim_offsets: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab, merges,
    },
  };
}

/** SentencePiece fixture: <unk> 0, <s> 1, </s> 2, then <0x00>..<0xFF> at 3 + byte. */
export const SP_BYTE0 = 3;
/** Pieces after the byte tokens, id = 259 + index. */
export const SP_PIECES = ['▁', 't', 'h', 'e', 'c', 'a', 'f', 'é', 'w', 'o', 'r', 'l', 'd', '▁t', 'he', '▁the', '▁c', '▁ca', '▁caf', '▁w', 'or', '▁wor', 'ld', '▁world'];
export const spId = (piece: string): number => {
  const i = SP_PIECES.indexOf(piece);
  if (i < 0) throw new Error(`no piece ${piece} in the SentencePiece fixture`);
  return 259 + i;
};
export const spByte = (byte: number): number => SP_BYTE0 + byte;

/**
 * SentencePiece-style BPE with byte fallback. `normalizer`: Llama-2/TinyLlama's form (Prepend "▁",
 * Replace " " -> "▁", no pre-tokenizer). `metaspace`: the newer form (Metaspace, prepend_scheme
 * "first", split false).
 */
export function sentencePieceTokenizerJson(form: 'normalizer' | 'metaspace'): Record<string, unknown> {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = spByte(b);
  SP_PIECES.forEach((p, i) => (vocab[p] = 259 + i));
  const merges = [['▁', 't'], ['h', 'e'], ['▁t', 'he'], ['▁', 'c'], ['▁c', 'a'], ['▁ca', 'f'], ['▁', 'w'], ['o', 'r'], ['▁w', 'or'], ['l', 'd'], ['▁wor', 'ld']];
  const metaspace = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added(0, '<unk>'), added(1, '<s>'), added(2, '</s>')],
    normalizer:
      form === 'normalizer'
        ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] }
        : null,
    pre_tokenizer: form === 'metaspace' ? metaspace : null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges },
  };
}
