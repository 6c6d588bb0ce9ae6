import { describe, expect, it } from 'vitest';
import {
  checkSweepPlan,
  describeSettings,
  gridSize,
  parseLabelWordSet,
  parseSweepAxes,
  pickWinner,
  sweepTrials,
  trialConfig,
  trialSpec,
  type SweepPlan,
  type SweepTrialResult,
} from './sweep';
import type { TaskSpec, TrainingConfig } from './tasks';

const plan = (over: Partial<SweepPlan> = {}): SweepPlan => ({
  axes: { learningRate: [0.01, 0.03, 0.1], promptLength: [5, 20] },
  search: 'grid',
  seed: 7,
  budget: {},
  testFraction: 0.2,
  ...over,
});

describe('the trial list', () => {
  it('a grid has every combination once, the first axis outermost', () => {
    const trials = sweepTrials(plan());
    expect(trials.map((t) => t.settings)).toEqual([
      { learningRate: 0.01, promptLength: 5 },
      { learningRate: 0.01, promptLength: 20 },
      { learningRate: 0.03, promptLength: 5 },
      { learningRate: 0.03, promptLength: 20 },
      { learningRate: 0.1, promptLength: 5 },
      { learningRate: 0.1, promptLength: 20 },
    ]);
    expect(trials.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('label-word sets, inits and methods are axes too; a set is named by its words', () => {
    const words = [parseLabelWordSet('pos=good,great;neg=bad'), parseLabelWordSet('neg=terrible;pos=nice')];
    expect(words.map((w) => w.name)).toEqual(['bad / good,great', 'terrible / nice']);
    const p = plan({ axes: { init: ['labels', 'random'], method: ['prompt', 'prefix'], labelWords: words } });
    const trials = sweepTrials(p);
    expect(trials).toHaveLength(8);
    expect(trials[5].settings).toEqual({ init: 'random', method: 'prompt', labelWords: 1 });
    expect(describeSettings(p, trials[5].settings)).toBe('init random · method prompt · label words terrible / nice');
    const base: TaskSpec = { task: 'classification', template: '{t} [MASK]', labelColumn: 'l', textColumns: ['t'], labelWords: { pos: ['x'], neg: ['y'] } };
    expect(trialSpec(base, p, trials[5].settings)).toMatchObject({ labelWords: { neg: ['terrible'], pos: ['nice'] } });
    expect(trialConfig({ learningRate: 1, init: 'vocab' } as TrainingConfig, trials[5].settings)).toEqual({ learningRate: 1, init: 'random', method: 'prompt' });
  });

  it('a random search draws distinct combinations of the grid, the same ones for the same seed', () => {
    const axes = { learningRate: [0.01, 0.03, 0.1, 0.3], promptLength: [1, 5, 20], batchSize: [4, 16] };
    const key = (s: object) => JSON.stringify(s);
    const grid = new Set(sweepTrials(plan({ axes })).map((t) => key(t.settings)));
    const a = sweepTrials(plan({ axes, search: 'random', randomTrials: 5, seed: 1 }));
    expect(a).toHaveLength(5);
    expect(new Set(a.map((t) => key(t.settings))).size).toBe(5);
    for (const t of a) expect(grid.has(key(t.settings))).toBe(true);
    expect(sweepTrials(plan({ axes, search: 'random', randomTrials: 5, seed: 1 }))).toEqual(a);
    expect(sweepTrials(plan({ axes, search: 'random', randomTrials: 5, seed: 2 })).map((t) => key(t.settings))).not.toEqual(a.map((t) => key(t.settings)));
    // More draws than combinations: the whole grid, in a seeded order.
    const all = sweepTrials(plan({ axes, search: 'random', randomTrials: 99, seed: 1 }));
    expect(all).toHaveLength(gridSize(axes));
    expect(new Set(all.map((t) => key(t.settings)))).toEqual(grid);
  });
});

describe('axes in text (the CLI and the page)', () => {
  it.each([
    { text: 'lr=0.01,0.03,0.1;prompt-length=5,20', axes: { learningRate: [0.01, 0.03, 0.1], promptLength: [5, 20] } },
    { text: ' batch = 4, 8 ; epochs=1 ;', axes: { batchSize: [4, 8], epochs: [1] } },
    { text: 'init=labels,random;method=prompt,p-tuning', axes: { init: ['labels', 'random'], method: ['prompt', 'p-tuning'] } },
    { text: 'learning-rate=1e-2', axes: { learningRate: [0.01] } },
  ])('$text', ({ text, axes }) => {
    expect(parseSweepAxes(text)).toEqual(axes);
  });

  it.each([
    { text: '', error: 'no axes' },
    { text: 'lr', error: '"lr" is not <setting>=<value>,<value>' },
    { text: 'lr=0.1;lr=0.2', error: 'lr is given twice' },
    { text: 'lr=-1', error: 'lr: "-1" is not a number > 0' },
    { text: 'lr=0', error: 'lr: "0" is not a number > 0' },
    { text: 'prompt-length=2.5', error: 'prompt-length: "2.5" is not a whole number >= 1' },
    { text: 'batch=4,,8', error: 'batch: an empty value' },
    { text: 'epochs=2,2', error: 'epochs: 2 is given twice' },
    { text: 'init=zeros', error: 'init: "zeros" is not one of random, vocab, text, labels' },
    { text: 'warmup=0.1', error: 'unknown setting "warmup" (sweepable: lr, prompt-length, batch, epochs, init, method)' },
    { text: 'label-words=a', error: 'label words are swept with --label-word-set' },
  ])('refuses "$text"', ({ text, error }) => {
    expect(() => parseSweepAxes(text)).toThrow(error);
  });

  it.each([
    { text: 'pos=good', error: undefined },
    { text: 'pos', error: '"pos" is not <class>=<word>,<word>' },
    { text: 'pos=;neg=bad', error: 'class "pos" has no words' },
    { text: 'pos=a;pos=b', error: 'class "pos" is given twice' },
  ])('label-word set "$text"', ({ text, error }) => {
    if (error) expect(() => parseLabelWordSet(text)).toThrow(error);
    else expect(parseLabelWordSet(text).words).toEqual({ pos: ['good'] });
  });

  it.each([
    { over: { axes: {} }, error: 'at least one setting' },
    { over: { axes: { learningRate: Array.from({ length: 11 }, (_, i) => i + 1), batchSize: Array.from({ length: 10 }, (_, i) => i + 1) } }, error: '110 trials (110 combinations) is more than 100' },
    { over: { search: 'random' as const, randomTrials: 0 }, error: 'random search needs a number of trials >= 1' },
    { over: { testFraction: 0 }, error: 'held-out test share must be above 0' },
    { over: { budget: { steps: 2.5 } }, error: 'a step budget must be a whole number' },
    { over: { budget: { minutes: 0 } }, error: 'a time budget must be more than 0 minutes' },
  ])('refuses a plan: $error', ({ over, error }) => {
    expect(() => checkSweepPlan(plan(over))).toThrow(error);
  });
});

describe('picking the winner', () => {
  const result = (index: number, over: Partial<SweepTrialResult>): SweepTrialResult => ({
    index,
    runId: `s/trial-${index}`,
    settings: {},
    status: 'completed',
    valAccuracy: 0.5,
    valMacroF1: 0.5,
    valLoss: 0.7,
    zeroShotAccuracy: null,
    steps: 10,
    plannedSteps: 10,
    seconds: 1,
    ...over,
  });

  it('takes the highest validation accuracy among completed trials; ties go to macro-F1, then loss, then the earlier trial', () => {
    expect(pickWinner([])).toBeNull();
    expect(pickWinner([result(0, { status: 'failed', valAccuracy: 0.9 }), result(1, { status: 'skipped', valAccuracy: null })])).toBeNull();
    expect(pickWinner([result(0, {}), result(1, { valAccuracy: 0.6 }), result(2, { status: 'stopped', valAccuracy: 0.9 })])?.index).toBe(1);
    expect(pickWinner([result(0, { valMacroF1: 0.4 }), result(1, { valMacroF1: 0.45 })])?.index).toBe(1);
    expect(pickWinner([result(0, { valLoss: 0.7 }), result(1, { valLoss: 0.6 })])?.index).toBe(1);
    expect(pickWinner([result(0, {}), result(1, {})])?.index).toBe(0);
  });
});
