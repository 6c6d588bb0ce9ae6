/**
 * Test support for the engine: the model core's tiny random HF checkpoints, their tokenizers
 * without weights, and a transparent "bag of words" model whose outputs can be computed by hand.
 */
import type { Row } from '../data';
import { seededRandom } from '../random';
import * as tf from '@tensorflow/tfjs';
import { parseConfig } from '../../model/config';
import { loadPretrained } from '../../model/loader';
import { loadTokenizer, type TextTokenizer } from '../../model/tokenizer';
import type { ForwardInputs, FrozenLM, TransformerConfig } from '../../model/types';
import { bpeFiles, hfCheckpointFiles, hfConfig, memFolder, TINY, vocabTxt, type Family, type TinyDims } from '../../model/testing/hfCheckpoint';
import type { LanguageModel } from '../languageModel';

export function fixtureDims(positions = TINY.positions): TinyDims {
  return { ...TINY, positions };
}

export function fixtureConfig(family: Family, positions = TINY.positions): TransformerConfig {
  return parseConfig(hfConfig(family, fixtureDims(positions)));
}

/** The fixture checkpoint's tokenizer alone (no weights, no tensors). */
export function fixtureTokenizer(family: Family): TextTokenizer {
  if (family === 'bert' || family === 'distilbert') {
    return loadTokenizer({ vocabTxt: vocabTxt(TINY.vocab), tokenizerConfig: { do_lower_case: true } }, family, 'fixture');
  }
  const { vocab, merges } = bpeFiles(family, TINY.vocab);
  return loadTokenizer({ vocabJson: vocab, mergesTxt: merges }, family, 'fixture');
}

/** A tiny random checkpoint (model-core fixture), loaded. */
export async function loadFixture(family: Family, options: { seed?: number; positions?: number } = {}): Promise<LanguageModel> {
  const files = hfCheckpointFiles(family, { seed: options.seed ?? 1, d: fixtureDims(options.positions) });
  const { model, tokenizer } = await loadPretrained(memFolder(files));
  return { model, tokenizer };
}

/**
 * A model whose outputs are easy to compute by hand. Embeddings are `scale` x identity (H = V), so
 * a token is its own one-hot direction; `forward` gives every position the mean input embedding over
 * the real tokens (a bag of words, soft vectors included); `lmLogits` is the identity. So the
 * logits at the mask are scale x (count of each token / sequence length).
 */
export class BagOfWordsLM implements FrozenLM {
  readonly config: TransformerConfig;
  readonly wordEmbeddings: tf.Tensor2D;
  readonly hasLmHead = true;

  constructor(base: TransformerConfig, readonly scale = 8) {
    this.config = { ...base, hiddenSize: base.vocabSize };
    this.wordEmbeddings = tf.mul(tf.eye(base.vocabSize), scale) as tf.Tensor2D;
  }

  embed(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.gather(this.wordEmbeddings, ids) as tf.Tensor as tf.Tensor3D;
  }

  forward({ inputsEmbeds, attentionMask }: ForwardInputs): tf.Tensor3D {
    return tf.tidy(() => {
      const m = attentionMask.toFloat().expandDims(2); // [B, T, 1]
      const mean = tf.div(tf.sum(tf.mul(inputsEmbeds, m), 1, true), tf.sum(m, 1, true)); // [B, 1, H]
      return tf.mul(tf.onesLike(inputsEmbeds), mean) as tf.Tensor3D;
    });
  }

  lmLogits(hidden: tf.Tensor): tf.Tensor {
    return hidden.clone();
  }

  keyValues(): tf.Tensor3D {
    throw new Error('the bag-of-words model has no attention, so no keys and values');
  }

  dispose(): void {
    this.wordEmbeddings.dispose();
  }
}

/**
 * A made-up task the tiny random models can learn through a soft prompt: the label is "pos" exactly
 * when the word "good" occurs among random filler words (every other row).
 */
export function goodTask(n: number, seed: number): Row[] {
  const r = seededRandom(seed, 'task');
  const filler = ['the', 'movie', 'was', 'it', 'a', 'film', 'very', 'plot', 'and'];
  return Array.from({ length: n }, (_, i) => {
    const words = Array.from({ length: 3 + r.int(3) }, () => filler[r.int(filler.length)]);
    const pos = i % 2 === 0;
    if (pos) words.splice(r.int(words.length + 1), 0, 'good');
    return { text: words.join(' '), label: pos ? 'pos' : 'neg' };
  });
}
