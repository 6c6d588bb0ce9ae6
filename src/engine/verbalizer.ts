/**
 * The verbalizer maps classes to label words: score(class) = mean over its words of
 * log P(word | x) at the mask position, and the class loss is cross-entropy over those scores.
 *
 * Multi-token words: a word is scored by its FIRST sub-token only. One [MASK] position predicts
 * one token, so later sub-tokens have no position of their own (PET and OpenPrompt's default make
 * the same choice). Consequences, all checked: two words whose first sub-tokens coincide cannot be
 * told apart, so that is an error when they belong to different classes; and `multiTokenWords`
 * lists the words that were cut, so the UI can say so.
 *
 * Leading spaces: byte-level BPE (GPT-2, RoBERTa) has different tokens for "great" and " great".
 * The template decides which is right (`Template.spaceBeforePrediction`): after "It was [MASK]"
 * the word is " great"; the verbalizer encodes it that way.
 */
import * as tf from '@tensorflow/tfjs';
import type { TextTokenizer } from '../model/tokenizer';
import type { FrozenLM } from '../model/types';
import { forwardWithPrompt, makeBatch, padSideFor, readHidden } from './batch';
import type { Row } from './data';
import type { Template } from './template';

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
  /** Every sub-token of the word as encoded at the prediction point. */
  tokenIds: number[];
  /** The id that is scored: the first sub-token. */
  scoredId: number;
}

export interface VerbalizerOptions {
  /** Encode words as " word" (from `Template.spaceBeforePrediction`). */
  spaceBefore: boolean;
  /** Rows of the model's output layer (config.vocabSize; may exceed the tokenizer's size). */
  vocabSize: number;
}

/** Lower-cased, accents and whitespace removed: what a faithful tokenizer round trip keeps. */
function comparable(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').replace(/\s+/g, '').toLowerCase();
}

export class Verbalizer {
  /** [V, C]: 1/|words of c| at each scored id of class c, else 0 (built on first use). */
  private matrix: tf.Tensor2D | null = null;

  constructor(
    readonly classes: string[],
    /** Per class, its label words. */
    readonly words: LabelWord[][],
    readonly vocabSize: number,
  ) {}

  get numClasses(): number {
    return this.classes.length;
  }

  /** Per class, the scored token ids. */
  get labelWordIds(): number[][] {
    return this.words.map((ws) => ws.map((w) => w.scoredId));
  }

  /** Words longer than one token, scored by their first token. */
  get multiTokenWords(): { className: string; word: string; tokenIds: number[] }[] {
    return this.words.flatMap((ws, c) =>
      ws.filter((w) => w.tokenIds.length > 1).map((w) => ({ className: this.classes[c], word: w.word, tokenIds: w.tokenIds })),
    );
  }

  /** The averaging matrix [V, C]; kept until `dispose`. */
  scoreMatrix(): tf.Tensor2D {
    if (!this.matrix) {
      const m = new Float32Array(this.vocabSize * this.numClasses);
      this.words.forEach((ws, c) => {
        for (const w of ws) m[w.scoredId * this.numClasses + c] += 1 / ws.length;
      });
      // Kept: the first call usually happens inside a caller's tf.tidy.
      this.matrix = tf.keep(tf.tensor2d(m, [this.vocabSize, this.numClasses]));
    }
    return this.matrix;
  }

  /**
   * Log-probabilities [B, V] at the mask -> class scores [B, C], the mean log-probability of each
   * class's words. A matmul rather than a gather: gather's gradient needs UnsortedSegmentSum,
   * which the wasm backend lacks.
   */
  classScores(logProbs: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(logProbs, this.scoreMatrix()); // [B, V] x [V, C] -> [B, C]
  }

  dispose(): void {
    this.matrix?.dispose();
    this.matrix = null;
  }
}

/** Builds and checks a verbalizer; every problem is an error naming the class and word. */
export function buildVerbalizer(labelWords: LabelWords, tokenizer: TextTokenizer, options: VerbalizerOptions): Verbalizer {
  const classes = Object.keys(labelWords);
  if (classes.length < 2) throw new VerbalizerError(`label words are needed for at least two classes (got ${classes.length})`);
  const owner = new Map<string, string>(); // word -> class
  const byScoredId = new Map<number, { className: string; word: string }>();
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
      const scoredId = tokenIds[0];
      const clash = byScoredId.get(scoredId);
      if (clash && clash.className !== className) {
        throw new VerbalizerError(
          `label words "${clash.word}" ("${clash.className}") and "${word}" ("${className}") both start with the token ` +
            `"${tokenizer.idToToken(scoredId)}"; words are scored by their first token at the mask, so these two cannot be told apart`,
        );
      }
      byScoredId.set(scoredId, { className, word });
      return { word, tokenIds, scoredId };
    });
  });
  return new Verbalizer(classes, words, options.vocabSize);
}

export interface SuggestedWord {
  word: string;
  tokenId: number;
  /** log mean P(w | x, template) over the class's examples minus the same over the other classes'. */
  score: number;
  /** Mean P(w | x, template) over the class's examples. */
  meanProbability: number;
}

export interface SuggestOptions {
  /** Words per class. */
  topK?: number;
  batchSize?: number;
  /** Cap on examples used per class (the first ones). */
  maxExamplesPerClass?: number;
}

/**
 * Automatic label words: for each class, the whole words w with the highest
 * log mean P(w | x, template) over that class's examples relative to the other classes
 * (mean P over all other examples' class means), i.e. v(y) = argmax_w P(w | x, template)
 * made discriminative. The template is used WITHOUT soft tokens. A word is suggested for one class
 * only (the one it scores highest for). "Whole word": the token decodes to letters only (2+) and
 * the word, encoded as the verbalizer would, is exactly that one token.
 */
export async function suggestLabelWords(
  model: FrozenLM,
  tokenizer: TextTokenizer,
  template: Template,
  rows: readonly Row[],
  labelColumn: string,
  options: SuggestOptions = {},
): Promise<Record<string, SuggestedWord[]>> {
  const topK = options.topK ?? 5;
  const batchSize = options.batchSize ?? 16;
  const cap = options.maxExamplesPerClass ?? 200;
  if (!model.hasLmHead) throw new VerbalizerError('label-word suggestion needs a checkpoint with its LM head');
  const classes = [...new Set(rows.map((r) => r[labelColumn]))].sort();
  if (classes.length < 2) throw new VerbalizerError(`label-word suggestion needs at least two classes in column "${labelColumn}"`);
  const perClass = new Map<string, number>();
  const picked = rows.filter((r) => {
    const n = perClass.get(r[labelColumn]) ?? 0;
    perClass.set(r[labelColumn], n + 1);
    return n < cap;
  });
  const C = classes.length;
  const V = model.config.vocabSize;
  let sums = tf.zeros([C, V]) as tf.Tensor2D; // per class, summed P(w | x)
  const counts = new Array<number>(C).fill(0);
  for (let i = 0; i < picked.length; i += batchSize) {
    const chunk = picked.slice(i, i + batchSize);
    const encoded = chunk.map((r) => template.encode(r, { withSoft: false }));
    const labels = chunk.map((r) => classes.indexOf(r[labelColumn]));
    labels.forEach((c) => counts[c]++);
    const batch = makeBatch(encoded, {
      side: padSideFor(model.config.lmKind),
      padId: tokenizer.special.pad ?? 0,
      promptLength: 0,
      reads: encoded.map((e) => [e.maskPosition]),
    });
    const next = tf.tidy(() => {
      const h = readHidden(forwardWithPrompt(model, batch, null), batch).reshape([chunk.length, model.config.hiddenSize]);
      const probs = tf.softmax(model.lmLogits(h) as tf.Tensor2D); // [B, V]
      const byClass = tf.oneHot(tf.tensor1d(labels, 'int32'), C).toFloat().transpose(); // [C, B]
      return tf.add(sums, tf.matMul(byClass, probs)) as tf.Tensor2D; // [C, B] x [B, V]
    });
    batch.dispose();
    sums.dispose();
    sums = next;
  }
  const meanP = tf.tidy(() => tf.div(sums, tf.tensor2d(counts.map((n) => Math.max(n, 1)), [C, 1])));
  sums.dispose();
  const probs = (await meanP.data()) as Float32Array;
  meanP.dispose();

  const EPS = 1e-12;
  const score = (c: number, v: number) => {
    let others = 0;
    for (let k = 0; k < C; k++) if (k !== c) others += probs[k * V + v];
    return Math.log(probs[c * V + v] + EPS) - Math.log(others / (C - 1) + EPS);
  };
  const specials = new Set(Object.values(tokenizer.special).filter((x): x is number => x !== null));
  const limit = Math.min(V, tokenizer.vocabSize);
  const wordOf = new Map<number, string | null>();
  const wholeWord = (id: number): string | null => {
    if (wordOf.has(id)) return wordOf.get(id) as string | null;
    let word: string | null = null;
    if (!specials.has(id)) {
      const text = tokenizer.decode([id]).trim();
      if (/^\p{L}{2,}$/u.test(text)) {
        const ids = tokenizer.encode((template.spaceBeforePrediction ? ' ' : '') + text);
        if (ids.length === 1 && ids[0] === id) word = text;
      }
    }
    wordOf.set(id, word);
    return word;
  };
  const out: Record<string, SuggestedWord[]> = {};
  classes.forEach((className, c) => {
    const ranked = Array.from({ length: limit }, (_, v) => v)
      .map((v) => ({ v, s: score(c, v) }))
      .sort((a, b) => b.s - a.s || a.v - b.v);
    const words: SuggestedWord[] = [];
    for (const { v, s } of ranked) {
      if (words.length >= topK) break;
      const word = wholeWord(v);
      if (word === null) continue;
      let bestClass = c;
      for (let k = 0; k < C; k++) if (score(k, v) > score(bestClass, v)) bestClass = k;
      if (bestClass !== c) continue;
      words.push({ word, tokenId: v, score: s, meanProbability: probs[c * V + v] });
    }
    out[className] = words;
  });
  return out;
}
