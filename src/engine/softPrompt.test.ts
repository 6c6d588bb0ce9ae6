import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import type { LanguageModel } from './languageModel';
import { createSoftPrompt, embeddingStd, initTokenIds, PromptError, SoftPrompt, tokenFrequencies, type PromptInitOptions } from './softPrompt';
import { loadFixture } from './testing/fixtures';

let lm: LanguageModel;
let table: number[][];
const H = 16;

beforeAll(async () => {
  await useNodeBackend('wasm');
  lm = await loadFixture('bert');
  table = (await lm.model.wordEmbeddings.array()) as number[][];
});
afterAll(() => lm.model.dispose());

async function rowsOf(p: SoftPrompt): Promise<number[][]> {
  return (await p.vectors.array()) as number[][];
}

const opts = (o: Partial<PromptInitOptions>): PromptInitOptions => ({ length: 6, init: 'random', seed: 3, tokenizer: lm.tokenizer, ...o });
const id = (w: string) => lm.tokenizer.tokenToId(w) as number;
const specials = () => new Set(Object.values(lm.tokenizer.special).filter((x) => x !== null));

describe('soft prompt inits', () => {
  it('random: [N, H], normal with the embedding table\'s std, seeded', async () => {
    const p = await createSoftPrompt(lm.model, opts({ length: 40 }));
    expect(p.vectors.shape).toEqual([40, H]);
    const flat = (await rowsOf(p)).flat();
    const mean = flat.reduce((a, b) => a + b, 0) / flat.length;
    const std = Math.sqrt(flat.reduce((a, b) => a + (b - mean) ** 2, 0) / flat.length);
    const tableStd = await embeddingStd(lm.model);
    expect(tableStd).toBeGreaterThan(0.2); // the fixture draws N(0, 0.3^2)
    expect(Math.abs(std / tableStd - 1)).toBeLessThan(0.1); // 640 samples
    expect(Math.abs(mean)).toBeLessThan(0.05);
    const again = await createSoftPrompt(lm.model, opts({ length: 40 }));
    const other = await createSoftPrompt(lm.model, opts({ length: 40, seed: 4 }));
    expect(await rowsOf(again)).toEqual(await rowsOf(p));
    expect(await rowsOf(other)).not.toEqual(await rowsOf(p));
    [p, again, other].forEach((x) => x.dispose());
  });

  it('vocab: rows are embedding rows of distinct, non-special frequent tokens', async () => {
    const frequent = tokenFrequencies([[id('good'), id('bad'), id('good')], [id('movie'), id('bad'), id('good'), lm.tokenizer.special.cls as number]], lm.tokenizer);
    expect(frequent).toEqual([id('good'), id('bad'), id('movie')]); // by count, specials dropped
    const p = await createSoftPrompt(lm.model, opts({ init: 'vocab', length: 3, frequentTokenIds: frequent }));
    const ids = initTokenIds(lm.model, opts({ init: 'vocab', length: 3, frequentTokenIds: frequent }));
    expect([...ids].sort()).toEqual([id('good'), id('bad'), id('movie')].sort());
    expect(await rowsOf(p)).toEqual(ids.map((i) => table[i]));
    p.dispose();
    // Without counts: the first non-special ids of the vocabulary.
    const fallback = initTokenIds(lm.model, opts({ init: 'vocab', length: 10 }));
    expect(new Set(fallback).size).toBe(10);
    for (const i of fallback) expect(specials().has(i)).toBe(false);
  });

  it('text: the text\'s token embeddings, repeated or cut to N', async () => {
    const p = await createSoftPrompt(lm.model, opts({ init: 'text', text: 'good movie', length: 5 }));
    const g = table[id('good')];
    const m = table[id('movie')];
    expect(await rowsOf(p)).toEqual([g, m, g, m, g]);
    const cut = await createSoftPrompt(lm.model, opts({ init: 'text', text: 'good movie was', length: 2 }));
    expect(await rowsOf(cut)).toEqual([g, m]);
    [p, cut].forEach((x) => x.dispose());
  });

  it('labels: the label words\' embeddings first (classes interleaved), then sampled vocabulary', async () => {
    const labelWordIds = [[id('great'), id('good')], [id('terrible')]];
    const p = await createSoftPrompt(lm.model, opts({ init: 'labels', labelWordIds, length: 5 }));
    const rows = await rowsOf(p);
    expect(rows.slice(0, 3)).toEqual([table[id('great')], table[id('terrible')], table[id('good')]]);
    const ids = initTokenIds(lm.model, opts({ init: 'labels', labelWordIds, length: 5 }));
    expect(ids.slice(0, 3)).toEqual([id('great'), id('terrible'), id('good')]);
    for (const i of ids.slice(3)) {
      expect([id('great'), id('terrible'), id('good')]).not.toContain(i);
      expect(specials().has(i)).toBe(false);
    }
    expect(rows.slice(3)).toEqual(ids.slice(3).map((i) => table[i]));
    const short = await createSoftPrompt(lm.model, opts({ init: 'labels', labelWordIds, length: 2 }));
    expect(await rowsOf(short)).toEqual([table[id('great')], table[id('terrible')]]);
    [p, short].forEach((x) => x.dispose());
  });

  const errors: { name: string; o: Partial<PromptInitOptions>; message: RegExp }[] = [
    { name: 'text init without text', o: { init: 'text', text: '  ' }, message: /needs a non-empty init text/ },
    { name: 'labels init without label words', o: { init: 'labels' }, message: /needs label words/ },
    { name: 'zero length', o: { length: 0 }, message: /positive integer/ },
  ];
  it.each(errors)('$name is an error', async ({ o, message }) => {
    await expect(createSoftPrompt(lm.model, opts(o))).rejects.toThrow(PromptError);
    await expect(createSoftPrompt(lm.model, opts(o))).rejects.toThrow(message);
  });
});

describe('label head and values', () => {
  it('head mode adds a [H, C] weight and a zero [C] bias; these and the prompt are the only variables', async () => {
    const p = await createSoftPrompt(lm.model, opts({ headClasses: 3 }));
    expect(p.head?.weight.shape).toEqual([H, 3]);
    expect(await p.head?.bias.array()).toEqual([0, 0, 0]);
    expect(p.trainableVariables()).toEqual([p.vectors, p.head?.weight, p.head?.bias]);
    expect(p.trainableVariables().every((v) => v.trainable)).toBe(true);
    p.dispose();
  });

  it('values() and fromValues() round-trip without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const p = await createSoftPrompt(lm.model, opts({ headClasses: 2 }));
    const v = await p.values();
    expect(v.numTokens).toBe(6);
    expect(v.dim).toBe(H);
    expect(v.head?.weights.length).toBe(H * 2);
    const q = SoftPrompt.fromValues(v);
    expect(await rowsOf(q)).toEqual(await rowsOf(p));
    expect(await q.head?.weight.array()).toEqual(await p.head?.weight.array());
    p.dispose();
    q.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => SoftPrompt.fromValues({ vectors: new Float32Array(5), numTokens: 2, dim: 3 })).toThrow(/5 numbers for \[2, 3\]/);
  });
});
