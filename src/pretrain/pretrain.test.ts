import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../model/node';
import { clipByGlobalNorm, joinParagraphs, learningRate, maskBatch, seededRandom, sinusoidalPositions } from './pretrain';

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
