import { describe, expect, it } from 'vitest';
import { formatFloat32, parsePromptJson, promptJsonText } from './promptJson';
import { baseMeta, bits, generationMeta, H, HASH_A, headMeta, makePrompt, N } from './testing';

describe('formatFloat32', () => {
  it('writes the shortest decimal that reads back as the same float32', () => {
    expect(formatFloat32(Math.fround(0.1))).toBe('0.1');
    expect(formatFloat32(Math.fround(-2.5))).toBe('-2.5');
    expect(formatFloat32(-0)).toBe('-0');
    expect(formatFloat32(1e-45)).toBe('1e-45');
  });

  it('round-trips random float32 bit patterns exactly', () => {
    const patterns = new Uint32Array(5000);
    let x = 2463534242;
    for (let i = 0; i < patterns.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      patterns[i] = x >>> 0;
    }
    const values = new Float32Array(patterns.buffer);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) continue;
      const back = Float32Array.of(JSON.parse(formatFloat32(values[i])));
      expect(new Uint32Array(back.buffer)[0]).toBe(patterns[i]);
    }
  });
});

describe('prompt.json', () => {
  it.each([
    { name: 'verbalizer', meta: baseMeta },
    { name: 'head', meta: headMeta },
    { name: 'generation', meta: generationMeta },
  ])('round-trips $name vectors bit-exactly with all metadata', ({ meta }) => {
    const prompt = makePrompt();
    const m = meta();
    const { prompt: back, metadata } = parsePromptJson(promptJsonText(prompt, m));
    expect([back.numTokens, back.dim]).toEqual([N, H]);
    expect(bits(back.vectors)).toEqual(bits(prompt.vectors));
    const { head, ...rest } = m;
    const { head: backHead, ...backRest } = metadata;
    expect(backRest).toEqual(rest);
    if (head) {
      expect(bits(backHead!.weights)).toEqual(bits(head.weights));
      expect(bits(backHead!.bias)).toEqual(bits(head.bias));
    } else {
      expect(backHead).toBeUndefined();
    }
  });

  it('is plain JSON with the reproduction fields and vectors as [N][H]', () => {
    const doc = JSON.parse(promptJsonText(makePrompt(), headMeta()));
    expect(doc.format).toBe('prompt-tuning-studio/prompt');
    expect(doc.formatVersion).toBe(1);
    expect(doc.model).toMatchObject({ id: 'embedded/tiny-bert', checkpointHash: HASH_A, modelType: 'bert', hiddenSize: H });
    expect(doc).toMatchObject({ task: 'classification', mode: 'head', seed: 42, createdAt: '2025-01-02T03:04:05.000Z' });
    expect(doc.hyperparameters).toMatchObject({ promptLength: N, learningRate: 0.03, warmupSteps: 20, clipNorm: 1, valSplit: 0.2 });
    expect(doc.metrics).toMatchObject({ zeroShotAccuracy: 0.53, accuracy: 0.71, macroF1: 0.7 });
    expect(doc.vectors).toHaveLength(N);
    expect(doc.vectors.every((row: number[]) => row.length === H)).toBe(true);
    expect(doc.vectors[0][2]).toBe(3.4028235e38); // float32 max, shortest form
    expect(Math.fround(doc.vectors[0][2])).toBe(3.4028234663852886e38);
    expect(doc.head.weights).toHaveLength(H); // [H][C]
    expect(doc.head.weights[0]).toHaveLength(2);
    expect(doc.head.bias).toEqual([0.25, Math.fround(-0.1)].map((v) => JSON.parse(formatFloat32(v))));
  });
});
