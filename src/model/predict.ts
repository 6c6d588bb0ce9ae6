/**
 * What the frozen model itself predicts: the top tokens at the mask (encoders) or after the text
 * (decoders). The studio shows it when a model is loaded, and tests compare it across backends.
 */
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from './loader';

export interface TokenPrediction {
  id: number;
  token: string;
  prob: number;
}

export interface TopTokens {
  /** Index of the predicted position in the model input (specials included). */
  position: number;
  tokens: TokenPrediction[];
}

/** Model input ids for a text: [CLS] text [SEP] for encoders, BOS text for decoders. */
export function inputIds({ tokenizer, config }: LoadedModel, text: string): number[] {
  const ids = tokenizer.encodeStart(text);
  const { cls, sep, bos } = tokenizer.special;
  if (config.lmKind === 'masked-lm') return [...(cls === null ? [] : [cls]), ...ids, ...(sep === null ? [] : [sep])];
  return [...(bos === null || !tokenizer.addBos ? [] : [bos]), ...ids];
}

export async function topTokens(loaded: LoadedModel, text: string, k: number): Promise<TopTokens> {
  const { model, tokenizer, config } = loaded;
  const ids = inputIds(loaded, text);
  let position: number;
  if (config.lmKind === 'masked-lm') {
    const masks = ids.flatMap((id, i) => (id === tokenizer.special.mask ? [i] : []));
    if (masks.length !== 1) {
      throw new Error(`the text needs exactly one ${tokenizer.maskToken ?? 'mask token'} (found ${masks.length})`);
    }
    position = masks[0];
  } else {
    position = ids.length - 1;
  }
  if (ids.length > config.maxPositions) {
    throw new Error(`the text is ${ids.length} tokens long; this model reads at most ${config.maxPositions}`);
  }
  const probs = tf.tidy(() => {
    const idsT = tf.tensor2d([ids], undefined, 'int32');
    const h = model.forward({ inputsEmbeds: model.embed(idsT), attentionMask: tf.onesLike(idsT) });
    const at = h.slice([0, position, 0], [1, 1, config.hiddenSize]).reshape([1, config.hiddenSize]); // [1, H]
    return tf.softmax(model.lmLogits(at) as tf.Tensor2D); // [1, V]
  });
  const top = tf.topk(probs, Math.min(k, config.vocabSize));
  try {
    const [values, indices] = await Promise.all([top.values.data(), top.indices.data()]);
    const tokens = Array.from(indices, (id, i) => ({ id, token: tokenizer.idToToken(id) ?? `#${id}`, prob: values[i] }));
    return { position, tokens };
  } finally {
    tf.dispose([probs, top.values, top.indices]);
  }
}
