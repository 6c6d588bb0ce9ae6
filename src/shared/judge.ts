/**
 * A run's results judged in plain sentences: whether a predictor ignores its input (one class or
 * one answer for every row), whether the tuned prompt beats the majority class and the zero-shot
 * prompt by more than chance on this many validation rows, and what to try next from how the
 * losses moved. Pure functions over a finished run's outcome (the UI imports them; nothing runs on
 * import).
 *
 * The statistics, all two-sided at 95%:
 * - an accuracy k/n gets the Wilson score interval
 *   (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), p = k/n, z = 1.96;
 * - two predictors on the same rows are compared by the exact McNemar (sign) test on the rows where
 *   exactly one is right: b rows only the first gets right, c only the second, and under "no
 *   difference" b ~ Binomial(b+c, 1/2), so p = min(1, 2·P(X <= min(b, c))). The difference in
 *   accuracy is (b - c)/n; it is called more than chance when p < 0.05.
 */
import type { ClassificationOutcome, EvalSummary, GenerationOutcome, TrainOutcome } from './tasks';

/** The normal quantile z_{0.975}: two-sided 95% intervals. */
export const CONFIDENCE_Z = 1.959963984540054;
/** A difference whose exact two-sided p is below this is called more than chance. */
export const SIGNIFICANCE_LEVEL = 0.05;
/** A predictor giving one class to at least this share of the rows (but not all) is called nearly constant. */
export const NEAR_CONSTANT_SHARE = 0.9;
/** An accuracy difference worth a larger validation split to confirm (2 points). */
export const MIN_DIFFERENCE_WORTH_KNOWING = 0.02;
/** Models below this many parameters (estimated from the config) are called very small. */
export const SMALL_MODEL_PARAMETERS = 20e6;
/** Below about this size prompt tuning in the input alone trails fine-tuning (Lester et al.: the gap closes near 10B). */
export const DEEP_PROMPT_PARAMETERS = 10e9;

// ---------------------------------------------------------------------------------------------
// Statistics

export interface Interval {
  low: number;
  high: number;
}

/** Wilson score interval for `successes` out of `n` (n > 0). */
export function wilsonInterval(successes: number, n: number, z = CONFIDENCE_Z): Interval {
  if (!(n > 0)) return { low: 0, high: 1 };
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, center - half), high: Math.min(1, center + half) };
}

/** ln(i!) for i = 0..m. */
function logFactorials(m: number): Float64Array {
  const out = new Float64Array(m + 1);
  for (let i = 2; i <= m; i++) out[i] = out[i - 1] + Math.log(i);
  return out;
}

/** P(X <= k) for X ~ Binomial(m, pi), summed in log space (m may be thousands). */
function binomialCdf(k: number, m: number, pi: number, logFact: Float64Array): number {
  if (k < 0) return 0;
  if (k >= m) return 1;
  if (pi <= 0) return 1;
  if (pi >= 1) return 0;
  const logPi = Math.log(pi);
  const logRest = Math.log1p(-pi);
  const terms: number[] = [];
  let max = -Infinity;
  for (let i = 0; i <= k; i++) {
    const t = logFact[m] - logFact[i] - logFact[m - i] + i * logPi + (m - i) * logRest;
    terms.push(t);
    if (t > max) max = t;
  }
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - max);
  return Math.min(1, Math.exp(max) * sum);
}

/** Exact two-sided sign test: b and c counts of the two kinds of discordant rows. */
export function signTestP(b: number, c: number): number {
  const m = b + c;
  if (m === 0) return 1;
  return Math.min(1, 2 * binomialCdf(Math.min(b, c), m, 0.5, logFactorials(m)));
}

/** Two predictors right or wrong on the same rows. */
export interface PairedComparison {
  rows: number;
  /** Rows only the first gets right, and rows only the second gets right. */
  firstOnly: number;
  secondOnly: number;
  /** Accuracy of the first minus the second on these rows. */
  difference: number;
  /** Exact McNemar (sign test) p, two-sided. */
  p: number;
}

export function comparePaired(firstCorrect: readonly boolean[], secondCorrect: readonly boolean[]): PairedComparison {
  const rows = Math.min(firstCorrect.length, secondCorrect.length);
  let b = 0;
  let c = 0;
  for (let i = 0; i < rows; i++) {
    if (firstCorrect[i] && !secondCorrect[i]) b++;
    else if (!firstCorrect[i] && secondCorrect[i]) c++;
  }
  return { rows, firstOnly: b, secondOnly: c, difference: rows > 0 ? (b - c) / rows : 0, p: signTestP(b, c) };
}

// ---------------------------------------------------------------------------------------------
// What the losses show

export interface LossReading {
  /** Mean training loss over the last quarter of the steps (the last epoch's when there are few steps). */
  finalLoss: number | null;
  /** The loss before that (the quarter before, or the epoch before) and after, when it clearly fell. */
  stillFalling: { from: number; to: number } | null;
  /** Validation loss lowest at `epoch`, then higher by the last epoch while the training loss fell. */
  overfitting: { epoch: number; bestValLoss: number; lastEpoch: number; lastValLoss: number } | null;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: readonly number[]) => {
  const m = mean(xs);
  return xs.length > 1 ? xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1) : 0;
};

/** A fall counts when it is over 2% of the loss and, per step, over twice its standard error. */
const MIN_RELATIVE_FALL = 0.02;
/** Validation loss this much (relative) above its best counts as rising. */
const MIN_RELATIVE_RISE = 0.02;

export function readLosses(outcome: Pick<TrainOutcome, 'trainLosses' | 'epochs'>): LossReading {
  const losses = outcome.trainLosses.filter(Number.isFinite);
  const epochs = outcome.epochs.filter((e) => Number.isFinite(e.trainLoss));
  const quarter = Math.floor(losses.length / 4);
  let finalLoss: number | null = null;
  let stillFalling: LossReading['stillFalling'] = null;
  if (quarter >= 4) {
    const last = losses.slice(-quarter);
    const before = losses.slice(-2 * quarter, -quarter);
    finalLoss = mean(last);
    const fall = mean(before) - finalLoss;
    const standardError = Math.sqrt(variance(last) / quarter + variance(before) / quarter);
    if (fall > MIN_RELATIVE_FALL * mean(before) && fall > 2 * standardError) stillFalling = { from: mean(before), to: finalLoss };
  } else if (epochs.length > 0) {
    finalLoss = epochs[epochs.length - 1].trainLoss;
    if (epochs.length >= 2) {
      const from = epochs[epochs.length - 2].trainLoss;
      if (from - finalLoss > MIN_RELATIVE_FALL * from) stillFalling = { from, to: finalLoss };
    }
  } else if (losses.length > 0) {
    finalLoss = mean(losses.slice(-Math.max(1, quarter)));
  }

  let overfitting: LossReading['overfitting'] = null;
  const validated = epochs.filter((e): e is typeof e & { valLoss: number } => e.valLoss !== null && Number.isFinite(e.valLoss));
  if (validated.length >= 2) {
    const best = validated.reduce((a, e) => (e.valLoss < a.valLoss ? e : a));
    const last = validated[validated.length - 1];
    if (best !== last && last.valLoss > best.valLoss * (1 + MIN_RELATIVE_RISE) && last.trainLoss < best.trainLoss) {
      overfitting = { epoch: best.epoch, bestValLoss: best.valLoss, lastEpoch: last.epoch, lastValLoss: last.valLoss };
    }
    // Validation rising at the end is not a reason to train longer.
    const previous = validated[validated.length - 2];
    if (last.valLoss > previous.valLoss * (1 + MIN_RELATIVE_RISE)) stillFalling = null;
  }
  return { finalLoss, stillFalling, overfitting };
}

// ---------------------------------------------------------------------------------------------
// The verdict

export type FindingKind =
  | 'no-validation'
  | 'constant-zero-shot'
  | 'near-constant-zero-shot'
  | 'constant-tuned'
  | 'near-constant-tuned'
  | 'tuned-accuracy'
  | 'vs-majority'
  | 'vs-zero-shot'
  | 'kept-epoch'
  | 'non-finite-loss';

export type SuggestionKind =
  | 'lower-learning-rate'
  | 'fewer-epochs'
  | 'learning-rate'
  | 'more-epochs'
  | 'label-words'
  | 'head-mode'
  | 'prefix-method'
  | 'bigger-model'
  | 'more-validation';

/** good: the prompt helps; bad: something is wrong or worse; neutral: a fact or within chance. */
export type Tone = 'good' | 'bad' | 'neutral';

export interface Finding {
  kind: FindingKind;
  tone: Tone;
  text: string;
}

export interface Suggestion {
  kind: SuggestionKind;
  text: string;
}

export interface Verdict {
  /** What the numbers say, most important first. */
  findings: Finding[];
  /** What to try next, each with the reason the run gives; the likeliest help first. */
  next: Suggestion[];
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const points = (x: number) => `${(100 * Math.abs(x)).toFixed(1)} points`;
const pValue = (p: number) => (p < 0.001 ? 'p < 0.001' : `p = ${p < 0.01 ? p.toFixed(3) : p.toFixed(2)}`);
const count = (n: number, one: string) => `${n.toLocaleString('en')} ${one}${n === 1 ? '' : 's'}`;
const rowsText = (n: number) => count(n, 'validation row');
const loss3 = (x: number) => x.toFixed(3);
const lr = (x: number) => (x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential(0) : String(Number(x.toPrecision(2))));

/** Which column of a confusion matrix takes the most rows, and its share. */
function dominantPrediction(summary: EvalSummary): { index: number; count: number; total: number } {
  const columns = summary.confusionMatrix[0]?.map((_, p) => summary.confusionMatrix.reduce((a, row) => a + row[p], 0)) ?? [];
  const total = columns.reduce((a, b) => a + b, 0);
  const index = columns.indexOf(Math.max(...columns));
  return { index, count: columns[index] ?? 0, total };
}

function constancy(who: 'zero-shot' | 'tuned', summary: EvalSummary | null, classes: readonly string[]): Finding | null {
  if (!summary || classes.length < 2) return null;
  const { index, count, total } = dominantPrediction(summary);
  if (total === 0) return null;
  const name = classes[index];
  const whose = who === 'zero-shot' ? 'The zero-shot prompt' : 'The tuned prompt';
  if (count === total) {
    const share = summary.confusionMatrix[index].reduce((a, b) => a + b, 0) / total;
    return {
      kind: who === 'zero-shot' ? 'constant-zero-shot' : 'constant-tuned',
      tone: 'bad',
      text: `${whose} predicted “${name}” for all ${rowsText(total)}: it ignores the text, and its ${pct(share)} accuracy is only the share of “${name}”.`,
    };
  }
  if (total >= 10 && count / total >= NEAR_CONSTANT_SHARE) {
    return {
      kind: who === 'zero-shot' ? 'near-constant-zero-shot' : 'near-constant-tuned',
      tone: 'bad',
      text: `${whose} predicted “${name}” for ${count.toLocaleString('en')} of ${rowsText(total)} (${pct(count / total)}): it barely reads the text.`,
    };
  }
  return null;
}

/**
 * One paired comparison in a sentence, e.g. "Better than always answering “positive” (50.0%) by
 * 12.5 points, more than chance explains: of the 80 rows where they differ, tuned is right on 50
 * and “positive” on 30 (exact sign test, p = 0.03)."
 */
function comparisonText(against: string, otherName: string, c: PairedComparison, rowsNote: string): { tone: Tone; text: string } {
  const discordant = c.firstOnly + c.secondOnly;
  if (discordant === 0) {
    return { tone: 'neutral', text: `Right and wrong on exactly the same ${rowsText(c.rows)}${rowsNote} as ${against}: no difference at all.` };
  }
  const evidence =
    `of the ${count(discordant, 'row')}${rowsNote} where they differ, tuned is right on ${c.firstOnly.toLocaleString('en')} and ${otherName} on ` +
    `${c.secondOnly.toLocaleString('en')} (exact sign test, ${pValue(c.p)})`;
  if (c.p < SIGNIFICANCE_LEVEL) {
    const better = c.difference > 0;
    return { tone: better ? 'good' : 'bad', text: `${better ? 'Better' : 'Worse'} than ${against} by ${points(c.difference)}, more than chance explains: ${evidence}.` };
  }
  const lead = c.difference === 0 ? `Level with ${against}` : `${c.difference > 0 ? 'Ahead of' : 'Behind'} ${against} by ${points(c.difference)}`;
  return {
    tone: 'neutral',
    text: `${lead}, which chance alone could give on ${rowsText(c.rows)}: ${evidence}. No evidence that either is better.`,
  };
}

/** The model's size from its config: embeddings V·H plus about 12·H² per layer (attention 4H², MLP 8H²). */
export function estimatedParameters(model: { vocabSize: number; hiddenSize: number; numLayers: number }): number {
  return model.vocabSize * model.hiddenSize + 12 * model.numLayers * model.hiddenSize ** 2;
}

const BIGGER_MODEL: Record<TrainOutcome['meta']['model']['modelType'], string> = {
  bert: 'bert-base-uncased',
  distilbert: 'distilbert-base-uncased',
  roberta: 'roberta-base',
  gpt2: 'gpt2',
  llama: 'HuggingFaceTB/SmolLM2-360M',
  mistral: 'HuggingFaceTB/SmolLM2-360M',
  qwen2: 'Qwen/Qwen2.5-0.5B',
  qwen3: 'Qwen/Qwen3-0.6B',
};

function biggerModel(outcome: TrainOutcome): Suggestion | null {
  const m = outcome.meta.model;
  const parameters = estimatedParameters(m);
  if (parameters >= SMALL_MODEL_PARAMETERS) return null;
  return {
    kind: 'bigger-model',
    text:
      `${m.id} is a very small model (${m.numLayers} layers of width ${m.hiddenSize}) that knows little meaning; ` +
      `a bigger checkpoint from the Hub, such as ${BIGGER_MODEL[m.modelType]}, is the likeliest large gain.`,
  };
}

/**
 * A label-word run of prompt tuning or P-tuning (input vectors only) on a model below DEEP_PROMPT_PARAMETERS:
 * prefix tuning reaches every layer. Not for the linear head, where the measurements found no such gain.
 */
function prefixMethod(outcome: TrainOutcome): Suggestion | null {
  const method = outcome.meta.method ?? 'prompt';
  if (method === 'prefix' || outcome.meta.mode === 'head' || estimatedParameters(outcome.meta.model) >= DEEP_PROMPT_PARAMETERS) return null;
  return {
    kind: 'prefix-method',
    text:
      `Prefix tuning (Method, above): ${method === 'prompt' ? 'prompt tuning' : 'P-tuning'} only changes the input, which learns little on models below about ten billion parameters ` +
      '(Lester et al.); prefix tuning (P-tuning v2) trains keys and values at every layer. With label words on the embedded BERT it was ahead of prompt tuning on both sample sets, by 6 and 11 points on average over the seeds measured.',
  };
}

function moreValidation(rows: number, accuracy: number): Suggestion {
  const { low, high } = wilsonInterval(Math.round(accuracy * rows), rows);
  return {
    kind: 'more-validation',
    text:
      `With ${rowsText(rows)} the accuracy is known only to about ±${((100 * (high - low)) / 2).toFixed(0)} points; ` +
      'a larger validation split (or more data) is needed to tell smaller differences apart.',
  };
}

/** Suggestions from the losses and the stop reason, shared by classification and generation. */
function lossSuggestions(outcome: TrainOutcome, reading: LossReading): Suggestion[] {
  const next: Suggestion[] = [];
  const h = outcome.meta.hyperparameters;
  if (outcome.stopReason === 'non-finite-loss') {
    next.push({
      kind: 'lower-learning-rate',
      text: `The loss became NaN or infinite: a lower learning rate (now ${lr(h.learningRate)}, try ${lr(h.learningRate / 10)})${h.clipNorm === null ? ' or gradient clipping' : ''} keeps it finite.`,
    });
  }
  if (reading.overfitting) {
    const o = reading.overfitting;
    const stopping = h.earlyStoppingPatience === null ? ' or early stopping (patience, under the advanced settings)' : '';
    next.push({
      kind: 'fewer-epochs',
      text:
        `Validation loss was lowest after epoch ${o.epoch} (${loss3(o.bestValLoss)}) and rose to ${loss3(o.lastValLoss)} by epoch ${o.lastEpoch} while the training loss kept falling: ` +
        `the prompt is learning the training rows by heart. ${o.epoch} epoch${o.epoch === 1 ? '' : 's'}${stopping} would do.`,
    });
  }
  if (reading.stillFalling && outcome.stopReason !== 'non-finite-loss' && outcome.stopReason !== 'early-stopped') {
    const s = reading.stillFalling;
    const when = outcome.stopReason === 'stopped' ? 'when you stopped the run' : 'at the end';
    next.push({
      kind: 'more-epochs',
      text: `The training loss was still falling ${when} (${loss3(s.from)} → ${loss3(s.to)}): more epochs (say ${2 * h.epochs} instead of ${h.epochs}) should help.`,
    });
  }
  return next;
}

function judgeClassification(outcome: ClassificationOutcome): Verdict {
  const findings: Finding[] = [];
  const { tuned, zeroShot, classes, majority } = outcome;
  const reading = readLosses(outcome);
  const verbalizerMode = outcome.meta.mode === 'verbalizer';
  if (outcome.stopReason === 'non-finite-loss') {
    findings.push({ kind: 'non-finite-loss', tone: 'bad', text: outcome.message ?? 'Training stopped: the loss became NaN or infinite.' });
  }
  const zeroShotConstant = constancy('zero-shot', zeroShot, classes);
  const tunedConstant = constancy('tuned', tuned, classes);
  if (!tuned || outcome.valSize === 0) {
    findings.push({ kind: 'no-validation', tone: 'neutral', text: 'There are no validation rows, so nothing here can be judged: set a validation split above 0.' });
    return { findings, next: lossSuggestions(outcome, reading) };
  }
  if (tunedConstant) findings.push(tunedConstant);
  if (zeroShotConstant) findings.push(zeroShotConstant);

  const n = tuned.confusionMatrix.reduce((a, row) => a + row.reduce((x, y) => x + y, 0), 0) || outcome.valSize;
  const right = tuned.confusionMatrix.reduce((a, row, g) => a + row[g], 0);
  const ci = wilsonInterval(right, n);
  findings.push({
    kind: 'tuned-accuracy',
    tone: 'neutral',
    text: `Tuned accuracy ${pct(right / n)} on ${rowsText(n)}: with this many rows the true accuracy is likely (95%) between ${pct(ci.low)} and ${pct(ci.high)}.`,
  });

  // Paired comparisons on the rows the outcome lists (all of them unless there are very many).
  const rows = outcome.predictions;
  const some = outcome.predictionsTotal > rows.length ? ` (among the first ${rows.length.toLocaleString('en')} of ${outcome.predictionsTotal.toLocaleString('en')})` : '';
  const tunedCorrect = rows.map((r) => r.predicted === r.gold);
  const decided: PairedComparison[] = [];
  if (rows.length > 0) {
    const vsMajority = comparePaired(
      tunedCorrect,
      rows.map((r) => r.gold === majority.label),
    );
    decided.push(vsMajority);
    findings.push({ kind: 'vs-majority', ...comparisonText(`always answering “${majority.label}” (${pct(majority.accuracy)})`, `“${majority.label}”`, vsMajority, some) });
  }
  const zeroShotIsMajority = rows.length > 0 && rows.every((r) => r.zeroShotPredicted === majority.label);
  if (zeroShot && zeroShotIsMajority) {
    findings.push({
      kind: 'vs-zero-shot',
      tone: findings[findings.length - 1].tone,
      text: `The zero-shot prompt answered “${majority.label}” on every row too, so the comparison with always answering “${majority.label}” holds for it as well.`,
    });
  } else if (zeroShot && rows.length > 0 && rows.every((r) => r.zeroShotPredicted !== null)) {
    const vsZeroShot = comparePaired(
      tunedCorrect,
      rows.map((r) => r.zeroShotPredicted === r.gold),
    );
    decided.push(vsZeroShot);
    findings.push({ kind: 'vs-zero-shot', ...comparisonText(`the zero-shot prompt (${pct(zeroShot.accuracy)})`, 'zero-shot', vsZeroShot, some) });
  }
  if (outcome.bestEpoch !== null && outcome.epochs.length > 0 && outcome.bestEpoch !== outcome.epochs[outcome.epochs.length - 1].epoch) {
    findings.push({
      kind: 'kept-epoch',
      tone: 'neutral',
      text: `These results are the prompt from epoch ${outcome.bestEpoch}, the one with the lowest validation loss, not the last epoch's.`,
    });
  }

  // What to try next.
  const next = lossSuggestions(outcome, reading);
  const h = outcome.meta.hyperparameters;
  const lnC = Math.log(classes.length);
  const flat =
    reading.finalLoss !== null && !reading.stillFalling && classes.length >= 2 && Math.abs(reading.finalLoss - lnC) <= 0.1 * lnC;
  const has = (kind: SuggestionKind) => next.some((s) => s.kind === kind);
  if (flat && outcome.stopReason !== 'non-finite-loss') {
    const larger = h.learningRate < 0.3;
    next.push({
      kind: 'learning-rate',
      text:
        `The training loss ends at ${loss3(reading.finalLoss!)}, about ln ${classes.length} = ${loss3(lnC)}, what a guess that ignores the text gets: the prompt is not learning. ` +
        (larger
          ? `Try a larger learning rate (now ${lr(h.learningRate)}, try ${lr(h.learningRate * 3)} or ${lr(h.learningRate * 10)}).`
          : `The learning rate (${lr(h.learningRate)}) is already large; try ${lr(h.learningRate / 10)}.`),
    });
    next.push(
      verbalizerMode
        ? { kind: 'head-mode', text: 'Or the linear-head mode, which learns its own class scores instead of relying on the label words.' }
        : { kind: 'label-words', text: 'Or label-word mode with words the model already tells apart (Suggest label words), with which the prompt starts from what the model knows.' },
    );
  }
  if (zeroShotConstant?.kind === 'constant-zero-shot' && !has('label-words')) {
    next.push({
      kind: 'label-words',
      text:
        'Other label words: the template and words alone put every row in one class, so for this model those words do not separate the classes. ' +
        'Suggest label words ranks words by how much the model raises them for one class against the others, and says when none does.',
    });
  }
  // A prompt stuck on one class whose loss neither settled at ln C nor is still falling.
  if (tunedConstant && !flat && !has('more-epochs')) {
    next.push(
      verbalizerMode
        ? { kind: 'head-mode', text: 'The tuned prompt still answers one class whatever the text: the linear-head mode, which learns its own class scores from the model\'s hidden state, may separate the classes where the label words do not.' }
        : { kind: 'learning-rate', text: `The tuned prompt still answers one class whatever the text: try the learning rate (now ${lr(h.learningRate)}) 3× lower and 3× higher.` },
    );
  }
  const clearWin = decided.length > 0 && decided[0].p < SIGNIFICANCE_LEVEL && decided[0].difference > 0;
  // A prompt in the input alone that did not clearly beat the baselines: the same model may do better with a deeper prompt.
  const deeper = !clearWin || flat ? prefixMethod(outcome) : null;
  if (deeper) next.push(deeper);
  if (!clearWin || right / n < 0.85 || flat) {
    const bigger = biggerModel(outcome);
    if (bigger) next.push(bigger);
  }
  // A difference that could matter but that these rows cannot tell from chance.
  const undecided = decided.some((c) => c.p >= SIGNIFICANCE_LEVEL && Math.abs(c.difference) >= MIN_DIFFERENCE_WORTH_KNOWING);
  if (undecided && !flat && !tunedConstant && ci.high - ci.low > 0.2) next.push(moreValidation(n, right / n));
  return { findings, next };
}

/**
 * Exact match as the engine scores it (`normalizeAnswer` in engine/metrics.ts: lower-case,
 * punctuation and symbols to spaces, whitespace collapsed); judge.test.ts checks they agree.
 */
export function sameAnswer(predicted: string, gold: string): boolean {
  const normalize = (t: string) =>
    t
      .toLowerCase()
      .replace(/[\p{P}\p{S}]/gu, ' ')
      .replace(/\s+/g, ' ')
      .trim();
  return normalize(predicted) === normalize(gold);
}

function judgeGeneration(outcome: GenerationOutcome): Verdict {
  const findings: Finding[] = [];
  const reading = readLosses(outcome);
  if (outcome.stopReason === 'non-finite-loss') {
    findings.push({ kind: 'non-finite-loss', tone: 'bad', text: outcome.message ?? 'Training stopped: the loss became NaN or infinite.' });
  }
  const samples = outcome.samples;
  if (!outcome.after || outcome.valSize === 0 || samples.length === 0) {
    findings.push({ kind: 'no-validation', tone: 'neutral', text: 'There are no validation rows, so nothing here can be judged: set a validation split above 0.' });
    return { findings, next: lossSuggestions(outcome, reading) };
  }
  const constant = (who: 'zero-shot' | 'tuned', texts: string[]): Finding | null => {
    const distinct = new Set(texts.map((t) => t.trim().toLowerCase()));
    if (texts.length < 3 || distinct.size !== 1) return null;
    return {
      kind: who === 'zero-shot' ? 'constant-zero-shot' : 'constant-tuned',
      tone: 'bad',
      text: `${who === 'zero-shot' ? 'The template alone' : 'The tuned prompt'} produced “${texts[0].trim()}” for all ${rowsText(texts.length)}: it ignores the input.`,
    };
  };
  const tunedConstant = constant('tuned', samples.map((s) => s.after));
  const beforeConstant = constant('zero-shot', samples.map((s) => s.before));
  if (tunedConstant) findings.push(tunedConstant);
  if (beforeConstant) findings.push(beforeConstant);

  const tunedCorrect = samples.map((s) => sameAnswer(s.after, s.target));
  const right = tunedCorrect.filter(Boolean).length;
  const n = samples.length;
  const ci = wilsonInterval(right, n);
  findings.push({
    kind: 'tuned-accuracy',
    tone: 'neutral',
    text: `Tuned exact match ${pct(right / n)} on ${rowsText(n)}: with this many rows the true rate is likely (95%) between ${pct(ci.low)} and ${pct(ci.high)}.`,
  });
  let undecided = false;
  if (outcome.before) {
    const c = comparePaired(
      tunedCorrect,
      samples.map((s) => sameAnswer(s.before, s.target)),
    );
    undecided = c.p >= SIGNIFICANCE_LEVEL && Math.abs(c.difference) >= MIN_DIFFERENCE_WORTH_KNOWING;
    findings.push({ kind: 'vs-zero-shot', ...comparisonText(`the template alone (${pct(outcome.before.exactMatch)})`, 'the template alone', c, '') });
  }
  const next = lossSuggestions(outcome, reading);
  if (right / n < 0.85) {
    const bigger = biggerModel(outcome);
    if (bigger) next.push(bigger);
  }
  if (undecided && !tunedConstant && ci.high - ci.low > 0.2) next.push(moreValidation(n, right / n));
  return { findings, next };
}

/** Judges a finished run: findings about its numbers and suggestions for the next run. */
export function judgeOutcome(outcome: TrainOutcome): Verdict {
  return outcome.task === 'classification' ? judgeClassification(outcome) : judgeGeneration(outcome);
}
