/**
 * The training loop shared by classification and generation: Adam on the prompt (and head) only,
 * linear warmup then linear decay, global-norm clipping, seeded shuffling, per-epoch validation with
 * early stopping, pause/resume/stop between steps, throttled metrics, NaN/Inf detection.
 *
 * Losses are read back in groups (every METRICS_INTERVAL_MS, or LOSS_READBACK_STEPS steps) with
 * one `await data()`, never per step: on WebGL/WebGPU a per-step read stalls the pipeline.
 */
import * as tf from '@tensorflow/tfjs';
import { StoppedError, type Phase, type PhaseProgress } from './phase';
import { randomFromState, seededRandom } from './random';
import { promptTuningStep } from './step';
import { PROMPT_ENCODER_TYPES, PROMPT_METHODS, type ClassifierMode, type PromptEncoderType, type PromptInit, type PromptMethod } from './types';

export interface TrainingConfig {
  mode: ClassifierMode;
  /** Soft tokens N, when the template has no [SOFT] slot (slots fix N themselves). */
  promptLength: number;
  init: PromptInit;
  /** Text for the 'text' init. */
  initText?: string;
  learningRate: number;
  /** Share of the planned steps spent warming the learning rate up linearly from 0. */
  warmupFraction: number;
  batchSize: number;
  epochs: number;
  /** Global gradient-norm clip; 0 disables. */
  maxGradNorm: number;
  /** Share of each class held out for validation. */
  valFraction: number;
  /** Epochs without a new best validation loss before stopping; 0 disables early stopping. */
  patience: number;
  seed: number;
  /** Cap on sequence length (the model's maximum positions when omitted). */
  maxLength?: number;
  /** Gradient checkpointing per layer: less memory, about a third more compute (StepOptions.recomputeLayers). Absent: off. */
  recomputeLayers?: boolean;
  /** What is trained: input vectors, P-tuning's encoder over them, or per-layer prefixes. Absent: 'prompt'. */
  method?: PromptMethod;
  /** P-tuning's MLP encoder and prefix tuning's projection: hidden width (default: the model's hidden size). */
  encoderHiddenSize?: number;
  /** Prefix tuning: train [N, H] embeddings through an MLP to the keys and values (PEFT's prefix_projection). */
  prefixProjection?: boolean;
  /** P-tuning's prompt encoder: 'mlp' or 'lstm' (bidirectional LSTM + MLP; see PromptEncoderType). Absent: 'mlp'. Other methods ignore it (a sweep over methods keeps it). */
  encoderType?: PromptEncoderType;
  /**
   * Prompt ensemble (Lester et al.): train this many prompts in one run, member k initialised with
   * seed + k x ENSEMBLE_SEED_STEP (the same batches for all), and score by averaging their class
   * probabilities. Classification only. Absent: 1.
   */
  ensembleSize?: number;
}

/** Seeds of ensemble members are this far apart; member 0 has the run's own seed (it is the solo run). */
export const ENSEMBLE_SEED_STEP = 1000;
/** More members cost more time per step than a tab should spend. */
export const MAX_ENSEMBLE_SIZE = 8;

/** Where a config's method puts the N virtual tokens: soft tokens in the template, or a prefix at every layer. */
export function promptLayout(config: Pick<TrainingConfig, 'method' | 'promptLength'>): { promptLength: number; prefixLength: number } {
  return config.method === 'prefix' ? { promptLength: 0, prefixLength: config.promptLength } : { promptLength: config.promptLength, prefixLength: 0 };
}

/**
 * Defaults, chosen by measurement.
 *
 * Issue 4's PyTorch runs (2-layer/128-wide MLM pretrained on ~2M tokens of Brown, 640 tweets
 * train / 160 validation, 20 soft tokens, good/great vs bad/terrible): Adam at lr 3e-3..1e-2 for
 * 240 steps stayed at chance (0.46-0.56); lr 0.03..0.3 for 800 steps reached 0.68-0.71 against
 * 0.53 zero-shot; the linear-head mode reached 0.72 at lr 1e-2.
 *
 * Our sweep (src/cli/measure-defaults.ts, Node wasm, 2026-11-28, seed 1) on the embedded
 * studio-bert-tiny (4x128, 1500 pretraining steps, checkpoint 6abe611a8f93) and sentiment.csv
 * (240 train / 60 validation), 20 epochs = 300 steps, verbalizer good/great vs bad/terrible:
 * final training loss by lr 0.003: 0.6998, 0.01: 0.6973, 0.03: 0.6968, 0.1: 0.6968, 0.3: 0.6972,
 * 1: 0.6997 (first-epoch loss 1.01 at 0.003 down to 0.79 at 0.1); 5 soft tokens floor at 0.741
 * against 0.697 for 20; 'labels' and 'random' inits tie (0.6968 / 0.6971). Validation accuracy
 * stayed at 0.50 for every lr: this checkpoint's MLM is barely past unigram statistics (held-out
 * loss 6.57; its mask predictions are "the , . of" whatever the sentence), so it has no sentiment
 * to steer. Head mode, same data: lr 0.003 / 0.03 / 0.1 -> 0.567 / 0.533 / 0.517 (loss noisy at
 * 0.1). spam.csv, 120 steps: lr 0.03 -> 0.60, lr 0.3 -> 0.575 (zero-shot 0.48). GPT-2 tiny
 * (600 steps) on sentiment: 0.50-0.52 at lr 0.03 and 0.3.
 *
 * So: learningRate 0.1, the middle (on a log scale) of the band that worked in the issue and of
 * the flat optimum here; head mode 0.01 (DEFAULT_HEAD_LEARNING_RATE, the head result and
 * the best head run here); promptLength 20; init 'labels' (Lester et al.'s best, no worse here);
 * epochs 20 with batch 16 = 800 steps on the 640-example set; warmup 6% then linear decay;
 * clip 1.0; valFraction 0.2 (the 640/160); patience 5 epochs.
 */
export const DEFAULT_TRAINING_CONFIG: Readonly<TrainingConfig> = Object.freeze({
  mode: 'verbalizer',
  method: 'prompt',
  ensembleSize: 1,
  promptLength: 20,
  init: 'labels',
  learningRate: 0.1,
  warmupFraction: 0.06,
  batchSize: 16,
  epochs: 20,
  maxGradNorm: 1,
  valFraction: 0.2,
  patience: 5,
  seed: 42,
});

/** Head mode trains a linear head with the prompt; it wants a 10x lower rate (see above). */
export const DEFAULT_HEAD_LEARNING_RATE = 0.01;

/**
 * Peak learning rates by method and mode. Prompt tuning: as above. Prefix tuning: the 2026-11-29
 * sweep on studio-bert-tiny, 20 epochs, label words (src/engine/measurements/methods-2026-11-29.jsonl):
 * sentiment lr 0.003 / 0.01 / 0.03 -> 0.50 / 0.52 / 0.47 (seed 1), at 0.01 over seeds 1-3 0.52 / 0.57 /
 * 0.67 against prompt tuning's 0.43 / 0.53 / 0.55 at 0.1; spam 0.01 / 0.03 -> 0.81 / 0.79 against 0.625.
 * P-tuning (MLP encoder): 0.001 / 0.003 on sentiment 0.45 / 0.42, 0.003 on spam 0.59: no rate made it
 * better than prompt tuning here; 0.003 is the least bad. Head mode with a prefix or an encoder is
 * unmeasured and takes the same rate.
 */
export const DEFAULT_LEARNING_RATES: Readonly<Record<PromptMethod, Readonly<Record<ClassifierMode, number>>>> = Object.freeze({
  prompt: { verbalizer: DEFAULT_TRAINING_CONFIG.learningRate, head: DEFAULT_HEAD_LEARNING_RATE },
  'p-tuning': { verbalizer: 0.003, head: 0.003 },
  prefix: { verbalizer: 0.01, head: 0.01 },
});

/** The defaults for a mode and method: DEFAULT_TRAINING_CONFIG with that pair's learning rate. */
export function defaultTrainingConfig(mode: ClassifierMode = 'verbalizer', method: PromptMethod = 'prompt'): TrainingConfig {
  return { ...DEFAULT_TRAINING_CONFIG, mode, method, learningRate: DEFAULT_LEARNING_RATES[method][mode] };
}

/** Metrics callbacks fire at most this often. */
export const METRICS_INTERVAL_MS = 100;
/** Read pending losses back at least every this many steps, to bound what is kept on the device. */
export const LOSS_READBACK_STEPS = 32;

export class TrainingConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingConfigError';
  }
}

export function checkTrainingConfig(c: TrainingConfig): void {
  const bad = (what: string) => {
    throw new TrainingConfigError(what);
  };
  if (!(c.learningRate > 0 && Number.isFinite(c.learningRate))) bad(`learning rate must be a positive number, got ${c.learningRate}`);
  if (!(Number.isInteger(c.batchSize) && c.batchSize >= 1)) bad(`batch size must be a positive integer, got ${c.batchSize}`);
  if (!(Number.isInteger(c.epochs) && c.epochs >= 1)) bad(`epochs must be a positive integer, got ${c.epochs}`);
  if (!(Number.isInteger(c.promptLength) && c.promptLength >= 0)) bad(`prompt length must be a non-negative integer, got ${c.promptLength}`);
  if (!(c.warmupFraction >= 0 && c.warmupFraction < 1)) bad(`warmup fraction must be in [0, 1), got ${c.warmupFraction}`);
  if (!(c.maxGradNorm >= 0)) bad(`max gradient norm must be >= 0, got ${c.maxGradNorm}`);
  if (!(c.valFraction >= 0 && c.valFraction < 1)) bad(`validation fraction must be in [0, 1), got ${c.valFraction}`);
  if (!(Number.isInteger(c.patience) && c.patience >= 0)) bad(`patience must be a non-negative integer, got ${c.patience}`);
  if (!Number.isFinite(c.seed)) bad(`seed must be a number, got ${c.seed}`);
  if (c.method !== undefined && !(PROMPT_METHODS as readonly string[]).includes(c.method)) bad(`method must be one of ${PROMPT_METHODS.join(', ')}, got ${c.method}`);
  if (c.method === 'prefix' && c.promptLength < 1) bad('prefix tuning needs at least one virtual token (prompt length >= 1)');
  if (c.ensembleSize !== undefined && !(Number.isInteger(c.ensembleSize) && c.ensembleSize >= 1 && c.ensembleSize <= MAX_ENSEMBLE_SIZE)) {
    bad(`ensemble size must be a whole number from 1 to ${MAX_ENSEMBLE_SIZE}, got ${c.ensembleSize}`);
  }
  if (c.encoderType !== undefined && !(PROMPT_ENCODER_TYPES as readonly string[]).includes(c.encoderType)) bad(`encoder type must be one of ${PROMPT_ENCODER_TYPES.join(', ')}, got ${c.encoderType}`);
  if (c.encoderHiddenSize !== undefined && !(Number.isInteger(c.encoderHiddenSize) && c.encoderHiddenSize >= 1)) {
    bad(`the encoder's hidden size must be a positive integer, got ${c.encoderHiddenSize}`);
  }
}

/** Linear warmup to `peak` over `warmupSteps`, then linear decay towards 0 at `totalSteps`. */
export function learningRateAt(step: number, totalSteps: number, peak: number, warmupSteps: number): number {
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  return (peak * (totalSteps - step)) / Math.max(1, totalSteps - warmupSteps);
}

/** Pause, resume and stop, polled by the loop between steps (and by evaluation phases between batches, see phase.ts). */
export interface TrainingControl {
  readonly stopped: boolean;
  readonly paused: boolean;
  /**
   * How many times stop was asked for. A stop during training ends the steps and the run is then
   * evaluated as it is; a further stop ends that evaluation too. Absent: 1 once stopped.
   */
  readonly stopRequests?: number;
  /** Resolves when resumed or stopped. */
  whenRunnable(): Promise<void>;
}

export class TrainingController implements TrainingControl {
  private state: 'running' | 'paused' | 'stopped' = 'running';
  private wake: (() => void)[] = [];
  private stops = 0;

  /** Stops when `signal` aborts (an AbortController from the worker or CLI). */
  constructor(signal?: AbortSignal) {
    if (signal?.aborted) this.stop();
    signal?.addEventListener('abort', () => this.stop(), { once: true });
  }

  get stopped(): boolean {
    return this.state === 'stopped';
  }

  get paused(): boolean {
    return this.state === 'paused';
  }

  pause(): void {
    if (this.state === 'running') this.state = 'paused';
  }

  resume(): void {
    if (this.state === 'paused') this.state = 'running';
    this.flush();
  }

  get stopRequests(): number {
    return this.stops;
  }

  stop(): void {
    this.state = 'stopped';
    this.stops++;
    this.flush();
  }

  whenRunnable(): Promise<void> {
    if (this.state !== 'paused') return Promise.resolve();
    return new Promise((resolve) => this.wake.push(resolve));
  }

  private flush(): void {
    const w = this.wake;
    this.wake = [];
    for (const f of w) f();
  }
}

let channel: { port: MessagePort; waiting: (() => void)[] } | null = null;

/**
 * Lets queued messages (pause, stop) in between steps: a macrotask, not a microtask. Node has
 * setImmediate; in a (worker) browser context a MessageChannel round trip avoids the 4 ms clamp
 * that nested setTimeout(0) gets.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') {
      setImmediate(resolve);
    } else if (typeof MessageChannel === 'function') {
      if (!channel) {
        const mc = new MessageChannel();
        const c = { port: mc.port2, waiting: [] as (() => void)[] };
        mc.port1.onmessage = () => c.waiting.shift()?.();
        (mc.port1 as { unref?: () => void }).unref?.(); // Node: an idle port must not keep the process alive
        channel = c;
      }
      channel.waiting.push(resolve);
      channel.port.postMessage(null);
    } else {
      setTimeout(resolve, 0);
    }
  });
}

export interface TrainingMetrics {
  /** Steps done (1-based count). */
  step: number;
  totalSteps: number;
  /** 1-based epoch the step belongs to. */
  epoch: number;
  /** Mean training loss of the steps since the previous metrics event. */
  loss: number;
  /** Those steps' exact losses, in order, the last one being `step`'s (empty when no step ran since). */
  losses: number[];
  learningRate: number;
  examplesPerSecond: number;
  tokensPerSecond: number;
  /**
   * Seconds to the planned last step and its validation: the steps left at the time per step (the
   * session's first step, which includes one-time warm-up such as kernel compilation, left out once
   * there are others) plus the epochs' validations left at their measured time (none counted before
   * the first one has run). The final evaluation after the loop reports its own progress.
   */
  etaSeconds: number;
  /** The estimate rests on the first step alone (with its warm-up), so it likely overstates. */
  etaFromFirstStep: boolean;
  elapsedSeconds: number;
}

export type StopReason = 'completed' | 'early-stopped' | 'stopped' | 'non-finite-loss';

export interface EpochValidation {
  loss: number;
}

export interface EpochReport<V extends EpochValidation> {
  epoch: number;
  /** Steps done when the epoch ended. */
  step: number;
  /** Mean training loss over the epoch's steps. */
  trainLoss: number;
  /** Null without a validation split. */
  validation: V | null;
}

/**
 * Everything the loop needs to continue a run exactly where it was: a resumed run takes the same
 * steps with the same batches, learning rates and Adam moments as one that was never interrupted.
 * Plain numbers and Float32Arrays, so it can be posted between threads and kept in IndexedDB.
 */
export interface TrainingState<V extends EpochValidation = EpochValidation> {
  /** Steps done. */
  step: number;
  /** Steps the schedule plans (a resumed run must plan the same). */
  totalSteps: number;
  /** The epoch in progress (1-based) and how many of its batches are done. */
  epoch: number;
  batchIndex: number;
  /** The shuffle generator's state at the start of `epoch` (it reshuffles that epoch identically). */
  shuffleState: number;
  /** The trainable variables' values, in the objective's order. */
  variables: Float32Array[];
  /** Adam: steps applied and the first and second moments, in the variables' order (empty before the first step). */
  optimizer: { iterations: number; firstMoments: Float32Array[]; secondMoments: Float32Array[] };
  /** The best validation epoch so far, with its variables. */
  best: { loss: number; epoch: number; variables: Float32Array[] } | null;
  epochsSinceBest: number;
  /** Every step's training loss so far, and every finished epoch. */
  trainLosses: number[];
  epochs: EpochReport<V>[];
  examplesSeen: number;
  tokensSeen: number;
  /** Training time so far (pauses excluded). */
  busySeconds: number;
}

/** What the loop needs from a task. */
export interface TuningObjective<E, V extends EpochValidation> {
  variables: tf.Variable[];
  /** Independent members trained together (an ensemble): each one's variable count, in order (see StepOptions.groups). */
  groups?: readonly number[];
  /** Tensors for one batch and its loss function (run under the gradient tape). */
  batch(examples: E[]): { loss: () => tf.Scalar; tokens: number; dispose(): void };
  /**
   * After each epoch; omitted = no validation (and no early stopping). Calls `betweenBatches(phase, ...)`
   * after each batch, so a stop ends it (StoppedError) and the page sees its progress.
   */
  validate?(phase?: Phase): Promise<V>;
}

export interface LoopHooks<V extends EpochValidation> {
  control?: TrainingControl;
  onMetrics?(metrics: TrainingMetrics): void;
  onEpoch?(report: EpochReport<V>): void;
  /** Progress of each epoch's validation (stage "validation after epoch N"). */
  onPhase?(progress: PhaseProgress): void;
  /** Also take a checkpoint every this many steps (every epoch's end always gets one when `onCheckpoint` is set). */
  checkpointEverySteps?: number;
  /** A resumable state: after each epoch's validation, every `checkpointEverySteps`, when paused and when stopped by request. */
  onCheckpoint?(state: TrainingState<V>): void | Promise<void>;
  /** Clock in ms (tests pass a fake one). */
  now?(): number;
}

export interface LoopResult<V extends EpochValidation> {
  /** Training loss of every step taken, in order (a resumed run's include the steps before it). */
  trainLosses: number[];
  epochs: EpochReport<V>[];
  stopReason: StopReason;
  /** Human-readable reason when training did not complete normally. */
  message?: string;
  /** Epoch whose variables were kept (best validation loss), or null. */
  bestEpoch: number | null;
  steps: number;
  /** Steps the schedule planned (epochs x batches per epoch). */
  totalSteps: number;
  seconds: number;
}

/** The loop result of a run that evaluates its starting prompt without training. */
export function untrainedLoop<V extends EpochValidation>(): LoopResult<V> {
  return { trainLosses: [], epochs: [], stopReason: 'completed', bestEpoch: null, steps: 0, totalSteps: 0, seconds: 0 };
}

/** The steps `config` plans over `trainSize` examples. */
export function plannedSteps(trainSize: number, config: Pick<TrainingConfig, 'batchSize' | 'epochs'>): number {
  return Math.ceil(trainSize / config.batchSize) * config.epochs;
}

async function readAll(tensors: readonly tf.Tensor[]): Promise<Float32Array[]> {
  return Promise.all(tensors.map(async (t) => new Float32Array(await t.data())));
}

/** Adam's state as plain arrays ([iterations, ...first moments, ...second moments] in tfjs). */
async function readOptimizer(optimizer: tf.Optimizer): Promise<TrainingState['optimizer']> {
  const [iterations, ...moments] = await optimizer.getWeights();
  const values = await readAll(moments.map((w) => w.tensor)); // the optimizer's own variables: not disposed here
  const steps = (await iterations.tensor.data())[0];
  iterations.tensor.dispose(); // a fresh scalar made by getWeights
  const half = values.length / 2;
  return { iterations: steps, firstMoments: values.slice(0, half), secondMoments: values.slice(half) };
}

async function restoreOptimizer(optimizer: tf.Optimizer, state: TrainingState['optimizer'], variables: readonly tf.Variable[]): Promise<void> {
  const { firstMoments: m, secondMoments: v } = state;
  if (m.length === 0 && state.iterations === 0) return;
  if (m.length !== variables.length || v.length !== variables.length) {
    throw new TrainingConfigError(`the checkpoint's optimizer holds moments for ${m.length} variables; this run trains ${variables.length}`);
  }
  const tensors = [
    { name: 'iter', tensor: tf.scalar(state.iterations, 'int32') },
    ...m.map((values, i) => ({ name: `${variables[i].name}/m`, tensor: tf.tensor(values, variables[i].shape) })),
    ...v.map((values, i) => ({ name: `${variables[i].name}/v`, tensor: tf.tensor(values, variables[i].shape) })),
  ];
  try {
    await optimizer.setWeights(tensors); // makes its own variables from the tensors
  } finally {
    tf.dispose(tensors.map((t) => t.tensor));
  }
}

function assignAll(variables: readonly tf.Variable[], values: readonly Float32Array[], what: string): void {
  if (values.length !== variables.length) throw new TrainingConfigError(`the checkpoint's ${what} has ${values.length} tensors; this run trains ${variables.length}`);
  variables.forEach((v, i) => {
    if (values[i].length !== v.size) throw new TrainingConfigError(`the checkpoint's ${what} tensor ${i} has ${values[i].length} values; this run's has ${v.size} (${v.shape.join('x')})`);
    tf.tidy(() => v.assign(tf.tensor(values[i], v.shape)));
  });
}

/**
 * Runs the loop over `train` with `config`'s schedule; the objective's variables end at the best
 * epoch. With `resume` (a state from `onCheckpoint`, taken with the same config and data) it
 * continues that run: variables, Adam, schedule position, shuffle, best epoch and patience.
 */
export async function runTraining<E, V extends EpochValidation>(
  objective: TuningObjective<E, V>,
  train: readonly E[],
  config: TrainingConfig,
  hooks: LoopHooks<V> = {},
  resume?: TrainingState<V>,
): Promise<LoopResult<V>> {
  checkTrainingConfig(config);
  if (train.length === 0) throw new TrainingConfigError('no training examples');
  const now = hooks.now ?? (() => performance.now());
  const control = hooks.control;
  const { variables } = objective;
  const stepsPerEpoch = Math.ceil(train.length / config.batchSize);
  const totalSteps = stepsPerEpoch * config.epochs;
  const warmupSteps = Math.round(config.warmupFraction * totalSteps);
  if (resume && resume.totalSteps !== totalSteps) {
    throw new TrainingConfigError(
      `the checkpoint was taken in a run of ${resume.totalSteps} steps; these data and settings plan ${totalSteps}: resume with the run's own data and settings`,
    );
  }
  const optimizer = tf.train.adam(config.learningRate);

  const trainLosses: number[] = resume ? [...resume.trainLosses] : [];
  const epochs: EpochReport<V>[] = resume ? [...resume.epochs] : [];
  let pending: tf.Scalar[] = [];
  let stopReason: StopReason = 'completed';
  let message: string | undefined;
  let best: { loss: number; epoch: number; snapshot: tf.Tensor[] } | null = null;
  let epochsSinceBest = resume?.epochsSinceBest ?? 0;
  let step = resume?.step ?? 0;
  let examplesSeen = resume?.examplesSeen ?? 0;
  let tokensSeen = resume?.tokensSeen ?? 0;
  let busyMs = (resume?.busySeconds ?? 0) * 1000; // time spent training (pauses excluded)
  // This session's timings for the ETA: its first step (warm-up) apart from the rest.
  let firstStepMs: number | null = null;
  let laterStepsMs = 0;
  let laterSteps = 0;
  let validationMs = 0;
  let validations = 0;
  let lastEmit = now();
  let lastEmitLossIndex = trainLosses.length;
  let lastCheckpointStep = step;
  let lr = 0;
  let epoch = resume?.epoch ?? 1;
  let shuffler = resume ? randomFromState(resume.shuffleState) : seededRandom(config.seed, 'shuffle');
  let epochShuffleState = shuffler.state();
  let batchIndex = 0;

  /** Reads pending losses; returns false (and sets the stop reason) on a non-finite loss. */
  const readLosses = async (): Promise<boolean> => {
    if (pending.length === 0) return true;
    const stacked = tf.stack(pending);
    const values = await stacked.data();
    stacked.dispose();
    tf.dispose(pending);
    const firstStep = trainLosses.length + 1;
    pending = [];
    for (let i = 0; i < values.length; i++) {
      trainLosses.push(values[i]);
      if (!Number.isFinite(values[i])) {
        stopReason = 'non-finite-loss';
        message =
          `training stopped at step ${firstStep + i}: the loss became ${values[i]}. ` +
          `The prompt keeps its values from the last step with a finite loss` +
          ` (step ${firstStep + i - 1}). Try a lower learning rate (now ${config.learningRate}) or gradient clipping.`;
        return false;
      }
    }
    return true;
  };

  const emitMetrics = () => {
    if (!hooks.onMetrics) return;
    const recent = trainLosses.slice(lastEmitLossIndex);
    lastEmitLossIndex = trainLosses.length;
    const seconds = busyMs / 1000;
    hooks.onMetrics({
      step,
      totalSteps,
      epoch: Math.min(epoch, config.epochs),
      loss: recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : (trainLosses[trainLosses.length - 1] ?? NaN),
      losses: recent,
      learningRate: lr,
      examplesPerSecond: seconds > 0 ? examplesSeen / seconds : 0,
      tokensPerSecond: seconds > 0 ? tokensSeen / seconds : 0,
      ...eta(),
      elapsedSeconds: seconds,
    });
  };

  const eta = (): { etaSeconds: number; etaFromFirstStep: boolean } => {
    const perStepMs = laterSteps > 0 ? laterStepsMs / laterSteps : firstStepMs;
    if (perStepMs === null) return { etaSeconds: Infinity, etaFromFirstStep: false };
    const validationsLeft = objective.validate ? Math.max(0, config.epochs - epochs.length) : 0;
    const ms = (totalSteps - step) * perStepMs + validationsLeft * (validations > 0 ? validationMs / validations : 0);
    return { etaSeconds: ms / 1000, etaFromFirstStep: laterSteps === 0 };
  };

  /** The state now (losses read first). `at` says where the next step starts. */
  const checkpoint = async (at: { epoch: number; batchIndex: number; shuffleState: number }): Promise<void> => {
    if (!hooks.onCheckpoint) return;
    lastCheckpointStep = step;
    await hooks.onCheckpoint({
      step,
      totalSteps,
      ...at,
      variables: await readAll(variables),
      optimizer: await readOptimizer(optimizer),
      best: best ? { loss: best.loss, epoch: best.epoch, variables: await readAll(best.snapshot) } : null,
      epochsSinceBest,
      trainLosses: [...trainLosses],
      epochs: [...epochs],
      examplesSeen,
      tokensSeen,
      busySeconds: busyMs / 1000,
    });
  };

  try {
    if (resume) {
      assignAll(variables, resume.variables, 'prompt');
      await restoreOptimizer(optimizer, resume.optimizer, variables);
      if (resume.best) {
        const snapshot = resume.best.variables.map((values, i) => tf.tensor(values, variables[i].shape));
        best = { loss: resume.best.loss, epoch: resume.best.epoch, snapshot };
      }
    }
    const skipBatches = resume?.batchIndex ?? 0;
    training: for (; epoch <= config.epochs; epoch++) {
      epochShuffleState = shuffler.state();
      const order = shuffler.shuffle(train);
      const epochFirstStep = step - (epoch === resume?.epoch ? skipBatches : 0);
      batchIndex = epoch === resume?.epoch ? skipBatches : 0;
      for (; batchIndex < stepsPerEpoch; ) {
        const start = batchIndex * config.batchSize;
        if (control?.paused) {
          if (!(await readLosses())) break training;
          emitMetrics();
          // A paused run is kept exactly where it is, so closing the tab meanwhile loses nothing.
          await checkpoint({ epoch, batchIndex, shuffleState: epochShuffleState });
          await control.whenRunnable();
        }
        if (control?.stopped) {
          stopReason = 'stopped';
          message = `stopped by request after step ${step}`;
          if (!(await readLosses())) break training;
          await checkpoint({ epoch, batchIndex, shuffleState: epochShuffleState });
          break training;
        }
        const t0 = now();
        const examples = order.slice(start, start + config.batchSize);
        lr = learningRateAt(step, totalSteps, config.learningRate, warmupSteps);
        const b = objective.batch(examples);
        try {
          pending.push(promptTuningStep(b.loss, variables, optimizer, { learningRate: lr, maxGradNorm: config.maxGradNorm, groups: objective.groups, recomputeLayers: config.recomputeLayers }));
        } finally {
          b.dispose();
        }
        step++;
        batchIndex++;
        examplesSeen += examples.length;
        tokensSeen += b.tokens;
        const due = now() - lastEmit >= METRICS_INTERVAL_MS;
        const checkpointDue = hooks.checkpointEverySteps !== undefined && hooks.checkpointEverySteps > 0 && step - lastCheckpointStep >= hooks.checkpointEverySteps;
        if (due || checkpointDue || pending.length >= LOSS_READBACK_STEPS) {
          if (!(await readLosses())) break training;
        }
        const stepMs = now() - t0;
        busyMs += stepMs;
        if (firstStepMs === null) firstStepMs = stepMs;
        else {
          laterStepsMs += stepMs;
          laterSteps++;
        }
        if (due) {
          emitMetrics();
          lastEmit = now();
        }
        if (checkpointDue) await checkpoint({ epoch, batchIndex, shuffleState: epochShuffleState });
        await yieldToEventLoop();
      }
      if (!(await readLosses())) break training;
      const epochLosses = trainLosses.slice(epochFirstStep, step);
      const t0 = now();
      let validation: V | null = null;
      if (objective.validate) {
        try {
          validation = await objective.validate({ stage: `validation after epoch ${epoch}`, control, onProgress: hooks.onPhase });
        } catch (e) {
          if (!(e instanceof StoppedError)) throw e;
          // The epoch's steps are done: a resumed run starts with this validation (no batch left in the epoch).
          stopReason = 'stopped';
          message = `stopped by request during epoch ${epoch}'s validation (after step ${step})`;
          busyMs += now() - t0;
          await checkpoint({ epoch, batchIndex: stepsPerEpoch, shuffleState: epochShuffleState });
          break training;
        }
        validationMs += now() - t0;
        validations++;
      }
      busyMs += now() - t0;
      const report: EpochReport<V> = {
        epoch,
        step,
        trainLoss: epochLosses.reduce((a, b) => a + b, 0) / Math.max(1, epochLosses.length),
        validation,
      };
      epochs.push(report);
      hooks.onEpoch?.(report);
      let stopEarly = false;
      if (validation) {
        if (!best || validation.loss < best.loss) {
          if (best) tf.dispose(best.snapshot);
          best = { loss: validation.loss, epoch, snapshot: variables.map((v) => v.clone()) };
          epochsSinceBest = 0;
        } else if (config.patience > 0 && ++epochsSinceBest >= config.patience) {
          stopReason = 'early-stopped';
          message = `early stop after epoch ${epoch}: no better validation loss for ${config.patience} epochs (best ${best.loss.toFixed(4)} at epoch ${best.epoch})`;
          stopEarly = true;
        }
      }
      await checkpoint({ epoch: epoch + 1, batchIndex: 0, shuffleState: shuffler.state() });
      if (stopEarly) break;
    }
    if ((stopReason as StopReason) !== 'non-finite-loss') await readLosses();
    emitMetrics();
    // Keep the best epoch's values after a normal end; after a stop or a NaN keep the current
    // (last good) values, which is what the user saw when they stopped.
    const restoreBest = best !== null && (stopReason === 'completed' || stopReason === 'early-stopped');
    if (restoreBest && best) variables.forEach((v, i) => v.assign(best!.snapshot[i]));
    return {
      trainLosses,
      epochs,
      stopReason,
      message,
      bestEpoch: restoreBest && best ? best.epoch : null,
      steps: step,
      totalSteps,
      seconds: busyMs / 1000,
    };
  } finally {
    tf.dispose(pending);
    if (best) tf.dispose(best.snapshot);
    optimizer.dispose();
  }
}
