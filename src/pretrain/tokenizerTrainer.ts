/**
 * Trains the two tokenizers of the studio's embedded models and returns them as standard Hugging Face
 * `tokenizer.json` + `tokenizer_config.json` objects:
 *
 * - a BERT WordPiece tokenizer (BertNormalizer with lowercasing and accent stripping, BertPreTokenizer,
 *   `##` continuing subwords, [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, [CLS] ... [SEP] template), and
 * - a GPT-2 byte-level BPE tokenizer (GPT-2 split regex, 256 byte symbols + merges, `<|endoftext|>`).
 *
 * Both are learnt the way the Rust `tokenizers` trainers do it: count the pre-tokenised words once, then
 * run BPE merges over the table of unique words, keeping pair counts up to date incrementally (only the
 * words that contain the merged pair are revisited). WordPiece vocabularies come from BPE merges over
 * `##`-prefixed continuation symbols, as in the Rust WordPiece trainer.
 *
 * Pure TypeScript, no dependencies: runs in Node (CLI, tests) and in a browser alike.
 */

// ---------------------------------------------------------------------------------------------------
// Written file formats (the subset of the HF schema these tokenizers use)
// ---------------------------------------------------------------------------------------------------

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export interface TemplateSpecialTokenJson {
  id: string;
  ids: number[];
  tokens: string[];
}

type TemplatePiece = { SpecialToken: { id: string; type_id: number } } | { Sequence: { id: 'A' | 'B'; type_id: number } };

export interface WordPieceModelJson {
  type: 'WordPiece';
  unk_token: string;
  continuing_subword_prefix: string;
  max_input_chars_per_word: number;
  vocab: Record<string, number>;
}

export interface BpeModelJson {
  type: 'BPE';
  dropout: null;
  unk_token: string | null;
  continuing_subword_prefix: string | null;
  end_of_word_suffix: string | null;
  fuse_unk: boolean;
  byte_fallback: boolean;
  ignore_merges: boolean;
  vocab: Record<string, number>;
  /** "left right" pairs, highest priority first. Byte-level symbols never contain a space. */
  merges: string[];
}

export interface TokenizerJson {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: Record<string, unknown> | null;
  pre_tokenizer: Record<string, unknown>;
  post_processor: Record<string, unknown>;
  decoder: Record<string, unknown>;
  model: WordPieceModelJson | BpeModelJson;
}

/** `tokenizer_config.json`: what transformers(.js) reads besides tokenizer.json. */
export type TokenizerConfigJson = Record<string, unknown> & {
  tokenizer_class: 'BertTokenizerFast' | 'GPT2TokenizerFast';
  model_max_length: number;
};

export interface TrainingStats {
  /** Final vocabulary size, special tokens included. */
  vocabSize: number;
  /** Pre-tokenised words seen (with repeats) and distinct. */
  words: number;
  uniqueWords: number;
  /** Size of the initial symbol set (characters for WordPiece, always 256 bytes for BPE). */
  alphabetSize: number;
  merges: number;
  trainingMs: number;
}

export interface TrainedTokenizer {
  tokenizerJson: TokenizerJson;
  tokenizerConfig: TokenizerConfigJson;
  stats: TrainingStats;
}

// ---------------------------------------------------------------------------------------------------
// Normalisation and pre-tokenisation, mirroring what @huggingface/tokenizers does at encode time
// ---------------------------------------------------------------------------------------------------

/** BERT's punctuation: Unicode P* plus every ASCII non-alphanumeric printable ($, +, <, ^, `, ~ ...). */
const BERT_PUNCTUATION = '\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E';
const BERT_WORD_PATTERN = new RegExp(`[^\\s${BERT_PUNCTUATION}]+|[${BERT_PUNCTUATION}]`, 'gu');

/** The GPT-2 split: contractions, letter runs, digit runs, other runs, each with one optional leading space. */
const GPT2_SPLIT_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function isCjkCodePoint(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

const CONTROL_CHAR = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/u;
const WHITESPACE_CHAR = /\s/u;

/** BertNormalizer(clean_text, handle_chinese_chars, lowercase, strip_accents). */
export function bertNormalize(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd) continue;
    if (ch === '\t' || ch === '\n' || ch === '\r' || WHITESPACE_CHAR.test(ch)) {
      out += ' ';
    } else if (CONTROL_CHAR.test(ch)) {
      continue;
    } else if (isCjkCodePoint(cp)) {
      out += ` ${ch} `;
    } else {
      out += ch;
    }
  }
  return out.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '');
}

/** BertPreTokenizer: split on whitespace, and isolate every punctuation character. */
export function bertPreTokenize(normalized: string): string[] {
  return normalized.trim().match(BERT_WORD_PATTERN) ?? [];
}

/**
 * GPT-2's reversible byte -> printable character table: printable Latin-1 bytes map to themselves, the
 * other 68 bytes to U+0100 onwards (so a space byte becomes "Ġ", a newline "Ċ"). Index = byte value.
 * The order of `BYTE_SYMBOL_ORDER` (printable bytes first) is GPT-2's order of ids 0..255.
 */
export const BYTE_SYMBOL_ORDER: readonly number[] = (() => {
  const order: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) order.push(b);
  for (let b = 0xa1; b <= 0xac; b++) order.push(b);
  for (let b = 0xae; b <= 0xff; b++) order.push(b);
  for (let b = 0; b < 256; b++) if (!order.includes(b)) order.push(b);
  return order;
})();

export const BYTE_TO_SYMBOL: readonly string[] = (() => {
  const table = new Array<string>(256);
  let shifted = 0;
  for (const b of BYTE_SYMBOL_ORDER) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + shifted++);
  }
  return table;
})();

const utf8 = new TextEncoder();

/** ByteLevel pre-tokenizer (GPT-2 regex, add_prefix_space false): words as strings of byte symbols. */
export function byteLevelPreTokenize(text: string): string[] {
  const pieces = text.match(GPT2_SPLIT_PATTERN) ?? [];
  return pieces.map((piece) => {
    let symbols = '';
    for (const byte of utf8.encode(piece)) symbols += BYTE_TO_SYMBOL[byte];
    return symbols;
  });
}

// ---------------------------------------------------------------------------------------------------
// BPE merge learning over a table of unique words
// ---------------------------------------------------------------------------------------------------

/** Pair (left, right) of symbol ids packed into one number; ids stay below 2^20. */
const PAIR_SHIFT = 1 << 20;
const pairKey = (left: number, right: number): number => left * PAIR_SHIFT + right;
const pairLeft = (key: number): number => Math.floor(key / PAIR_SHIFT);
const pairRight = (key: number): number => key % PAIR_SHIFT;

interface HeapEntry {
  count: number;
  key: number;
}

/**
 * Max-heap of candidate pairs with lazy invalidation: an entry is live only while its count equals the
 * pair's current count. Ties are broken by the symbols' strings so training is deterministic.
 */
class PairHeap {
  private readonly entries: HeapEntry[] = [];

  constructor(private readonly names: string[]) {}

  get size(): number {
    return this.entries.length;
  }

  private before(a: HeapEntry, b: HeapEntry): boolean {
    if (a.count !== b.count) return a.count > b.count;
    const aLeft = this.names[pairLeft(a.key)];
    const bLeft = this.names[pairLeft(b.key)];
    if (aLeft !== bLeft) return aLeft < bLeft;
    return this.names[pairRight(a.key)] < this.names[pairRight(b.key)];
  }

  push(entry: HeapEntry): void {
    const heap = this.entries;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  pop(): HeapEntry | undefined {
    const heap = this.entries;
    if (heap.length === 0) return undefined;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let best = i;
        if (left < heap.length && this.before(heap[left], heap[best])) best = left;
        if (right < heap.length && this.before(heap[right], heap[best])) best = right;
        if (best === i) break;
        [heap[i], heap[best]] = [heap[best], heap[i]];
        i = best;
      }
    }
    return top;
  }
}

interface MergeLearningInput {
  /** Each unique word as symbol ids, with how often it occurs. */
  words: number[][];
  counts: number[];
  /** Names of the initial symbols; merged symbols are appended. */
  names: string[];
  /** Stop once this many new distinct symbols have been created. */
  maxNewSymbols: number;
  /** A pair seen fewer times than this is never merged. */
  minFrequency: number;
  /** Name of the symbol that merging `left` and `right` creates. */
  join: (left: string, right: string) => string;
}

interface MergeLearningResult {
  /** Merges in priority order, as symbol names. */
  merges: Array<[string, string]>;
  /** Symbols created by merges, in creation order (no duplicates). */
  newSymbols: string[];
}

function learnMerges(input: MergeLearningInput): MergeLearningResult {
  const { words, counts, names, maxNewSymbols, minFrequency, join } = input;
  const idOf = new Map<string, number>(names.map((name, id) => [name, id]));
  const pairCounts = new Map<number, number>();
  const wordsWithPair = new Map<number, Set<number>>();

  const addWordPairs = (w: number, sign: 1 | -1, touched: Set<number> | null): void => {
    const symbols = words[w];
    const count = counts[w] * sign;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = pairKey(symbols[i], symbols[i + 1]);
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + count);
      touched?.add(key);
      if (sign > 0) {
        let holders = wordsWithPair.get(key);
        if (!holders) wordsWithPair.set(key, (holders = new Set()));
        holders.add(w);
      }
    }
  };

  for (let w = 0; w < words.length; w++) addWordPairs(w, 1, null);

  const heap = new PairHeap(names);
  for (const [key, count] of pairCounts) heap.push({ key, count });

  const merges: Array<[string, string]> = [];
  const newSymbols: string[] = [];
  while (newSymbols.length < maxNewSymbols) {
    const top = heap.pop();
    if (!top) break;
    if (pairCounts.get(top.key) !== top.count) continue; // stale entry
    if (top.count < minFrequency) break;

    const left = pairLeft(top.key);
    const right = pairRight(top.key);
    const mergedName = join(names[left], names[right]);
    let merged = idOf.get(mergedName);
    if (merged === undefined) {
      merged = names.length;
      if (merged >= PAIR_SHIFT) throw new Error(`too many symbols for pair keys (${merged})`);
      names.push(mergedName);
      idOf.set(mergedName, merged);
      newSymbols.push(mergedName);
    }
    merges.push([names[left], names[right]]);

    const touched = new Set<number>();
    for (const w of wordsWithPair.get(top.key) ?? []) {
      const symbols = words[w];
      let contains = false;
      for (let i = 0; i + 1 < symbols.length; i++) {
        if (symbols[i] === left && symbols[i + 1] === right) {
          contains = true;
          break;
        }
      }
      if (!contains) continue; // the word lost this pair to an earlier merge
      addWordPairs(w, -1, touched);
      const rewritten: number[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
          rewritten.push(merged);
          i++;
        } else {
          rewritten.push(symbols[i]);
        }
      }
      words[w] = rewritten;
      addWordPairs(w, 1, touched);
    }
    wordsWithPair.delete(top.key);
    pairCounts.delete(top.key);
    touched.delete(top.key);
    for (const key of touched) {
      const count = pairCounts.get(key) ?? 0;
      if (count > 0) heap.push({ key, count });
      else pairCounts.delete(key);
    }
  }
  return { merges, newSymbols };
}

/** Counts pre-tokenised words over all texts. */
function countWords(texts: Iterable<string>, preTokenize: (text: string) => string[]): { table: Map<string, number>; total: number } {
  const table = new Map<string, number>();
  let total = 0;
  for (const text of texts) {
    for (const word of preTokenize(text)) {
      table.set(word, (table.get(word) ?? 0) + 1);
      total++;
    }
  }
  return { table, total };
}

// ---------------------------------------------------------------------------------------------------
// BERT WordPiece
// ---------------------------------------------------------------------------------------------------

export const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
export const WORDPIECE_PREFIX = '##';

export interface WordPieceTrainOptions {
  /** Total vocabulary size, the 5 special tokens included. */
  vocabSize: number;
  /** Written to tokenizer_config.json; should equal the model's max_position_embeddings. */
  modelMaxLength: number;
  /** Pairs seen fewer times are not merged (default 2). */
  minFrequency?: number;
  /** Keep at most this many distinct characters, the most frequent (default 1000); others become [UNK]. */
  limitAlphabet?: number;
  /** Characters seen fewer times are left out of the alphabet (default 2). */
  minCharFrequency?: number;
  /** Words longer than this (in characters) encode as [UNK] (default 100, as BERT). */
  maxInputCharsPerWord?: number;
}

export function trainWordPiece(texts: Iterable<string>, options: WordPieceTrainOptions): TrainedTokenizer {
  const started = performance.now();
  const minFrequency = options.minFrequency ?? 2;
  const limitAlphabet = options.limitAlphabet ?? 1000;
  const minCharFrequency = options.minCharFrequency ?? 2;
  const maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;

  const { table, total } = countWords(texts, (text) => bertPreTokenize(bertNormalize(text)));

  const charCounts = new Map<string, number>();
  for (const [word, count] of table) {
    for (const ch of word) charCounts.set(ch, (charCounts.get(ch) ?? 0) + count);
  }
  const alphabet = new Set(
    [...charCounts]
      .filter(([, count]) => count >= minCharFrequency)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, limitAlphabet)
      .map(([ch]) => ch),
  );

  // Initial symbols: every alphabet character as a word start, and as "##c" where it continues a word.
  const initialSymbols = new Set<string>();
  const words: number[][] = [];
  const counts: number[] = [];
  const wordChars: string[][] = [];
  for (const [word, count] of table) {
    const chars = [...word];
    if (chars.length > maxInputCharsPerWord || !chars.every((ch) => alphabet.has(ch))) continue;
    chars.forEach((ch, i) => initialSymbols.add(i === 0 ? ch : WORDPIECE_PREFIX + ch));
    wordChars.push(chars);
    counts.push(count);
  }
  for (const ch of alphabet) initialSymbols.add(ch); // a lone character is always encodable
  const names = [...initialSymbols].sort((a, b) => {
    const aCont = a.startsWith(WORDPIECE_PREFIX) && a.length > WORDPIECE_PREFIX.length;
    const bCont = b.startsWith(WORDPIECE_PREFIX) && b.length > WORDPIECE_PREFIX.length;
    if (aCont !== bCont) return aCont ? 1 : -1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const idOf = new Map(names.map((name, id) => [name, id]));
  for (const chars of wordChars) {
    words.push(chars.map((ch, i) => idOf.get(i === 0 ? ch : WORDPIECE_PREFIX + ch)!));
  }

  const room = options.vocabSize - BERT_SPECIAL_TOKENS.length - names.length;
  if (room < 0) {
    throw new Error(`vocabSize ${options.vocabSize} is smaller than the special tokens + alphabet (${BERT_SPECIAL_TOKENS.length + names.length})`);
  }
  const alphabetNames = names.slice();
  const { newSymbols, merges } = learnMerges({
    words,
    counts,
    names,
    maxNewSymbols: room,
    minFrequency,
    join: (left, right) => left + right.slice(WORDPIECE_PREFIX.length),
  });

  const vocabList = [...BERT_SPECIAL_TOKENS, ...alphabetNames, ...newSymbols];
  const vocab: Record<string, number> = {};
  vocabList.forEach((token, id) => (vocab[token] = id));

  const specialId = (token: string): number => vocab[token];
  const addedTokens: AddedTokenJson[] = BERT_SPECIAL_TOKENS.map((content) => ({
    id: specialId(content),
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const templateToken = (id: string): TemplateSpecialTokenJson => ({ id, ids: [specialId(id)], tokens: [id] });
  const single: TemplatePiece[] = [
    { SpecialToken: { id: '[CLS]', type_id: 0 } },
    { Sequence: { id: 'A', type_id: 0 } },
    { SpecialToken: { id: '[SEP]', type_id: 0 } },
  ];
  const pair: TemplatePiece[] = [
    ...single,
    { Sequence: { id: 'B', type_id: 1 } },
    { SpecialToken: { id: '[SEP]', type_id: 1 } },
  ];

  const tokenizerJson: TokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single,
      pair,
      special_tokens: { '[CLS]': templateToken('[CLS]'), '[SEP]': templateToken('[SEP]') },
    },
    decoder: { type: 'WordPiece', prefix: WORDPIECE_PREFIX, cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: WORDPIECE_PREFIX,
      max_input_chars_per_word: maxInputCharsPerWord,
      vocab,
    },
  };

  const tokenizerConfig: TokenizerConfigJson = {
    tokenizer_class: 'BertTokenizerFast',
    model_max_length: options.modelMaxLength,
    do_lower_case: true,
    strip_accents: null,
    tokenize_chinese_chars: true,
    clean_up_tokenization_spaces: true,
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    mask_token: '[MASK]',
    added_tokens_decoder: addedTokensDecoder(addedTokens),
  };

  return {
    tokenizerJson,
    tokenizerConfig,
    stats: {
      vocabSize: vocabList.length,
      words: total,
      uniqueWords: table.size,
      alphabetSize: alphabetNames.length,
      merges: merges.length,
      trainingMs: performance.now() - started,
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// GPT-2 byte-level BPE
// ---------------------------------------------------------------------------------------------------

export const GPT2_END_OF_TEXT = '<|endoftext|>';

export interface ByteLevelBpeTrainOptions {
  /** Total vocabulary size: 256 byte symbols + merges + <|endoftext|>. */
  vocabSize: number;
  /** Written to tokenizer_config.json; should equal the model's n_positions. */
  modelMaxLength: number;
  /** Pairs seen fewer times are not merged (default 2). */
  minFrequency?: number;
}

export function trainByteLevelBpe(texts: Iterable<string>, options: ByteLevelBpeTrainOptions): TrainedTokenizer {
  const started = performance.now();
  const minFrequency = options.minFrequency ?? 2;
  const { table, total } = countWords(texts, byteLevelPreTokenize);

  const names = BYTE_SYMBOL_ORDER.map((b) => BYTE_TO_SYMBOL[b]);
  const idOf = new Map(names.map((name, id) => [name, id]));
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [word, count] of table) {
    words.push([...word].map((symbol) => idOf.get(symbol)!));
    counts.push(count);
  }

  const room = options.vocabSize - names.length - 1;
  if (room < 0) throw new Error(`vocabSize ${options.vocabSize} is below 257 (256 bytes + ${GPT2_END_OF_TEXT})`);
  const byteNames = names.slice();
  const { newSymbols, merges } = learnMerges({
    words,
    counts,
    names,
    maxNewSymbols: room,
    minFrequency,
    join: (left, right) => left + right,
  });

  const vocabList = [...byteNames, ...newSymbols, GPT2_END_OF_TEXT];
  const vocab: Record<string, number> = {};
  vocabList.forEach((token, id) => (vocab[token] = id));
  const endOfTextId = vocab[GPT2_END_OF_TEXT];

  const addedTokens: AddedTokenJson[] = [
    { id: endOfTextId, content: GPT2_END_OF_TEXT, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
  ];

  const tokenizerJson: TokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: merges.map(([left, right]) => `${left} ${right}`),
    },
  };

  const tokenizerConfig: TokenizerConfigJson = {
    tokenizer_class: 'GPT2TokenizerFast',
    model_max_length: options.modelMaxLength,
    add_prefix_space: false,
    add_bos_token: false,
    // GPT-2 decoding is exact; the BERT-era space clean-up would turn "a ." into "a.".
    clean_up_tokenization_spaces: false,
    bos_token: GPT2_END_OF_TEXT,
    eos_token: GPT2_END_OF_TEXT,
    unk_token: GPT2_END_OF_TEXT,
    pad_token: GPT2_END_OF_TEXT,
    added_tokens_decoder: addedTokensDecoder(addedTokens),
  };

  return {
    tokenizerJson,
    tokenizerConfig,
    stats: {
      vocabSize: vocabList.length,
      words: total,
      uniqueWords: table.size,
      alphabetSize: byteNames.length,
      merges: merges.length,
      trainingMs: performance.now() - started,
    },
  };
}

function addedTokensDecoder(tokens: AddedTokenJson[]): Record<string, Omit<AddedTokenJson, 'id'>> {
  const decoder: Record<string, Omit<AddedTokenJson, 'id'>> = {};
  for (const { id, ...rest } of tokens) decoder[String(id)] = rest;
  return decoder;
}
