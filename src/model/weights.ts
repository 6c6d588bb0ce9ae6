/**
 * Maps Hugging Face checkpoint tensor names onto a family's weights, asserting that every expected
 * tensor is present with the shape config.json implies.
 */
import * as tf from '@tensorflow/tfjs';

export class WeightError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightError';
  }
}

/** One tensor a family expects. `key` is the HF name without the family prefix (`bert.` ...). */
export interface WeightSpec {
  key: string;
  /** Shape as stored in the checkpoint (torch layout). */
  shape: number[];
  /** torch nn.Linear stores [out, in]; the model wants [in, out]. */
  transpose?: boolean;
  /** 'head' tensors may be absent as a group (a checkpoint saved without its LM head). */
  group: 'base' | 'head';
  /** Absent without error (e.g. a tied decoder weight that save_pretrained dropped). */
  optional?: boolean;
}

/** Where a checkpoint's tensors live and how to read one (possibly from one of several shards). */
export interface TensorStore {
  names(): Iterable<string>;
  shapeOf(name: string): number[];
  /** File (shard) holding the tensor, for error messages: `<folder>/<file>`. */
  fileOf(name: string): string;
  /** The weight files as a whole, for errors about a tensor no file holds: `<folder>/model.safetensors` or its index. */
  readonly label: string;
  read(name: string): Promise<Float32Array>;
}

/** Candidate checkpoint names for a key: with the family prefix (as in *ForMaskedLM) and without (as in *Model). */
function candidates(key: string, prefix: string): string[] {
  const names = [prefix + key, key];
  // Old TF-converted checkpoints name LayerNorm parameters gamma/beta.
  if (/LayerNorm\.weight$/.test(key)) names.push(...names.map((n) => n.replace(/weight$/, 'gamma')));
  if (/LayerNorm\.bias$/.test(key)) names.push(...names.map((n) => n.replace(/bias$/, 'beta')));
  return names;
}

export interface ResolvedWeights {
  tensors: Map<string, tf.Tensor>;
  /** Names of the missing head tensors (empty when the checkpoint has its LM head). */
  missingHead: string[];
}

export async function resolveWeights(
  specs: WeightSpec[],
  store: TensorStore,
  prefix: string,
): Promise<ResolvedWeights> {
  const available = new Set(store.names());
  const found = new Map<WeightSpec, string>();
  const missingBase: string[] = [];
  const missingHead: string[] = [];
  for (const spec of specs) {
    const name = candidates(spec.key, prefix).find((n) => available.has(n));
    if (name === undefined) {
      if (spec.optional) continue;
      (spec.group === 'base' ? missingBase : missingHead).push(spec.key);
      continue;
    }
    const shape = store.shapeOf(name);
    if (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i])) {
      throw new WeightError(
        `${store.fileOf(name)}: tensor "${name}" has shape [${shape.join(', ')}], expected [${spec.shape.join(', ')}] from config.json`,
      );
    }
    found.set(spec, name);
  }
  if (missingBase.length > 0) {
    throw new WeightError(
      `${store.label}: checkpoint is missing ${missingBase.length} expected tensor(s): ${missingBase.slice(0, 8).join(', ')}` +
        `${missingBase.length > 8 ? ', ...' : ''} (looked for them with and without the "${prefix}" prefix)`,
    );
  }
  const tensors = new Map<string, tf.Tensor>();
  try {
    for (const [spec, name] of found) {
      if (spec.group === 'head' && missingHead.length > 0) continue; // an incomplete head is not loaded
      const data = await store.read(name);
      assertFinite(data, spec.shape, name, store.fileOf(name));
      const t = tf.tensor(data, spec.shape, 'float32');
      tensors.set(spec.key, spec.transpose ? transposeAndDispose(t) : t);
    }
  } catch (e) {
    tensors.forEach((t) => t.dispose());
    throw e;
  }
  return { tensors, missingHead };
}

/**
 * A NaN or infinity in a frozen weight poisons every forward pass: training would run to its end on
 * NaN losses. One pass over the floats as they are read (about 0.1 s for BERT-base's 110 M here) refuses
 * the checkpoint instead, naming the file, the tensor and the first bad element.
 */
export function assertFinite(data: Float32Array, shape: readonly number[], name: string, file: string): void {
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (x - x === 0) continue; // finite; NaN - NaN and Inf - Inf are NaN
    let bad = 0;
    for (let j = i; j < data.length; j++) if (!Number.isFinite(data[j])) bad++;
    const index: number[] = [];
    for (let k = shape.length - 1, rest = i; k >= 0; k--) {
      index.unshift(rest % shape[k]);
      rest = Math.floor(rest / shape[k]);
    }
    throw new WeightError(
      `${file}: tensor "${name}" holds ${bad} non-finite value${bad === 1 ? '' : 's'} (the first, ${x}, at [${index.join(', ')}]); ` +
        'the checkpoint is corrupt or was saved after training diverged',
    );
  }
}

function transposeAndDispose(t: tf.Tensor): tf.Tensor {
  const out = t.transpose();
  t.dispose();
  return out;
}

/** Takes a resolved tensor by key with the rank the caller expects. */
export function take<T extends tf.Tensor>(tensors: Map<string, tf.Tensor>, key: string): T {
  const t = tensors.get(key);
  if (!t) throw new WeightError(`internal: weight "${key}" was not resolved`);
  return t as T;
}
