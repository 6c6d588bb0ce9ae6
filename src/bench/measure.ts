/**
 * Benchmark measurements shared by Node (src/cli/bench.ts) and the browser (bench.html): the
 * backend's own matmul peak, and the engine's real prompt-tuning step (syntheticStep: frozen
 * model, N soft tokens, backward to the prompt only, Adam) on a given model.
 */
import * as tf from '@tensorflow/tfjs';
import { syntheticStep, type SyntheticStep } from '../engine/benchmarkStep';
import type { FrozenLM, TransformerConfig } from '../model/types';
import { gpuWorkCounts, gpuWorkSince, type GpuWorkCounts } from '../model/webgpu';

export interface StepShape {
  batchSize: number;
  sequenceLength: number;
  promptLength: number;
}

export interface BenchResult {
  backend: string;
  model: string;
  shape: StepShape;
  /** Gradient checkpointing per layer was on (src/model/checkpointing.ts). */
  recomputeLayers: boolean;
  stepsTimed: number;
  msPerStep: number;
  stepsPerSecond: number;
  tokensPerSecond: number;
  /** Estimated FLOPs of one step (see stepFlops). */
  stepGflop: number;
  achievedGflops: number;
  /** The backend's own 1024x512x512 matmul rate, measured in the same process. */
  matmulPeakGflops: number;
  /** achievedGflops / matmulPeakGflops. */
  peakRatio: number;
  numTensorsBefore: number;
  numTensorsAfter: number;
  /** What one step asks of the backend, counted on an extra untimed step (device-independent). */
  work: StepWork;
}

export interface StepWork {
  /** tfjs kernels run by one step (forward, backward, clipping, Adam), on any backend. */
  kernels: number;
  /** The most frequent kernels, [name, count], most frequent first. */
  topKernels: [string, number][];
  /** On WebGPU: dispatches, submits, buffers created and bytes moved by one step (loss readback included). */
  gpu?: GpuWorkCounts;
  /** tfjs's tensor bytes at the step's peak (tf.profile, after each kernel), model weights included. */
  peakBytes: number;
  /** The same peak less what was held before the step (weights, prompt, optimiser state, batch). */
  stepPeakBytes: number;
  /** On wasm: the wasm heap's size after the step (it only grows: its high-water mark). */
  wasmHeapBytes?: number;
}

/** Mean ms of `steps` back-to-back steps, queued without readbacks and synced once at the end. */
export async function msPerStep(bench: Pick<SyntheticStep, 'step'>, steps: number): Promise<number> {
  const t0 = performance.now();
  let last: tf.Scalar | null = null;
  for (let i = 0; i < steps; i++) {
    last?.dispose();
    last = bench.step();
  }
  await sync(last as tf.Scalar);
  last?.dispose();
  return (performance.now() - t0) / steps;
}

/** Counts one step's kernels (tf.profile) and, on WebGPU, its device work (a separate step, unprofiled). */
export async function countStepWork(bench: Pick<SyntheticStep, 'step'>): Promise<StepWork> {
  const before = gpuWorkCounts();
  const loss = bench.step();
  await sync(loss);
  loss.dispose();
  const after = gpuWorkCounts();
  const heldBefore = tf.memory().numBytes;
  const profile = await tf.profile(async () => {
    const l = bench.step();
    await sync(l);
    l.dispose();
  });
  const byName = new Map<string, number>();
  for (const k of profile.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + 1);
  const topKernels = [...byName.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
  const heap = wasmHeapBytes();
  return {
    kernels: profile.kernels.length,
    topKernels,
    ...(before && after ? { gpu: gpuWorkSince(before, after) } : {}),
    peakBytes: profile.peakBytes,
    stepPeakBytes: profile.peakBytes - heldBefore,
    ...(heap !== null ? { wasmHeapBytes: heap } : {}),
  };
}

/** The wasm backend's heap size in bytes, or null on other backends. */
function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8;
  return heap ? heap.byteLength : null;
}

/** Waits until queued GPU work is done (a readback), for honest timings. */
async function sync(t: tf.Tensor): Promise<void> {
  await t.data();
}

/** GFLOP/s of a [1024, 512] x [512, 512] product, best of a few timed repetitions after warm-up. */
export async function matmulPeak(): Promise<number> {
  const a = tf.randomNormal([1024, 512]);
  const b = tf.randomNormal([512, 512]);
  try {
    const once = () => tf.matMul(a, b);
    for (let i = 0; i < 2; i++) {
      const w = once();
      await sync(w);
      w.dispose();
    }
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const reps = 5;
      const t0 = performance.now();
      const outs: tf.Tensor[] = [];
      for (let i = 0; i < reps; i++) outs.push(once());
      await sync(outs[outs.length - 1]);
      best = Math.min(best, (performance.now() - t0) / reps);
      tf.dispose(outs);
    }
    return (2 * 1024 * 512 * 512) / (best / 1000) / 1e9;
  } finally {
    tf.dispose([a, b]);
  }
}

/**
 * FLOPs of one prompt-tuning step: the forward pass (2 x weights x tokens for every projection,
 * 4 x B x T^2 x H per layer for attention, the LM head on the B prediction positions) times 2,
 * because the backward pass to the prompt computes input gradients only (about one forward's work)
 * and no weight gradients.
 */
export function stepFlops(cfg: TransformerConfig, shape: StepShape): number {
  const { hiddenSize: H, intermediateSize: I, numLayers: L, vocabSize: V } = cfg;
  const tokens = shape.batchSize * shape.sequenceLength;
  const perTokenPerLayer = 2 * (4 * H * H + 2 * H * I);
  const attention = 4 * shape.batchSize * shape.sequenceLength ** 2 * H;
  const head = 2 * shape.batchSize * (H * V + (cfg.lmKind === 'masked-lm' ? H * H : 0));
  return 2 * (L * (tokens * perTokenPerLayer + attention) + head);
}

export async function benchStep(
  model: FrozenLM,
  modelName: string,
  shape: StepShape,
  options: { steps: number; warmup: number; peak: number; recomputeLayers?: boolean },
): Promise<BenchResult> {
  const recomputeLayers = options.recomputeLayers ?? false;
  const bench = await syntheticStep(model, { ...shape, seed: 1, recomputeLayers });
  try {
    for (let i = 0; i < options.warmup; i++) {
      const l = bench.step();
      await sync(l);
      l.dispose();
    }
    const numTensorsBefore = tf.memory().numTensors;
    const ms = await msPerStep(bench, options.steps);
    const numTensorsAfter = tf.memory().numTensors;
    const work = await countStepWork(bench);
    const gflop = stepFlops(model.config, shape) / 1e9;
    const achieved = gflop / (ms / 1000);
    return {
      backend: tf.getBackend(),
      model: modelName,
      shape,
      recomputeLayers,
      stepsTimed: options.steps,
      msPerStep: ms,
      stepsPerSecond: 1000 / ms,
      tokensPerSecond: (bench.tokensPerStep * 1000) / ms,
      stepGflop: gflop,
      achievedGflops: achieved,
      matmulPeakGflops: options.peak,
      peakRatio: achieved / options.peak,
      numTensorsBefore,
      numTensorsAfter,
      work,
    };
  } finally {
    bench.dispose();
  }
}

/** The BERT-base shape the issue compares against PyTorch: 12 layers, hidden 768, 30522 vocab. */
export const BERT_BASE_CONFIG: TransformerConfig = {
  modelType: 'bert',
  lmKind: 'masked-lm',
  vocabSize: 30522,
  hiddenSize: 768,
  numLayers: 12,
  numHeads: 12,
  intermediateSize: 3072,
  maxPositions: 512,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
  hiddenAct: 'gelu',
  padTokenId: 0,
  positionOffset: 0,
};

export const EMBEDDED_SHAPE: StepShape = { batchSize: 16, sequenceLength: 64, promptLength: 20 };
/**
 * The comparison point is batch 8. On tfjs-wasm 4.22 that step aborts with the plain tape
 * (its activations outgrow the wasm heap), so Node measures it with per-layer recomputation
 * (BERT_BASE_RECOMPUTE); batch 2 was the largest that ran without it.
 */
export const BERT_BASE_SHAPE: StepShape = { batchSize: 8, sequenceLength: 128, promptLength: 20 };
/** Node's BERT-base row recomputes each layer in the backward pass (src/model/checkpointing.ts). */
export const BERT_BASE_RECOMPUTE = true;
/** On a GPU, the issue's own comparison point. */
export const BERT_BASE_GPU_SHAPE: StepShape = { batchSize: 8, sequenceLength: 128, promptLength: 20 };
