/**
 * One prompt-tuning step: loss -> gradients for the prompt (and head) only -> global-norm
 * clipping -> Adam. Plus the classification losses it is used with.
 *
 * The hidden state is read at the mask (or head) position BEFORE the LM head, so the vocabulary
 * projection runs on [B, H] -> [B, V], never on [B, T, H] -> [B, T, V] (multi-token label words
 * add reads: one per scored piece, see verbalizer.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { withLayerRecomputation } from '../model/checkpointing';
import type { FrozenLM, LmKind } from '../model/types';
import { forwardWithPrompt, makeBatch, padSideFor, readHidden, type BatchInput, type TokenBatch } from './batch';
import type { SoftPrompt } from './softPrompt';
import type { EncodedExample } from './template';
import type { ClassifierMode } from './types';
import type { Verbalizer } from './verbalizer';

export interface StepOptions {
  learningRate: number;
  /** Clip the gradients' global L2 norm to this; 0 = no clipping. */
  maxGradNorm: number;
  /**
   * Independent members trained together (a prompt ensemble): how many consecutive variables each
   * one has, the loss being the MEAN of the members' losses. Each member is clipped (and guarded
   * against non-finite gradients) on its own, as if it trained alone: its gradient is 1/G of its own
   * loss's, so its norm is compared with maxGradNorm / G. Omitted: one group of every variable.
   */
  groups?: readonly number[];
  /**
   * Gradient checkpointing (src/model/checkpointing.ts): keep only each layer's inputs on the tape
   * and recompute the layer in the backward pass. Less memory (BERT-base at batch 8 fits the wasm
   * heap), about one more forward pass of compute. Default off.
   */
  recomputeLayers?: boolean;
}

/**
 * Sets the learning rate for the next step. SGD has `setLearningRate`; Adam (and the others) read
 * their `learningRate` field on every `applyGradients`, which is not public API, hence the cast.
 */
export function setLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  const o = optimizer as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(learningRate);
  else o.learningRate = learningRate;
}

/**
 * Runs one optimiser step on `variables` and returns the loss (the caller disposes it and reads
 * it when convenient: no readback here). Guard: when the loss or the gradient norm is not finite,
 * the optimiser sees zero gradients and the variables keep their previous values (decided on the
 * device, no readback), so a NaN found later by the caller still leaves the last good prompt in
 * place, and the optimiser state stays usable.
 */
export function promptTuningStep(
  loss: () => tf.Scalar,
  variables: tf.Variable[],
  optimizer: tf.Optimizer,
  options: StepOptions,
): tf.Scalar {
  setLearningRate(optimizer, options.learningRate);
  const { value, grads } = withLayerRecomputation(options.recomputeLayers ?? false, () => tf.variableGrads(loss, variables));
  const before = variables.map((v) => v.clone());
  const groups = options.groups ?? [variables.length];
  if (groups.reduce((a, b) => a + b, 0) !== variables.length) throw new Error(`internal: variable groups ${groups.join('+')} do not cover ${variables.length} variables`);
  const { clipped, keep } = tf.tidy(() => {
    const list = variables.map((v) => grads[v.name]);
    const clipped: { name: string; tensor: tf.Tensor }[] = [];
    const keep: tf.Tensor[] = []; // per variable: its group's step is finite
    let at = 0;
    for (const size of groups) {
      const own = list.slice(at, at + size);
      const norm = tf.sqrt(tf.addN(own.map((g) => tf.sum(tf.square(g))))); // the group's L2 norm
      const finite = tf.logicalAnd(tf.isFinite(value), tf.isFinite(norm));
      const limit = options.maxGradNorm / groups.length;
      const scale = options.maxGradNorm > 0 ? tf.minimum(1, tf.div(limit, tf.add(norm, 1e-6 / groups.length))) : tf.scalar(1);
      // Zeros instead of non-finite gradients keep Adam's moments finite for later steps. A list, not
      // a name -> tensor map: the optimizer keeps its moments in this order (a map would order them by
      // the variables' numeric names), which is the order a checkpoint stores and restores them in.
      own.forEach((g, j) => {
        const v = variables[at + j];
        clipped.push({ name: v.name, tensor: tf.where(tf.broadcastTo(finite, v.shape), tf.mul(g, scale), tf.zerosLike(v)) });
        keep.push(finite);
      });
      at += size;
    }
    return { clipped, keep };
  });
  optimizer.applyGradients(clipped);
  tf.tidy(() => {
    variables.forEach((v, i) => v.assign(tf.where(tf.broadcastTo(keep[i], v.shape), v, before[i])));
  });
  tf.dispose([before, clipped.map((c) => c.tensor), keep, grads]);
  return value;
}

/** An encoded example with its class index. */
export interface LabeledExample {
  encoded: EncodedExample;
  label: number;
}

/** Where the class is read: the mask (verbalizer), or [CLS] (encoder head) / the last token (decoder head). */
export function readPosition(example: EncodedExample, mode: ClassifierMode, lmKind: LmKind): number {
  return mode === 'head' && lmKind === 'masked-lm' ? 0 : example.maskPosition;
}

export interface ClassificationBatch extends TokenBatch {
  /** [B, C] one-hot labels (B examples; in verbalizer mode the batch holds B x `verbalizer.sequences` rows). */
  labels: tf.Tensor2D;
}

export interface ClassifierParts {
  model: FrozenLM;
  mode: ClassifierMode;
  /** Needed in verbalizer mode. */
  verbalizer: Verbalizer | null;
  /** Null: no soft prompt (zero-shot); in head mode it carries the head. */
  prompt: SoftPrompt | null;
  numClasses: number;
  padId: number;
}

/**
 * The batch for `examples`. Head mode: one row per example, read at [CLS] or the last token.
 * Verbalizer mode: each example becomes the verbalizer's scoring sequences (the template, plus
 * the ones multi-token label words need), one row each, read where their pieces are predicted.
 */
export function makeClassificationBatch(examples: readonly LabeledExample[], parts: ClassifierParts): ClassificationBatch {
  const { config } = parts.model;
  const verbalizer = parts.mode === 'verbalizer' ? parts.verbalizer : null;
  let inputs: BatchInput[];
  let reads: number[][];
  if (verbalizer) {
    const scoring = examples.map((e) => verbalizer.scoringInputs(e.encoded));
    inputs = scoring.flatMap((s) => s.inputs);
    reads = scoring.flatMap((s) => s.reads);
    const limit = config.maxPositions - config.positionOffset;
    const longest = Math.max(...inputs.map((x) => x.ids.length));
    if (longest > limit) {
      throw new RangeError(
        `scoring the label words needs ${longest} positions for an example, more than the model's ${limit}: ` +
          `encode examples with reserve = verbalizer.extraPositions (${verbalizer.extraPositions})`,
      );
    }
  } else {
    inputs = examples.map((e) => e.encoded);
    reads = examples.map((e) => [readPosition(e.encoded, parts.mode, config.lmKind)]);
  }
  const batch = makeBatch(inputs, { side: padSideFor(config.lmKind), padId: parts.padId, promptLength: parts.prompt?.length ?? 0, reads });
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d(examples.map((e) => e.label), 'int32'), parts.numClasses).toFloat() as tf.Tensor2D);
  const dispose = batch.dispose;
  return { ...batch, labels, dispose: () => (dispose(), labels.dispose()) };
}

/**
 * Class scores [B, C]: head logits, or (verbalizer) the mean over each class's words of the sum of
 * their pieces' log-probabilities. `batch` comes from `makeClassificationBatch` with these parts.
 */
export function classScores(parts: ClassifierParts, batch: TokenBatch): tf.Tensor2D {
  return tf.tidy(() => {
    const { model, prompt } = parts;
    const H = model.config.hiddenSize;
    const hidden = forwardWithPrompt(model, batch, prompt);
    const read = readHidden(hidden, batch); // [R, K, H]
    if (parts.mode === 'head') {
      const head = prompt?.head;
      if (!head) throw new Error('head mode needs a soft prompt with a label head');
      const h = read.reshape([batch.size, H]) as tf.Tensor2D; // [B, 1, H] -> [B, H]
      return tf.add(tf.matMul(h, head.weight), head.bias) as tf.Tensor2D; // [B, H] x [H, C] -> [B, C]
    }
    if (!parts.verbalizer) throw new Error('verbalizer mode needs label words');
    const h = read.reshape([-1, H]) as tf.Tensor2D; // [R, K, H] -> [R*K, H]
    const logProbs = tf.logSoftmax(model.lmLogits(h) as tf.Tensor2D); // [R*K, V], only at the reads
    return parts.verbalizer.classScores(logProbs); // -> [B, C]
  });
}

/** Mean cross-entropy of one-hot `labels` [B, C] under softmax(`scores`). */
export function crossEntropy(scores: tf.Tensor2D, labels: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(scores)), -1))) as tf.Scalar);
}

/** The classification loss of one batch (what `promptTuningStep` differentiates). */
export function classificationLoss(parts: ClassifierParts, batch: ClassificationBatch): tf.Scalar {
  return tf.tidy(() => crossEntropy(classScores(parts, batch), batch.labels));
}
