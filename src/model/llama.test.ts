/**
 * The Llama family (llama, mistral, qwen2, qwen3) against the independent float64 reference in
 * testing/llamaCheckpoint.ts, on random checkpoints written in the exact HF layout of each type:
 * forward with left padding, keys and values, prefixes, gradients, BF16 and sharded weights, errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { loadPretrained, type LoadedModel } from './loader';
import { useNodeBackend, useSoftwareVulkan } from '../node/model';
import { gpuWorkCounts } from './webgpu';
import { withLayerRecomputation } from './checkpointing';
import { setBindingLimitOverride } from './vocabShards';
import { ConfigError, parseConfig, toHfConfig } from './config';
import { writeSafetensors } from './safetensors';
import { prefixWidth } from './types';
import { memFolder, rng, worstAtReal, type HfTensors } from './testing/hfCheckpoint';
import {
  bf16Safetensors,
  LLAMA_CASES,
  llamaCheckpointFiles,
  llamaHfConfig,
  llamaReferenceEmbed,
  llamaReferenceForward,
  randomLlamaWeights,
  type LlamaCase,
} from './testing/llamaCheckpoint';

const CASES = Object.entries(LLAMA_CASES) as [string, LlamaCase][];

/** Two rows of T = 8; the second left-padded to 5 real tokens. Ids avoid the specials 0..2. */
function leftPadded(T = 8) {
  const real = [T, 5];
  const ids = real.map((n, b) => [...Array(T - n).fill(0), ...Array.from({ length: n }, (_, i) => 3 + ((b * 37 + i * 53) % 260))]);
  const mask = real.map((n) => [...Array(T - n).fill(0), ...Array(n).fill(1)]);
  return { ids, mask };
}

async function load(files: Map<string, Uint8Array>): Promise<LoadedModel> {
  return loadPretrained(memFolder(files, 'mem://llama'));
}

/** Hidden states, logits and keys/values of `model` on embeds/mask (and prefix), read back. */
async function run(model: LoadedModel['model'], embeds: number[][][], mask: number[][], prefix?: number[][]) {
  const [h, l, kv] = tf.tidy(() => {
    const inputs = { inputsEmbeds: tf.tensor3d(embeds), attentionMask: tf.tensor2d(mask, undefined, 'int32'), ...(prefix ? { prefix: tf.tensor2d(prefix) } : {}) };
    const hidden = model.forward(inputs);
    return [hidden, model.lmLogits(hidden), model.keyValues(inputs)];
  });
  const out = { hidden: (await h.array()) as number[][][], logits: (await l.array()) as number[][][], keyValues: (await kv.array()) as number[][][] };
  tf.dispose([h, l, kv]);
  return out;
}

for (const backend of ['cpu', 'wasm', 'webgpu'] as const) {
  describe(`Llama family forward matches the float64 reference (${backend})`, () => {
    beforeAll(async () => {
      // webgpu: Dawn over software Vulkan; tfjs's CPU hand-off of tiny ops is turned off so every op is a WGSL kernel.
      if (backend === 'webgpu') useSoftwareVulkan();
      expect(await useNodeBackend(backend)).toBe(backend);
      if (backend === 'webgpu') tf.env().set('WEBGPU_CPU_FORWARD', false);
    });

    it.each(CASES)('%s: hidden states, logits and keys/values within 1e-4, left padding', async (_, c) => {
      const weights = randomLlamaWeights(c, 4);
      const loaded = await load(llamaCheckpointFiles(c, { seed: 4 }));
      expect(loaded.config.modelType).toBe(c.type);
      const { ids, mask } = leftPadded();
      const embeds = llamaReferenceEmbed(weights, ids);
      const expected = llamaReferenceForward(weights, llamaHfConfig(c), embeds, mask);
      const before = tf.memory().numTensors;
      const dispatches = gpuWorkCounts()?.dispatches ?? 0;
      const got = await run(loaded.model, embeds, mask);
      expect(tf.memory().numTensors).toBe(before);
      if (backend === 'webgpu') expect((gpuWorkCounts()?.dispatches ?? 0) - dispatches).toBeGreaterThan(20 * c.layers); // the GPU did the work
      expect(worstAtReal(got.hidden, expected.hidden, mask)).toBeLessThan(1e-4);
      expect(worstAtReal(got.logits, expected.logits, mask)).toBeLessThan(1e-4);
      expect(got.keyValues[0][0].length).toBe(prefixWidth(loaded.config));
      expect(worstAtReal(got.keyValues, expected.keyValues, mask)).toBeLessThan(1e-4);
      // Left padding really is position-free: the padded row's outputs equal that row run alone.
      const alone = llamaReferenceForward(weights, llamaHfConfig(c), [embeds[1].slice(3)], [mask[1].slice(3)]);
      expect(worstAtReal([got.logits[1].slice(3)], alone.logits, [mask[1].slice(3)])).toBeLessThan(1e-4);
      loaded.model.dispose();
    });
  });
}

describe('Llama family switches change the computation (so the tests above see them)', () => {
  beforeAll(async () => {
    await useNodeBackend('cpu');
  });

  const differs = (c: LlamaCase, change: (cfg: Record<string, unknown>) => Record<string, unknown>) => {
    const weights = randomLlamaWeights(c, 4);
    const { ids, mask } = leftPadded();
    const embeds = llamaReferenceEmbed(weights, ids);
    const a = llamaReferenceForward(weights, llamaHfConfig(c), embeds, mask);
    const b = llamaReferenceForward(weights, change(llamaHfConfig(c)), embeds, mask);
    return worstAtReal(
      a.logits.map((r) => r.map((v) => Array.from(v))),
      b.logits,
      mask,
    );
  };

  it('rope_scaling llama3 and linear, and rope_theta, move the logits', () => {
    expect(differs(LLAMA_CASES.llamaMqaLlama3, (cfg) => ({ ...cfg, rope_scaling: null }))).toBeGreaterThan(1e-3);
    expect(differs(LLAMA_CASES.llamaLinear, (cfg) => ({ ...cfg, rope_scaling: null }))).toBeGreaterThan(1e-3);
    expect(differs(LLAMA_CASES.llamaGqa, (cfg) => ({ ...cfg, rope_theta: 500000 }))).toBeGreaterThan(1e-3);
  });

  it('rotaryInverseFrequencies: the llama3 case has frequencies kept, blended and divided', async () => {
    const { rotaryInverseFrequencies } = await import('./llama');
    const cfg = parseConfig(llamaHfConfig(LLAMA_CASES.llamaMqaLlama3));
    const f = rotaryInverseFrequencies(cfg); // theta 100, head dim 8: 1, 100^-1/4, 100^-1/2, 100^-3/4
    const base = [0, 1, 2, 3].map((i) => 100 ** (-i / 4));
    expect(f[0]).toBeCloseTo(base[0], 6); // wavelength 6.3 < 64 / 4: kept
    expect(f[3]).toBeCloseTo(base[3] / 8, 6); // wavelength 199 > 64: divided by the factor
    // In between: blended by where 64 / wavelength falls between low (1) and high (4).
    const t = (64 / ((2 * Math.PI) / base[1]) - 1) / 3;
    expect(f[1]).toBeCloseTo((1 - t) * (base[1] / 8) + t * base[1], 6);
    expect(f[1]).toBeLessThan(base[1]);
    expect(f[1]).toBeGreaterThan(base[1] / 8);
  });
});

describe('Llama family prefixes (grouped-query attention)', () => {
  beforeAll(async () => {
    await useNodeBackend('cpu');
  });

  for (const name of ['llamaGqa', 'llamaMqaLlama3', 'qwen3HeadDim'] as const) {
    const c: LlamaCase = LLAMA_CASES[name];
    it(`${name}: a prefix holding keyValues() of real tokens gives the outputs of the sequence with those tokens first`, async () => {
      const loaded = await load(llamaCheckpointFiles(c, { seed: 6 }));
      const model = loaded.model;
      const full = [[7, 120, 5, 30, 210, 9, 16]];
      const P = 3;
      const before = tf.memory().numTensors;
      const [whole, rest, kvShape] = tf.tidy(() => {
        const ids = tf.tensor2d(full, undefined, 'int32');
        const inputs = { inputsEmbeds: model.embed(ids), attentionMask: tf.onesLike(ids) };
        const hidden = model.forward(inputs); // [1, 7, H]
        const kv = model.keyValues(inputs); // [1, 7, L * 2 * nkv * hd]
        const prefix = kv.slice([0, 0, 0], [1, P, -1]).reshape([P, -1]) as tf.Tensor2D;
        const tail = tf.tensor2d([full[0].slice(P)], undefined, 'int32');
        const withPrefix = model.forward({ inputsEmbeds: model.embed(tail), attentionMask: tf.onesLike(tail), prefix });
        return [hidden.slice([0, P, 0], [1, -1, -1]), withPrefix, tf.tensor1d(kv.shape)];
      });
      const [a, b, shape] = await Promise.all([whole.array(), rest.array(), kvShape.array()]);
      tf.dispose([whole, rest, kvShape]);
      expect(tf.memory().numTensors).toBe(before);
      const kvw = (c.headDim ?? c.hidden / c.heads) * c.kvHeads;
      expect(shape).toEqual([1, 7, c.layers * 2 * kvw]); // PEFT's GQA layout: key/value heads only
      expect(worstAtReal(b as number[][][], a as number[][][], [[1, 1, 1, 1]])).toBeLessThan(1e-4);
      model.dispose();
    });
  }

  it('llamaGqa: a random prefix matches the reference (keys used as given, positions after P, left padding)', async () => {
    const c = LLAMA_CASES.llamaGqa;
    const weights = randomLlamaWeights(c, 6);
    const loaded = await load(llamaCheckpointFiles(c, { seed: 6 }));
    const { ids, mask } = leftPadded();
    const r = rng(21);
    const width = prefixWidth(loaded.config);
    const prefix = Array.from({ length: 3 }, () => Array.from({ length: width }, () => 0.5 * r()));
    const embeds = llamaReferenceEmbed(weights, ids);
    const expected = llamaReferenceForward(weights, llamaHfConfig(c), embeds, mask, prefix);
    const got = await run(loaded.model, embeds, mask, prefix);
    expect(worstAtReal(got.logits, expected.logits, mask)).toBeLessThan(1e-4);
    const plain = llamaReferenceForward(weights, llamaHfConfig(c), embeds, mask);
    expect(worstAtReal(got.logits, plain.logits, mask)).toBeGreaterThan(1e-2);
    // A prefix of the full hidden width (the non-GQA layout) is refused with the expected shape.
    expect(() => loaded.model.forward({ inputsEmbeds: tf.tensor3d(embeds), attentionMask: tf.tensor2d(mask, undefined, 'int32'), prefix: tf.zeros([3, c.layers * 2 * c.hidden]) as tf.Tensor2D })).toThrow(
      `[P, ${width}]`,
    );
    loaded.model.dispose();
  });
});

for (const backend of ['cpu', 'webgpu'] as const) describe(`Llama family gradients with respect to inputsEmbeds (${backend})`, () => {
  beforeAll(async () => {
    if (backend === 'webgpu') useSoftwareVulkan();
    expect(await useNodeBackend(backend)).toBe(backend);
    if (backend === 'webgpu') tf.env().set('WEBGPU_CPU_FORWARD', false);
  });

  for (const name of ['llamaGqa', 'qwen3HeadDim', 'qwen2Tied'] as const) {
    const c: LlamaCase = LLAMA_CASES[name];
    it(`${name}: tf.grad matches central finite differences of the float64 reference`, async () => {
      const weights = randomLlamaWeights(c, 5);
      const loaded = await load(llamaCheckpointFiles(c, { seed: 5 }));
      const { mask } = leftPadded(6);
      const B = mask.length;
      const T = mask[0].length;
      const H = c.hidden;
      const V = c.vocab;
      const r = rng(11);
      const embeds = Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: H }, () => 0.5 * r())));
      const R1 = Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: H }, () => r())));
      const R2 = Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: V }, () => 0.1 * r())));
      // loss = sum over real positions of <hidden, R1> + <logits, R2>.
      const refLoss = (e: number[][][]) => {
        const out = llamaReferenceForward(weights, llamaHfConfig(c), e, mask);
        let s = 0;
        for (let b = 0; b < B; b++)
          for (let t = 0; t < T; t++) {
            if (!mask[b][t]) continue;
            for (let h = 0; h < H; h++) s += out.hidden[b][t][h] * R1[b][t][h];
            for (let v = 0; v < V; v++) s += out.logits[b][t][v] * R2[b][t][v];
          }
        return s;
      };
      const maskT = tf.tensor2d(mask, undefined, 'int32');
      const m3 = tf.tensor3d(mask.map((row) => row.map((x) => [x])));
      const r1 = tf.tensor3d(R1);
      const r2 = tf.tensor3d(R2);
      const e0 = tf.tensor3d(embeds);
      const lossFn = (e: tf.Tensor) => {
        const h = loaded.model.forward({ inputsEmbeds: e as tf.Tensor3D, attentionMask: maskT });
        return tf.add(tf.sum(tf.mul(tf.mul(h, r1), m3)), tf.sum(tf.mul(tf.mul(loaded.model.lmLogits(h), r2), m3))) as tf.Scalar;
      };
      const g = tf.grad(lossFn)(e0);
      const grad = (await g.array()) as number[][][];
      tf.dispose([g, maskT, m3, r1, r2, e0]);
      const eps = 1e-5;
      for (let k = 0; k < 8; k++) {
        const b = k % B;
        const realTs = mask[b].map((m, t) => (m ? t : -1)).filter((t) => t >= 0);
        const [t, h] = [realTs[(k * 3) % realTs.length], (k * 5) % H];
        const plus = embeds.map((x) => x.map((y) => [...y]));
        const minus = embeds.map((x) => x.map((y) => [...y]));
        plus[b][t][h] += eps;
        minus[b][t][h] -= eps;
        const fd = (refLoss(plus) - refLoss(minus)) / (2 * eps);
        expect(Math.abs(grad[b][t][h] - fd)).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
      }
      // Left padding gets no gradient: nothing attends to it.
      expect(Math.abs(grad[1][0][0])).toBeLessThan(1e-5);
      loaded.model.dispose();
    });
  }
});

describe('Llama family checkpoints', () => {
  beforeAll(async () => {
    await useNodeBackend('cpu');
  });
  afterAll(() => tf.disposeVariables());

  it('BF16 weights in two shards (model.safetensors.index.json) load widened to float32', async () => {
    const c = LLAMA_CASES.llamaGqa;
    const weights = randomLlamaWeights(c, 8);
    const names = Object.keys(weights);
    const halves = [names.slice(0, names.length / 2), names.slice(names.length / 2)];
    const files = llamaCheckpointFiles(c, { seed: 8 });
    files.delete('model.safetensors');
    const rounded: HfTensors = {};
    const weightMap: Record<string, string> = {};
    halves.forEach((part, s) => {
      const shard = `model-0000${s + 1}-of-00002.safetensors`;
      const { file, rounded: r } = bf16Safetensors(Object.fromEntries(part.map((n) => [n, weights[n]])));
      Object.assign(rounded, r);
      part.forEach((n) => (weightMap[n] = shard));
      files.set(shard, file);
    });
    files.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap })));
    // Negative weights exist, so the sign bit of bf16 is exercised.
    expect(weights['model.embed_tokens.weight'].data.some((x) => x < 0)).toBe(true);
    const loaded = await load(files);
    expect(loaded.weightDtypes).toEqual(['BF16']); // as stored (the model panel says so), not the float32 on the device
    const { ids, mask } = leftPadded();
    const got = await run(loaded.model, llamaReferenceEmbed(rounded, ids), mask);
    const ref = llamaReferenceForward(rounded, llamaHfConfig(c), llamaReferenceEmbed(rounded, ids), mask);
    expect(worstAtReal(got.logits, ref.logits, mask)).toBeLessThan(1e-4);
    // The embedding table holds exactly the bf16 values.
    const table = await loaded.model.wordEmbeddings.data();
    expect(Array.from(table.slice(0, 64))).toEqual(Array.from(rounded['model.embed_tokens.weight'].data.slice(0, 64)));
    const unrounded = llamaReferenceForward(weights, llamaHfConfig(c), llamaReferenceEmbed(rounded, ids), mask);
    expect(worstAtReal(got.logits, unrounded.logits, mask)).toBeGreaterThan(1e-4);
    loaded.model.dispose();
  });

  it('tie_word_embeddings: tied uses embed_tokens (a stray lm_head.weight is ignored); untied without lm_head loads but cannot score', async () => {
    const tied = LLAMA_CASES.qwen2Tied;
    const weights = randomLlamaWeights(tied, 9);
    const stray = { ...weights, 'lm_head.weight': { data: new Float32Array(tied.vocab * tied.hidden).fill(7), shape: [tied.vocab, tied.hidden] } };
    const a = await load(llamaCheckpointFiles(tied, { tensors: stray }));
    expect(a.model.hasLmHead).toBe(true);
    const { ids, mask } = leftPadded();
    const got = await run(a.model, llamaReferenceEmbed(weights, ids), mask);
    expect(worstAtReal(got.logits, llamaReferenceForward(weights, llamaHfConfig(tied), llamaReferenceEmbed(weights, ids), mask).logits, mask)).toBeLessThan(1e-4);
    a.model.dispose();

    const untied = LLAMA_CASES.llamaGqa;
    const headless = randomLlamaWeights(untied, 9);
    delete headless['lm_head.weight'];
    const b = await load(llamaCheckpointFiles(untied, { tensors: headless }));
    expect(b.model.hasLmHead).toBe(false);
    expect(() => b.model.lmLogits(tf.zeros([1, untied.hidden]))).toThrow(/lm_head\.weight/);
    b.model.dispose();
  });

  it('checkpoints without the "model." prefix (a bare LlamaModel) load the same weights', async () => {
    const c = LLAMA_CASES.qwen3HeadDim;
    const weights = randomLlamaWeights(c, 10);
    const bare = Object.fromEntries(Object.entries(weights).map(([n, t]) => [n.replace(/^model\./, ''), t]));
    const loaded = await load(llamaCheckpointFiles(c, { tensors: bare }));
    const { ids, mask } = leftPadded();
    const got = await run(loaded.model, llamaReferenceEmbed(weights, ids), mask);
    expect(worstAtReal(got.hidden, llamaReferenceForward(weights, llamaHfConfig(c), llamaReferenceEmbed(weights, ids), mask).hidden, mask)).toBeLessThan(1e-4);
    loaded.model.dispose();
  });

  it('names a missing tensor, and a tensor of the wrong shape with both shapes', async () => {
    const c = LLAMA_CASES.qwen2Tied;
    const missing = randomLlamaWeights(c, 2);
    delete missing['model.layers.1.self_attn.k_proj.bias'];
    await expect(load(llamaCheckpointFiles(c, { tensors: missing }))).rejects.toThrow(/layers\.1\.self_attn\.k_proj\.bias/);
    const c3 = LLAMA_CASES.qwen3HeadDim;
    const wrong = randomLlamaWeights(c3, 2);
    // k_proj as if head_dim were hidden / heads (4) instead of 6.
    wrong['model.layers.0.self_attn.k_proj.weight'] = { data: new Float32Array(8 * 16), shape: [8, 16] };
    await expect(load(llamaCheckpointFiles(c3, { tensors: wrong }))).rejects.toThrow(
      /model\.layers\.0\.self_attn\.k_proj\.weight" has shape \[8, 16\], expected \[12, 16\]/,
    );
  });

  it('positions past the first rotary table (max_position_embeddings 64) grow it: a 70-token row still matches, tensor count unchanged', async () => {
    const c = LLAMA_CASES.llamaMqaLlama3;
    const weights = randomLlamaWeights(c, 12);
    const loaded = await load(llamaCheckpointFiles(c, { seed: 12 }));
    const ids = [Array.from({ length: 70 }, (_, i) => 3 + ((i * 29) % 260))];
    const mask = [ids[0].map(() => 1)];
    const embeds = llamaReferenceEmbed(weights, ids);
    const before = tf.memory().numTensors;
    const got = await run(loaded.model, embeds, mask);
    expect(tf.memory().numTensors).toBe(before);
    expect(worstAtReal(got.logits, llamaReferenceForward(weights, llamaHfConfig(c), embeds, mask).logits, mask)).toBeLessThan(1e-4);
    loaded.model.dispose();
  });

  it('embed_tokens and an untied lm_head split into shards over a small binding limit give the same outputs', async () => {
    const c = LLAMA_CASES.llamaGqa;
    const weights = randomLlamaWeights(c, 13);
    setBindingLimitOverride(100 * c.hidden * 4); // 100 rows per shard: 3 shards of the 272-row tables
    let loaded: LoadedModel;
    try {
      loaded = await load(llamaCheckpointFiles(c, { seed: 13 }));
    } finally {
      setBindingLimitOverride(null);
    }
    // The tables really are in shards (private fields, read here only to prove the test exercises them).
    const tables = loaded.model as unknown as { wordTable: { shards: unknown[] }; lmHead: { shards: unknown[] } };
    expect([tables.wordTable.shards.length, tables.lmHead.shards.length]).toEqual([3, 3]);
    const { ids, mask } = leftPadded();
    const refEmbeds = llamaReferenceEmbed(weights, ids);
    const expected = llamaReferenceForward(weights, llamaHfConfig(c), refEmbeds, mask);
    const [embedded, logits] = tf.tidy(() => {
      const e = loaded.model.embed(tf.tensor2d(ids, undefined, 'int32'));
      return [e, loaded.model.lmLogits(loaded.model.forward({ inputsEmbeds: e, attentionMask: tf.tensor2d(mask, undefined, 'int32') }))];
    });
    expect(worstAtReal((await embedded.array()) as number[][][], refEmbeds, mask)).toBe(0);
    expect(worstAtReal((await logits.array()) as number[][][], expected.logits, mask)).toBeLessThan(1e-4);
    tf.dispose([embedded, logits]);
    loaded.model.dispose();
  });

  it('layer recomputation (gradient checkpointing) gives the same input and prefix gradients, no tensor left', async () => {
    const c = LLAMA_CASES.qwen3HeadDim;
    const loaded = await load(llamaCheckpointFiles(c, { seed: 14 }));
    const model = loaded.model;
    const r = rng(5);
    const { mask } = leftPadded(6);
    const embeds = tf.tensor3d(mask.map((row) => row.map(() => Array.from({ length: c.hidden }, () => 0.5 * r()))));
    const prefix = tf.tensor2d(Array.from({ length: 2 }, () => Array.from({ length: prefixWidth(loaded.config) }, () => 0.5 * r())));
    const maskT = tf.tensor2d(mask, undefined, 'int32');
    const loss = (e: tf.Tensor, p: tf.Tensor) => tf.sum(tf.square(model.lmLogits(model.forward({ inputsEmbeds: e as tf.Tensor3D, attentionMask: maskT, prefix: p as tf.Tensor2D })))) as tf.Scalar;
    const before = tf.memory().numTensors;
    const gradsWith = async (on: boolean) => {
      const grads = withLayerRecomputation(on, () => tf.grads(loss)([embeds, prefix]));
      const out = await Promise.all(grads.map(async (g) => Array.from(await g.data())));
      tf.dispose(grads);
      return out;
    };
    const plain = await gradsWith(false);
    const recomputed = await gradsWith(true);
    plain.forEach((g, k) => {
      const scale = Math.max(...g.map(Math.abs));
      expect(scale).toBeGreaterThan(1e-3);
      g.forEach((x, i) => expect(Math.abs(recomputed[k][i] - x)).toBeLessThan(1e-5 * scale));
    });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([embeds, prefix, maskT]);
    model.dispose();
  });

  it('mistral: sequences (with a prefix) longer than sliding_window are refused with the numbers', async () => {
    const c = LLAMA_CASES.mistralWindow; // window 12
    const loaded = await load(llamaCheckpointFiles(c, { seed: 3 }));
    expect(loaded.config.slidingWindow).toBe(12);
    const ids = (n: number) => tf.tensor2d([Array.from({ length: n }, (_, i) => 3 + i)], undefined, 'int32');
    const at12 = tf.tidy(() => loaded.model.forward({ inputsEmbeds: loaded.model.embed(ids(12)), attentionMask: tf.onesLike(ids(12)) }));
    expect(at12.shape).toEqual([1, 12, c.hidden]);
    at12.dispose();
    const before = tf.memory().numTensors;
    expect(() => tf.tidy(() => loaded.model.forward({ inputsEmbeds: loaded.model.embed(ids(13)), attentionMask: tf.onesLike(ids(13)) }))).toThrow(
      /13 tokens exceed the model's sliding window of 12 tokens \(config\.json sliding_window\)/,
    );
    const prefix = () => tf.zeros([4, prefixWidth(loaded.config)]) as tf.Tensor2D;
    expect(() => tf.tidy(() => loaded.model.keyValues({ inputsEmbeds: loaded.model.embed(ids(9)), attentionMask: tf.onesLike(ids(9)), prefix: prefix() }))).toThrow(/4 prefix \+ 9 tokens exceed/);
    expect(tf.memory().numTensors).toBe(before);
    loaded.model.dispose();
  });
});

describe('Llama family config.json', () => {
  const base = llamaHfConfig(LLAMA_CASES.llamaGqa);

  it.each(CASES)('%s: parseConfig(toHfConfig(cfg)) gives cfg back', (_, c) => {
    const cfg = parseConfig(llamaHfConfig(c));
    expect(parseConfig(toHfConfig(cfg))).toEqual(cfg);
  });

  it('reads the per-family switches', () => {
    expect(parseConfig(llamaHfConfig(LLAMA_CASES.qwen2Tied))).toMatchObject({ attentionBias: 'qkv', tieWordEmbeddings: true, qkNorm: false, slidingWindow: null });
    expect(parseConfig(llamaHfConfig(LLAMA_CASES.qwen3HeadDim))).toMatchObject({ headDim: 6, numKeyValueHeads: 2, qkNorm: true, attentionBias: 'none', tieWordEmbeddings: false });
    expect(parseConfig(llamaHfConfig(LLAMA_CASES.llamaMqaLlama3))).toMatchObject({
      numKeyValueHeads: 1, headDim: 8, ropeTheta: 100, ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 },
    });
    // Defaults as transformers has them: no num_key_value_heads = multi-head; no rope_theta = 10000; untied.
    const { num_key_value_heads: _, rope_theta: __, tie_word_embeddings: ___, ...bare } = base;
    expect(parseConfig(bare)).toMatchObject({ numKeyValueHeads: 4, ropeTheta: 10000, tieWordEmbeddings: false, lmKind: 'causal-lm' });
    // Newer transformers' rope_parameters.
    expect(parseConfig({ ...base, rope_theta: undefined, rope_scaling: undefined, rope_parameters: { rope_type: 'linear', rope_theta: 500, factor: 4 } })).toMatchObject({ ropeTheta: 500, ropeScaling: { type: 'linear', factor: 4 } });
    // Qwen's sliding window applies only with use_sliding_window.
    expect(parseConfig({ ...llamaHfConfig(LLAMA_CASES.qwen2Tied), use_sliding_window: true, sliding_window: 32 }).slidingWindow).toBe(32);
  });

  it.each([
    [{ rope_scaling: { rope_type: 'yarn', factor: 4 } }, /rope_scaling type "yarn" is not supported \(supported: default, linear, llama3\)/],
    [{ rope_scaling: { type: 'dynamic', factor: 2 } }, /rope_scaling type "dynamic" is not supported/],
    [{ rope_scaling: { rope_type: 'linear' } }, /rope_scaling\.factor must be a number greater than 0/],
    [{ rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 4, high_freq_factor: 1, original_max_position_embeddings: 8192 } }, /high_freq_factor \(1\) must be greater than low_freq_factor \(4\)/],
    [{ num_key_value_heads: 3 }, /num_attention_heads 4 is not a multiple of num_key_value_heads 3/],
    [{ head_dim: 5 }, /head_dim 5 is odd/],
    [{ hidden_act: 'gelu' }, /"hidden_act" is "gelu"/],
    [{ rms_norm_eps: 0 }, /"rms_norm_eps" must be greater than 0/],
    [{ num_hidden_layers: undefined }, /"num_hidden_layers" is missing/],
  ] as const)('refuses %j with a clear error naming config.json and the field', (change, message) => {
    const run = () => parseConfig({ ...base, ...change }, 'org/model/config.json');
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(message);
    expect(run).toThrow(/^org\/model\/config\.json: /);
  });

  it('a safetensors fixture writer round trip keeps HF names (sanity of the fixture itself)', () => {
    const bytes = writeSafetensors(randomLlamaWeights(LLAMA_CASES.qwen3HeadDim, 1));
    expect(new TextDecoder().decode(bytes.slice(8, 4000))).toContain('model.layers.1.self_attn.k_norm.weight');
  });
});
