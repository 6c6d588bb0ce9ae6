/**
 * Label words the frozen model already tells the classes apart with, found on the training split
 * (in the spirit of LM-BFF's automatic verbalizer search and PETAL's likelihood ratio):
 *
 * 1. Every training example (template without soft tokens) is run once; at the mask (decoders: the
 *    next token) the log-probabilities of the whole vocabulary are summed per class, with their
 *    squares and the probabilities themselves: [C, V] each, kept on the device.
 * 2. Candidates for class c are the words the model predicts for c: the POOL_SIZE eligible tokens
 *    with the highest mean P(w | x) over c's examples. Eligible: a whole word (the token decodes to
 *    2+ letters, and the word encoded as the verbalizer would encode it is exactly that token, which
 *    drops WordPiece `##` pieces and byte-level BPE pieces without their leading space), not a stop
 *    word, not punctuation, digits or a special token.
 * 3. A candidate's score is how far its log-probability rises on c's examples against the other
 *    classes', in standard deviations:
 *
 *      rise(w, c)  = mean_{x in c} log P(w | x) - mean_{k != c} mean_{x in k} log P(w | x)
 *      score(w, c) = rise(w, c) / s(w),  s(w)^2 = pooled within-class variance of log P(w | x)
 *
 *    so a word whose probability goes up for one class consistently scores high, and one whose
 *    tiny probability merely doubles by chance does not. A word is offered to one class only (the
 *    one it scores highest for), and only when it rises by MIN_OFFERED_SCORE at least.
 * 4. The zero-shot accuracy on the same examples is computed exactly as the verbalizer scores
 *    (mean log P over a class's words, argmax): for the top k words of every class (k = 1..topK),
 *    and for each candidate as the one word of its class beside the other classes' top word. The
 *    hidden states at the mask are kept from step 1, so this costs only the LM head again.
 * 5. The suggestion is convincing when every class has a word scoring at least MIN_SEPARATION and
 *    the best set beats always answering the majority class by more than chance (one-sided exact
 *    binomial test at CONVINCING_P). The accuracies are measured on the rows the words were picked
 *    from, so they are optimistic; the run's zero-shot on the validation split is the honest check.
 */
import * as tf from '@tensorflow/tfjs';
import type { TextTokenizer } from '../model/tokenizer';
import type { FrozenLM } from '../model/types';
import { forwardWithPrompt, makeBatch, padSideFor, readHidden } from './batch';
import type { Row } from './data';
import type { Template } from './template';
import { VerbalizerError } from './verbalizer';

/** Candidates per class: the eligible words with the highest mean probability on that class. */
export const POOL_SIZE = 200;
/** Words rising by less than this many standard deviations for a class are not offered for it (noise). */
export const MIN_OFFERED_SCORE = 0.1;
/** A class's best word must rise by at least this many standard deviations to be convincing. */
export const MIN_SEPARATION = 0.5;
/** The best set must beat the majority class with a one-sided binomial p-value below this. */
export const CONVINCING_P = 0.01;

/**
 * Function words that a masked or causal LM predicts everywhere and that say nothing about a class
 * (English; the filter is by the decoded word, lower-cased).
 */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all also am an and any are aren as at be because been before being below between both but by can ' +
    'cannot could couldn did didn do does doesn doing don down during each else even ever every few for from further get gets got had hadn has ' +
    'hasn have haven having he her here hers herself him himself his how however if in into is isn it its itself just let ll me might more most ' +
    'much must mustn my myself neither no nor not now of off often on once one only or other others ought our ours ourselves out over own per ' +
    're same shall shan she should shouldn since so some still such than that the their theirs them themselves then there these they this those ' +
    'though through thus to too under until up upon us ve very via was wasn we were weren what when where whether which while who whom whose why ' +
    'will with within without won would wouldn yet you your yours yourself yourselves'
  ).split(' '),
);

export interface SuggestOptions {
  /** Words offered per class. */
  topK?: number;
  batchSize?: number;
  /** Cap on examples used per class (the first ones). */
  maxExamplesPerClass?: number;
  /** After each batch of the model pass: the share of examples done. */
  onProgress?(fraction: number): void;
}

export interface SuggestedWord {
  word: string;
  tokenId: number;
  /** rise / pooled within-class standard deviation of log P(w | x): the ranking. */
  score: number;
  /** Mean log P(w | x) on the class's examples minus the other classes' mean (nats; exp() is the geometric-mean ratio). */
  rise: number;
  /** Mean P(w | x) over the class's examples. */
  meanProbability: number;
  /** Zero-shot accuracy on the examined rows with this word alone for its class and every other class's top word; null when a class has none. */
  accuracy: number | null;
}

export interface SuggestedSet {
  /** k: the top k words of every class (fewer for a class with fewer candidates). */
  wordsPerClass: number;
  words: Record<string, string[]>;
  /** Zero-shot accuracy of these words on the examined training rows. */
  accuracy: number;
}

export interface LabelWordSuggestion {
  /** Classes in name order, each with its candidates, best first (possibly none). */
  classes: Record<string, SuggestedWord[]>;
  /** The sets of the top k words per class, k = 1..topK; empty when a class has no candidate. */
  sets: SuggestedSet[];
  /** Index into `sets` of the most accurate one (the smallest on a tie); null when `sets` is empty. */
  best: number | null;
  /** Training rows examined. */
  examples: number;
  /** Always answering the most frequent class of the examined rows. */
  majority: { label: string; accuracy: number };
  convincing: boolean;
  /** Why (not) convincing, in a sentence the page and the CLI show. */
  verdict: string;
}

/** P(X >= k) for X ~ Binomial(n, p). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  // log C(n, i) p^i (1-p)^(n-i), summed from i = k upwards in log space.
  let logTerm = 0;
  for (let i = 0; i < k; i++) logTerm += Math.log((n - i) / (i + 1));
  logTerm += k * Math.log(p) + (n - k) * Math.log(1 - p);
  let sum = 0;
  for (let i = k; i <= n; i++) {
    sum += Math.exp(logTerm);
    logTerm += Math.log((n - i) / (i + 1)) + Math.log(p) - Math.log(1 - p);
  }
  return Math.min(1, sum);
}

const percent = (x: number) => `${(100 * x).toFixed(0)}%`;

/** The class scores of each example under `words` (class -> token ids), argmax'ed: accuracy against `labels`. */
function setAccuracy(logProbs: Float32Array, columns: Map<number, number>, U: number, labels: readonly number[], words: readonly number[][]): number {
  let right = 0;
  labels.forEach((gold, i) => {
    let best = -1;
    let bestScore = -Infinity;
    words.forEach((ids, c) => {
      let s = 0;
      for (const id of ids) s += logProbs[i * U + (columns.get(id) as number)];
      s /= ids.length;
      if (s > bestScore) [best, bestScore] = [c, s];
    });
    if (best === gold) right++;
  });
  return labels.length ? right / labels.length : 0;
}

/**
 * Label words for each class that the frozen model already separates on `rows` (the training
 * split) with `template` (read without soft tokens); see the file's comment for the method.
 */
export async function suggestLabelWords(
  model: FrozenLM,
  tokenizer: TextTokenizer,
  template: Template,
  rows: readonly Row[],
  labelColumn: string,
  options: SuggestOptions = {},
): Promise<LabelWordSuggestion> {
  const topK = options.topK ?? 5;
  const batchSize = options.batchSize ?? 16;
  const cap = options.maxExamplesPerClass ?? 200;
  if (!model.hasLmHead) throw new VerbalizerError('label-word suggestion needs a checkpoint with its LM head');
  if (template.lmKind === 'masked-lm' && !template.hasMask) throw new VerbalizerError('label-word suggestion reads the model at the [MASK]: add one to the template');
  const classes = [...new Set(rows.map((r) => r[labelColumn]))].sort();
  if (classes.length < 2) throw new VerbalizerError(`label-word suggestion needs at least two classes in column "${labelColumn}"`);
  const perClass = new Map<string, number>();
  const picked = rows.filter((r) => {
    const n = perClass.get(r[labelColumn]) ?? 0;
    perClass.set(r[labelColumn], n + 1);
    return n < cap;
  });
  const labels = picked.map((r) => classes.indexOf(r[labelColumn]));
  const C = classes.length;
  const V = model.config.vocabSize;
  const H = model.config.hiddenSize;
  const counts = new Array<number>(C).fill(0);
  labels.forEach((c) => counts[c]++);

  // 1. One pass of the model: per-class sums of log P, (log P)^2 and P over the vocabulary.
  let sums = tf.zeros([3 * C, V]) as tf.Tensor2D; // rows: sum log P [C], sum (log P)^2 [C], sum P [C]
  const hidden: tf.Tensor2D[] = []; // [B, H] at the mask, per batch
  try {
    for (let i = 0; i < picked.length; i += batchSize) {
      const chunk = picked.slice(i, i + batchSize);
      const encoded = chunk.map((r) => template.encode(r, { withSoft: false }));
      const batch = makeBatch(encoded, {
        side: padSideFor(model.config.lmKind),
        padId: tokenizer.special.pad ?? 0,
        promptLength: 0,
        reads: encoded.map((e) => [e.maskPosition]),
      });
      try {
        const h = tf.tidy(() => readHidden(forwardWithPrompt(model, batch, null), batch).reshape([chunk.length, H]) as tf.Tensor2D);
        hidden.push(h);
        const next = tf.tidy(() => {
          const logp = tf.logSoftmax(model.lmLogits(h) as tf.Tensor2D); // [B, V]
          const byClass = tf.oneHot(tf.tensor1d(labels.slice(i, i + chunk.length), 'int32'), C).toFloat().transpose() as tf.Tensor2D; // [C, B]
          const added = tf.concat([tf.matMul(byClass, logp), tf.matMul(byClass, tf.square(logp)), tf.matMul(byClass, tf.exp(logp))], 0); // [3C, V]
          return tf.add(sums, added) as tf.Tensor2D;
        });
        sums.dispose();
        sums = next;
      } finally {
        batch.dispose();
      }
      options.onProgress?.(Math.min(1, (i + chunk.length) / picked.length));
    }
    const stats = (await sums.data()) as Float32Array;
    const sumLog = (c: number, v: number) => stats[c * V + v];
    const sumSq = (c: number, v: number) => stats[(C + c) * V + v];
    const meanP = (c: number, v: number) => stats[(2 * C + c) * V + v] / Math.max(1, counts[c]);
    const meanLog = (c: number, v: number) => sumLog(c, v) / Math.max(1, counts[c]);
    const within = Math.max(1, picked.length - C);
    const separation = (c: number, v: number) => {
      let others = 0;
      for (let k = 0; k < C; k++) if (k !== c) others += meanLog(k, v);
      const rise = meanLog(c, v) - others / (C - 1);
      let ss = 0;
      for (let k = 0; k < C; k++) ss += Math.max(0, sumSq(k, v) - (sumLog(k, v) * sumLog(k, v)) / Math.max(1, counts[k]));
      const sd = Math.max(Math.sqrt(ss / within), 1e-3);
      return { rise, score: rise / sd };
    };

    // 2. Candidates: the eligible words each class's examples give the most probability.
    const specials = new Set(Object.values(tokenizer.special).filter((x): x is number => x !== null));
    const limit = Math.min(V, tokenizer.vocabSize);
    const wordOf = new Map<number, string | null>();
    const eligible = (id: number): string | null => {
      const known = wordOf.get(id);
      if (known !== undefined) return known;
      let word: string | null = null;
      if (!specials.has(id)) {
        const text = tokenizer.decode([id]).trim();
        if (/^\p{L}{2,}$/u.test(text) && !STOP_WORDS.has(text.toLowerCase())) {
          const ids = tokenizer.encode((template.spaceBeforePrediction ? ' ' : '') + text);
          if (ids.length === 1 && ids[0] === id) word = text;
        }
      }
      wordOf.set(id, word);
      return word;
    };
    const byId = new Map<number, { c: number; candidate: SuggestedWord }>();
    for (let c = 0; c < C; c++) {
      const order = Array.from({ length: limit }, (_, v) => v).sort((a, b) => meanP(c, b) - meanP(c, a) || a - b);
      let pooled = 0;
      for (const v of order) {
        if (pooled >= POOL_SIZE) break;
        const word = eligible(v);
        if (word === null) continue;
        pooled++;
        const { rise, score } = separation(c, v);
        if (!(score >= MIN_OFFERED_SCORE)) continue;
        const held = byId.get(v);
        if (held && held.candidate.score >= score) continue;
        byId.set(v, { c, candidate: { word, tokenId: v, score, rise, meanProbability: meanP(c, v), accuracy: null } });
      }
    }
    const ranked: SuggestedWord[][] = classes.map(() => []);
    for (const { c, candidate } of byId.values()) ranked[c].push(candidate);
    for (const list of ranked) {
      list.sort((a, b) => b.score - a.score || a.tokenId - b.tokenId);
      list.splice(topK);
    }

    // 3. Zero-shot accuracies of the offered words, from the kept hidden states.
    const ids = [...new Set(ranked.flat().map((w) => w.tokenId))];
    const columns = new Map(ids.map((id, u) => [id, u]));
    const U = ids.length;
    let logProbs = new Float32Array(0);
    if (U > 0) {
      const picks = tf.tensor1d(ids, 'int32');
      try {
        const parts = await Promise.all(
          hidden.map(async (h) => {
            const t = tf.tidy(() => tf.gather(tf.logSoftmax(model.lmLogits(h) as tf.Tensor2D), picks, 1)); // [B, V] -> [B, U]
            const values = (await t.data()) as Float32Array;
            t.dispose();
            return values;
          }),
        );
        logProbs = new Float32Array(picked.length * U);
        let at = 0;
        for (const p of parts) {
          logProbs.set(p, at);
          at += p.length;
        }
      } finally {
        picks.dispose();
      }
    }
    const everyClass = ranked.every((list) => list.length > 0);
    const sets: SuggestedSet[] = [];
    if (everyClass) {
      const longest = Math.max(...ranked.map((l) => l.length));
      for (let k = 1; k <= longest; k++) {
        const words = ranked.map((l) => l.slice(0, k).map((w) => w.tokenId));
        sets.push({
          wordsPerClass: k,
          words: Object.fromEntries(classes.map((name, c) => [name, ranked[c].slice(0, k).map((w) => w.word)])),
          accuracy: setAccuracy(logProbs, columns, U, labels, words),
        });
      }
      ranked.forEach((list, c) =>
        list.forEach((w) => {
          const words = ranked.map((l, k) => (k === c ? [w.tokenId] : [l[0].tokenId]));
          w.accuracy = setAccuracy(logProbs, columns, U, labels, words);
        }),
      );
    }
    let best = sets.length ? 0 : null;
    for (let i = 1; i < sets.length; i++) if (sets[i].accuracy > sets[best as number].accuracy) best = i;

    // 4. The verdict.
    const majorityClass = counts.indexOf(Math.max(...counts));
    const majority = { label: classes[majorityClass], accuracy: counts[majorityClass] / Math.max(1, picked.length) };
    const n = picked.length;
    const weak = classes.filter((_, c) => !(ranked[c][0]?.score >= MIN_SEPARATION));
    let convincing = false;
    let verdict: string;
    const advice = 'Try another template (the words are read where the template predicts), the linear-head mode, or a bigger model.';
    if (!everyClass) {
      const none = classes.filter((_, c) => ranked[c].length === 0);
      verdict = `Nothing convincing: no word's probability rises on the rows of ${none.map((c) => `"${c}"`).join(', ')} against the other classes. ${advice}`;
    } else {
      const top = sets[best as number];
      const right = Math.round(top.accuracy * n);
      const p = binomialUpperTail(right, n, majority.accuracy);
      const setText = `the top ${top.wordsPerClass === 1 ? 'word of each class gives' : `${top.wordsPerClass} words of each class give`} ${percent(top.accuracy)} zero-shot on these ${n} training rows, against ${percent(majority.accuracy)} for always answering "${majority.label}"`;
      if (p >= CONVINCING_P) {
        verdict = `Nothing convincing: ${setText}, which chance alone could give. ${advice}`;
      } else if (weak.length > 0) {
        verdict =
          `Not convincing: ${setText}, but for ${weak.map((c) => `"${c}"`).join(', ')} no word rises by ${MIN_SEPARATION} standard deviations ` +
          `(the best by ${ranked[classes.indexOf(weak[0])][0].score.toFixed(2)}), so the words hardly track that class. ${advice}`;
      } else {
        convincing = true;
        verdict = `These words separate the classes: ${setText} (measured on the rows they were picked from, so somewhat optimistic).`;
      }
    }
    return {
      classes: Object.fromEntries(classes.map((name, c) => [name, ranked[c]])),
      sets,
      best,
      examples: n,
      majority,
      convincing,
      verdict,
    };
  } finally {
    sums.dispose();
    tf.dispose(hidden);
  }
}
