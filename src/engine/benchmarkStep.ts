/**
 * The engine's real training step on synthetic data, for the benchmark: a batch of random token
 * ids of a fixed length with N soft tokens after [CLS]/BOS and the mask (encoders) or the
 * prediction point (decoders) near the end, a two-class verbalizer, Adam. Each `step()` is one
 * `promptTuningStep`, exactly what training runs; the caller reads the returned loss when it
 * wants a sync point.
 */
import * as tf from '@tensorflow/tfjs';
import type { FrozenLM } from '../model/types';
import { seededRandom } from './random';
import { createSoftPrompt, type SoftPrompt } from './softPrompt';
import { classificationLoss, classScores, makeClassificationBatch, promptTuningStep, type ClassificationBatch, type LabeledExample } from './step';
import type { ClassifierMode } from './types';
import { Verbalizer } from './verbalizer';

export interface SyntheticStepOptions {
  batchSize: number;
  /** Total sequence length T, soft tokens and specials included. */
  sequenceLength: number;
  promptLength: number;
  mode?: ClassifierMode;
  learningRate?: number;
  seed?: number;
  /** Gradient checkpointing per layer (StepOptions.recomputeLayers). */
  recomputeLayers?: boolean;
}

export interface SyntheticStep {
  /** One optimiser step; returns the loss tensor (caller disposes). */
  step(): tf.Scalar;
  /** Class scores [B, C] at the current prompt (label-word log-probabilities in verbalizer mode). */
  scores(): tf.Tensor2D;
  /** Tokens per step (B x T), for tokens/s. */
  tokensPerStep: number;
  /** The batch every step trains on (the GPU kit hands it to the PyTorch anchor). */
  examples: LabeledExample[];
  /** Verbalizer mode: each class's label-word id. */
  labelWordIds: number[];
  prompt: SoftPrompt;
  dispose(): void;
}

const LABEL_WORD_IDS = [10, 11];

export async function syntheticStep(model: FrozenLM, options: SyntheticStepOptions): Promise<SyntheticStep> {
  const { batchSize: B, sequenceLength: T, promptLength: N } = options;
  if (T < N + 3) throw new RangeError(`sequence length ${T} leaves no room for ${N} soft tokens, a special token and the mask`);
  const V = model.config.vocabSize;
  const rng = seededRandom(options.seed ?? 0, 'synthetic');
  const encoder = model.config.lmKind === 'masked-lm';
  // Ids from 10 up keep clear of the usual special-token ids; the mask id only matters as an id.
  const word = () => 10 + rng.int(Math.max(1, V - 10));
  const examples: LabeledExample[] = Array.from({ length: B }, (_, b) => {
    const ids = [1, ...Array(N).fill(0), ...Array.from({ length: T - N - 1 }, word)];
    const softIndex = ids.map((_, t) => (t >= 1 && t <= N ? t - 1 : -1));
    const maskPosition = encoder ? T - 2 : T - 1;
    return { encoded: { ids, softIndex, tokenTypes: ids.map(() => 0), maskPosition, truncated: false }, label: b % 2 };
  });
  const mode = options.mode ?? (model.hasLmHead ? 'verbalizer' : 'head');
  const verbalizer =
    mode === 'verbalizer'
      ? new Verbalizer(['a', 'b'], LABEL_WORD_IDS.map((id, c) => [{ word: 'ab'[c], tokenIds: [id] }]), { vocabSize: V, lmKind: model.config.lmKind })
      : null;
  const prompt = await createSoftPrompt(model, { length: N, init: 'random', seed: options.seed ?? 0, headClasses: mode === 'head' ? 2 : undefined });
  const parts = { model, mode, verbalizer, prompt, numClasses: 2, padId: 0 } as const;
  const batch: ClassificationBatch = makeClassificationBatch(examples, parts);
  const optimizer = tf.train.adam(options.learningRate ?? 0.1);
  const variables = prompt.trainableVariables();
  return {
    step: () => promptTuningStep(() => classificationLoss(parts, batch), variables, optimizer, { learningRate: options.learningRate ?? 0.1, maxGradNorm: 1, recomputeLayers: options.recomputeLayers }),
    scores: () => classScores(parts, batch),
    tokensPerStep: B * T,
    examples,
    labelWordIds: LABEL_WORD_IDS,
    prompt,
    dispose() {
      batch.dispose();
      optimizer.dispose();
      verbalizer?.dispose();
      prompt.dispose();
    },
  };
}
