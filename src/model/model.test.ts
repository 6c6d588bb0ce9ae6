/**
 * Forward outputs and input-embedding gradients of every family against the independent float64
 * reference in testing/hfCheckpoint.ts, on random checkpoints written in the exact HF layout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { loadPretrained, type LoadedModel } from './loader';
import { useNodeBackend, useSoftwareVulkan, type NodeBackendName } from '../node/model';
import { gpuWorkCounts } from './webgpu';
import {
  bf16Safetensors,
  hfCheckpointFiles,
  hfConfig,
  memFolder,
  randomHfWeights,
  referenceEmbed,
  referenceForward,
  rng,
  TINY,
  type Family,
  worstAtReal,
} from './testing/hfCheckpoint';
import { writeSafetensors, type NamedArray } from './safetensors';
import { parseConfig, toHfConfig } from './config';

const FAMILIES: Family[] = ['bert', 'roberta', 'distilbert', 'gpt2'];

/**
 * webgpu runs on Dawn over Chromium's software Vulkan (SwiftShader) here and in CI: tiny shapes
 * only. tfjs would run ops on such tiny host-side tensors on its CPU kernels (WEBGPU_CPU_FORWARD);
 * turned off, every op runs as a WGSL kernel, which is what these tests are for.
 */
async function useBackend(backend: NodeBackendName): Promise<void> {
  if (backend === 'webgpu') useSoftwareVulkan();
  expect(await useNodeBackend(backend)).toBe(backend);
  if (backend === 'webgpu') tf.env().set('WEBGPU_CPU_FORWARD', false);
}

/** Dispatches so far on the WebGPU device (0 elsewhere): proves the GPU did the work. */
function dispatches(): number {
  return gpuWorkCounts()?.dispatches ?? 0;
}

/** Ids within the tiny vocab, avoiding 0..4 (specials); batch row 1 is padded. */
function batch(family: Family, padSide: 'left' | 'right') {
  const T = 7;
  const real = [7, 4];
  const pad = family === 'roberta' ? 1 : 0;
  const ids: number[][] = [];
  const mask: number[][] = [];
  real.forEach((n, b) => {
    const toks = Array.from({ length: n }, (_, i) => 5 + ((b * 7 + i * 3) % (TINY.vocab - 5)));
    const padding = Array(T - n).fill(pad);
    const m = [...Array(n).fill(1), ...Array(T - n).fill(0)];
    ids.push(padSide === 'right' ? [...toks, ...padding] : [...padding, ...toks]);
    mask.push(padSide === 'right' ? m : [...m.slice(n), ...m.slice(0, n)]);
  });
  return { ids, mask };
}


async function load(files: Map<string, Uint8Array>): Promise<LoadedModel> {
  return loadPretrained(memFolder(files));
}

for (const backend of ['cpu', 'wasm', 'webgpu'] as const) {
  describe(`forward matches the float64 reference (${backend})`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    for (const family of FAMILIES) {
      for (const padSide of ['right', 'left'] as const) {
        it(`${family}, ${padSide} padding: hidden states and logits within 1e-4`, async () => {
          const files = hfCheckpointFiles(family, { seed: 3 });
          const weights = randomHfWeights(family, 3);
          const loaded = await load(files);
          const { ids, mask } = batch(family, padSide);
          const before = tf.memory().numTensors;
          const dispatchesBefore = dispatches();
          const { hidden, logits } = tf.tidy(() => {
            const idsT = tf.tensor2d(ids, undefined, 'int32');
            const maskT = tf.tensor2d(mask, undefined, 'int32');
            const h = loaded.model.forward({ inputsEmbeds: loaded.model.embed(idsT), attentionMask: maskT });
            return { hidden: h, logits: loaded.model.lmLogits(h) };
          });
          const ref = referenceForward(family, weights, hfConfig(family), referenceEmbed(family, weights, ids), mask);
          const hDiff = worstAtReal((await hidden.array()) as number[][][], ref.hidden, mask);
          const lDiff = worstAtReal((await logits.array()) as number[][][], ref.logits!, mask);
          hidden.dispose();
          logits.dispose();
          expect(tf.memory().numTensors).toBe(before);
          expect(hDiff).toBeLessThan(1e-4);
          expect(lDiff).toBeLessThan(1e-4);
          // On webgpu the GPU ran the forward pass: at least a matmul per projection and layer.
          if (backend === 'webgpu') expect(dispatches() - dispatchesBefore).toBeGreaterThan(6 * TINY.layers);
          // Not trivially equal: outputs differ across positions and are far from zero.
          expect(Math.abs(ref.logits![0][0][5] - ref.logits![0][1][5])).toBeGreaterThan(1e-3);
          loaded.model.dispose();
        });
      }
    }
  });
}

for (const backend of ['cpu', 'webgpu'] as const) describe(`gradients with respect to inputsEmbeds (${backend})`, () => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  for (const family of FAMILIES) {
    it(`${family}: tf.grad matches central finite differences of the float64 reference`, async () => {
      const weights = randomHfWeights(family, 5);
      const loaded = await load(hfCheckpointFiles(family, { seed: 5 }));
      const { mask } = batch(family, family === 'gpt2' ? 'left' : 'right');
      const B = mask.length;
      const T = mask[0].length;
      const H = TINY.hidden;
      const V = TINY.vocab;
      const r = rng(11);
      const embeds = Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: H }, () => 0.5 * r())));
      // loss = sum over real positions of <hidden, R1> + <logits, R2>, with fixed random R1, R2.
      const R1 = Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: H }, () => r())));
      const R2 = Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: V }, () => r())));
      const refLoss = (e: number[][][]) => {
        const out = referenceForward(family, weights, hfConfig(family), e, mask);
        let s = 0;
        for (let b = 0; b < B; b++)
          for (let t = 0; t < T; t++) {
            if (!mask[b][t]) continue;
            for (let h = 0; h < H; h++) s += out.hidden[b][t][h] * R1[b][t][h];
            for (let v = 0; v < V; v++) s += out.logits![b][t][v] * R2[b][t][v];
          }
        return s;
      };
      const maskT = tf.tensor2d(mask, undefined, 'int32');
      const m3 = tf.tensor3d(mask.map((row) => row.map((x) => [x])));
      const r1 = tf.tensor3d(R1);
      const r2 = tf.tensor3d(R2);
      const lossFn = (e: tf.Tensor) => {
        const h = loaded.model.forward({ inputsEmbeds: e as tf.Tensor3D, attentionMask: maskT });
        const l = loaded.model.lmLogits(h);
        return tf.add(tf.sum(tf.mul(tf.mul(h, r1), m3)), tf.sum(tf.mul(tf.mul(l, r2), m3))) as tf.Scalar;
      };
      const dispatchesBefore = dispatches();
      const g = tf.grad(lossFn)(tf.tensor3d(embeds));
      const grad = (await g.array()) as number[][][];
      if (backend === 'webgpu') expect(dispatches() - dispatchesBefore).toBeGreaterThan(12 * TINY.layers); // forward and backward on the GPU
      tf.dispose([g, maskT, m3, r1, r2]);
      const eps = 1e-5;
      // Coordinates at real positions of both rows, including the first (padded) row's first real token.
      const coords: [number, number, number][] = [];
      for (let k = 0; k < 8; k++) {
        const b = k % B;
        const realTs = mask[b].map((m, t) => (m ? t : -1)).filter((t) => t >= 0);
        coords.push([b, realTs[(k * 3) % realTs.length], (k * 5) % H]);
      }
      for (const [b, t, h] of coords) {
        const plus = embeds.map((x) => x.map((y) => [...y]));
        const minus = embeds.map((x) => x.map((y) => [...y]));
        plus[b][t][h] += eps;
        minus[b][t][h] -= eps;
        const fd = (refLoss(plus) - refLoss(minus)) / (2 * eps);
        expect(Math.abs(grad[b][t][h] - fd)).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
      }
      // Padding positions get (almost) no gradient: nothing attends to them.
      const padT = mask[1].findIndex((m) => m === 0);
      expect(Math.abs(grad[1][padT][0])).toBeLessThan(1e-5);
      loaded.model.dispose();
    });
  }
});

describe('checkpoint variants', () => {
  beforeAll(async () => {
    await useNodeBackend('cpu');
  });

  it('a plain BertModel checkpoint (no prefix, no MLM head) loads for hidden states; lmLogits names the missing tensors', async () => {
    const weights = randomHfWeights('bert', 2, { withHead: false });
    const loaded = await load(hfCheckpointFiles('bert', { seed: 2, withHead: false }));
    expect(loaded.model.hasLmHead).toBe(false);
    const { ids, mask } = batch('bert', 'right');
    const h = tf.tidy(() =>
      loaded.model.forward({ inputsEmbeds: loaded.model.embed(tf.tensor2d(ids, undefined, 'int32')), attentionMask: tf.tensor2d(mask, undefined, 'int32') }),
    );
    const ref = referenceForward('bert', weights, hfConfig('bert'), referenceEmbed('bert', weights, ids, false), mask);
    expect(worstAtReal((await h.array()) as number[][][], ref.hidden, mask)).toBeLessThan(1e-4);
    expect(() => loaded.model.lmLogits(h)).toThrow(/no masked-LM head.*cls\.predictions\.transform\.dense\.weight.*cls\.predictions\.bias/);
    h.dispose();
    loaded.model.dispose();
  });

  it('the MLM decoder: its own tensor when config.json unties it, the word embeddings otherwise (as transformers ties)', async () => {
    const weights = randomHfWeights('bert', 8);
    const decoderRows = weights['bert.embeddings.word_embeddings.weight'];
    const r = rng(80);
    const decoder: NamedArray = { shape: decoderRows.shape, data: Float32Array.from(decoderRows.data, () => (r() - 0.5) * 0.2) };
    const withDecoder = writeSafetensors({ ...weights, 'cls.predictions.decoder.weight': decoder });
    const enc = new TextEncoder();
    const checkpoint = (tie: boolean | undefined, safetensors: Uint8Array) => {
      const files = hfCheckpointFiles('bert', { seed: 8 });
      const config = { ...hfConfig('bert'), ...(tie === undefined ? {} : { tie_word_embeddings: tie }) };
      files.set('config.json', enc.encode(JSON.stringify(config)));
      files.set('model.safetensors', safetensors);
      return { files, config };
    };
    const { ids, mask } = batch('bert', 'right');
    const logitsOf = async (m: LoadedModel) => {
      const out = tf.tidy(() =>
        m.model.lmLogits(m.model.forward({ inputsEmbeds: m.model.embed(tf.tensor2d(ids, undefined, 'int32')), attentionMask: tf.tensor2d(mask, undefined, 'int32') })),
      );
      const arr = (await out.array()) as number[][][];
      out.dispose();
      m.model.dispose();
      return arr;
    };
    const embeds = referenceEmbed('bert', weights, ids);
    const all = { ...weights, 'cls.predictions.decoder.weight': decoder };

    const untied = checkpoint(false, withDecoder);
    // config.json round trip (what `npm run pretrain -- --untied-decoder` writes).
    expect(toHfConfig(parseConfig(untied.config)).tie_word_embeddings).toBe(false);
    expect('tie_word_embeddings' in toHfConfig(parseConfig(hfConfig('bert')))).toBe(false);
    const untiedRef = referenceForward('bert', all, untied.config, embeds, mask).logits!;
    const tiedRef = referenceForward('bert', all, hfConfig('bert'), embeds, mask).logits!;
    const untiedLogits = await logitsOf(await load(untied.files));
    expect(worstAtReal(untiedLogits, untiedRef, mask)).toBeLessThan(1e-4);
    expect(worstAtReal(untiedLogits, tiedRef, mask)).toBeGreaterThan(1e-2);
    // Tied (the default) with a stray decoder copy in the file: the word embeddings decide.
    const tied = checkpoint(undefined, withDecoder);
    expect(worstAtReal(await logitsOf(await load(tied.files)), tiedRef, mask)).toBeLessThan(1e-4);
    // Untied without the tensor: no MLM head, and the error names it.
    const missing = await load(checkpoint(false, writeSafetensors(weights)).files);
    expect(missing.model.hasLmHead).toBe(false);
    expect(() => tf.tidy(() => missing.model.lmLogits(tf.zeros([1, hfConfig('bert').hidden_size as number])))).toThrow(/cls\.predictions\.decoder\.weight/);
    missing.model.dispose();
  });

  it('GPT-2 keys without the "transformer." prefix (as the original gpt2 checkpoint stores them) give the same outputs', async () => {
    const withPrefix = await load(hfCheckpointFiles('gpt2', { seed: 4 }));
    const weights = randomHfWeights('gpt2', 4);
    const stripped: Record<string, NamedArray> = {};
    for (const [k, v] of Object.entries(weights)) stripped[k.replace(/^transformer\./, '')] = v;
    const files = hfCheckpointFiles('gpt2', { seed: 4 });
    files.set('model.safetensors', writeSafetensors(stripped));
    const without = await load(files);
    const { ids, mask } = batch('gpt2', 'left');
    const run = (m: LoadedModel) =>
      tf.tidy(() => m.model.lmLogits(m.model.forward({ inputsEmbeds: m.model.embed(tf.tensor2d(ids, undefined, 'int32')), attentionMask: tf.tensor2d(mask, undefined, 'int32') })));
    const a = run(withPrefix);
    const b = run(without);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBe(0);
    tf.dispose([a, b]);
    withPrefix.model.dispose();
    without.model.dispose();
  });

  it('a sharded checkpoint (model.safetensors.index.json) loads the same weights and hashes differently from one file', async () => {
    const single = hfCheckpointFiles('bert', { seed: 6 });
    const weights = randomHfWeights('bert', 6);
    const names = Object.keys(weights);
    const half = Math.floor(names.length / 2);
    const shard1: Record<string, NamedArray> = {};
    const shard2: Record<string, NamedArray> = {};
    const weightMap: Record<string, string> = {};
    names.forEach((n, i) => {
      const file = i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors';
      (i < half ? shard1 : shard2)[n] = weights[n];
      weightMap[n] = file;
    });
    const sharded = new Map(single);
    sharded.delete('model.safetensors');
    sharded.set('model-00001-of-00002.safetensors', writeSafetensors(shard1));
    sharded.set('model-00002-of-00002.safetensors', writeSafetensors(shard2));
    sharded.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ metadata: {}, weight_map: weightMap })));
    const a = await load(single);
    const b = await load(sharded);
    const { ids, mask } = batch('bert', 'right');
    const run = (m: LoadedModel) =>
      tf.tidy(() => m.model.lmLogits(m.model.forward({ inputsEmbeds: m.model.embed(tf.tensor2d(ids, undefined, 'int32')), attentionMask: tf.tensor2d(mask, undefined, 'int32') })));
    const la = run(a);
    const lb = run(b);
    expect(tf.max(tf.abs(tf.sub(la, lb))).dataSync()[0]).toBe(0);
    expect(a.checkpointHash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.checkpointHash).not.toBe(a.checkpointHash);
    tf.dispose([la, lb]);
    a.model.dispose();
    b.model.dispose();
  });

  it('BF16 weights are widened to float32 (outputs match the reference run on the rounded weights)', async () => {
    const weights = randomHfWeights('distilbert', 8);
    // Every weight rounded to bf16 for the reference, the raw bf16 bits in the checkpoint.
    const { file, rounded } = bf16Safetensors(weights);
    const files = hfCheckpointFiles('distilbert', { seed: 8 });
    files.set('model.safetensors', file);
    const loaded = await load(files);
    const { ids, mask } = batch('distilbert', 'right');
    const logits = tf.tidy(() =>
      loaded.model.lmLogits(loaded.model.forward({ inputsEmbeds: loaded.model.embed(tf.tensor2d(ids, undefined, 'int32')), attentionMask: tf.tensor2d(mask, undefined, 'int32') })),
    );
    const ref = referenceForward('distilbert', rounded, hfConfig('distilbert'), referenceEmbed('distilbert', rounded, ids), mask);
    const refUnrounded = referenceForward('distilbert', weights, hfConfig('distilbert'), referenceEmbed('distilbert', weights, ids), mask);
    const got = (await logits.array()) as number[][][];
    expect(worstAtReal(got, ref.logits!, mask)).toBeLessThan(1e-4);
    // bf16 rounding is visible, so the test above really read bf16 bits.
    expect(worstAtReal(got, refUnrounded.logits!, mask)).toBeGreaterThan(1e-4);
    logits.dispose();
    loaded.model.dispose();
  });
});

afterAll(() => {
  tf.disposeVariables();
});
