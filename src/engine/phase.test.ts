/**
 * Stop reaches every phase of a run, not only the training steps: the zero-shot baseline, an
 * epoch's validation, the final evaluation and robustness end at the next batch, and each phase
 * reports its progress under its own name. Runs on the tiny random BERT with a TrainingController,
 * as the worker and the CLI drive it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import { EVAL_BATCH_SIZE, trainClassifier, type ClassificationData } from './classification';
import { generationTask } from './generation';
import type { LanguageModel } from './languageModel';
import type { PhaseProgress } from './phase';
import { loadFixture } from './testing/fixtures';
import { DEFAULT_TRAINING_CONFIG, TrainingController, type TrainingConfig, type TrainingState } from './train';
import { tune } from './tune';

const words = ['the', 'movie', 'was', 'it', 'a', 'film', 'very', 'plot', 'and'];
// 160 rows, a quarter held out: 40 validation rows, two evaluation batches of EVAL_BATCH_SIZE.
const data: ClassificationData = {
  rows: Array.from({ length: 160 }, (_, i) => ({ text: `${words[i % 9]} ${words[(i * 7) % 9]}${i % 2 ? ' good' : ''}`, label: i % 2 ? 'pos' : 'neg' })),
  labelColumn: 'label',
  template: '{text} it was [MASK].',
  labelWords: { pos: ['great'], neg: ['terrible'] },
};
const config: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, promptLength: 2, init: 'random', epochs: 2, batchSize: 40, valFraction: 0.25, patience: 0, seed: 1 };

let lm: LanguageModel;
beforeAll(async () => {
  await useNodeBackend('wasm');
  lm = await loadFixture('bert', { positions: 32 });
});
afterAll(() => lm.model.dispose());

/** Trains with a controller that stops when `when` first holds for a phase event (or a step). */
async function runStoppingAt(when: (p: PhaseProgress) => boolean, options: { againAt?: (p: PhaseProgress) => boolean; afterEpoch?: number } = {}) {
  const controller = new TrainingController();
  const phases: PhaseProgress[] = [];
  const afterStop: PhaseProgress[] = [];
  let checkpoint: TrainingState | null = null;
  const result = await trainClassifier(lm, data, config, {
    control: controller,
    onPhase(p) {
      phases.push(p);
      if (controller.stopped) afterStop.push(p);
      if (!controller.stopped && when(p)) controller.stop();
      else if (controller.stopRequests === 1 && options.againAt?.(p)) controller.stop();
    },
    onEpoch(e) {
      if (e.epoch === options.afterEpoch) controller.stop(); // seen before the next epoch's first step
    },
    onCheckpoint: (c) => (checkpoint = c.state),
  });
  return { result, phases, afterStop, checkpoint: checkpoint as TrainingState | null };
}

describe('phases report their progress by name', () => {
  it('zero-shot baseline, each epoch\'s validation, final evaluation and every robustness part, batch by batch', async () => {
    const before = tf.memory().numTensors;
    const { result, phases } = await runStoppingAt(() => false);
    expect(result.stopReason).toBe('completed');
    const stages = [...new Set(phases.map((p) => p.stage))];
    // The encoding first (a large file takes a while there too): its start and its end.
    expect(phases.filter((p) => p.stage.startsWith('encoding')).map((p) => `${p.stage}: ${p.done}`)).toEqual([
      'encoding examples: 0',
      `encoding examples: ${data.rows.length}`,
      'encoding for the zero-shot baseline: 0',
      'encoding for the zero-shot baseline: 40',
    ]);
    expect(stages).toEqual([
      'encoding examples',
      'encoding for the zero-shot baseline',
      'zero-shot baseline',
      'validation after epoch 1',
      'validation after epoch 2',
      'final evaluation',
      'robustness: clean',
      'robustness: lower-cased',
      'robustness: typos',
      'robustness: dropped words',
    ]);
    // Each starts at 0 and counts the 40 validation rows a batch at a time.
    for (const stage of stages.slice(2)) expect(phases.filter((p) => p.stage === stage).map((p) => p.done)).toEqual([0, EVAL_BATCH_SIZE, 40]);
    result.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('Pause', () => {
  it('during a phase lets the phase finish, and the run waits before its next step, checkpointed there', async () => {
    const controller = new TrainingController();
    const seen: string[] = [];
    const pausedAt: TrainingState[] = [];
    const result = await trainClassifier(lm, data, config, {
      control: controller,
      onPhase(p) {
        seen.push(`${p.stage}: ${p.done}`);
        if (p.stage === 'validation after epoch 1' && p.done === EVAL_BATCH_SIZE) controller.pause();
      },
      onCheckpoint(c) {
        if (!controller.paused) return;
        pausedAt.push(c.state);
        controller.resume();
      },
    });
    expect(seen).toContain('validation after epoch 1: 40');
    expect(pausedAt[0]).toMatchObject({ step: 3, epoch: 2, batchIndex: 0 });
    expect(result.stopReason).toBe('completed');
    expect(result.steps).toBe(6);
    result.dispose();
  });
});

describe('Stop ends the phase it arrives in at the next batch', () => {
  it('during the zero-shot baseline: no training, no evaluation', async () => {
    const before = tf.memory().numTensors;
    const { result, afterStop } = await runStoppingAt((p) => p.stage === 'zero-shot baseline' && p.done > 0);
    expect(result.stopReason).toBe('stopped');
    expect(result.message).toBe('stopped by request during the zero-shot baseline, before training');
    expect(result.steps).toBe(0);
    expect(result.zeroShot).toBeNull();
    expect(result.validation).toBeNull();
    expect(result.robustness).toBeNull();
    // Nothing ran after the batch the stop came in: no batch of any phase.
    expect(afterStop.filter((p) => p.done > 0)).toEqual([]);
    result.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("during an epoch's validation: the run stops there, and its checkpoint starts with that validation", async () => {
    const { result, afterStop, checkpoint } = await runStoppingAt((p) => p.stage === 'validation after epoch 1' && p.done > 0);
    expect(result.stopReason).toBe('stopped');
    expect(result.message).toBe("stopped by request during epoch 1's validation (after step 3)");
    expect(result.steps).toBe(3); // 120 training rows / 40
    expect(result.epochs).toEqual([]);
    expect(checkpoint).toMatchObject({ step: 3, epoch: 1, batchIndex: 3, epochs: [] });
    // A run stopped during training is evaluated, on the validation split only.
    expect(result.validation).not.toBeNull();
    expect(result.robustness).toBeNull();
    expect(afterStop.map((p) => p.stage).filter((s) => s.startsWith('validation after') || s.startsWith('robustness'))).toEqual([]);
    result.dispose();
  });

  it('during the final evaluation: the trained prompt is kept, the report left out, robustness never starts', async () => {
    const { result, afterStop } = await runStoppingAt((p) => p.stage === 'final evaluation' && p.done > 0);
    expect(result.stopReason).toBe('stopped');
    expect(result.message).toBe('stopped by request during the final evaluation, after all 6 steps: the prompt is trained; its results are partial');
    expect(result.steps).toBe(6);
    expect(result.epochs).toHaveLength(2);
    expect(result.zeroShot).not.toBeNull();
    expect(result.validation).toBeNull();
    expect(result.robustness).toBeNull();
    expect(afterStop.filter((p) => p.done > 0)).toEqual([]);
    result.dispose();
  });

  it('during robustness: the validation report stays, robustness is left out', async () => {
    const { result } = await runStoppingAt((p) => p.stage === 'robustness: typos' && p.done > 0);
    expect(result.stopReason).toBe('stopped');
    expect(result.validation).not.toBeNull();
    expect(result.robustness).toBeNull();
    result.dispose();
  });

  it('during training the evaluation still runs, and a second stop ends it', async () => {
    const once = await runStoppingAt(() => false, { afterEpoch: 1 });
    expect(once.result.stopReason).toBe('stopped');
    expect(once.result.message).toBe('stopped by request after step 3');
    expect(once.result.validation).not.toBeNull();
    once.result.dispose();

    const twice = await runStoppingAt(() => false, { afterEpoch: 1, againAt: (p) => p.stage === 'final evaluation' && p.done > 0 });
    expect(twice.result.stopReason).toBe('stopped');
    expect(twice.result.message).toBe('stopped by request after step 3; stopped again during the evaluation that follows, so its results are partial');
    expect(twice.result.validation).toBeNull();
    twice.result.dispose();
  });

  it('generation: a stop during the zero-shot generations ends the run with no texts', async () => {
    const gpt = await loadFixture('gpt2', { positions: 32 });
    try {
      const rows = Array.from({ length: 24 }, (_, i) => ({ input: words[i % 9], target: words[(i + 1) % 9] }));
      const task = generationTask(gpt, { rows, targetColumn: 'target', template: '{input} then' }, { ...config, valFraction: 0.5 });
      const controller = new TrainingController();
      const result = await tune(task, gpt.model.config, { ...config, valFraction: 0.5 }, {
        control: controller,
        onPhase: (p) => p.stage === 'zero-shot baseline' && p.done > 0 && controller.stop(),
      });
      expect(result.stopReason).toBe('stopped');
      expect(result.steps).toBe(0);
      expect(result.before).toBeNull();
      expect(result.after).toBeNull();
      expect(result.samples).toEqual([]);
      result.dispose();
    } finally {
      gpt.model.dispose();
    }
  });
});
