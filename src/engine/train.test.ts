import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import {
  checkTrainingConfig,
  DEFAULT_HEAD_LEARNING_RATE,
  DEFAULT_TRAINING_CONFIG,
  defaultTrainingConfig,
  learningRateAt,
  METRICS_INTERVAL_MS,
  runTraining,
  TrainingConfigError,
  TrainingController,
  type LoopHooks,
  type TrainingConfig,
  type TrainingMetrics,
  type TrainingState,
  type TuningObjective,
} from './train';

beforeAll(async () => {
  await useNodeBackend('wasm');
});

describe('learning-rate schedule', () => {
  const cases: { step: number; lr: number }[] = [
    { step: 0, lr: 0.5 }, // warmup 1/2
    { step: 1, lr: 1 },
    { step: 2, lr: 1 }, // decay starts: (10 - 2) / 8
    { step: 6, lr: 0.5 },
    { step: 9, lr: 0.125 },
  ];
  it.each(cases)('step $step of 10 (2 warmup, peak 1) -> $lr', ({ step, lr }) => {
    expect(learningRateAt(step, 10, 1, 2)).toBeCloseTo(lr, 12);
  });
  it('without warmup it starts at the peak', () => {
    expect(learningRateAt(0, 4, 0.3, 0)).toBeCloseTo(0.3, 12);
  });
});

describe('defaults', () => {
  it('are valid, and head mode gets the lower learning rate', () => {
    expect(() => checkTrainingConfig(DEFAULT_TRAINING_CONFIG)).not.toThrow();
    expect(defaultTrainingConfig('verbalizer')).toEqual(DEFAULT_TRAINING_CONFIG);
    expect(defaultTrainingConfig('head')).toEqual({ ...DEFAULT_TRAINING_CONFIG, mode: 'head', learningRate: DEFAULT_HEAD_LEARNING_RATE });
    expect(DEFAULT_HEAD_LEARNING_RATE).toBeLessThan(DEFAULT_TRAINING_CONFIG.learningRate);
  });
});

describe('config checks', () => {
  const cases: { change: Partial<TrainingConfig>; message: RegExp }[] = [
    { change: { learningRate: 0 }, message: /learning rate/ },
    { change: { batchSize: 0 }, message: /batch size/ },
    { change: { epochs: 1.5 }, message: /epochs/ },
    { change: { valFraction: 1 }, message: /validation fraction/ },
    { change: { warmupFraction: -0.1 }, message: /warmup/ },
    { change: { patience: -1 }, message: /patience/ },
  ];
  it.each(cases)('$message', ({ change, message }) => {
    expect(() => checkTrainingConfig({ ...DEFAULT_TRAINING_CONFIG, ...change })).toThrow(TrainingConfigError);
    expect(() => checkTrainingConfig({ ...DEFAULT_TRAINING_CONFIG, ...change })).toThrow(message);
  });
});

/**
 * A quadratic toy task: the variable v [2] should reach the mean of the examples' targets.
 * `validation` gives scripted validation losses; `poisonFrom` makes the loss NaN from that step.
 */
function toy(options: { validation?: number[]; poisonFrom?: number; onBatch?: (step: number, v: tf.Variable) => void } = {}) {
  const init = tf.tensor1d([0, 0]);
  const v = tf.variable(init);
  init.dispose();
  let step = 0;
  let epoch = 0;
  const objective: TuningObjective<number, { loss: number }> = {
    variables: [v],
    batch(examples) {
      step++;
      options.onBatch?.(step, v);
      const t = tf.tensor2d(examples.map((x) => [x, -x]));
      const poison = options.poisonFrom !== undefined && step >= options.poisonFrom;
      return {
        loss: () => tf.tidy(() => tf.mul(tf.mean(tf.sum(tf.square(tf.sub(v, t)), 1)), poison ? NaN : 1) as tf.Scalar),
        tokens: examples.length * 3,
        dispose: () => t.dispose(),
      };
    },
    validate: options.validation ? async () => ({ loss: options.validation![epoch++] ?? 1 }) : undefined,
  };
  return { v, objective };
}

const data = [1, 2, 3, 4, 5, 6, 7, 8];
const config = (c: Partial<TrainingConfig> = {}): TrainingConfig => ({ ...DEFAULT_TRAINING_CONFIG, batchSize: 3, epochs: 4, learningRate: 0.5, warmupFraction: 0, ...c });

describe('runTraining', () => {
  it('reduces the loss, leaves no tensors behind, and reports steps', async () => {
    const before = tf.memory().numTensors;
    const { v, objective } = toy();
    const r = await runTraining(objective, data, config({ epochs: 10 }));
    expect(r.stopReason).toBe('completed');
    expect(r.steps).toBe(30); // ceil(8 / 3) * 10
    expect(r.trainLosses.length).toBe(30);
    expect(r.trainLosses[29]).toBeLessThan(r.trainLosses[0] / 4);
    v.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is deterministic: same seed, same losses; another seed shuffles differently', async () => {
    const run = async (seed: number) => {
      const { v, objective } = toy();
      const r = await runTraining(objective, data, config({ seed }));
      v.dispose();
      return r.trainLosses;
    };
    const a = await run(11);
    expect(await run(11)).toEqual(a);
    expect(await run(12)).not.toEqual(a);
  });

  it('stops early when the validation loss has not improved for `patience` epochs, keeping the best epoch', async () => {
    let atBest: number[] = [];
    const { v, objective } = toy({
      validation: [1, 0.5, 0.6, 0.7, 0.8, 0.9],
      onBatch: (step, variable) => {
        if (step === 7) atBest = variable.arraySync() as number[]; // after epoch 2 (3 steps each)
      },
    });
    const r = await runTraining(objective, data, config({ epochs: 6, patience: 2 }));
    expect(r.stopReason).toBe('early-stopped');
    expect(r.epochs.length).toBe(4);
    expect(r.bestEpoch).toBe(2);
    expect(r.message).toMatch(/no better validation loss for 2 epochs \(best 0.5000 at epoch 2\)/);
    expect(await v.array()).toEqual(atBest);
    v.dispose();
  });

  it('stops on a NaN loss with a clear message and keeps the last good values', async () => {
    let lastGood: number[] = [];
    const { v, objective } = toy({
      poisonFrom: 5,
      onBatch: (step, variable) => {
        if (step === 5) lastGood = variable.arraySync() as number[];
      },
    });
    const r = await runTraining(objective, data, config({ epochs: 5 }));
    expect(r.stopReason).toBe('non-finite-loss');
    expect(r.message).toMatch(/stopped at step 5: the loss became NaN.*last step with a finite loss \(step 4\)/);
    expect(r.trainLosses.slice(0, 4).every(Number.isFinite)).toBe(true);
    expect(r.trainLosses[4]).toBeNaN();
    expect(await v.array()).toEqual(lastGood);
    v.dispose();
  });

  it('pause, resume and stop are polled between steps', async () => {
    const control = new TrainingController();
    let resumedAfterPause = false;
    const { v, objective } = toy({
      onBatch: (step) => {
        if (step === 2) {
          control.pause();
          setTimeout(() => {
            resumedAfterPause = true;
            control.resume();
          }, 30);
        }
        if (step === 3) expect(resumedAfterPause).toBe(true); // step 3 only ran after resume()
        if (step === 6) control.stop();
      },
    });
    const r = await runTraining(objective, data, config({ epochs: 5 }), { control });
    expect(r.stopReason).toBe('stopped');
    expect(r.steps).toBe(6);
    expect(r.trainLosses.length).toBe(6);
    v.dispose();
  });

  it('an aborted AbortSignal stops training', async () => {
    const abort = new AbortController();
    const { v, objective } = toy({ onBatch: (step) => step === 2 && abort.abort() });
    const r = await runTraining(objective, data, config(), { control: new TrainingController(abort.signal) });
    expect(r.stopReason).toBe('stopped');
    expect(r.steps).toBe(2);
    v.dispose();
  });

  it(`emits metrics at most every ${METRICS_INTERVAL_MS} ms with rates and ETA`, async () => {
    let clock = 0;
    const events: (TrainingMetrics & { at: number })[] = [];
    const hooks: LoopHooks<{ loss: number }> = {
      now: () => (clock += 7), // every clock read advances 7 ms
      onMetrics: (m) => events.push({ ...m, at: clock }),
    };
    const { v, objective } = toy();
    const r = await runTraining(objective, data, config({ epochs: 10 }), hooks);
    expect(events.length).toBeGreaterThan(2);
    expect(events.length).toBeLessThan(r.steps);
    for (let i = 1; i < events.length - 1; i++) expect(events[i].at - events[i - 1].at).toBeGreaterThanOrEqual(METRICS_INTERVAL_MS);
    const m = events[1];
    expect(m.totalSteps).toBe(30);
    expect(m.examplesPerSecond).toBeGreaterThan(0);
    expect(m.tokensPerSecond).toBeCloseTo(m.examplesPerSecond * 3, 6);
    expect(m.etaSeconds).toBeGreaterThan(0); // exactly: see 'the ETA' below
    expect(Number.isFinite(m.loss)).toBe(true);
    expect(events[events.length - 1].step).toBe(30);
    // Throttled events still carry every step's exact loss once: together they are the run's losses.
    expect(events.flatMap((e) => e.losses)).toEqual(r.trainLosses);
    for (let i = 1; i < events.length; i++) expect(events[i].losses.length).toBe(events[i].step - events[i - 1].step);
    expect(m.loss).toBeCloseTo(m.losses.reduce((a, b) => a + b, 0) / m.losses.length, 6);
    v.dispose();
  });
});

describe('the ETA', () => {
  it('leaves out the first step (warm-up) once others are timed, and counts the epochs\' validations once one is measured', async () => {
    // A scripted clock: the first step takes 1000 ms, later ones 100 ms, each validation 300 ms.
    let clock = 0;
    let batches = 0;
    const { v, objective } = toy();
    const timed: TuningObjective<number, { loss: number }> = {
      ...objective,
      batch(examples) {
        clock += ++batches === 1 ? 1000 : 100;
        return objective.batch(examples);
      },
      async validate() {
        clock += 300;
        return { loss: 1 };
      },
    };
    const events: TrainingMetrics[] = [];
    await runTraining(timed, data, config({ epochs: 4, patience: 0 }), { now: () => clock, onMetrics: (m) => events.push(m) });
    const at = (step: number) => events.find((e) => e.step === step)!;
    // 8 examples, batch 3: 3 steps per epoch, 12 in all, a validation after each epoch.
    expect(at(1)).toMatchObject({ etaFromFirstStep: true });
    expect(at(1).etaSeconds).toBeCloseTo(11 * 1.0, 6); // only the first step to go by: likely an overstatement
    expect(at(2)).toMatchObject({ etaFromFirstStep: false });
    expect(at(2).etaSeconds).toBeCloseTo(10 * 0.1, 6); // no validation measured yet
    expect(at(5).etaSeconds).toBeCloseTo(7 * 0.1 + 3 * 0.3, 6); // epoch 1 validated: 3 validations left
    expect(at(12).etaSeconds).toBeCloseTo(1 * 0.3, 6); // the last epoch's validation is still to come
    v.dispose();
  });
});

describe('checkpoints and resume', () => {
  /** A toy with two variables (Adam keeps moments for each) and scripted validation by epoch. */
  function toy2(validation: number[]) {
    const [a, b] = tf.tidy(() => [tf.variable(tf.tensor1d([0, 0])), tf.variable(tf.tensor2d([[1, -1]]))]);
    const objective: TuningObjective<number, { loss: number }> = {
      variables: [a, b],
      batch(examples) {
        const t = tf.tensor2d(examples.map((x) => [x, -x]));
        return {
          loss: () => tf.tidy(() => tf.add(tf.mean(tf.sum(tf.square(tf.sub(a, t)), 1)), tf.mul(0.1, tf.sum(tf.square(tf.sub(b, tf.mean(t, 0))))))) as tf.Scalar,
          tokens: examples.length,
          dispose: () => t.dispose(),
        };
      },
      // The validation loss of an epoch is the training loss' mean scaled by a scripted factor,
      // so best epoch and patience depend on the run's state.
      validate: async () => ({ loss: validation.shift() ?? 1 }),
    };
    return { variables: [a, b], objective, dispose: () => tf.dispose([a, b]) };
  }
  const cfg = config({ epochs: 6, patience: 3, warmupFraction: 0.2, seed: 5 });
  const script = () => [3, 2, 2.5, 1.5, 2, 2.2];

  it.each([
    { name: 'mid-epoch (step 4 of 18)', at: 4 },
    { name: 'at an epoch boundary (step 9)', at: 9 },
    { name: 'one step before the end', at: 17 },
  ])('a run resumed from a checkpoint $name takes exactly the steps of an uninterrupted one', async ({ at }) => {
    const before = tf.memory().numTensors;
    const whole = toy2(script());
    const states: TrainingState<{ loss: number }>[] = [];
    const full = await runTraining(whole.objective, data, cfg, { checkpointEverySteps: 1, onCheckpoint: (s) => void states.push(s) });
    const fullValues = await Promise.all(whole.variables.map((v) => v.data()));
    whole.dispose();
    expect(full.steps).toBe(18);
    // A checkpoint every step, and one more after each epoch's validation (the state that holds the new best and patience).
    const state = states.filter((s) => s.step === at).at(-1)!;
    expect(state.optimizer.iterations).toBe(at);
    expect(state.optimizer.firstMoments).toHaveLength(2);

    // The resumed run sees the validation script from the epoch it resumes in.
    const resumedToy = toy2(script().slice(state.epochs.length));
    const resumed = await runTraining(resumedToy.objective, data, cfg, {}, structuredClone(state));
    const resumedValues = await Promise.all(resumedToy.variables.map((v) => v.data()));
    resumedToy.dispose();
    expect(resumed.steps).toBe(18);
    expect(resumed.totalSteps).toBe(18);
    expect(resumed.trainLosses).toHaveLength(18);
    resumed.trainLosses.forEach((loss, i) => expect(loss).toBeCloseTo(full.trainLosses[i], 5));
    expect(resumed.epochs.map((e) => [e.epoch, e.step])).toEqual(full.epochs.map((e) => [e.epoch, e.step]));
    expect(resumed.bestEpoch).toBe(full.bestEpoch);
    resumedValues.forEach((values, i) => Array.from(values).forEach((x, j) => expect(x).toBeCloseTo(fullValues[i][j], 5)));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a stopped run hands out its state, and resuming it finishes the planned steps (not more)', async () => {
    const first = toy2(script());
    const control = new TrainingController();
    let last: TrainingState<{ loss: number }> | null = null;
    let steps = 0;
    const stopped = await runTraining(first.objective, data, cfg, {
      control,
      onMetrics: (m) => m.step >= 5 && control.stop(),
      now: () => (steps += 100), // a metrics event after every step
      onCheckpoint: (s) => {
        last = s;
      },
    });
    first.dispose();
    expect(stopped.stopReason).toBe('stopped');
    expect(last!.step).toBe(stopped.steps);
    const second = toy2(script().slice(last!.epochs.length));
    const resumed = await runTraining(second.objective, data, cfg, {}, last!);
    second.dispose();
    expect(resumed.steps).toBe(18);
    expect(resumed.trainLosses.slice(0, stopped.steps)).toEqual(stopped.trainLosses);
  });

  it('refuses a checkpoint from a run with another schedule, saying both step counts', async () => {
    const first = toy2(script());
    let state: TrainingState<{ loss: number }> | null = null;
    await runTraining(first.objective, data, cfg, { onCheckpoint: (s) => void (state ??= s) });
    await expect(runTraining(first.objective, data, { ...cfg, epochs: 7 }, {}, state!)).rejects.toThrow(/run of 18 steps; these data and settings plan 21/);
    first.dispose();
  });
});

describe('yieldToEventLoop', () => {
  it('resolves after pending microtasks, with setImmediate (Node) and with the MessageChannel path (workers)', async () => {
    const { yieldToEventLoop } = await import('./train');
    const check = async () => {
      const order: string[] = [];
      queueMicrotask(() => order.push('micro'));
      await yieldToEventLoop();
      order.push('after');
      expect(order).toEqual(['micro', 'after']);
      await Promise.all([yieldToEventLoop(), yieldToEventLoop()]); // concurrent waiters all resolve
    };
    await check();
    const saved = globalThis.setImmediate;
    (globalThis as { setImmediate?: unknown }).setImmediate = undefined;
    try {
      await check();
    } finally {
      globalThis.setImmediate = saved;
    }
  });
});
