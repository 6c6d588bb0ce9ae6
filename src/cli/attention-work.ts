/**
 * WebGPU work per prompt-tuning step with the fused attention kernels (src/model/fusedAttention.ts)
 * and with attention as plain tfjs ops: dispatches, submits, buffers and bytes moved, counted by the
 * instrumented device (gpuWorkCounts). These counts do not depend on the device, so software WebGPU
 * gives the same figures as a GPU; its times are never GPU figures, so none are printed.
 *
 *   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json npx tsx src/cli/attention-work.ts [--shape 16,64,20] [--model public/models/studio-bert-tiny]...
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { loadPretrained } from '../model/loader';
import { dirFolder, useNodeBackend } from '../node/model';
import { FUSED_ATTENTION_FLAG } from '../model/fusedAttention';
import { gpuWorkCounts, gpuWorkSince, type GpuWorkCounts } from '../model/webgpu';
import { syntheticStep } from '../engine/benchmarkStep';

const { values } = parseArgs({
  options: {
    shape: { type: 'string', default: '16,64,20' },
    model: { type: 'string', multiple: true, default: ['public/models/studio-bert-tiny', 'public/models/studio-gpt2-tiny'] },
  },
  strict: true,
});
const [batchSize, sequenceLength, promptLength] = values.shape.split(',').map(Number);
if (![batchSize, sequenceLength, promptLength].every((n) => Number.isInteger(n) && n > 0)) {
  throw new Error(`--shape is batch,sequence,soft tokens (e.g. 16,64,20); got "${values.shape}"`);
}

/** The second of two steps (the first creates Adam's slots and compiles pipelines). */
async function stepWork(step: () => tf.Scalar): Promise<GpuWorkCounts> {
  const warm = step();
  await warm.data();
  warm.dispose();
  const before = gpuWorkCounts()!;
  const loss = step();
  await loss.data();
  loss.dispose();
  return gpuWorkSince(before, gpuWorkCounts()!);
}

await useNodeBackend('webgpu');
tf.env().set('WEBGPU_CPU_FORWARD', false);
console.log(`shape (B, T, N) = ${batchSize}, ${sequenceLength}, ${promptLength}`);
for (const dir of values.model) {
  const { model } = await loadPretrained(await dirFolder(dir));
  for (const fused of [false, true]) {
    tf.env().set(FUSED_ATTENTION_FLAG, fused);
    const bench = await syntheticStep(model, { batchSize, sequenceLength, promptLength, seed: 1 });
    const w = await stepWork(bench.step);
    bench.dispose();
    console.log(`${dir} ${fused ? 'fused attention' : 'plain ops      '}: ${w.dispatches} dispatches, ${w.submits} submits, ${w.buffersCreated} buffers created, ${w.bytesUploaded} B up, ${w.bytesReadBack} B down`);
  }
  model.dispose();
}
