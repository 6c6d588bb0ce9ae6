import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { loadPretrained } from './loader';
import { useNodeBackend } from '../node/model';
import { topTokens } from './predict';
import { hfCheckpointFiles, hfConfig, memFolder, randomHfWeights, referenceEmbed, referenceForward } from './testing/hfCheckpoint';

describe('topTokens', () => {
  beforeAll(async () => {
    await useNodeBackend('cpu');
  });

  it('encoder: probabilities at the [MASK] equal the softmax of the reference logits there', async () => {
    const loaded = await loadPretrained(memFolder(hfCheckpointFiles('bert', { seed: 9 })));
    const before = tf.memory().numTensors;
    const got = await topTokens(loaded, 'the movie was [MASK] .', 3);
    expect(tf.memory().numTensors).toBe(before);
    const ids = [2, ...loaded.tokenizer.encode('the movie was [MASK] .'), 3];
    expect(got.position).toBe(4);
    const w = randomHfWeights('bert', 9);
    const ref = referenceForward('bert', w, hfConfig('bert'), referenceEmbed('bert', w, [ids]), [ids.map(() => 1)]);
    const logits = Array.from(ref.logits![0][4]);
    const z = logits.reduce((s, l) => s + Math.exp(l), 0);
    const expected = logits.map((l, id) => ({ id, prob: Math.exp(l) / z })).sort((a, b) => b.prob - a.prob).slice(0, 3);
    expect(got.tokens.map((t) => t.id)).toEqual(expected.map((e) => e.id));
    got.tokens.forEach((t, i) => expect(t.prob).toBeCloseTo(expected[i].prob, 5));
    loaded.model.dispose();
  });

  it('encoder without exactly one mask is a clear error; decoder predicts after the text', async () => {
    const enc = await loadPretrained(memFolder(hfCheckpointFiles('bert')));
    await expect(topTokens(enc, 'the movie', 3)).rejects.toThrow(/exactly one \[MASK\] \(found 0\)/);
    const dec = await loadPretrained(memFolder(hfCheckpointFiles('gpt2')));
    const got = await topTokens(dec, 'the great', 5);
    expect(got.position).toBe(dec.tokenizer.encode('the great').length); // BOS + tokens, last index
    expect(got.tokens).toHaveLength(5);
    expect(got.tokens[0].prob).toBeGreaterThanOrEqual(got.tokens[4].prob);
  });
});
