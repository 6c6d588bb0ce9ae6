/**
 * Tokenizers through transformers.js's standalone tokenizer library. Reads tokenizer.json (+
 * tokenizer_config.json), or builds the equivalent tokenizer.json from the older vocab.txt
 * (WordPiece) or vocab.json + merges.txt (byte-level BPE) files.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import type { ModelType } from './types';

export interface SpecialTokenIds {
  cls: number | null;
  sep: number | null;
  mask: number | null;
  pad: number | null;
  bos: number | null;
  eos: number | null;
  unk: number | null;
}

/** The raw tokenizer files of a checkpoint folder (each may be absent). */
export interface TokenizerFiles {
  tokenizerJson?: unknown;
  tokenizerConfig?: Record<string, unknown>;
  specialTokensMap?: Record<string, unknown>;
  vocabTxt?: string;
  vocabJson?: Record<string, number>;
  mergesTxt?: string;
}

export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}

const DEFAULT_SPECIALS: Record<ModelType, Partial<Record<keyof SpecialTokenIds, string>>> = {
  bert: { cls: '[CLS]', sep: '[SEP]', mask: '[MASK]', pad: '[PAD]', unk: '[UNK]' },
  distilbert: { cls: '[CLS]', sep: '[SEP]', mask: '[MASK]', pad: '[PAD]', unk: '[UNK]' },
  roberta: { cls: '<s>', sep: '</s>', mask: '<mask>', pad: '<pad>', unk: '<unk>', bos: '<s>', eos: '</s>' },
  gpt2: { bos: '<|endoftext|>', eos: '<|endoftext|>', unk: '<|endoftext|>' },
};

/** A checkpoint's tokenizer: ids without special tokens (the engine places those itself). */
export class TextTokenizer {
  readonly special: SpecialTokenIds;
  /** The mask token's text ("[MASK]", "<mask>"), or null for decoders. */
  readonly maskToken: string | null;
  readonly vocabSize: number;

  constructor(
    private readonly tokenizer: Tokenizer,
    config: Record<string, unknown>,
    modelType: ModelType,
  ) {
    const text = (key: keyof SpecialTokenIds): string | null => {
      const v = config[`${key}_token`];
      if (typeof v === 'string') return v;
      if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
        return (v as { content: string }).content;
      }
      return DEFAULT_SPECIALS[modelType][key] ?? null;
    };
    const id = (key: keyof SpecialTokenIds): number | null => {
      const t = text(key);
      return t === null ? null : (tokenizer.token_to_id(t) ?? null);
    };
    this.special = {
      cls: id('cls'), sep: id('sep'), mask: id('mask'), pad: id('pad'),
      bos: id('bos'), eos: id('eos'), unk: id('unk'),
    };
    this.maskToken = this.special.mask === null ? null : text('mask');
    this.vocabSize = tokenizer.get_vocab(true).size;
  }

  /** Text -> ids, without [CLS]/[SEP]/BOS. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  tokenize(text: string): string[] {
    return this.tokenizer.tokenize(text, { add_special_tokens: false });
  }

  decode(ids: number[], skipSpecialTokens = true): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: skipSpecialTokens });
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }
}

function addedToken(content: string, id: number) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** tokenizer.json equivalent of a BERT vocab.txt (one token per line, id = line number). */
function wordPieceJson(vocabTxt: string, lowercase: boolean): unknown {
  const vocab: Record<string, number> = {};
  vocabTxt.split(/\r?\n/).forEach((tok, i) => {
    if (tok.length > 0 && !(tok in vocab)) vocab[tok] = i;
  });
  const specials = Object.keys(vocab).filter((t) => /^\[[A-Z]+\]$/.test(t));
  return {
    version: '1.0',
    added_tokens: specials.map((t) => addedToken(t, vocab[t])),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

/** tokenizer.json equivalent of a GPT-2/RoBERTa vocab.json + merges.txt pair. */
function byteLevelBpeJson(vocab: Record<string, number>, mergesTxt: string, specials: string[]): unknown {
  const merges = mergesTxt.split(/\r?\n/).filter((l) => l.length > 0 && !l.startsWith('#version'));
  return {
    version: '1.0',
    added_tokens: specials.filter((t) => t in vocab).map((t) => addedToken(t, vocab[t])),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

/** Builds the tokenizer from whichever files the checkpoint has; `folder` names it in errors. */
export function loadTokenizer(files: TokenizerFiles, modelType: ModelType, folder: string): TextTokenizer {
  const config = { ...(files.specialTokensMap ?? {}), ...(files.tokenizerConfig ?? {}) };
  let json = files.tokenizerJson;
  if (json === undefined && files.vocabTxt !== undefined) {
    json = wordPieceJson(files.vocabTxt, config.do_lower_case !== false);
  } else if (json === undefined && files.vocabJson !== undefined && files.mergesTxt !== undefined) {
    const specials = Object.values(DEFAULT_SPECIALS[modelType]).filter((t): t is string => !!t);
    json = byteLevelBpeJson(files.vocabJson, files.mergesTxt, [...new Set(specials)]);
  }
  if (json === undefined) {
    throw new TokenizerError(
      `${folder}: no tokenizer found: expected tokenizer.json (+ tokenizer_config.json), vocab.txt, or vocab.json + merges.txt`,
    );
  }
  try {
    return new TextTokenizer(new Tokenizer(json as object, config), config, modelType);
  } catch (e) {
    throw new TokenizerError(`${folder}: tokenizer could not be built: ${(e as Error).message}`);
  }
}
