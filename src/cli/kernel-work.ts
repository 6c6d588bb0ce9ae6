/**
 * WebGPU dispatches per prompt-tuning step, by tfjs program, with every fused kernel off (plain
 * ops), with only the fused attention (fusedAttention.ts) and with the fused layers as well
 * (fusedLayers.ts): the profile that says which ops to fuse next. Counts are device-independent, so
 * software WebGPU gives the same figures as a GPU.
 *
 *   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json npx tsx src/cli/kernel-work.ts [--shape 16,64,20] [--model public/models/studio-bert-tiny]... [--programs]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { loadPretrained } from '../model/loader';
import { dirFolder, useNodeBackend } from '../node/model';
import { FUSED_ATTENTION_FLAG } from '../model/fusedAttention';
import { FUSED_LAYERS_FLAG } from '../model/fusedLayers';
import { syntheticStep } from '../engine/benchmarkStep';

const { values } = parseArgs({
  options: {
    shape: { type: 'string', default: '16,64,20' },
    model: { type: 'string', multiple: true, default: ['public/models/studio-bert-tiny', 'public/models/studio-gpt2-tiny'] },
    programs: { type: 'boolean', default: false },
  },
  strict: true,
});
const [batchSize, sequenceLength, promptLength] = values.shape.split(',').map(Number);
if (![batchSize, sequenceLength, promptLength].every((n) => Number.isInteger(n) && n > 0)) {
  throw new Error(`--shape is batch,sequence,soft tokens (e.g. 16,64,20); got "${values.shape}"`);
}

await useNodeBackend('webgpu');
tf.env().set('WEBGPU_CPU_FORWARD', false);

// Every dispatch goes through runWebGPUProgram once: count them by program class while `counting`.
const backend = tf.backend() as unknown as WebGPUBackend;
const runProgram = backend.runWebGPUProgram.bind(backend);
let counting: Map<string, number> | null = null;
backend.runWebGPUProgram = (program, ...rest) => {
  if (counting) counting.set(program.constructor.name, (counting.get(program.constructor.name) ?? 0) + 1);
  return runProgram(program, ...rest);
};

const CONFIGS = [
  { name: 'plain ops', attention: false, layers: false },
  { name: 'fused attention', attention: true, layers: false },
  { name: 'fused attention + layers', attention: true, layers: true },
];

console.log(`shape (B, T, N) = ${batchSize}, ${sequenceLength}, ${promptLength}`);
for (const dir of values.model) {
  const { model } = await loadPretrained(await dirFolder(dir));
  for (const config of CONFIGS) {
    tf.env().set(FUSED_ATTENTION_FLAG, config.attention);
    tf.env().set(FUSED_LAYERS_FLAG, config.layers);
    const bench = await syntheticStep(model, { batchSize, sequenceLength, promptLength, seed: 1 });
    // The second step (the first creates Adam's slots and compiles pipelines).
    const warm = bench.step();
    await warm.data();
    warm.dispose();
    const programs = new Map<string, number>();
    counting = programs;
    const loss = bench.step();
    counting = null;
    await loss.data();
    loss.dispose();
    bench.dispose();
    const total = [...programs.values()].reduce((a, n) => a + n, 0);
    console.log(`${dir} ${config.name}: ${total} dispatches per step`);
    if (values.programs) {
      for (const [name, n] of [...programs].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(5)}  ${name}`);
    }
  }
  model.dispose();
}
