/**
 * Tokenizers through transformers.js's standalone tokenizer library. Reads tokenizer.json (+
 * tokenizer_config.json, generation_config.json), or builds the equivalent tokenizer.json from the
 * older vocab.txt (WordPiece) or vocab.json + merges.txt (byte-level BPE) files.
 *
 * SentencePiece-style tokenizers (Llama-2, TinyLlama, Mistral: a Metaspace pre-tokenizer, or a
 * normalizer that prepends "▁") put a word-start marker before whatever text they are given. The
 * studio encodes a template piece by piece, so it asks for two encodings: `encodeStart` (text at the
 * start of an input, as `tokenizer(text)` gives it) and `encode` (text that continues a running text:
 * its spaces exactly as written, no marker added). Byte-level BPE and WordPiece give both the same.
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
  /** generation_config.json: its eos_token_id (a number or a list) ends generation too. */
  generationConfig?: Record<string, unknown>;
  /** chat_template.jinja, where a checkpoint keeps its chat template outside tokenizer_config.json. */
  chatTemplateJinja?: string;
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
  // Checkpoints of these families name their tokens in tokenizer_config.json (Llama-3's
  // <|begin_of_text|>, SmolLM2's <|im_start|>); these are the SentencePiece defaults of LlamaTokenizer.
  llama: { bos: '<s>', eos: '</s>', unk: '<unk>' },
  mistral: { bos: '<s>', eos: '</s>', unk: '<unk>' },
  // Qwen2Tokenizer: no BOS, <|endoftext|> ends documents and pads.
  qwen2: { eos: '<|endoftext|>', pad: '<|endoftext|>' },
  qwen3: { eos: '<|endoftext|>', pad: '<|endoftext|>' },
};

/** Families whose checkpoints often have no pad token: padding (left, masked) then uses EOS, as transformers users do. */
const PAD_WITH_EOS: ReadonlySet<ModelType> = new Set(['llama', 'mistral', 'qwen2', 'qwen3']);

/** A checkpoint's tokenizer: ids without special tokens (the engine places those itself). */
export class TextTokenizer {
  readonly special: SpecialTokenIds;
  /** The mask token's text ("[MASK]", "<mask>"), or null for decoders. */
  readonly maskToken: string | null;
  /** The BOS and EOS tokens' text (a chat template's bos_token / eos_token), or null. */
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  /**
   * Decoders: whether an input starts with BOS. GPT-2: always (<|endoftext|> is its document
   * separator). Otherwise as the checkpoint's tokenizer does it: tokenizer_config.json's
   * add_bos_token, else LlamaTokenizer's default (true), else whether tokenizer.json's post-processor
   * puts BOS first (Llama-3). Qwen2/3 and SmolLM2 add none.
   */
  readonly addBos: boolean;
  /** Every id that ends a generated text: EOS, then generation_config.json's eos_token_id(s). */
  readonly eosIds: number[];
  /** The Jinja chat template of an instruct checkpoint (tokenizer_config.json chat_template), or null. */
  readonly chatTemplate: string | null;
  readonly vocabSize: number;

  constructor(
    private readonly tokenizer: Tokenizer,
    config: Record<string, unknown>,
    modelType: ModelType,
    options: {
      /** The same tokenizer without its SentencePiece word-start marker (see the file comment); absent when it has none. */
      continuation?: Tokenizer;
      tokenizerJson?: unknown;
      generationConfig?: Record<string, unknown>;
      chatTemplateJinja?: string;
    } = {},
  ) {
    this.continuation = options.continuation ?? tokenizer;
    const text = (key: keyof SpecialTokenIds): string | null => {
      const v = config[`${key}_token`];
      if (typeof v === 'string') return v;
      if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
        return (v as { content: string }).content;
      }
      if (v === null) return null; // named and set to none (Qwen2's bos_token: null)
      return DEFAULT_SPECIALS[modelType][key] ?? null;
    };
    const id = (key: keyof SpecialTokenIds): number | null => {
      const t = text(key);
      return t === null ? null : (tokenizer.token_to_id(t) ?? null);
    };
    const eos = id('eos');
    this.special = {
      cls: id('cls'), sep: id('sep'), mask: id('mask'),
      pad: id('pad') ?? (PAD_WITH_EOS.has(modelType) ? eos : null),
      bos: id('bos'), eos, unk: id('unk'),
    };
    this.maskToken = this.special.mask === null ? null : text('mask');
    this.bosToken = this.special.bos === null ? null : text('bos');
    this.eosToken = eos === null ? null : text('eos');
    this.addBos = this.special.bos !== null && addsBos(modelType, config, options.tokenizerJson, this.bosToken as string);
    const generationEos = options.generationConfig?.eos_token_id;
    const listed = (Array.isArray(generationEos) ? generationEos : [generationEos]).filter((x): x is number => Number.isInteger(x));
    this.eosIds = [...new Set([...(eos === null ? [] : [eos]), ...listed])];
    this.chatTemplate = chatTemplateOf(config.chat_template) ?? options.chatTemplateJinja ?? null;
    this.vocabSize = tokenizer.get_vocab(true).size;
  }

  private readonly continuation: Tokenizer;

  /**
   * Text that continues a running text -> ids, its spaces exactly as written (" great" is the word
   * after a space, "great" the word glued to what came before). No special tokens.
   */
  encode(text: string): number[] {
    return this.continuation.encode(text, { add_special_tokens: false }).ids;
  }

  /** Text at the start of an input -> ids, as `tokenizer(text, add_special_tokens=False)` encodes it. */
  encodeStart(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  tokenize(text: string): string[] {
    return this.tokenizer.tokenize(text, { add_special_tokens: false });
  }

  decode(ids: number[], skipSpecialTokens = true): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode(ids, { skip_special_tokens: skipSpecialTokens });
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }
}

/** tokenizer_config.json's chat_template: a string, or a list of named templates ("default" first). */
function chatTemplateOf(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) return null;
  const named = v.filter((t): t is { name: string; template: string } => typeof t?.name === 'string' && typeof t?.template === 'string');
  return (named.find((t) => t.name === 'default') ?? named[0])?.template ?? null;
}

/** See `TextTokenizer.addBos`. */
function addsBos(modelType: ModelType, config: Record<string, unknown>, tokenizerJson: unknown, bosToken: string): boolean {
  if (modelType === 'gpt2') return true;
  if (typeof config.add_bos_token === 'boolean') return config.add_bos_token;
  if (typeof config.tokenizer_class === 'string' && /^(Code)?LlamaTokenizer/.test(config.tokenizer_class)) return true;
  const startsWithBos = (p: unknown): boolean => {
    const pp = p as { type?: string; processors?: unknown[]; single?: { SpecialToken?: { id?: string } }[] } | null;
    if (!pp || typeof pp !== 'object') return false;
    if (pp.type === 'Sequence') return (pp.processors ?? []).some(startsWithBos);
    return pp.type === 'TemplateProcessing' && pp.single?.[0]?.SpecialToken?.id === bosToken;
  };
  return startsWithBos((tokenizerJson as { post_processor?: unknown } | undefined)?.post_processor);
}

/**
 * The tokenizer.json without its SentencePiece word-start marker: no Prepend("▁") normalizer and a
 * Metaspace that prepends nothing. Null when there is no such marker (byte-level BPE, WordPiece).
 */
export function withoutWordStartMarker(json: unknown): unknown | null {
  const j = json as { normalizer?: unknown; pre_tokenizer?: unknown };
  let changed = false;
  const normalizer = (n: unknown): unknown => {
    const nn = n as { type?: string; normalizers?: unknown[] } | null;
    if (nn?.type === 'Prepend') {
      changed = true;
      return null;
    }
    if (nn?.type === 'Sequence' && Array.isArray(nn.normalizers)) {
      const kept = nn.normalizers.map(normalizer).filter((x) => x !== null);
      return { ...nn, normalizers: kept };
    }
    return n;
  };
  const preTokenizer = (p: unknown): unknown => {
    const pp = p as { type?: string; pretokenizers?: unknown[]; prepend_scheme?: string; add_prefix_space?: boolean } | null;
    if (pp?.type === 'Metaspace' && (pp.prepend_scheme ?? (pp.add_prefix_space === false ? 'never' : 'always')) !== 'never') {
      changed = true;
      return { ...pp, prepend_scheme: 'never', add_prefix_space: false };
    }
    if (pp?.type === 'Sequence' && Array.isArray(pp.pretokenizers)) return { ...pp, pretokenizers: pp.pretokenizers.map(preTokenizer) };
    return p;
  };
  const out = { ...j, normalizer: normalizer(j.normalizer ?? null), pre_tokenizer: preTokenizer(j.pre_tokenizer ?? null) };
  return changed ? out : null;
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
    const continuationJson = withoutWordStartMarker(json);
    return new TextTokenizer(new Tokenizer(json as object, config), config, modelType, {
      continuation: continuationJson === null ? undefined : new Tokenizer(continuationJson as object, config),
      tokenizerJson: json,
      generationConfig: files.generationConfig,
      chatTemplateJinja: files.chatTemplateJinja,
    });
  } catch (e) {
    throw new TokenizerError(`${folder}: tokenizer could not be built: ${(e as Error).message}`);
  }
}
