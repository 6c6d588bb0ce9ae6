/**
 * Gradient checkpointing for the frozen transformer's layers. Prompt tuning differentiates only
 * with respect to the inputs of the stack (the soft prompt, a prefix), yet tfjs's tape keeps every
 * intermediate of every layer until the backward pass: at BERT-base size, batch 8 and 128 tokens
 * that is several GB (attention probabilities alone are B x heads x T x T per layer), more than the
 * wasm heap holds. With recomputation on, a layer wrapped by `checkpointed` keeps only its inputs;
 * the backward pass runs the layer again under a tape of its own and differentiates that copy. The
 * peak is then one layer's intermediates plus one [B, T, H] per layer, for ~one extra forward pass.
 *
 * Recomputation is off unless a caller turns it on around the gradient computation
 * (`withLayerRecomputation`, as `promptTuningStep` does when asked): with it off, a checkpointed
 * block is the block itself.
 */
import * as tf from '@tensorflow/tfjs';

let recomputeLayers = false;

/** Runs `f` with layer recomputation on (or off), restoring the previous setting afterwards. */
export function withLayerRecomputation<T>(on: boolean, f: () => T): T {
  const previous = recomputeLayers;
  recomputeLayers = on;
  try {
    return f();
  } finally {
    recomputeLayers = previous;
  }
}

/** Whether checkpointed blocks recompute in the backward pass right now. */
export function layerRecomputationOn(): boolean {
  return recomputeLayers;
}

/** The part of tfjs's engine state a nested gradient computation replaces (see `recomputedGrads`). */
interface EngineTapeState {
  state: { activeTape: unknown };
}

/**
 * The gradients of `block` at `inputs` against `dy`, computed while tfjs is in the middle of an
 * outer backward pass. tfjs's engine starts a fresh tape (and drops it when done) whenever no
 * gradient is being recorded, which is the case during a backward pass: the outer tape, whose
 * saved tensors the outer computation disposes at its end, is put back afterwards.
 */
function recomputedGrads(block: (...inputs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], dy: tf.Tensor): tf.Tensor[] {
  const engine = tf.engine() as unknown as EngineTapeState;
  const outerTape = engine.state.activeTape;
  try {
    return tf.grads((...xs: tf.Tensor[]) => block(...xs))(inputs, dy);
  } finally {
    engine.state.activeTape = outerTape;
  }
}

/**
 * `blockFn` (float tensors in, one tensor out, frozen weights from its closure) as a checkpointed
 * block: while recomputation is on, its forward keeps none of its intermediates and its backward
 * recomputes them; every input receives its gradient (tensors that need none, such as an attention
 * bias, get one too, which costs little). Inputs must be all the tensors the block reads that are
 * not frozen weights: anything else it closes over may be disposed before the backward pass runs.
 */
export function checkpointed<O extends tf.Tensor>(blockFn: (...inputs: tf.Tensor[]) => O): (...inputs: tf.Tensor[]) => O {
  const recomputing = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const inputs = args as tf.Tensor[];
    save(inputs); // the checkpoint: only the inputs stay for the backward pass
    return {
      value: tf.tidy(() => blockFn(...inputs)),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => recomputedGrads(blockFn, saved, dy as tf.Tensor),
    };
  });
  return (...inputs) => (recomputeLayers ? (recomputing(...inputs) as O) : blockFn(...inputs));
}
