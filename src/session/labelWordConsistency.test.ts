/**
 * Label-word consistency (src/shared/sweep.ts labelWordConsistency, returned by src/session/sweep.ts): per class, which swept word set
 * gives the highest validation recall in each fold (or each group of trials sharing their other
 * settings), tuned and zero-shot; the mean recalls; and the verdict. Every expectation below is
 * worked out by hand from the recalls given.
 */
import { describe, expect, it } from 'vitest';
import type { Row } from '../engine/data';
import { DEFAULT_TRAINING_CONFIG, type TrainingConfig } from '../engine/train';
import type { RequestEvents } from '../shared/protocol';
import type { TaskSpec, TrainOutcome } from '../shared/tasks';
import { classRecall, labelWordConsistency, type FoldScore, type SweepPlan, type SweepTrialResult, type TrialSettings } from '../shared/sweep';
import { runSweep, SweepControl, type SweepHost } from './sweep';

const A = { name: 'good / bad', words: { pos: ['good'], neg: ['bad'] } };
const B = { name: 'great / awful', words: { pos: ['great'], neg: ['awful'] } };
const C = { name: 'fine / poor', words: { pos: ['fine'], neg: ['poor'] } };
// Class order as a run reports it (sorted): neg, pos.
const classes = ['neg', 'pos'];

/** A completed trial with per-fold recalls [neg, pos] (tuned) and zero-shot ones. */
function cvTrial(index: number, settings: TrialSettings, tuned: [number | null, number | null][], zeroShot: [number, number][] | null = null): SweepTrialResult {
  const folds: FoldScore[] = tuned.map((recall, fold) => ({ fold, rows: 4, accuracy: 0, macroF1: 0, loss: 0, zeroShotAccuracy: null, recall, zeroShotRecall: zeroShot ? zeroShot[fold] : null }));
  return { index, runId: `s/trial-${index}`, settings, status: 'completed', valAccuracy: 0.5, valMacroF1: 0.5, valLoss: 1, zeroShotAccuracy: null, folds, steps: 1, plannedSteps: 1, seconds: 1, classes };
}
function plainTrial(index: number, settings: TrialSettings, tuned: [number, number], zeroShot: [number, number] | null = null): SweepTrialResult {
  return { index, runId: `s/trial-${index}`, settings, status: 'completed', valAccuracy: 0.5, valMacroF1: 0.5, valLoss: 1, zeroShotAccuracy: null, valRecall: tuned, zeroShotRecall: zeroShot, steps: 1, plannedSteps: 1, seconds: 1, classes };
}
const plan = (axes: SweepPlan['axes'], folds?: number): SweepPlan => ({ axes, search: 'grid', seed: 1, budget: {}, testFraction: folds ? 0 : 0.2, ...(folds ? { folds } : {}) });

describe('classRecall', () => {
  it.each([
    // counts[gold][predicted]
    { cm: [[3, 1], [2, 2]], recall: [0.75, 0.5] },
    { cm: [[0, 0], [1, 3]], recall: [null, 0.75] },
    { cm: [[2, 0, 0], [0, 0, 5], [1, 1, 2]], recall: [1, 0, 0.5] },
  ])('$cm -> $recall', ({ cm, recall }) => {
    expect(classRecall(cm)).toEqual(recall);
  });
});

describe('labelWordConsistency', () => {
  const cases: {
    name: string;
    plan: SweepPlan;
    trials: SweepTrialResult[];
    over: string;
    comparisons: number;
    /** Per class (neg, pos): verdict, summary, per set [tunedWins, zeroShotWins, tunedRecall, zeroShotRecall], ties. */
    expected: { verdict: string; summary: string; sets: [number, number, number | null, number | null][]; ties: number }[];
  }[] = [
    {
      name: '3 folds: A wins every fold for neg (stable); pos splits 2-1 (lucky)',
      plan: plan({ labelWords: [A, B] }, 3),
      trials: [
        cvTrial(0, { labelWords: 0 }, [[1, 0.5], [0.75, 1], [1, 0.5]], [[0.5, 0.5], [0.5, 0.5], [1, 0]]),
        cvTrial(1, { labelWords: 1 }, [[0.5, 1], [0.5, 0.5], [0.75, 1]], [[0.25, 1], [0.5, 1], [0, 1]]),
      ],
      over: 'folds',
      comparisons: 3,
      expected: [
        // neg: A 1>0.5, 0.75>0.5, 1>0.75 -> A 3 of 3. Zero-shot neg: 0.5>0.25 (A), 0.5=0.5 (tie), 1>0 (A).
        { verdict: 'stable', summary: 'stable: good / bad wins in 3 of 3 folds', sets: [[3, 2, 2.75 / 3, 2 / 3], [0, 0, 1.75 / 3, 0.75 / 3]], ties: 0 },
        // pos: B, A, B -> lucky. Zero-shot pos: B all three. Means: A (0.5+1+0.5)/3, B (1+0.5+1)/3.
        { verdict: 'lucky', summary: 'lucky: winners differ (good / bad 1, great / awful 2 of 3 folds)', sets: [[1, 0, 2 / 3, 1 / 3], [2, 3, 2.5 / 3, 1]], ties: 0 },
      ],
    },
    {
      name: '2 folds, a tie and a missing class: undecided',
      plan: plan({ labelWords: [A, B] }, 2),
      trials: [cvTrial(0, { labelWords: 0 }, [[1, 1], [null, 0.5]]), cvTrial(1, { labelWords: 1 }, [[0.5, 1], [null, 0.25]])],
      over: 'folds',
      comparisons: 2,
      expected: [
        // neg: fold 0 A wins, fold 1 has no neg row -> one comparison.
        { verdict: 'undecided', summary: 'undecided: one comparison only (good / bad wins); sweep with folds to tell stable from lucky', sets: [[1, 0, 1, null], [0, 0, 0.5, null]], ties: 0 },
        // pos: fold 0 tied at 1, fold 1 A wins.
        { verdict: 'undecided', summary: 'undecided: good / bad wins in 1 of 2 folds, 1 tied', sets: [[1, 0, 0.75, null], [0, 0, 0.625, null]], ties: 1 },
      ],
    },
    {
      name: 'no folds, lr swept too: each lr is a group; three sets; a failed trial left out',
      plan: plan({ learningRate: [0.01, 0.1], labelWords: [A, B, C] }),
      trials: [
        plainTrial(0, { learningRate: 0.01, labelWords: 0 }, [0.5, 0.5]),
        plainTrial(1, { learningRate: 0.01, labelWords: 1 }, [0.75, 0.5]),
        plainTrial(2, { learningRate: 0.01, labelWords: 2 }, [0.25, 0.5]),
        plainTrial(3, { learningRate: 0.1, labelWords: 0 }, [0.5, 1]),
        plainTrial(4, { learningRate: 0.1, labelWords: 1 }, [1, 0.5]),
        { ...plainTrial(5, { learningRate: 0.1, labelWords: 2 }, [1, 1]), status: 'failed', classes: undefined },
      ],
      over: 'trial groups',
      comparisons: 2,
      expected: [
        // neg: lr 0.01 B (0.75), lr 0.1 B (1 over 0.5; C failed) -> stable.
        { verdict: 'stable', summary: 'stable: great / awful wins in 2 of 2 trial groups', sets: [[0, 0, 0.5, null], [2, 0, 0.875, null], [0, 0, 0.25, null]], ties: 0 },
        // pos: lr 0.01 all 0.5 (tie), lr 0.1 A -> undecided.
        { verdict: 'undecided', summary: 'undecided: good / bad wins in 1 of 2 trial groups, 1 tied', sets: [[1, 0, 0.75, null], [0, 0, 0.5, null], [0, 0, 0.5, null]], ties: 1 },
      ],
    },
    {
      name: '2 folds x 2 lrs: four comparisons, all tied',
      plan: plan({ learningRate: [0.01, 0.1], labelWords: [A, B] }, 2),
      trials: [
        cvTrial(0, { learningRate: 0.01, labelWords: 0 }, [[1, 1], [1, 1]]),
        cvTrial(1, { learningRate: 0.01, labelWords: 1 }, [[1, 1], [1, 1]]),
        cvTrial(2, { learningRate: 0.1, labelWords: 0 }, [[0.5, 1], [0.5, 1]]),
        cvTrial(3, { learningRate: 0.1, labelWords: 1 }, [[0.5, 1], [0.5, 1]]),
      ],
      over: 'folds × trial groups',
      comparisons: 4,
      expected: [
        { verdict: 'undecided', summary: 'undecided: tied in all 4 fold comparisons', sets: [[0, 0, 0.75, null], [0, 0, 0.75, null]], ties: 4 },
        { verdict: 'undecided', summary: 'undecided: tied in all 4 fold comparisons', sets: [[0, 0, 1, null], [0, 0, 1, null]], ties: 4 },
      ],
    },
  ];

  it.each(cases)('$name', ({ plan: p, trials, over, comparisons, expected }) => {
    const result = labelWordConsistency(p, trials)!;
    expect(result.over).toBe(over);
    expect(result.comparisons).toBe(comparisons);
    expect(result.classes.map((c) => c.label)).toEqual(classes);
    result.classes.forEach((c, i) => {
      const e = expected[i];
      expect(c.verdict, c.label).toBe(e.verdict);
      expect(c.summary, c.label).toBe(e.summary);
      expect(c.tunedTies, c.label).toBe(e.ties);
      expect(c.sets.map((s) => s.name)).toEqual(p.axes.labelWords!.map((s) => s.name));
      c.sets.forEach((s, j) => {
        const [tw, zw, tr, zr] = e.sets[j];
        expect([s.tunedWins, s.zeroShotWins], `${c.label} ${s.name}`).toEqual([tw, zw]);
        for (const [got, want] of [[s.tunedRecall, tr], [s.zeroShotRecall, zr]] as const) {
          if (want === null) expect(got).toBeNull();
          else expect(got).toBeCloseTo(want, 12);
        }
      });
    });
  });

  it('aligns classes by name when a trial reports them in another order', () => {
    const t0 = plainTrial(0, { labelWords: 0 }, [1, 0]);
    const t1 = { ...plainTrial(1, { labelWords: 1 }, [1, 0.5]), classes: ['pos', 'neg'] }; // pos 1, neg 0.5
    const result = labelWordConsistency(plan({ labelWords: [A, B] }), [t0, t1])!;
    expect(result.classes[0].sets.map((s) => s.tunedRecall)).toEqual([1, 0.5]); // neg
    expect(result.classes[1].sets.map((s) => s.tunedRecall)).toEqual([0, 1]); // pos
  });

  it('is null with fewer than two label-word sets or no completed trial', () => {
    expect(labelWordConsistency(plan({ learningRate: [0.1, 0.3] }), [plainTrial(0, { learningRate: 0.1 }, [1, 1])])).toBeNull();
    expect(labelWordConsistency(plan({ labelWords: [A] }), [plainTrial(0, { labelWords: 0 }, [1, 1])])).toBeNull();
    expect(labelWordConsistency(plan({ labelWords: [A, B] }), [{ ...plainTrial(0, { labelWords: 0 }, [1, 1]), status: 'stopped' }])).toBeNull();
  });
});

describe('a cross-validated label-word sweep returns the consistency (fake runs)', () => {
  const quiet: RequestEvents = { progress: () => {}, metrics: () => {}, checkpoint: () => {} };
  const config: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, promptLength: 2, init: 'random', epochs: 1, batchSize: 4, valFraction: 0.2, patience: 0, seed: 3 };
  const spec: TaskSpec = { task: 'classification', template: '{text} it was [MASK].', labelColumn: 'label', textColumns: ['text'], labelWords: A.words };
  const rows: Row[] = Array.from({ length: 12 }, (_, i) => ({ id: String(i), text: `row ${i}`, label: i % 2 ? 'pos' : 'neg' }));

  it('computes recall from each fold confusion matrix and puts the verdict in the outcome', async () => {
    const host: SweepHost = {
      lm: {} as SweepHost['lm'],
      rows,
      rowNumberOf: (r) => Number(r.id) + 2,
      async runTrial(s, _cfg, _train, _events, o) {
        const fold = Number(o.runId.split('fold-')[1]);
        const words = s.task === 'classification' ? s.labelWords!.pos[0] : '';
        // Each fold validates 3 neg and 3 pos. "good": neg 3/3, pos 1/3; "great": neg 2/3, pos 3/3 in fold 0, 0/3 in fold 1.
        const cm = words === 'good' ? [[3, 0], [2, 1]] : fold === 0 ? [[1, 2], [0, 3]] : [[1, 2], [3, 0]];
        const summary = { accuracy: 0.5, macroF1: 0.5, loss: 1, confusionMatrix: cm };
        return { task: 'classification', stopReason: 'completed', steps: 1, seconds: 0, classes, tuned: summary, zeroShot: { ...summary, confusionMatrix: [[2, 1], [1, 2]] }, prompt: { vectors: new Float32Array(4), numTokens: 2, dim: 2 } } as unknown as TrainOutcome;
      },
    };
    const outcome = await runSweep(host, { sweepId: 's', spec, config, plan: plan({ labelWords: [A, B] }, 2) }, quiet, new SweepControl());
    expect(outcome.trials[0].folds![0].recall).toEqual([1, 1 / 3]);
    expect(outcome.trials[0].folds![0].zeroShotRecall).toEqual([2 / 3, 2 / 3]);
    const c = outcome.labelWordConsistency!;
    expect(c.over).toBe('folds');
    expect(c.classes.map((k) => k.summary)).toEqual(['stable: good / bad wins in 2 of 2 folds', 'lucky: winners differ (good / bad 1, great / awful 1 of 2 folds)']);
    // Zero-shot: equal matrices for both sets, so every comparison is a tie and nobody wins.
    expect(c.classes.flatMap((k) => k.sets.map((s) => s.zeroShotWins))).toEqual([0, 0, 0, 0]);
  });
});
