/**
 * The GPU benchmark kit's rows (see src/cli/gpu-bench.ts): random HF-layout checkpoints and the
 * embedded models, the engine's step on them, and everything the PyTorch anchor
 * (src/bench/gpu_anchor.py) needs to compute the same step: the batch, the initial prompt (in
 * <dir>/prompt.safetensors) and the engine's loss on it.
 */
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadPretrained } from '../model/loader';
import { dirFolder } from '../node/model';
import { writeSafetensors } from '../model/safetensors';
import { hfCheckpointFiles, type Family, type TinyDims } from '../model/testing/hfCheckpoint';
import { syntheticStep } from '../engine/benchmarkStep';
import { countStepWork, msPerStep, stepFlops, type StepShape, type StepWork } from './measure';

/** A row: a checkpoint (random of `dims`, or an embedded one) and the step's shape. */
export interface RowSpec {
  name: string;
  family: Family;
  /** Random HF-layout weights of these dimensions, or... */
  dims?: TinyDims;
  /** ...an embedded model's folder name under --models-dir. */
  embedded?: string;
  shape: StepShape;
}

const BERT_BASE: TinyDims = { vocab: 30522, hidden: 768, layers: 12, heads: 12, inner: 3072, positions: 512 };
const GPT2_SMALL: TinyDims = { vocab: 50257, hidden: 768, layers: 12, heads: 12, inner: 3072, positions: 1024 };
export const TINY_RANDOM: TinyDims = { vocab: 500, hidden: 32, layers: 2, heads: 2, inner: 64, positions: 64 };

export const FULL_ROWS: RowSpec[] = [
  { name: 'bert-base-b8', family: 'bert', dims: BERT_BASE, shape: { batchSize: 8, sequenceLength: 128, promptLength: 20 } },
  { name: 'bert-base-b32', family: 'bert', dims: BERT_BASE, shape: { batchSize: 32, sequenceLength: 128, promptLength: 20 } },
  { name: 'gpt2-small-b8', family: 'gpt2', dims: GPT2_SMALL, shape: { batchSize: 8, sequenceLength: 128, promptLength: 20 } },
  { name: 'studio-bert-tiny-b16', family: 'bert', embedded: 'studio-bert-tiny', shape: { batchSize: 16, sequenceLength: 64, promptLength: 20 } },
  { name: 'studio-gpt2-tiny-b16', family: 'gpt2', embedded: 'studio-gpt2-tiny', shape: { batchSize: 16, sequenceLength: 64, promptLength: 20 } },
];

export const QUICK_ROWS: RowSpec[] = [
  { name: 'bert-random-tiny', family: 'bert', dims: TINY_RANDOM, shape: { batchSize: 2, sequenceLength: 16, promptLength: 4 } },
  { name: 'gpt2-random-tiny', family: 'gpt2', dims: TINY_RANDOM, shape: { batchSize: 2, sequenceLength: 16, promptLength: 4 } },
  { name: 'studio-bert-tiny-quick', family: 'bert', embedded: 'studio-bert-tiny', shape: { batchSize: 2, sequenceLength: 16, promptLength: 4 } },
];

/** What the anchor reads: the step's exact inputs, and the loss the engine computed on them. */
export interface KitRow {
  name: string;
  family: Family;
  dir: string;
  shape: StepShape;
  /** [B][T] token ids; soft-token slots hold 0 and are replaced by the prompt rows. */
  ids: number[][];
  /** [B][T] prompt row at each position, -1 for ordinary tokens. */
  softIndex: number[][];
  /** [B] where the class is read (the mask for encoders, the last token for decoders). */
  readPosition: number[];
  labels: number[];
  labelWordIds: number[];
  learningRate: number;
  maxGradNorm: number;
  /** The engine's loss at the initial prompt (its first step's loss). */
  initialLoss: number;
  /** [B][C] the engine's label-word log-probabilities at the initial prompt (finer than the loss). */
  initialScores: number[][];
  webgpu: { msPerStep: number; tokensPerSecond: number; gflopPerStep: number; achievedGflops: number; stepsTimed: number; work: StepWork };
}

/** How a random row's checkpoint is drawn: transformers' own init spread (0.02), so activations and the loss have a real model's scale. */
export const RANDOM_CHECKPOINT = (spec: RowSpec) => ({ seed: 7, d: spec.dims, std: 0.02 });

export async function writeCheckpoint(spec: RowSpec, dir: string, modelsDir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (spec.embedded) {
    const from = join(modelsDir, spec.embedded);
    for (const f of await readdir(from)) if (/\.(json|safetensors|txt)$/.test(f)) await copyFile(join(from, f), join(dir, f));
    return;
  }
  const files = hfCheckpointFiles(spec.family, RANDOM_CHECKPOINT(spec));
  for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
}

/**
 * Writes the row's checkpoint and initial prompt under <work>/<name>/, runs the engine's step on
 * the active backend (first step: the loss the anchor must reproduce; one warm-up; `steps` timed)
 * and counts one step's work.
 */
export async function measureRow(spec: RowSpec, work: string, steps: number, modelsDir: string): Promise<KitRow> {
  const dir = join(work, spec.name);
  await writeCheckpoint(spec, dir, modelsDir);
  const loaded = await loadPretrained(await dirFolder(dir));
  const learningRate = 0.1;
  const bench = await syntheticStep(loaded.model, { ...spec.shape, seed: 1, learningRate, mode: 'verbalizer' });
  try {
    const initialPrompt = (await bench.prompt.vectors.data()) as Float32Array;
    await writeFile(join(dir, 'prompt.safetensors'), writeSafetensors({ prompt: { data: initialPrompt, shape: bench.prompt.vectors.shape } }));
    const scores = bench.scores();
    const initialScores = (await scores.array()) as number[][];
    scores.dispose();
    const first = bench.step();
    const initialLoss = (await first.data())[0];
    first.dispose();
    const warm = bench.step();
    await warm.data();
    warm.dispose();
    const ms = await msPerStep(bench, steps);
    const stepWork = await countStepWork(bench);
    const gflop = stepFlops(loaded.model.config, spec.shape) / 1e9;
    return {
      name: spec.name,
      family: spec.family,
      dir: spec.name,
      shape: spec.shape,
      ids: bench.examples.map((e) => e.encoded.ids),
      softIndex: bench.examples.map((e) => e.encoded.softIndex),
      readPosition: bench.examples.map((e) => e.encoded.maskPosition),
      labels: bench.examples.map((e) => e.label),
      labelWordIds: bench.labelWordIds,
      learningRate,
      maxGradNorm: 1,
      initialLoss,
      initialScores,
      webgpu: {
        msPerStep: ms,
        tokensPerSecond: (bench.tokensPerStep * 1000) / ms,
        gflopPerStep: gflop,
        achievedGflops: gflop / (ms / 1000),
        stepsTimed: steps,
        work: stepWork,
      },
    };
  } finally {
    bench.dispose();
    loaded.model.dispose();
  }
}

