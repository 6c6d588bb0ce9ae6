/**
 * Prompt templates: literal text with `{column}` placeholders, one `[MASK]` (where the label word
 * is predicted), soft-token slots `[SOFT]` / `[SOFT*N]`, and `[SEP]` to start a second segment.
 *
 *   "[SOFT*10] {review} It was [MASK]."            encoder (BERT, RoBERTa, DistilBERT)
 *   "Review: {review} Sentiment:"                  decoder (GPT-2): the label is the next token
 *
 * Layout of an encoded example: encoders `[CLS] pieces... [SEP]`, decoders `BOS pieces...` (BOS
 * when the checkpoint's tokenizer adds one, `TextTokenizer.addBos`: Llama-2/3, Mistral, and GPT-2,
 * whose <|endoftext|> is its document separator, so text after it is in-distribution; Qwen none). With no soft slot in the template, `promptLength` soft tokens go right after
 * [CLS]/BOS, as in Lester et al.
 *
 * Spaces and byte-level BPE (GPT-2, RoBERTa): "great" and " great" are different tokens there, so
 * each piece is encoded with the space that precedes it in the running text. A text piece keeps
 * its leading space (unless it starts the template); its trailing spaces belong to whatever comes
 * next: a column's value is encoded as " value", a [MASK] means the label word is preceded by a
 * space (the verbalizer then uses " great"), a soft slot swallows them. A decoder template without
 * [MASK] predicts a space-prefixed word after its last text ("Sentiment:" -> " positive") unless
 * that text ends in a newline. WordPiece ignores all of this, as it should. SentencePiece
 * (Llama-2, Mistral) follows the same rule: the first piece is encoded as the start of an input
 * (with its word-start "▁"), later ones as continuing text (`TextTokenizer.encode`).
 */
import type { TextTokenizer } from '../model/tokenizer';
import type { LmKind, TransformerConfig } from '../model/types';
import type { Row } from './data';
import type { PromptPlacement } from './types';

export type TemplatePiece =
  | { kind: 'text'; text: string }
  | { kind: 'column'; column: string }
  | { kind: 'mask' }
  | { kind: 'sep' }
  | { kind: 'soft'; count: number };

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** Longest single soft slot accepted; longer prompts than this are a typo, not a design. */
export const MAX_SOFT_SLOT = 1000;

const TOKEN_RE = /\{([^{}]*)\}|\[SOFT(\*[^\]]*)?\]|\[MASK\]|<mask>|\[SEP\]/g;

/** Splits a template into pieces; checks slot syntax and that there is at most one mask. */
export function parseTemplate(source: string): TemplatePiece[] {
  const pieces: TemplatePiece[] = [];
  const text = (t: string) => {
    if (t.length === 0) return;
    const last = pieces[pieces.length - 1];
    if (last?.kind === 'text') last.text += t;
    else pieces.push({ kind: 'text', text: t });
  };
  let at = 0;
  let masks = 0;
  for (const m of source.matchAll(TOKEN_RE)) {
    text(source.slice(at, m.index));
    at = (m.index as number) + m[0].length;
    if (m[0].startsWith('{')) {
      const column = (m[1] as string).trim();
      if (column.length === 0) throw new TemplateError(`template "${source}": empty placeholder {} (write {column_name})`);
      pieces.push({ kind: 'column', column });
    } else if (m[0].startsWith('[SOFT')) {
      let count = 1;
      if (m[2] !== undefined) {
        const n = m[2].slice(1);
        count = /^\d+$/.test(n) ? Number(n) : NaN;
        if (!(count >= 1 && count <= MAX_SOFT_SLOT)) {
          throw new TemplateError(`template "${source}": ${m[0]} is not a soft slot; write [SOFT] or [SOFT*N] with N from 1 to ${MAX_SOFT_SLOT}`);
        }
      }
      pieces.push({ kind: 'soft', count });
    } else if (m[0] === '[SEP]') {
      pieces.push({ kind: 'sep' });
    } else {
      masks++;
      if (masks > 1) throw new TemplateError(`template "${source}" has two [MASK]s; a template predicts one label word, at one [MASK]`);
      pieces.push({ kind: 'mask' });
    }
  }
  text(source.slice(at));
  return pieces;
}

/** One template compiled against a tokenizer: what is fixed is tokenised once. */
type Segment =
  | { kind: 'tokens'; ids: number[] }
  | { kind: 'column'; column: string; spaceBefore: boolean; atStart: boolean }
  | { kind: 'soft'; first: number; count: number }
  | { kind: 'mask' }
  | { kind: 'sep' };

export interface EncodedExample {
  /** Token ids; soft positions hold the pad id, never read (the prompt vectors replace them). */
  ids: number[];
  /** Per position: the soft-prompt row placed there, or -1 for an ordinary token. */
  softIndex: number[];
  /** Per position: segment id (0, or 1 after a [SEP] piece when the model has token types). */
  tokenTypes: number[];
  /**
   * Where the label is read: the [MASK] for encoders (-1 for a head-mode template without one);
   * for decoders the last template token (whose next-token distribution is the prediction).
   */
  maskPosition: number;
  /** A column's text was cut to fit. */
  truncated: boolean;
}

export interface EncodeOptions {
  /** False: leave the soft slots out (the zero-shot baseline). Column truncation is unchanged. */
  withSoft?: boolean;
  /** Positions to keep free after the template (a generation target). */
  reserve?: number;
}

export interface TemplateOptions {
  tokenizer: TextTokenizer;
  config: TransformerConfig;
  /** The dataset's columns, for checking placeholders. */
  columns: readonly string[];
  /** Soft tokens to insert after [CLS]/BOS when the template has no [SOFT] slot. */
  promptLength: number;
  /** Cap on the sequence length (the model's maximum positions when omitted or larger). */
  maxLength?: number;
  /**
   * Prefix tuning: the virtual tokens sit at every layer, not in the text, but take the first
   * positions; the template then has no soft tokens and this many fewer positions.
   */
  prefixLength?: number;
  /**
   * Encoders: whether the template must have a [MASK] (default true). The linear-head mode reads
   * [CLS], so its templates may leave the mask out (label words then have nowhere to be read).
   */
  maskRequired?: boolean;
}

/** True when " a" and "a" tokenise differently (byte-level BPE, SentencePiece). */
export function isSpaceSensitive(tokenizer: TextTokenizer): boolean {
  return tokenizer.encode(' a').join(',') !== tokenizer.encode('a').join(',');
}

export class Template {
  readonly lmKind: LmKind;
  /** Total soft tokens: the prompt length N. */
  readonly softCount: number;
  /** Placeholder columns, in template order, without repeats. */
  readonly columns: string[];
  /** The template has a [MASK]. An encoder's template without one reads no label words (head mode only). */
  readonly hasMask: boolean;
  /** Whether the predicted word follows a space (the verbalizer encodes " word" then). */
  readonly spaceBeforePrediction: boolean;
  /** Longest sequence an example may have. */
  readonly maxLength: number;
  /** Tokens taken by everything except column text: specials, literal text, soft slots, mask. */
  readonly fixedLength: number;
  /**
   * Where the soft tokens sit: at the template's [SOFT] slots, or (default slot) right after
   * [CLS]/BOS, or before everything when the tokenizer has no BOS (the export metadata records this).
   */
  readonly placement: PromptPlacement;

  private constructor(
    readonly source: string,
    readonly pieces: TemplatePiece[],
    private readonly segments: Segment[],
    private readonly tokenizer: TextTokenizer,
    private readonly typeVocabSize: number,
    info: { lmKind: LmKind; spaceBeforePrediction: boolean; maxLength: number; placement: Template['placement'] },
  ) {
    this.lmKind = info.lmKind;
    this.placement = info.placement;
    this.spaceBeforePrediction = info.spaceBeforePrediction;
    this.maxLength = info.maxLength;
    this.softCount = segments.reduce((n, s) => n + (s.kind === 'soft' ? s.count : 0), 0);
    this.columns = [...new Set(segments.flatMap((s) => (s.kind === 'column' ? [s.column] : [])))];
    this.hasMask = pieces.some((p) => p.kind === 'mask');
    this.fixedLength = segments.reduce((n, s) => n + lengthOf(s), 0);
  }

  static compile(source: string, options: TemplateOptions): Template {
    const { tokenizer, config } = options;
    const lmKind = config.lmKind;
    const pieces = parseTemplate(source);
    const quote = `template "${source}"`;
    for (const p of pieces) {
      if (p.kind === 'column' && !options.columns.includes(p.column)) {
        throw new TemplateError(`${quote}: unknown column {${p.column}}; the data has columns: ${options.columns.join(', ') || 'none'}`);
      }
    }
    const maskAt = pieces.findIndex((p) => p.kind === 'mask');
    if (lmKind === 'masked-lm') {
      if (maskAt < 0 && options.maskRequired !== false) {
        throw new TemplateError(
          `${quote} has no [MASK]: an encoder (${config.modelType}) predicts the label word at [MASK], e.g. "{text} It was [MASK]." ` +
            '(the linear-head mode reads [CLS] and needs none)',
        );
      }
      if (maskAt >= 0 && tokenizer.special.mask === null) throw new TemplateError(`the ${config.modelType} tokenizer has no mask token`);
      if (tokenizer.special.cls === null) throw new TemplateError(`the ${config.modelType} tokenizer has no [CLS]/<s> token`);
    } else if (maskAt >= 0) {
      const after = pieces.slice(maskAt + 1);
      if (!after.every((p) => p.kind === 'text' && p.text.trim() === '')) {
        throw new TemplateError(
          `${quote}: for a decoder (${config.modelType}) [MASK] must be last: the label is the next token after the template`,
        );
      }
    }
    if (pieces.some((p) => p.kind === 'sep') && tokenizer.special.sep === null) {
      throw new TemplateError(`${quote} uses [SEP], but the ${config.modelType} tokenizer has no separator token`);
    }
    const prefixLength = options.prefixLength ?? 0;
    if (prefixLength > 0 && pieces.some((p) => p.kind === 'soft')) {
      throw new TemplateError(`${quote}: prefix tuning puts its ${prefixLength} virtual tokens at every layer, not in the text: remove the [SOFT] slots`);
    }
    const defaultSlot = !pieces.some((p) => p.kind === 'soft') && options.promptLength > 0 && prefixLength === 0;
    if (defaultSlot) pieces.unshift({ kind: 'soft', count: options.promptLength });

    const spaceSensitive = isSpaceSensitive(tokenizer);
    const encodeText = (t: string, first: boolean) => (t.length === 0 ? [] : first ? tokenizer.encodeStart(t) : tokenizer.encode(t));
    const segments: Segment[] = [];
    const special = tokenizer.special;
    if (lmKind === 'masked-lm') segments.push({ kind: 'tokens', ids: [special.cls as number] });
    else if (tokenizer.addBos && special.bos !== null) segments.push({ kind: 'tokens', ids: [special.bos] });
    let pendingSpace = false; // trailing spaces of the previous text piece, owed to the next piece
    let atStart = true; // no text emitted yet
    let lastText = ''; // the latest text emitted, for the decoder's implicit prediction point
    let softRow = 0;
    let spaceBeforePrediction = false;
    for (const p of pieces) {
      switch (p.kind) {
        case 'text': {
          const raw = atStart ? p.text.replace(/^[ \t]+/, '') : p.text; // nothing before it to separate from
          const t = raw.replace(/[ \t]+$/, '');
          pendingSpace = t.length < raw.length;
          if (t.length > 0) {
            segments.push({ kind: 'tokens', ids: encodeText(t, atStart) });
            atStart = false;
            lastText = t;
          }
          break;
        }
        case 'column':
          segments.push({ kind: 'column', column: p.column, spaceBefore: spaceSensitive && pendingSpace, atStart });
          pendingSpace = false;
          atStart = false;
          lastText = 'x';
          break;
        case 'soft':
          segments.push({ kind: 'soft', first: softRow, count: p.count });
          softRow += p.count;
          pendingSpace = false;
          break;
        case 'sep':
          segments.push({ kind: 'sep' });
          pendingSpace = false;
          break;
        case 'mask':
          spaceBeforePrediction = spaceSensitive && pendingSpace;
          if (lmKind === 'masked-lm') segments.push({ kind: 'mask' });
          pendingSpace = false;
          break;
      }
    }
    if (lmKind === 'masked-lm') {
      if (special.sep !== null) segments.push({ kind: 'tokens', ids: [special.sep] });
    } else if (maskAt < 0) {
      spaceBeforePrediction = spaceSensitive && !atStart && !lastText.endsWith('\n');
    }

    const modelMax = config.maxPositions - config.positionOffset - prefixLength;
    const maxLength = Math.min(options.maxLength ?? modelMax, modelMax);
    const placement = !defaultSlot ? 'template' : segments[0].kind === 'tokens' ? 'after-first-token' : 'prefix';
    const template = new Template(source, pieces, segments, tokenizer, config.typeVocabSize, { lmKind, spaceBeforePrediction, maxLength, placement });
    if (template.fixedLength > maxLength) {
      throw new TemplateError(
        `${quote} alone takes ${template.fixedLength} tokens (${template.softCount} soft, the rest literal text, ` +
          `mask and special tokens), more than the ${maxLength} positions available` +
          (maxLength < modelMax ? ` (max length ${maxLength})` : ` to ${config.modelType}`),
      );
    }
    return template;
  }

  /** Encodes one row; the longest column text is cut (from its end) until the example fits. */
  encode(row: Row, options: EncodeOptions = {}): EncodedExample {
    const withSoft = options.withSoft ?? true;
    const reserve = options.reserve ?? 0;
    const budget = this.maxLength - reserve;
    if (this.fixedLength > budget) {
      throw new TemplateError(
        `template "${this.source}" takes ${this.fixedLength} tokens; with ${reserve} reserved after it (a generation target, or the extra tokens of multi-token label words) it exceeds the ${this.maxLength} positions`,
      );
    }
    // Token ids of each column segment, in segment order.
    const columnIds = new Map<number, number[]>();
    this.segments.forEach((s, i) => {
      if (s.kind !== 'column') return;
      const value = (row[s.column] ?? '').trim();
      const text = (s.spaceBefore ? ' ' : '') + value;
      columnIds.set(i, value.length === 0 ? [] : s.atStart ? this.tokenizer.encodeStart(text) : this.tokenizer.encode(text));
    });
    let excess = this.fixedLength + [...columnIds.values()].reduce((n, ids) => n + ids.length, 0) - budget;
    const truncated = excess > 0;
    while (excess > 0) {
      // Cut the longest column down to the second longest (or by what is still too much).
      const lists = [...columnIds.values()].sort((a, b) => b.length - a.length);
      const longest = lists[0];
      const cut = Math.min(excess, Math.max(1, longest.length - (lists[1]?.length ?? 0)));
      longest.length -= cut;
      excess -= cut;
    }

    const pad = this.tokenizer.special.pad ?? 0;
    const ids: number[] = [];
    const softIndex: number[] = [];
    const tokenTypes: number[] = [];
    let segment = 0;
    let maskPosition = -1;
    const push = (id: number, soft = -1) => {
      ids.push(id);
      softIndex.push(soft);
      tokenTypes.push(this.typeVocabSize > 1 ? Math.min(segment, this.typeVocabSize - 1) : 0);
    };
    this.segments.forEach((s, i) => {
      switch (s.kind) {
        case 'tokens':
          for (const id of s.ids) push(id);
          break;
        case 'column':
          for (const id of columnIds.get(i) as number[]) push(id);
          break;
        case 'soft':
          if (withSoft) for (let k = 0; k < s.count; k++) push(pad, s.first + k);
          break;
        case 'mask':
          maskPosition = ids.length;
          push(this.tokenizer.special.mask as number);
          break;
        case 'sep':
          push(this.tokenizer.special.sep as number);
          segment++;
          break;
      }
    });
    if (this.lmKind === 'causal-lm') maskPosition = ids.length - 1;
    if (ids.length === 0) throw new TemplateError(`template "${this.source}" gives no tokens for this row (empty text and no BOS token)`);
    return { ids, softIndex, tokenTypes, maskPosition, truncated };
  }

  encodeAll(rows: readonly Row[], options: EncodeOptions = {}): { examples: EncodedExample[]; truncatedCount: number } {
    const examples = rows.map((r) => this.encode(r, options));
    return { examples, truncatedCount: examples.filter((e) => e.truncated).length };
  }
}

function lengthOf(s: Segment): number {
  switch (s.kind) {
    case 'tokens':
      return s.ids.length;
    case 'soft':
      return s.count;
    case 'mask':
    case 'sep':
      return 1;
    case 'column':
      return 0;
  }
}

export const compileTemplate = Template.compile;
