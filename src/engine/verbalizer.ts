/**
 * The verbalizer maps classes to label words and scores them from the model's distributions:
 *
 *   log P(w | x) = sum over the pieces t_1..t_k of w of log P(t_j | x, t_1..t_{j-1})
 *   score(c)     = mean over the words w of c of log P(w | x)
 *
 * and the class loss is cross-entropy over softmax(score). Every piece of a word counts; a word
 * of one token is its token's log-probability, as before. Pieces are summed, not averaged: the sum
 * is log P(w) itself (exactly so for a decoder), while a per-piece mean is no probability of
 * anything. Longer words do start lower; the combination over words is the same mean as for
 * one-token words, and the tuned prompt can learn the offset.
 *
 * Decoders (causal LM), teacher forcing: the template is followed by the word's first k-1 pieces;
 * the distribution at the last template token gives t_1, the one at t_{j-1} gives t_j. Outputs of a
 * causal model at a position do not depend on what follows it, so one sequence per example serves
 * every word whose first k-1 pieces it starts with: the sequences are the longest such prefixes
 * (just the template when every word is one token), and the template's own distribution is read
 * from them.
 *
 * Encoders (masked LM), PET-style multi-mask scoring filled left to right: for a word of k pieces
 * the template's [MASK] becomes k [MASK]s; t_j is read at mask j with t_1..t_{j-1} written into
 * the masks before it and the masks from j on left as [MASK]. That is the masked-LM analogue of
 * teacher forcing (and the order PET uses when it decodes multi-token verbalizers), rather than
 * PET's cheaper training-time approximation that reads all k pieces from one all-[MASK] sequence,
 * which scores "##astic" without seeing "fant". It costs one sequence per (piece count, filled
 * prefix): k for a word of k pieces, the all-[MASK] one shared by words of the same length.
 * `sequences` lists them; every example becomes that many rows of the batch.
 *
 * Checked when building: a word in two classes, and two classes' words with the same tokens, are
 * errors; a word whose tokens start another class's word ("good" / "goods": good, good ##s) is
 * allowed but listed (`prefixPairs`), since the two differ only in length.
 *
 * Leading spaces: byte-level BPE (GPT-2, RoBERTa) has different tokens for "great" and " great".
 * The template decides which is right (`Template.spaceBeforePrediction`): after "It was [MASK]"
 * the word is " great"; the verbalizer encodes it that way.
 */
import * as tf from '@tensorflow/tfjs';
import type { TextTokenizer } from '../model/tokenizer';
import type { LmKind } from '../model/types';
import { selectionFor, type BatchInput, type Selection } from './batch';
import type { EncodedExample } from './template';

export class VerbalizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerbalizerError';
  }
}

/** Class name -> its label words, in class order. */
export type LabelWords = Record<string, string[]>;

export interface LabelWord {
  word: string;
  /** Every sub-token of the word as encoded at the prediction point; all of them are scored. */
  tokenIds: number[];
}

export interface VerbalizerOptions {
  /** Encode words as " word" (from `Template.spaceBeforePrediction`). */
  spaceBefore: boolean;
  /** Rows of the model's output layer (config.vocabSize; may exceed the tokenizer's size). */
  vocabSize: number;
  /** How pieces after the first are scored: teacher forcing (decoders) or one [MASK] per piece (encoders). */
  lmKind: LmKind;
}

/** In `ScoringSequence.tokens`: the example's own [MASK] token. */
export const MASK_SLOT = -1;

/** One input every example becomes for scoring, and the positions read in it. */
export interface ScoringSequence {
  /**
   * Encoders: the tokens that take the [MASK]'s place (filled pieces, then `MASK_SLOT`s).
   * Decoders: the tokens appended after the prediction point (the last template token).
   */
  tokens: number[];
  /** Offsets from the prediction point (`maskPosition`) whose next-token / mask distributions are read. */
  reads: number[];
}

/** Where one piece of a word is scored: read `read` (index into `reads`) of sequence `sequence`. */
interface PieceRead {
  sequence: number;
  read: number;
  tokenId: number;
}

/** A word of one class whose tokens start a word of another class: the two differ only in length. */
export interface PrefixPair {
  shorter: { className: string; word: string; tokenIds: number[] };
  longer: { className: string; word: string; tokenIds: number[] };
}

/** Lower-cased, accents and whitespace removed: what a faithful tokenizer round trip keeps. */
function comparable(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').replace(/\s+/g, '').toLowerCase();
}

function startsWith(ids: readonly number[], prefix: readonly number[]): boolean {
  return prefix.length <= ids.length && prefix.every((id, i) => ids[i] === id);
}

/** The sequences each example becomes and, per class, word and piece, where that piece is read. */
function scoringPlan(words: readonly LabelWord[][], lmKind: LmKind): { sequences: ScoringSequence[]; pieceReads: PieceRead[][][] } {
  const all = words.flat();
  if (lmKind === 'causal-lm') {
    // A word of k pieces needs the template + its first k-1 pieces; keep only the longest of
    // these prefixes (each word then reads offsets 0..k-1 of the first one that starts with its own).
    const needs = [...new Map(all.map((w) => [w.tokenIds.slice(0, -1).join(','), w.tokenIds.slice(0, -1)])).values()];
    needs.sort((a, b) => b.length - a.length);
    const kept: number[][] = [];
    for (const n of needs) if (!kept.some((s) => startsWith(s, n))) kept.push(n);
    kept.reverse(); // shortest first: the plain template leads when it is one of them
    const sequences = kept.map((tokens) => ({ tokens, reads: Array.from({ length: tokens.length + 1 }, (_, j) => j) }));
    const pieceReads = words.map((ws) =>
      ws.map((w) => {
        const sequence = kept.findIndex((s) => startsWith(s, w.tokenIds.slice(0, -1)));
        return w.tokenIds.map((tokenId, j) => ({ sequence, read: j, tokenId }));
      }),
    );
    return { sequences, pieceReads };
  }
  // Masked LM: piece j (from 0) of a k-piece word is read at offset j of [t_0..t_{j-1}, MASK x (k-j)].
  const index = new Map<string, number>();
  const sequences: ScoringSequence[] = [];
  const sequenceOf = (w: LabelWord, j: number): number => {
    const tokens = [...w.tokenIds.slice(0, j), ...new Array<number>(w.tokenIds.length - j).fill(MASK_SLOT)];
    const key = tokens.join(',');
    let s = index.get(key);
    if (s === undefined) {
      s = sequences.length;
      index.set(key, s);
      sequences.push({ tokens, reads: [j] });
    }
    return s;
  };
  // Words of one piece first, so the plain template (one [MASK]) is sequence 0 when it is used.
  for (const w of [...all].sort((a, b) => a.tokenIds.length - b.tokenIds.length)) w.tokenIds.forEach((_, j) => sequenceOf(w, j));
  const pieceReads = words.map((ws) => ws.map((w) => w.tokenIds.map((tokenId, j) => ({ sequence: sequenceOf(w, j), read: 0, tokenId }))));
  return { sequences, pieceReads };
}

export class Verbalizer {
  /** The inputs each example becomes to score every word (one, the template, when all words are one token). */
  readonly sequences: ScoringSequence[];
  readonly lmKind: LmKind;
  readonly vocabSize: number;
  /** Per class, per word, per piece: where it is read. */
  private readonly pieceReads: PieceRead[][][];
  /** Reads per sequence in a batch (the longest `reads`; shorter ones are padded). */
  private readonly readsPerSequence: number;
  /** Distinct scored token ids, in first-seen order. */
  private readonly scoredIds: number[];
  /** [V, U]: one-hot columns picking the scored ids (built on first use, one-hot selection only). */
  private selection: tf.Tensor2D | null = null;
  /** [U] int32: the scored ids (built on first use, gather selection only). */
  private scoredIdTensor: tf.Tensor1D | null = null;
  /** [S * K * U, C]: 1/|words of c| at each (sequence, read, id) of a piece of class c's words. */
  private combination: tf.Tensor2D | null = null;

  constructor(
    readonly classes: string[],
    /** Per class, its label words. */
    readonly words: LabelWord[][],
    options: { vocabSize: number; lmKind: LmKind },
  ) {
    this.vocabSize = options.vocabSize;
    this.lmKind = options.lmKind;
    const plan = scoringPlan(words, options.lmKind);
    this.sequences = plan.sequences;
    this.pieceReads = plan.pieceReads;
    this.readsPerSequence = Math.max(1, ...plan.sequences.map((s) => s.reads.length));
    this.scoredIds = [...new Set(words.flat().flatMap((w) => w.tokenIds))];
  }

  get numClasses(): number {
    return this.classes.length;
  }

  /** Per class, each word's first token: what the 'labels' init embeds. */
  get labelWordIds(): number[][] {
    return this.words.map((ws) => ws.map((w) => w.tokenIds[0]));
  }

  /** Words longer than one token (scored by all their tokens). */
  get multiTokenWords(): { className: string; word: string; tokenIds: number[] }[] {
    return this.words.flatMap((ws, c) =>
      ws.filter((w) => w.tokenIds.length > 1).map((w) => ({ className: this.classes[c], word: w.word, tokenIds: w.tokenIds })),
    );
  }

  /** Positions a scoring sequence may take beyond the encoded example: reserve these when encoding. */
  get extraPositions(): number {
    return Math.max(0, ...this.words.flat().map((w) => w.tokenIds.length - 1));
  }

  /** Pairs of words of different classes where one's tokens start the other's. */
  get prefixPairs(): PrefixPair[] {
    const pairs: PrefixPair[] = [];
    this.words.forEach((ws, c) =>
      ws.forEach((a) =>
        this.words.forEach((others, d) => {
          if (d === c) return;
          for (const b of others) {
            if (b.tokenIds.length > a.tokenIds.length && startsWith(b.tokenIds, a.tokenIds)) {
              pairs.push({
                shorter: { className: this.classes[c], word: a.word, tokenIds: a.tokenIds },
                longer: { className: this.classes[d], word: b.word, tokenIds: b.tokenIds },
              });
            }
          }
        }),
      ),
    );
    return pairs;
  }

  /**
   * The rows one example becomes (`makeBatch` inputs) and the positions each reads, in the order of
   * `sequences`. Added tokens are ordinary tokens (never soft) in the mask's segment.
   */
  scoringInputs(example: EncodedExample): { inputs: BatchInput[]; reads: number[][] } {
    const at = example.maskPosition;
    const type = example.tokenTypes[at];
    const inputs = this.sequences.map((s): BatchInput => {
      const tokens = s.tokens.map((id) => (id === MASK_SLOT ? example.ids[at] : id));
      if (this.lmKind === 'causal-lm') {
        // Nothing after the prediction point can reach it, so the pieces follow it directly.
        return {
          ids: [...example.ids.slice(0, at + 1), ...tokens],
          softIndex: [...example.softIndex.slice(0, at + 1), ...tokens.map(() => -1)],
          tokenTypes: [...example.tokenTypes.slice(0, at + 1), ...tokens.map(() => type)],
        };
      }
      return {
        ids: [...example.ids.slice(0, at), ...tokens, ...example.ids.slice(at + 1)],
        softIndex: [...example.softIndex.slice(0, at), ...tokens.map(() => -1), ...example.softIndex.slice(at + 1)],
        tokenTypes: [...example.tokenTypes.slice(0, at), ...tokens.map(() => type), ...example.tokenTypes.slice(at + 1)],
      };
    });
    return { inputs, reads: this.sequences.map((s) => s.reads.map((o) => at + o)) };
  }

  /** [V, U] one-hot columns picking the scored ids. */
  private selectionMatrix(): tf.Tensor2D {
    if (!this.selection) {
      const V = this.vocabSize;
      const U = this.scoredIds.length;
      const sel = new Float32Array(V * U);
      this.scoredIds.forEach((id, u) => (sel[id * U + u] = 1));
      this.selection = tf.keep(tf.tensor2d(sel, [V, U])); // kept: the first call is usually inside a caller's tidy
    }
    return this.selection;
  }

  private scoredIdIndex(): tf.Tensor1D {
    this.scoredIdTensor ??= tf.keep(tf.tensor1d(this.scoredIds, 'int32'));
    return this.scoredIdTensor;
  }

  private combinationMatrix(): tf.Tensor2D {
    if (!this.combination) {
      const U = this.scoredIds.length;
      const K = this.readsPerSequence;
      const C = this.numClasses;
      const column = new Map(this.scoredIds.map((id, u) => [id, u]));
      const comb = new Float32Array(this.sequences.length * K * U * C);
      this.pieceReads.forEach((ws, c) =>
        ws.forEach((pieces) => {
          for (const p of pieces) comb[((p.sequence * K + p.read) * U + (column.get(p.tokenId) as number)) * C + c] += 1 / ws.length;
        }),
      );
      // Kept: the first call usually happens inside a caller's tf.tidy.
      this.combination = tf.keep(tf.tensor2d(comb, [this.sequences.length * K * U, C]));
    }
    return this.combination;
  }

  /**
   * Log-probabilities at every read of a batch built from `scoringInputs` ([B * S * K, V], rows in
   * example, sequence, read order) -> class scores [B, C]: the mean over each class's words of the
   * sum of their pieces' log-probabilities. The scored ids are picked as batch.ts picks rows
   * (`selection`): a gather, or on wasm a product with a [V, U] one-hot matrix.
   */
  classScores(logProbs: tf.Tensor2D, selection: Selection = selectionFor()): tf.Tensor2D {
    const combination = this.combinationMatrix();
    const perExample = combination.shape[0] / this.scoredIds.length; // S * K reads
    const rows = logProbs.shape[0];
    if (rows % perExample !== 0) throw new Error(`${rows} rows of log-probabilities do not split into examples of ${perExample} reads`);
    return tf.tidy(() => {
      const picked =
        selection === 'gather'
          ? tf.gather(logProbs, this.scoredIdIndex(), 1) // [B*S*K, V] -> [B*S*K, U]
          : tf.matMul(logProbs, this.selectionMatrix()); // [B*S*K, V] x [V, U] -> [B*S*K, U]
      return tf.matMul(picked.reshape([rows / perExample, combination.shape[0]]), combination) as tf.Tensor2D; // [B, S*K*U] x [S*K*U, C] -> [B, C]
    });
  }

  dispose(): void {
    tf.dispose([this.selection, this.combination, this.scoredIdTensor].filter((t) => t !== null) as tf.Tensor[]);
    this.selection = null;
    this.combination = null;
    this.scoredIdTensor = null;
  }
}

/** Builds and checks a verbalizer; every problem is an error naming the class and word. */
export function buildVerbalizer(labelWords: LabelWords, tokenizer: TextTokenizer, options: VerbalizerOptions): Verbalizer {
  const classes = Object.keys(labelWords);
  if (classes.length < 2) throw new VerbalizerError(`label words are needed for at least two classes (got ${classes.length})`);
  const owner = new Map<string, string>(); // word -> class
  const byTokens = new Map<string, { className: string; word: string }>();
  const unk = tokenizer.special.unk;
  const words = classes.map((className) => {
    const list = [...new Set((labelWords[className] ?? []).map((w) => w.trim()).filter((w) => w.length > 0))];
    if (list.length === 0) throw new VerbalizerError(`class "${className}" has no label words`);
    return list.map((word): LabelWord => {
      const other = owner.get(word);
      if (other !== undefined && other !== className) {
        throw new VerbalizerError(`"${word}" is a label word of both "${other}" and "${className}"; each word may belong to one class`);
      }
      owner.set(word, className);
      const tokenIds = tokenizer.encode((options.spaceBefore ? ' ' : '') + word);
      const lost = tokenIds.length === 0 || (unk !== null && tokenIds.includes(unk)) || comparable(tokenizer.decode(tokenIds)) !== comparable(word);
      if (lost) {
        throw new VerbalizerError(
          `label word "${word}" (class "${className}") cannot be represented by this tokenizer` +
            (tokenIds.length ? ` (it reads back as "${tokenizer.decode(tokenIds)}")` : ' (no tokens)'),
        );
      }
      const key = tokenIds.join(',');
      const clash = byTokens.get(key);
      if (clash && clash.className !== className) {
        throw new VerbalizerError(
          `label words "${clash.word}" ("${clash.className}") and "${word}" ("${className}") are the same tokens ` +
            `(${tokenIds.map((id) => tokenizer.idToToken(id) ?? `#${id}`).join(' ')}), so these two cannot be told apart`,
        );
      }
      byTokens.set(key, { className, word });
      return { word, tokenIds };
    });
  });
  return new Verbalizer(classes, words, { vocabSize: options.vocabSize, lmKind: options.lmKind });
}
