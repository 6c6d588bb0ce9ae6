/**
 * Held-out quality of a pretrained checkpoint, each beside a unigram-frequency baseline measured
 * on the same held-out tokens:
 * - masked LM: accuracy of the argmax at masked positions (15% of tokens, all replaced by [MASK],
 *   fixed seed) against always predicting the most frequent training token; and the perplexity of
 *   the masked tokens against the unigram distribution's;
 * - causal LM: next-token perplexity against the unigram distribution's.
 */
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../model/loader';
import { crossEntropy, seededRandom } from './pretrain';

export interface HeldOutReport {
  kind: 'masked-lm' | 'causal-lm';
  /** Held-out tokens read (windows x window length). */
  tokens: number;
  /** Positions scored (masked tokens, or next-token predictions). */
  predictions: number;
  perplexity: number;
  unigramPerplexity: number;
  /** Masked LM only. */
  accuracy?: number;
  unigramAccuracy?: number;
}

/** Unigram log-probabilities with add-one smoothing, from training ids. */
export function unigramLogProbs(trainIds: Int32Array, vocabSize: number): Float64Array {
  const counts = new Float64Array(vocabSize).fill(1);
  for (const id of trainIds) counts[id]++;
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => Math.log(c / total));
}

export async function evaluateHeldOut(
  loaded: LoadedModel,
  heldOut: Int32Array,
  unigram: Float64Array,
  options: { windowLength?: number; maxTokens?: number; batchSize?: number; seed?: number } = {},
): Promise<HeldOutReport> {
  const { model, tokenizer, config } = loaded;
  const masked = config.lmKind === 'masked-lm';
  // Encoders add [CLS]/[SEP]; decoders read T inputs and predict T targets from T + 1 ids.
  const T = options.windowLength ?? (masked ? config.maxPositions - 2 : config.maxPositions);
  const take = masked ? T : T + 1;
  const ids = options.maxTokens ? heldOut.subarray(0, options.maxTokens) : heldOut;
  const windows: number[][] = [];
  for (let s = 0; s + take <= ids.length; s += T) windows.push(Array.from(ids.subarray(s, s + take)));
  const B = options.batchSize ?? 16;
  const rand = seededRandom(options.seed ?? 2024);
  const reserved = new Set(Object.values(tokenizer.special).filter((x): x is number => x !== null));
  let mostFrequent = 0;
  unigram.forEach((lp, id) => {
    if (!reserved.has(id) && lp > unigram[mostFrequent]) mostFrequent = id;
  });
  let nll = 0;
  let unigramNll = 0;
  let correct = 0;
  let unigramCorrect = 0;
  let n = 0;
  for (let i = 0; i < windows.length; i += B) {
    const chunk = windows.slice(i, i + B);
    let labels: number[];
    let logits: tf.Tensor2D;
    if (masked) {
      const { cls, sep, mask } = tokenizer.special as { cls: number; sep: number; mask: number };
      const positions: number[] = [];
      labels = [];
      const rows = chunk.map((w, b) => {
        const row = [cls, ...w, sep];
        for (let t = 1; t < row.length - 1; t++) {
          if (reserved.has(row[t]) || rand() >= 0.15) continue;
          positions.push(b * row.length + t);
          labels.push(row[t]);
          row[t] = mask;
        }
        return row;
      });
      logits = tf.tidy(() => {
        const idsT = tf.tensor2d(rows, undefined, 'int32');
        const h = model.forward({ inputsEmbeds: model.embed(idsT), attentionMask: tf.onesLike(idsT) });
        return model.lmLogits(tf.gather(h.reshape([-1, config.hiddenSize]), tf.tensor1d(positions, 'int32'))) as tf.Tensor2D;
      });
    } else {
      labels = chunk.flatMap((w) => w.slice(1));
      logits = tf.tidy(() => {
        const idsT = tf.tensor2d(chunk.map((w) => w.slice(0, -1)), undefined, 'int32');
        const h = model.forward({ inputsEmbeds: model.embed(idsT), attentionMask: tf.onesLike(idsT) });
        return model.lmLogits(h.reshape([-1, config.hiddenSize])) as tf.Tensor2D;
      });
    }
    const labelsT = tf.tensor1d(labels, 'int32');
    const loss = crossEntropy(logits, labelsT);
    const argmax = logits.argMax(1);
    const [lossValue, predicted] = await Promise.all([loss.data(), argmax.data()]);
    tf.dispose([logits, labelsT, loss, argmax]);
    nll += lossValue[0] * labels.length;
    labels.forEach((l, j) => {
      unigramNll -= unigram[l];
      if (predicted[j] === l) correct++;
      if (l === mostFrequent) unigramCorrect++;
    });
    n += labels.length;
  }
  const report: HeldOutReport = {
    kind: config.lmKind,
    tokens: windows.length * T,
    predictions: n,
    perplexity: Math.exp(nll / n),
    unigramPerplexity: Math.exp(unigramNll / n),
  };
  if (masked) {
    report.accuracy = correct / n;
    report.unigramAccuracy = unigramCorrect / n;
  }
  return report;
}
