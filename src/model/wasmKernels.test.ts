import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';

/** Runs f on cpu (the reference) and on the patched wasm backend. */
async function both<T>(f: () => T): Promise<[T, T]> {
  await useNodeBackend('cpu');
  const expected = f();
  await useNodeBackend('wasm'); // applies patchWasmBackend()
  const got = f();
  return [expected, got];
}

describe('patched wasm kernels', () => {
  it('UnsortedSegmentSum matches cpu, directly and as the gradient of gather', async () => {
    const x = [[1, 2], [3, 4], [5, 6], [7, 8]];
    const ids = [2, 0, 2, 5];
    const table = Array.from({ length: 6 }, (_, i) => [i, -i, 0.5 * i]);
    const lookup = [[1, 3], [3, 5]];
    const [expected, got] = await both(() =>
      tf.tidy(() => {
        const direct = tf.unsortedSegmentSum(tf.tensor2d(x), tf.tensor1d(ids, 'int32'), 4);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor2d(lookup, undefined, 'int32')), tf.range(1, 4))))(tf.tensor2d(table));
        return [direct.arraySync(), g.arraySync()];
      }),
    );
    expect(got).toEqual(expected);
    expect(expected[0]).toEqual([[3, 4], [0, 0], [6, 8], [0, 0]]); // id 5 is out of range and dropped
    expect((expected[1] as number[][])[3]).toEqual([2, 4, 6]); // index 3 looked up twice
  });

  it('BatchMatMul with every transpose combination, rank 2 and batched, matches cpu without leaking', async () => {
    const a = Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.sin(i));
    const b = Array.from({ length: 2 * 4 * 5 }, (_, i) => Math.cos(i));
    const run = () => {
      const out: number[][] = [];
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const A = tf.tensor3d(a, [2, 3, 4]);
        const B = tf.tensor3d(b, [2, 4, 5]);
        const At = A.transpose([0, 2, 1]);
        const Bt = B.transpose([0, 2, 1]);
        out.push(Array.from(tf.matMul(A, B).dataSync()));
        out.push(Array.from(tf.matMul(At, B, true, false).dataSync()));
        out.push(Array.from(tf.matMul(A, Bt, false, true).dataSync()));
        out.push(Array.from(tf.matMul(At, Bt, true, true).dataSync()));
        out.push(Array.from(tf.matMul(A.reshape([6, 4]), B.reshape([8, 5]).slice([0, 0], [4, 5]).transpose(), false, true).dataSync()));
      });
      expect(tf.memory().numTensors).toBe(before);
      return out;
    };
    const [expected, got] = await both(run);
    got.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(expected[i][j], 5)));
    expected.slice(1, 4).forEach((e) => e.forEach((v, j) => expect(v).toBeCloseTo(expected[0][j], 5)));
  });
});
