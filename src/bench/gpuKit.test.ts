/**
 * The GPU kit's contract with its PyTorch anchor: what a row records (batch, read positions, label
 * words, the initial prompt file) must be all it takes to recompute the engine's first-step loss.
 * Recomputed here in float64 by the independent HF reference (testing/hfCheckpoint.ts), as
 * transformers will on the GPU machine; on cpu and on Node WebGPU (SwiftShader), the backend the
 * kit times.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend, useSoftwareVulkan } from '../node/model';
import { bytesSource, readSafetensorsHeader, readTensorData } from '../model/safetensors';
import { hfConfig, randomHfWeights, referenceEmbed, referenceForward } from '../model/testing/hfCheckpoint';
import { measureRow, QUICK_ROWS, RANDOM_CHECKPOINT, type KitRow, type RowSpec } from './gpuKit';

/**
 * In float64: the label-word log-probabilities [B][C] at the read position, and the loss
 * −mean log softmax_c(scores)[label], as the anchor computes them.
 */
function reference(spec: RowSpec, row: KitRow, prompt: Float32Array): { loss: number; scores: number[][] } {
  const weights = randomHfWeights(spec.family, RANDOM_CHECKPOINT(spec).seed, RANDOM_CHECKPOINT(spec));
  const H = spec.dims!.hidden;
  const embeds = referenceEmbed(spec.family, weights, row.ids).map((seq, b) =>
    seq.map((vec, t) => (row.softIndex[b][t] >= 0 ? Array.from(prompt.subarray(row.softIndex[b][t] * H, (row.softIndex[b][t] + 1) * H)) : vec)),
  );
  const mask = row.ids.map((seq) => seq.map(() => 1));
  const { logits } = referenceForward(spec.family, weights, hfConfig(spec.family, spec.dims), embeds, mask);
  let total = 0;
  const scores: number[][] = [];
  row.labels.forEach((label, b) => {
    const z = logits![b][row.readPosition[b]];
    let max = -Infinity;
    for (const v of z) max = Math.max(max, v);
    let sum = 0;
    for (const v of z) sum += Math.exp(v - max);
    const logp = row.labelWordIds.map((id) => z[id] - max - Math.log(sum));
    scores.push(logp);
    const m = Math.max(...logp);
    const lse = m + Math.log(logp.reduce((s, v) => s + Math.exp(v - m), 0));
    total -= logp[label] - lse;
  });
  return { loss: total / row.labels.length, scores };
}

for (const backend of ['cpu', 'webgpu'] as const) {
  describe(`GPU kit rows (${backend})`, () => {
    let work: string;
    beforeAll(async () => {
      if (backend === 'webgpu') useSoftwareVulkan();
      await useNodeBackend(backend);
      work = await mkdtemp(join(tmpdir(), 'gpu-kit-'));
    });
    afterAll(async () => {
      await rm(work, { recursive: true, force: true });
    });

    for (const spec of QUICK_ROWS.filter((r) => r.dims)) {
      it(`${spec.name}: the recorded batch and prompt reproduce the engine's loss in the float64 reference`, async () => {
        const before = tf.memory().numTensors;
        const row = await measureRow(spec, work, 1, 'public/models');
        expect(tf.memory().numTensors).toBe(before);
        const file = join(work, row.dir, 'prompt.safetensors');
        const src = bytesSource(file, new Uint8Array(await readFile(file)));
        const info = (await readSafetensorsHeader(src)).tensors.get('prompt')!;
        expect(info.shape).toEqual([spec.shape.promptLength, spec.dims!.hidden]);
        const prompt = await readTensorData(src, info);
        // The soft slots are exactly the prompt's rows, in order, in every example.
        for (const soft of row.softIndex) expect(soft.filter((i) => i >= 0)).toEqual([...Array(spec.shape.promptLength).keys()]);
        expect(row.ids.every((seq) => seq.length === spec.shape.sequenceLength)).toBe(true);
        const ref = reference(spec, row, prompt);
        expect(Math.abs(row.initialLoss - ref.loss)).toBeLessThan(1e-4 * Math.max(1, row.initialLoss));
        row.initialScores.forEach((s, b) => s.forEach((v, c) => expect(Math.abs(v - ref.scores[b][c])).toBeLessThan(1e-4)));
        // The two classes' scores differ, so a swapped label or read position would show.
        expect(Math.abs(ref.scores[0][0] - ref.scores[0][1])).toBeGreaterThan(1e-3);
        expect(row.webgpu.work.kernels).toBeGreaterThan(100);
        if (backend === 'webgpu') expect(row.webgpu.work.gpu!.dispatches).toBeGreaterThan(50);
        else expect(row.webgpu.work.gpu).toBeUndefined();
      });
    }
  });
}
