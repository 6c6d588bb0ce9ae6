import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import { embedInputs, makeBatch, padSideFor, readHidden, selectionFor, type BatchInput } from './batch';
import { BagOfWordsLM, fixtureConfig } from './testing/fixtures';

beforeAll(async () => {
  await useNodeBackend('wasm');
});

// Two examples of lengths 3 and 5; soft rows at positions 1 (row 0) and 1, 2 (rows 0, 1).
const examples: BatchInput[] = [
  { ids: [2, 0, 7], softIndex: [-1, 0, -1], tokenTypes: [0, 0, 0] },
  { ids: [2, 0, 0, 8, 9], softIndex: [-1, 0, 1, -1, -1], tokenTypes: [0, 0, 0, 1, 1] },
];
const reads = [[2], [3, 4]];

describe('makeBatch', () => {
  it('pads on the right to the longest example (encoders)', async () => {
    const b = makeBatch(examples, { side: 'right', padId: 0, promptLength: 2, reads, selection: 'one-hot' });
    expect([b.size, b.length, b.realTokens]).toEqual([2, 5, 8]);
    expect(await b.ids.array()).toEqual([[2, 0, 7, 0, 0], [2, 0, 0, 8, 9]]);
    expect(await b.attentionMask.array()).toEqual([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]);
    expect(await b.tokenTypeIds.array()).toEqual([[0, 0, 0, 0, 0], [0, 0, 0, 1, 1]]);
    expect(await b.softSelect?.array()).toEqual([
      [[0, 0], [1, 0], [0, 0], [0, 0], [0, 0]],
      [[0, 0], [1, 0], [0, 1], [0, 0], [0, 0]],
    ]);
    expect((await b.tokenKeep?.array())?.map((r) => r.flat())).toEqual([[1, 0, 1, 1, 1], [1, 0, 0, 1, 1]]);
    // K = 2 reads; the first example's second read is padding (weight 0).
    expect(await b.readSelect!.array()).toEqual([
      [[0, 0, 1, 0, 0], [0, 0, 0, 0, 0]],
      [[0, 0, 0, 1, 0], [0, 0, 0, 0, 1]],
    ]);
    expect(await b.readWeights.array()).toEqual([[1, 0], [1, 1]]);
    expect([b.spliceIndex, b.readIndex]).toEqual([null, null]);
    b.dispose();
  });

  it('gather selection: flat row indices instead of one-hot matrices', async () => {
    const b = makeBatch(examples, { side: 'right', padId: 0, promptLength: 2, reads, selection: 'gather' });
    expect([b.selection, b.readsPerExample, b.softSelect, b.tokenKeep, b.readSelect]).toEqual(['gather', 2, null, null, null]);
    // B*T = 10: soft row n is row 10 + n of [words; prompt].
    expect(await b.spliceIndex?.array()).toEqual([0, 10, 2, 3, 4, 5, 10, 11, 8, 9]);
    // Row 0's padding read takes its row's first position (weight 0).
    expect(await b.readIndex?.array()).toEqual([2, 0, 8, 9]);
    b.dispose();
    expect(selectionFor('wasm')).toBe('one-hot');
    for (const backend of ['webgpu', 'webgl', 'cpu']) expect(selectionFor(backend)).toBe('gather');
  });

  it('pads on the left for decoders, shifting reads with the example', async () => {
    expect(padSideFor('causal-lm')).toBe('left');
    expect(padSideFor('masked-lm')).toBe('right');
    const b = makeBatch(examples, { side: 'left', padId: 0, promptLength: 2, reads, selection: 'one-hot' });
    expect(b.offsets).toEqual([2, 0]);
    expect(await b.ids.array()).toEqual([[0, 0, 2, 0, 7], [2, 0, 0, 8, 9]]);
    expect(await b.attentionMask.array()).toEqual([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]]);
    expect((await b.readSelect!.array())[0][0]).toEqual([0, 0, 0, 0, 1]);
    b.dispose();
    const g = makeBatch(examples, { side: 'left', padId: 0, promptLength: 2, reads, selection: 'gather' });
    expect(await g.readIndex?.array()).toEqual([4, 0, 8, 9]);
    expect(await g.spliceIndex?.array()).toEqual([0, 1, 2, 10, 4, 5, 10, 11, 8, 9]);
    g.dispose();
  });

  it('rejects soft rows outside the prompt and reads outside the example', () => {
    expect(() => makeBatch(examples, { side: 'right', padId: 0, promptLength: 1, reads })).toThrow(/soft index 1 is outside the prompt/);
    expect(() => makeBatch(examples, { side: 'right', padId: 0, promptLength: 2, reads: [[3], [0]] })).toThrow(/read position 3/);
  });
});

describe('embedInputs and readHidden', () => {
  let model: BagOfWordsLM;
  beforeAll(() => {
    model = new BagOfWordsLM(fixtureConfig('bert'), 2);
  });
  afterAll(() => model.dispose());

  it.each(['one-hot', 'gather'] as const)('puts prompt rows at soft positions and word embeddings elsewhere (%s)', async (selection) => {
    const V = model.config.vocabSize;
    const promptRows = [Array.from({ length: V }, (_, i) => i / 8), Array.from({ length: V }, (_, i) => 0 - i)];
    const prompt = tf.tensor2d(promptRows);
    const b = makeBatch(examples, { side: 'right', padId: 0, promptLength: 2, reads, selection });
    const before = tf.memory().numTensors;
    const e = embedInputs(model, b, prompt);
    expect(tf.memory().numTensors).toBe(before + 1);
    const got = (await e.array()) as number[][][];
    const word = (id: number) => Array.from({ length: V }, (_, i) => (i === id ? 2 : 0));
    expect(got[0]).toEqual([word(2), promptRows[0], word(7), word(0), word(0)]);
    expect(got[1]).toEqual([word(2), promptRows[0], promptRows[1], word(8), word(9)]);
    const plain = embedInputs(model, b, null);
    expect(((await plain.array()) as number[][][])[1][1]).toEqual(word(0));
    const hidden = tf.tensor3d(Array.from({ length: 2 * 5 * 3 }, (_, i) => i), [2, 5, 3]);
    const r = readHidden(hidden, b);
    // The padding read (weight 0): a zero row (one-hot) or its row's first position (gather).
    const padRead = selection === 'one-hot' ? [0, 0, 0] : [0, 1, 2];
    expect(await r.array()).toEqual([[[6, 7, 8], padRead], [[24, 25, 26], [27, 28, 29]]]);
    tf.dispose([prompt, e, plain, hidden, r]);
    b.dispose();
  });
});
