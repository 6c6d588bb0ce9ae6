/**
 * Two fixes to tfjs's wasm backend (4.22), registered by `patchWasmBackend()` wherever wasm runs
 * (Node tests, CLI, pretraining, and the worker when it falls back to wasm):
 *
 * 1. BatchMatMul with transposeA/transposeB is 10-30x slower than without (measured here: a
 *    [2048,128]^T x [2048,512] product took 211 ms against 14 ms for an explicit transpose plus a
 *    plain product). Every backward pass is full of such products (dA = dY B^T, dB = A^T dY), so the
 *    kernel is wrapped to transpose explicitly first.
 *    Batched products (attention: [B*heads, T, d] x [B*heads, d, T]) take wasm's generic loop, ~30x
 *    slower than its 2-D path (64 products of 128x32x128: 48 ms batched, 0.2 ms each as 2-D), so
 *    they are run as one 2-D product per batch entry on copies in the wasm heap.
 * 2. UnsortedSegmentSum is missing; tfjs needs it for the gradient of `gather` (embedding lookup).
 *    Soft-prompt tuning never backpropagates into a table, but pretraining does.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

let patched = false;

export function patchWasmBackend(): void {
  if (patched) return;
  patched = true;
  wrapTransposedMatMul();
  registerSegmentSum();
}

function wrapTransposedMatMul(): void {
  const original = tf.getKernel('BatchMatMul', 'wasm');
  const transposeKernel = tf.getKernel('Transpose', 'wasm');
  if (!original || !transposeKernel) throw new Error('tfjs wasm backend is not registered');
  plainKernel = original;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return batchedAs2d(a, b, backend as BackendWasm, attrs ?? {}) ?? original.kernelFunc(args);
      const swapLast = (x: tf.TensorInfo): tf.TensorInfo => {
        const r = x.shape.length;
        const perm = [...Array(r - 2).keys(), r - 1, r - 2];
        return transposeKernel.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
      };
      const at = transposeA ? swapLast(a) : a;
      const bt = transposeB ? swapLast(b) : b;
      const plainAttrs = { ...attrs, transposeA: false, transposeB: false };
      const out = batchedAs2d(at, bt, backend as BackendWasm, plainAttrs) ??
        original.kernelFunc({ inputs: { a: at, b: bt }, backend, attrs: plainAttrs });
      const wasm = backend as BackendWasm;
      if (at !== a) wasm.disposeData(at.dataId);
      if (bt !== b) wasm.disposeData(bt.dataId);
      return out;
    },
  });
}

/**
 * [..., M, K] x [..., K, N] as one 2-D product per batch entry, or null when there is one entry or
 * the batch shapes broadcast in a way this does not handle (the original kernel then runs).
 */
function batchedAs2d(a: tf.TensorInfo, b: tf.TensorInfo, wasm: BackendWasm, attrs: tf.NamedAttrMap): tf.TensorInfo | null {
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 3 || ra !== rb) return null;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const nA = batchA.reduce((x, y) => x * y, 1);
  const nB = batchB.reduce((x, y) => x * y, 1);
  if (!(nA === nB && batchA.every((d, i) => d === batchB[i])) && nA !== 1 && nB !== 1) return null;
  const n = Math.max(nA, nB);
  if (n === 1) return null;
  const [M, K] = a.shape.slice(-2);
  const N = b.shape[rb - 1];
  const out = wasm.makeOutput([...(nA >= nB ? batchA : batchB), M, N], 'float32');
  const piece = (src: tf.TensorInfo, i: number, rows: number, cols: number): tf.TensorInfo => {
    const t = wasm.makeOutput([rows, cols], 'float32');
    const size = rows * cols;
    // Views are taken after each allocation: the heap may have grown and moved.
    (wasm.typedArrayFromHeap(t) as Float32Array).set((wasm.typedArrayFromHeap(src) as Float32Array).subarray(i * size, (i + 1) * size));
    return t;
  };
  const bShared = nB === 1 ? piece(b, 0, K, N) : null;
  for (let i = 0; i < n; i++) {
    const ai = piece(a, nA === 1 ? 0 : i, M, K);
    const bi = bShared ?? piece(b, i, K, N);
    const ci = plainMatMul(ai, bi, wasm, attrs);
    (wasm.typedArrayFromHeap(out) as Float32Array).set(wasm.typedArrayFromHeap(ci) as Float32Array, i * M * N);
    wasm.disposeData(ai.dataId);
    if (bi !== bShared) wasm.disposeData(bi.dataId);
    wasm.disposeData(ci.dataId);
  }
  if (bShared) wasm.disposeData(bShared.dataId);
  return out;
}

let plainKernel: tf.KernelConfig | undefined;
function plainMatMul(a: tf.TensorInfo, b: tf.TensorInfo, backend: BackendWasm, attrs: tf.NamedAttrMap): tf.TensorInfo {
  return plainKernel!.kernelFunc({ inputs: { a, b }, backend, attrs }) as tf.TensorInfo;
}

function registerSegmentSum(): void {
  if (tf.getKernel('UnsortedSegmentSum', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const wasm = backend as BackendWasm;
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const numSegments = (attrs as { numSegments: number }).numSegments;
      const ids = wasm.readSync(segmentIds.dataId) as Int32Array;
      const values = wasm.readSync(x.dataId) as Float32Array;
      const rows = ids.length;
      const inner = rows === 0 ? 0 : values.length / rows; // x is [...segmentIds.shape, ...inner]
      const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
      const out = wasm.makeOutput(outShape, 'float32');
      const dst = wasm.typedArrayFromHeap(out) as Float32Array;
      dst.fill(0);
      for (let r = 0; r < rows; r++) {
        const seg = ids[r];
        if (seg < 0 || seg >= numSegments) continue; // as TensorFlow: out-of-range ids are dropped
        const o = seg * inner;
        const s = r * inner;
        for (let j = 0; j < inner; j++) dst[o + j] += values[s + j];
      }
      return out;
    },
  });
}
