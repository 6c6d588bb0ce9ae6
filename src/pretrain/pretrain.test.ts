import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import type { TransformerConfig } from '../model/types';
import {
  clipByGlobalNorm,
  initialWeights,
  joinParagraphs,
  learningRate,
  maskBatch,
  OFFSETS,
  offsetHeadWeights,
  seededRandom,
  sinusoidalPositions,
} from './pretrain';

beforeAll(async () => {
  await useNodeBackend('wasm');
});

const specials = { cls: 2, sep: 3, mask: 4, reserved: new Set([0, 1, 2, 3, 4]) };

describe('maskBatch', () => {
  const V = 1000;
  const rand = seededRandom(7);
  const windows = Array.from({ length: 64 }, () => Array.from({ length: 126 }, () => 5 + Math.floor(rand() * (V - 5))));
  // A few specials inside the text: never chosen, never changed.
  windows[0][10] = specials.sep;
  windows[1][20] = specials.sep;

  it.each([0.15, 0.4])('chooses about %s of the tokens, 80%% [MASK] / 10%% random / 10%% kept, labels the originals', (rate) => {
    const b = maskBatch(windows, specials, V, seededRandom(1), rate);
    const T = 128;
    const total = windows.length * 126;
    expect(b.positions.length / total).toBeCloseTo(rate, 1);
    let masked = 0;
    let kept = 0;
    b.positions.forEach((flat, i) => {
      const [row, t] = [Math.floor(flat / T), flat % T];
      expect(t).toBeGreaterThan(0);
      expect(t).toBeLessThan(T - 1);
      expect(b.labels[i]).toBe(windows[row][t - 1]);
      const now = b.ids[row][t];
      if (now === specials.mask) masked++;
      else if (now === b.labels[i]) kept++;
      expect(specials.reserved.has(b.labels[i])).toBe(false);
    });
    const n = b.positions.length;
    expect(masked / n).toBeGreaterThan(0.76);
    expect(masked / n).toBeLessThan(0.84);
    expect(kept / n).toBeGreaterThan(0.07); // kept by choice, plus the rare random draw of the same id
    expect(kept / n).toBeLessThan(0.13);
    // Rows are [CLS] window [SEP]; unchosen positions are untouched.
    const chosen = new Set(b.positions);
    b.ids.forEach((row, r) => {
      expect(row[0]).toBe(specials.cls);
      expect(row[T - 1]).toBe(specials.sep);
      row.forEach((id, t) => {
        if (t > 0 && t < T - 1 && !chosen.has(r * T + t)) expect(id).toBe(windows[r][t - 1]);
      });
    });
    expect(chosen.has(0 * T + 11)).toBe(false); // the [SEP] inside row 0
    expect(chosen.has(1 * T + 21)).toBe(false);
  });
});

describe('schedule, clipping, paragraphs', () => {
  it('warms up linearly, then decays by a cosine to 10% of the peak', () => {
    expect(learningRate(0, 1e-3, 100, 1000)).toBeCloseTo(1e-5, 10);
    expect(learningRate(99, 1e-3, 100, 1000)).toBeCloseTo(1e-3, 10);
    expect(learningRate(550, 1e-3, 100, 1000)).toBeCloseTo(0.55e-3, 10); // half way: (0.1 + 1) / 2
    expect(learningRate(1000, 1e-3, 100, 1000)).toBeCloseTo(1e-4, 10);
  });

  it('clips by the global norm of all gradients together', () => {
    const grads = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([0, 4]) }; // global norm 5
    const { grads: clipped, norm } = clipByGlobalNorm(grads, 1);
    expect(norm.dataSync()[0]).toBeCloseTo(5, 5);
    expect(Array.from(clipped.a.dataSync())).toEqual([expect.closeTo(0.6, 5), 0]);
    expect(Array.from(clipped.b.dataSync())).toEqual([0, expect.closeTo(0.8, 5)]);
    const small = clipByGlobalNorm(grads, 10);
    expect(Array.from(small.grads.b.dataSync())).toEqual([0, expect.closeTo(4, 5)]);
    tf.dispose([grads.a, grads.b, norm, clipped.a, clipped.b, small.norm, small.grads.a, small.grads.b]);
  });

  it('joins paragraphs with the separator after each', () => {
    const stream = { ids: Int32Array.from([10, 11, 12, 13, 14]), offsets: Int32Array.from([0, 2, 5]) };
    expect(Array.from(joinParagraphs(stream, 3))).toEqual([10, 11, 3, 12, 13, 14, 3]);
  });
});

describe('sinusoidal position init', () => {
  it('has the embedding scale, and the offset k is the same rotation from every position', () => {
    const P = 64;
    const H = 32;
    const table = sinusoidalPositions(P, H, 0.02);
    const rms = Math.sqrt(table.reduce((a, x) => a + x * x, 0) / table.length);
    expect(rms).toBeGreaterThan(0.017);
    expect(rms).toBeLessThan(0.023);
    // Pair i of row p + k is pair i of row p rotated by k / 10000^(2i/H): check it from two starting rows.
    const k = 5;
    for (const p of [0, 37]) {
      for (let i = 0; i < H / 2; i++) {
        const w = k / Math.pow(10000, (2 * i) / H);
        const [s, c] = [table[p * H + 2 * i], table[p * H + 2 * i + 1]];
        expect(table[(p + k) * H + 2 * i]).toBeCloseTo(s * Math.cos(w) + c * Math.sin(w), 6);
        expect(table[(p + k) * H + 2 * i + 1]).toBeCloseTo(c * Math.cos(w) - s * Math.sin(w), 6);
      }
    }
  });
});

describe('offset heads', () => {
  const H = 64;
  const heads = 4;
  const hd = H / heads;

  it('each head scores key positions highest at its offset from the query', () => {
    const P = 48;
    const table = sinusoidalPositions(P, H, 1);
    const wq = offsetHeadWeights(H, heads, 'query');
    const wk = offsetHeadWeights(H, heads, 'key');
    const project = (w: Float32Array, p: number): Float64Array => {
      const out = new Float64Array(H);
      for (let i = 0; i < H; i++) for (let o = 0; o < H; o++) out[o] += table[p * H + i] * w[i * H + o];
      return out;
    };
    const qs = Array.from({ length: P }, (_, p) => project(wq, p));
    const ks = Array.from({ length: P }, (_, p) => project(wk, p));
    for (let h = 0; h < heads; h++) {
      for (const p of [3, 20, 44]) {
        const scores = ks.map((k) => {
          let s = 0;
          for (let d = h * hd; d < (h + 1) * hd; d++) s += qs[p][d] * k[d];
          return s;
        });
        expect(scores.indexOf(Math.max(...scores))).toBe(p + OFFSETS[h]);
      }
    }
  });

  it('initialWeights adds them to the first layers only and keeps their dimensions free of word identity', () => {
    const cfg: TransformerConfig = {
      modelType: 'bert', lmKind: 'masked-lm', vocabSize: 20, hiddenSize: H, numLayers: 2, numHeads: heads,
      intermediateSize: 4 * H, maxPositions: 16, typeVocabSize: 2, layerNormEps: 1e-12, hiddenAct: 'gelu',
      padTokenId: 0, positionOffset: 0,
    };
    // Variables are registered by name, so each init is read out and disposed before the next.
    const values = (options: Parameters<typeof initialWeights>[2]) => {
      const vars = initialWeights(cfg, 7, options);
      const out = new Map([...vars].map(([k, v]) => [k, v.arraySync() as number[][]]));
      for (const v of vars.values()) v.dispose();
      return out;
    };
    const plain = values({ sinusoidalPositions: true });
    const offset = values({ sinusoidalPositions: true, offsetLayers: 1 });
    const diff = (key: string) => offset.get(key)!.map((row, i) => row.map((x, j) => x - plain.get(key)![i][j]));
    const expected = offsetHeadWeights(H, heads, 'query');
    const q0 = diff('encoder.layer.0.attention.self.query.weight');
    for (let i = 0; i < H; i++) for (let o = 0; o < H; o++) expect(q0[i][o]).toBeCloseTo(expected[i * H + o], 5);
    expect(Math.max(...diff('encoder.layer.1.attention.self.query.weight').flat().map(Math.abs))).toBe(0);
    for (const key of ['embeddings.word_embeddings.weight', 'embeddings.token_type_embeddings.weight']) {
      for (const row of offset.get(key)!) {
        expect(row.slice(0, hd).every((x) => x === 0)).toBe(true);
        expect(row.slice(hd).some((x) => x !== 0)).toBe(true);
      }
    }
    expect(() => initialWeights(cfg, 7, { offsetLayers: 1 })).toThrow(/sinusoidal/);
  });
});
