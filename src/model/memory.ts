/**
 * Coarse memory figures shared by the Hub panel's estimate (hubInspect.ts) and the engine's choice
 * to recompute layers (engine/tune.ts). Float32 throughout: tfjs stores every float that way.
 */
import type { TransformerConfig } from './types';

export const F32_BYTES = 4;

/**
 * The activations the backward pass to the prompt keeps for every layer, in bytes: per token and
 * layer about 8H floats (q, k, v, context, attention output, two norms, residual), 2I for the MLP
 * (before and after the activation; 3I for SwiGLU: gate, up and their product) and 2 x heads x T for
 * the attention scores and probabilities.
 */
export function keptActivationBytes(
  config: Pick<TransformerConfig, 'hiddenSize' | 'hiddenAct' | 'intermediateSize' | 'numHeads' | 'numLayers'>,
  batchSize: number,
  sequenceLength: number,
): number {
  const T = sequenceLength;
  const perTokenLayer = 8 * config.hiddenSize + (config.hiddenAct === 'silu' ? 3 : 2) * config.intermediateSize + 2 * config.numHeads * T;
  return F32_BYTES * batchSize * T * config.numLayers * perTokenLayer;
}
