import { describe, expect, it } from 'vitest';
import { exactMatch } from '../engine/metrics';
import { baseMeta, generationMeta, headMeta } from '../engine/export/testing';
import {
  comparePaired,
  estimatedParameters,
  judgeOutcome,
  readLosses,
  sameAnswer,
  signTestP,
  SIGNIFICANCE_LEVEL,
  wilsonInterval,
  type Verdict,
} from './judge';
import type { ClassificationOutcome, EpochMetrics, GenerationOutcome, PredictionRow } from './tasks';

// Reference values: Newcombe (1998), "Two-sided confidence intervals for the single proportion",
// method 3 (Wilson); the same from scipy.stats.binomtest 1.17, as are the sign-test p values.
describe('statistics', () => {
  it.each([
    { k: 81, n: 263, wilson: [0.2552885, 0.3662096] },
    { k: 15, n: 148, wilson: [0.0623864, 0.1604872] },
    { k: 0, n: 20, wilson: [0, 0.1611252] },
    { k: 1, n: 29, wilson: [0.0061132, 0.1717552] },
    { k: 2600, n: 5000, wilson: [0.506142, 0.5338273] },
  ])('Wilson interval for $k / $n', ({ k, n, wilson }) => {
    const w = wilsonInterval(k, n);
    expect(w.low).toBeCloseTo(wilson[0], 6);
    expect(w.high).toBeCloseTo(wilson[1], 6);
  });

  it.each([
    { b: 40, c: 20, p: 0.01348929373119186 },
    { b: 8, c: 1, p: 20 / 512 },
    { b: 5, c: 0, p: 2 / 32 },
    { b: 0, c: 7, p: 0.015625 },
    { b: 30, c: 20, p: 0.20263875106454066 },
    { b: 2600, c: 2400, p: 0.004883649737517494 },
    { b: 1, c: 0, p: 1 },
    { b: 0, c: 0, p: 1 },
  ])('exact sign test p for $b vs $c discordant rows', ({ b, c, p }) => {
    expect(signTestP(b, c)).toBeCloseTo(p, 10);
  });

  it('counts the discordant rows of a paired comparison', () => {
    const cmp = comparePaired([true, true, false, false, true], [false, true, true, false, false]);
    expect(cmp).toEqual({ rows: 5, firstOnly: 2, secondOnly: 1, difference: 0.2, p: 1 });
  });

  it('sameAnswer agrees with the engine exact match', () => {
    const cases: [string, string][] = [
      ['Hot', 'hot'],
      [' cold. ', 'cold'],
      ['up-side', 'up side'],
      ['no', 'yes'],
      ['Café!', 'café'],
      ['', ''],
      ['a  b', 'a b'],
      ['$5', '5'],
    ];
    for (const [p, g] of cases) expect(sameAnswer(p, g), `${p} / ${g}`).toBe(exactMatch(p, g) === 1);
  });

  it('estimates a model size from its config', () => {
    // BERT-base: 30522 x 768 embeddings + 12 layers of 12 x 768^2 = 108.4 M (110 M with biases, norms, positions).
    expect(estimatedParameters({ vocabSize: 30522, hiddenSize: 768, numLayers: 12 }) / 1e6).toBeCloseTo(108.4, 1);
    expect(estimatedParameters({ vocabSize: 8000, hiddenSize: 128, numLayers: 4 })).toBeLessThan(20e6);
  });
});

// ---------------------------------------------------------------------------------------------
// Outcomes built from a few numbers

interface RunShape {
  /** Per validation row: gold, tuned prediction, zero-shot prediction (class names). */
  rows: [string, string, string | null][];
  trainLosses?: number[];
  epochs?: Partial<EpochMetrics>[];
  stopReason?: ClassificationOutcome['stopReason'];
  bestEpoch?: number | null;
  meta?: ClassificationOutcome['meta'];
  majority?: string;
  predictionsShown?: number;
}

const CLASSES = ['negative', 'positive'];

/** n copies of a row. */
const times = (n: number, row: [string, string, string | null]) => Array.from({ length: n }, () => row);

function matrix(pairs: [string, string][]): number[][] {
  const m = CLASSES.map(() => CLASSES.map(() => 0));
  for (const [g, p] of pairs) m[CLASSES.indexOf(g)][CLASSES.indexOf(p)]++;
  return m;
}

function summary(pairs: [string, string][]) {
  const m = matrix(pairs);
  return { loss: 0.6, accuracy: pairs.filter(([g, p]) => g === p).length / pairs.length, macroF1: 0.5, confusionMatrix: m };
}

/** A steady fall from 0.9 to `to` over `steps` steps, with a small deterministic wobble. */
const falling = (steps: number, from: number, to: number) => Array.from({ length: steps }, (_, i) => from + ((to - from) * i) / (steps - 1) + 0.01 * Math.sin(i * 1.7));
const flat = (steps: number, level: number) => Array.from({ length: steps }, (_, i) => level + 0.02 * Math.sin(i * 2.3));

function classification(shape: RunShape): ClassificationOutcome {
  const rows = shape.rows;
  const predictions: PredictionRow[] = rows.map(([gold, predicted, zero], i) => ({
    row: i + 2,
    text: `row ${i}`,
    gold,
    predicted,
    probabilities: CLASSES.map((c) => (c === predicted ? 0.7 : 0.3)),
    zeroShotPredicted: zero,
  }));
  const majority = shape.majority ?? 'positive';
  const epochs = (shape.epochs ?? [{ trainLoss: 0.6, valLoss: 0.6 }]).map((e, i) => ({ epoch: i + 1, trainLoss: 0.6, valLoss: 0.6, valAccuracy: 0.6, valMacroF1: 0.6, ...e }));
  return {
    task: 'classification',
    stopReason: shape.stopReason ?? 'completed',
    bestEpoch: shape.bestEpoch ?? null,
    steps: shape.trainLosses?.length ?? 40,
    totalSteps: shape.trainLosses?.length ?? 40,
    seconds: 10,
    trainLosses: shape.trainLosses ?? falling(40, 0.9, 0.5).map((x, i) => (i >= 20 ? 0.5 + 0.01 * Math.sin(i) : x)),
    trainSize: 4 * rows.length,
    valSize: rows.length,
    truncatedCount: 0,
    epochs,
    prompt: { vectors: new Float32Array(4), numTokens: 1, dim: 4 },
    meta: shape.meta ?? BIG,
    classes: CLASSES,
    zeroShot: rows.every((r) => r[2] !== null) ? summary(rows.map(([g, , z]) => [g, z!])) : null,
    tuned: summary(rows.map(([g, p]) => [g, p])),
    majority: { label: majority, accuracy: rows.filter(([g]) => g === majority).length / rows.length },
    robustness: null,
    predictions: predictions.slice(0, shape.predictionsShown ?? predictions.length),
    predictionsTotal: predictions.length,
  };
}

const BIG = baseMeta({ model: { id: 'bert-base-uncased', checkpointHash: null, modelType: 'bert', hiddenSize: 768, numLayers: 12, numHeads: 12, vocabSize: 30522 } });
const TINY = baseMeta({ model: { id: 'studio-bert-tiny', checkpointHash: null, modelType: 'bert', hiddenSize: 128, numLayers: 4, numHeads: 8, vocabSize: 8000 } });

const kinds = (v: Verdict) => ({ findings: v.findings.map((f) => `${f.kind}:${f.tone}`), next: v.next.map((s) => s.kind) });

// 160 balanced rows: the issue's run (zero-shot "positive" everywhere, tuned 62.5%).
const ISSUE_RUN: [string, string, string | null][] = [
  ...times(50, ['positive', 'positive', 'positive']),
  ...times(30, ['positive', 'negative', 'positive']),
  ...times(50, ['negative', 'negative', 'positive']),
  ...times(30, ['negative', 'positive', 'positive']),
];

describe('judgeOutcome on classification runs', () => {
  it.each<{ name: string; shape: RunShape; findings: string[]; next: string[]; texts?: RegExp[] }>([
    {
      name: 'the issue run: constant zero-shot, tuned 62.5% against 50%, a tiny model',
      shape: { rows: ISSUE_RUN, meta: TINY },
      findings: ['constant-zero-shot:bad', 'tuned-accuracy:neutral', 'vs-majority:good', 'vs-zero-shot:good'],
      next: ['label-words', 'bigger-model'],
      texts: [
        /The zero-shot prompt predicted “positive” for all 160 validation rows: it ignores the text, and its 50\.0% accuracy is only the share of “positive”\./,
        /Tuned accuracy 62\.5% on 160 validation rows: .* between 54\.8% and 69\.6%\./,
        /Better than always answering “positive” \(50\.0%\) by 12\.5 points, more than chance explains: of the 80 rows where they differ, tuned is right on 50 and “positive” on 30 \(exact sign test, p = 0\.03\)\./,
        /The zero-shot prompt answered “positive” on every row too, so the comparison with always answering “positive” holds for it as well\./,
        /studio-bert-tiny is a very small model \(4 layers of width 128\) that knows little meaning; .*bert-base-uncased/,
      ],
    },
    {
      name: 'a clear win on a big model with a settled loss: nothing to suggest',
      shape: {
        rows: [...times(90, ['positive', 'positive', 'negative']), ...times(90, ['negative', 'negative', 'positive']), ...times(10, ['positive', 'negative', 'positive']), ...times(10, ['negative', 'positive', 'negative'])],
      },
      findings: ['tuned-accuracy:neutral', 'vs-majority:good', 'vs-zero-shot:good'],
      next: [],
    },
    {
      name: 'within noise: 24 rows, one row better',
      shape: {
        rows: [...times(7, ['positive', 'positive', 'positive']), ...times(6, ['negative', 'negative', 'negative']), ...times(6, ['negative', 'positive', 'positive']), ['negative', 'negative', 'positive'], ...times(4, ['positive', 'negative', 'negative'])],
      },
      findings: ['tuned-accuracy:neutral', 'vs-majority:neutral', 'vs-zero-shot:neutral'],
      next: ['prefix-method', 'more-validation'],
      texts: [/Ahead of the zero-shot prompt \(54\.2%\) by 4\.2 points, which chance alone could give on 24 validation rows: of the 1 row where they differ, tuned is right on 1 and zero-shot on 0 \(exact sign test, p = 1\.00\)\. No evidence that either is better\./, /known only to about ±\d+ points/],
    },
    {
      name: 'a tuned prompt that answers one class, with the loss flat at ln 2, in label-word mode',
      shape: { rows: [...times(40, ['positive', 'positive', 'negative']), ...times(40, ['negative', 'positive', 'negative'])], trainLosses: flat(40, 0.69), epochs: [{ trainLoss: 0.7 }, { trainLoss: 0.69 }] },
      findings: ['constant-tuned:bad', 'constant-zero-shot:bad', 'tuned-accuracy:neutral', 'vs-majority:neutral', 'vs-zero-shot:neutral'],
      next: ['learning-rate', 'head-mode', 'label-words', 'prefix-method'],
      texts: [/Right and wrong on exactly the same 80 validation rows as always answering “positive” \(50\.0%\): no difference at all\./, /ends at 0\.69\d, about ln 2 = 0\.693.*larger learning rate \(now 0\.03, try 0\.09 or 0\.3\)/],
    },
    {
      name: 'the loss flat at ln 2 in head mode suggests label words',
      shape: {
        rows: [...times(45, ['positive', 'positive', null]), ...times(35, ['negative', 'positive', null]), ...times(5, ['negative', 'negative', null])],
        trainLosses: flat(40, 0.7),
        meta: { ...headMeta(), model: BIG.model },
      },
      findings: ['near-constant-tuned:bad', 'tuned-accuracy:neutral', 'vs-majority:neutral'],
      next: ['learning-rate', 'label-words'],
    },
    {
      name: 'a tuned prompt stuck on one class with a settled loss above ln 2: the head mode',
      shape: { rows: [...times(40, ['positive', 'positive', 'positive']), ...times(40, ['negative', 'positive', 'negative'])], trainLosses: flat(40, 1.1) },
      findings: ['constant-tuned:bad', 'tuned-accuracy:neutral', 'vs-majority:neutral', 'vs-zero-shot:bad'],
      next: ['head-mode', 'prefix-method'],
      texts: [/still answers one class whatever the text: the linear-head mode/],
    },
    {
      name: 'the same in head mode: the learning rate',
      shape: { rows: [...times(40, ['positive', 'positive', null]), ...times(40, ['negative', 'positive', null])], trainLosses: flat(40, 1.1), meta: { ...headMeta(), model: BIG.model } },
      findings: ['constant-tuned:bad', 'tuned-accuracy:neutral', 'vs-majority:neutral'],
      next: ['learning-rate'],
      texts: [/try the learning rate \(now 0\.03\) 3× lower and 3× higher/],
    },
    {
      name: 'loss still falling at the end: more epochs',
      shape: { rows: ISSUE_RUN.map(([g, p]) => [g, p, g]), trainLosses: falling(80, 0.9, 0.3), epochs: [{ trainLoss: 0.8 }, { trainLoss: 0.4, valLoss: 0.5 }] },
      findings: ['tuned-accuracy:neutral', 'vs-majority:good', 'vs-zero-shot:bad'],
      next: ['more-epochs'],
      texts: [/still falling at the end \(0\.5\d\d → 0\.3\d\d\): more epochs \(say 20 instead of 10\)/],
    },
    {
      name: 'a loss that only wobbles is not falling',
      shape: { rows: ISSUE_RUN.map(([g, p]) => [g, p, g]), trainLosses: flat(80, 0.4) },
      findings: ['tuned-accuracy:neutral', 'vs-majority:good', 'vs-zero-shot:bad'],
      next: [],
    },
    {
      name: 'few steps: the epochs say the loss still falls; stopped by the user',
      shape: { rows: ISSUE_RUN.map(([g, p]) => [g, p, g]), trainLosses: [0.9, 0.8, 0.7, 0.6, 0.5, 0.45], epochs: [{ trainLoss: 0.8 }, { trainLoss: 0.5, valLoss: 0.55 }], stopReason: 'stopped' },
      findings: ['tuned-accuracy:neutral', 'vs-majority:good', 'vs-zero-shot:bad'],
      next: ['more-epochs'],
      texts: [/still falling when you stopped the run \(0\.800 → 0\.500\)/],
    },
    {
      name: 'validation loss rising while the training loss falls: fewer epochs, the best epoch kept',
      shape: {
        rows: ISSUE_RUN.map(([g, p]) => [g, p, g]),
        trainLosses: falling(80, 0.9, 0.2),
        epochs: [{ trainLoss: 0.8, valLoss: 0.7 }, { trainLoss: 0.6, valLoss: 0.55 }, { trainLoss: 0.4, valLoss: 0.62 }, { trainLoss: 0.25, valLoss: 0.75 }],
        bestEpoch: 2,
        meta: baseMeta({ model: TINY.model, hyperparameters: { ...baseMeta().hyperparameters, earlyStoppingPatience: null } }),
      },
      findings: ['tuned-accuracy:neutral', 'vs-majority:good', 'vs-zero-shot:bad', 'kept-epoch:neutral'],
      next: ['fewer-epochs', 'bigger-model'],
      texts: [/lowest after epoch 2 \(0\.550\) and rose to 0\.750 by epoch 4 while the training loss kept falling.*2 epochs or early stopping/, /the prompt from epoch 2/],
    },
    {
      name: 'a NaN loss: a lower learning rate',
      shape: { rows: ISSUE_RUN.map(([g, p]) => [g, p, g]), trainLosses: [0.7, 0.6, Number.NaN], stopReason: 'non-finite-loss' },
      findings: ['non-finite-loss:bad', 'tuned-accuracy:neutral', 'vs-majority:good', 'vs-zero-shot:bad'],
      next: ['lower-learning-rate'],
      texts: [/NaN or infinite: a lower learning rate \(now 0\.03, try 0\.003\)/],
    },
    {
      name: 'no zero-shot (head mode without label words)',
      shape: { rows: ISSUE_RUN.map(([g, p]) => [g, p, null]), meta: { ...headMeta(), model: BIG.model } },
      findings: ['tuned-accuracy:neutral', 'vs-majority:good'],
      next: [],
    },
    {
      name: 'predictions listed for only part of the rows: the comparison says so',
      shape: { rows: ISSUE_RUN, predictionsShown: 100 },
      findings: ['constant-zero-shot:bad', 'tuned-accuracy:neutral', 'vs-majority:neutral', 'vs-zero-shot:neutral'],
      next: ['label-words', 'prefix-method'],
      texts: [/of the 50 rows \(among the first 100 of 160\) where they differ/],
    },
  ])('$name', ({ shape, findings, next, texts }) => {
    const verdict = judgeOutcome(classification(shape));
    expect(kinds(verdict)).toEqual({ findings, next });
    const all = [...verdict.findings.map((f) => f.text), ...verdict.next.map((s) => s.text)].join('\n');
    for (const t of texts ?? []) expect(all).toMatch(t);
  });

  it('says there is nothing to judge without validation rows', () => {
    const outcome = { ...classification({ rows: ISSUE_RUN }), tuned: null, zeroShot: null, valSize: 0, predictions: [], predictionsTotal: 0 };
    expect(kinds(judgeOutcome(outcome)).findings).toEqual(['no-validation:neutral']);
  });
});

describe('prefix tuning suggested for a prompt in the input alone', () => {
  // No clear win over the zero-shot prompt (the 'within noise' rows).
  const rows: [string, string, string | null][] = [...times(7, ['positive', 'positive', 'positive']), ...times(6, ['negative', 'negative', 'negative']), ...times(6, ['negative', 'positive', 'positive']), ['negative', 'negative', 'positive'], ...times(4, ['positive', 'negative', 'negative'])];
  const suggested = (meta: ClassificationOutcome['meta']) => judgeOutcome(classification({ rows, meta })).next.find((s) => s.kind === 'prefix-method');
  it.each([
    { name: 'prompt tuning', meta: BIG, text: /^Prefix tuning \(Method, above\): prompt tuning only changes the input/ },
    { name: 'P-tuning', meta: { ...BIG, method: 'p-tuning' as const }, text: /^Prefix tuning \(Method, above\): P-tuning only changes the input/ },
    { name: 'prefix tuning itself', meta: { ...BIG, method: 'prefix' as const }, text: null },
    { name: 'a model past ten billion parameters', meta: { ...BIG, model: { ...BIG.model, hiddenSize: 8192, numLayers: 48 } }, text: null },
    { name: 'the linear head (no gain measured there)', meta: { ...BIG, mode: 'head' as const }, text: null },
  ])('$name', ({ meta, text }) => {
    const s = suggested(meta);
    if (text) expect(s?.text).toMatch(text);
    else expect(s).toBeUndefined();
  });
  it('not when the prompt clearly beat the baselines', () => {
    expect(judgeOutcome(classification({ rows: ISSUE_RUN, meta: BIG })).next.map((s) => s.kind)).not.toContain('prefix-method');
  });
});

describe('judgeOutcome on generation runs', () => {
  function generation(samples: [string, string, string][], trainLosses = falling(40, 2, 1).map((x, i) => (i >= 20 ? 1 + 0.01 * Math.sin(i) : x))): GenerationOutcome {
    const score = (k: 1 | 2) => ({ exactMatch: samples.filter((s) => sameAnswer(s[k], s[0])).length / samples.length, tokenF1: 0.5 });
    return {
      task: 'generation',
      stopReason: 'completed',
      bestEpoch: null,
      steps: trainLosses.length,
      totalSteps: trainLosses.length,
      seconds: 1,
      trainLosses,
      trainSize: 100,
      valSize: samples.length,
      truncatedCount: 0,
      epochs: [{ epoch: 1, trainLoss: 1, valLoss: 1, valAccuracy: null, valMacroF1: null }],
      prompt: { vectors: new Float32Array(4), numTokens: 1, dim: 4 },
      meta: generationMeta(),
      before: score(1),
      after: score(2),
      samples: samples.map(([target, before, after], i) => ({ row: i + 2, input: `in ${i}`, target, before, after })),
    };
  }

  it('flags a constant continuation and compares exact match before and after', () => {
    const samples: [string, string, string][] = Array.from({ length: 30 }, (_, i) => [`w${i}`, 'the', i < 12 ? `w${i}.` : 'x']);
    const verdict = judgeOutcome(generation(samples));
    expect(kinds(verdict)).toEqual({ findings: ['constant-zero-shot:bad', 'tuned-accuracy:neutral', 'vs-zero-shot:good'], next: ['bigger-model'] });
    expect(verdict.findings[0].text).toBe('The template alone produced “the” for all 30 validation rows: it ignores the input.');
    expect(verdict.findings[1].text).toMatch(/^Tuned exact match 40\.0% on 30 validation rows/);
    expect(verdict.findings[2].text).toBe(
      'Better than the template alone (0.0%) by 40.0 points, more than chance explains: of the 12 rows where they differ, tuned is right on 12 and the template alone on 0 (exact sign test, p < 0.001).',
    );
  });

  it('suggests more epochs while the loss falls', () => {
    const samples: [string, string, string][] = Array.from({ length: 30 }, (_, i) => [`w${i}`, `w${i}`, `w${i}`]);
    const verdict = judgeOutcome(generation(samples, falling(40, 3, 1)));
    expect(kinds(verdict)).toEqual({ findings: ['tuned-accuracy:neutral', 'vs-zero-shot:neutral'], next: ['more-epochs'] });
  });
});

describe('readLosses', () => {
  it.each<{ name: string; trainLosses: number[]; epochs: Partial<EpochMetrics>[]; falling: boolean; overfitting: number | null }>([
    { name: 'a steady fall', trainLosses: falling(40, 1, 0.4), epochs: [], falling: true, overfitting: null },
    { name: 'flat with noise', trainLosses: flat(40, 0.69), epochs: [], falling: false, overfitting: null },
    { name: 'falling but validation rising at the end', trainLosses: falling(40, 1, 0.4), epochs: [{ trainLoss: 0.8, valLoss: 0.6 }, { trainLoss: 0.5, valLoss: 0.7 }], falling: false, overfitting: 1 },
    { name: 'few steps, epochs falling', trainLosses: [1, 0.9], epochs: [{ trainLoss: 1 }, { trainLoss: 0.8 }], falling: true, overfitting: null },
    { name: 'nothing at all', trainLosses: [], epochs: [], falling: false, overfitting: null },
  ])('$name', ({ trainLosses, epochs, falling: isFalling, overfitting }) => {
    const reading = readLosses({ trainLosses, epochs: epochs.map((e, i) => ({ epoch: i + 1, trainLoss: 1, valLoss: null, valAccuracy: null, valMacroF1: null, ...e })) });
    expect(reading.stillFalling !== null).toBe(isFalling);
    expect(reading.overfitting?.epoch ?? null).toBe(overfitting);
  });
});
