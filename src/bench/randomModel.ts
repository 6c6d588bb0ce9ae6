/**
 * A frozen model of any config, for timing a step: the values don't change the work done, so the
 * weights are constants (cheap to make at BERT-base size) rather than random draws.
 */
import * as tf from '@tensorflow/tfjs';
import { BertEncoder, encoderWeightSpecs } from '../model/bert';
import { Gpt2Model, gpt2WeightSpecs } from '../model/gpt2';
import type { FrozenLM, TransformerConfig } from '../model/types';

export function randomModel(cfg: TransformerConfig): FrozenLM {
  const specs = cfg.modelType === 'gpt2' ? gpt2WeightSpecs(cfg) : encoderWeightSpecs(cfg);
  const tensors = new Map<string, tf.Tensor>();
  for (const spec of specs) {
    if (spec.optional) continue;
    const shape = spec.transpose ? [spec.shape[1], spec.shape[0]] : spec.shape;
    tensors.set(spec.key, tf.fill(shape, shape.length === 1 ? 1 : 0.02));
  }
  return cfg.modelType === 'gpt2' ? new Gpt2Model(cfg, tensors) : new BertEncoder(cfg, tensors);
}
