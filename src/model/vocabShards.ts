/**
 * Vocabulary-sized tables (the word embeddings, the LM head's decoder) split by rows into shards
 * that each fit one GPU storage binding. A WebGPU kernel binds each operand whole, and devices cap
 * a binding at maxStorageBufferBindingSize (128 MiB on many): a 50k x 768 float32 table is 154 MB,
 * a 152k x 896 one 545 MB, so such a table cannot be an operand at all. Its shards can: a lookup
 * gathers from every shard (ids outside a shard clamped, their rows zeroed) and sums, a projection
 * multiplies by every shard and concatenates the logits. A table under the limit is its own only
 * shard, and nothing changes. Only the limit comes from the backend (the WebGPU device's, or none).
 * Split shards are copies: gradients reach them, not the original table (pretraining's tables are
 * small enough never to be split; a split table is a frozen one).
 */
import * as tf from '@tensorflow/tfjs';

let limitOverride: number | null = null;

/** Tests: pretend one binding holds at most `bytes` on every backend (null: the device's limit again). */
export function setBindingLimitOverride(bytes: number | null): void {
  limitOverride = bytes;
}

/** The most bytes one kernel operand may have: the WebGPU device's maxStorageBufferBindingSize, else no limit. */
export function maxBindingBytes(): number {
  if (limitOverride !== null) return limitOverride;
  if (tf.getBackend() === 'webgpu') {
    const device = (tf.backend() as unknown as { device?: { limits?: { maxStorageBufferBindingSize?: number } } }).device;
    const limit = device?.limits?.maxStorageBufferBindingSize;
    if (limit) return limit;
  }
  return Infinity;
}

export class VocabTable {
  private constructor(
    /** [rows_s, H] each, in vocabulary order. */
    readonly shards: tf.Tensor2D[],
    /** The vocabulary id of each shard's first row. */
    readonly starts: number[],
    /** Whether the shards are this object's own tensors (false: the one shard is the caller's table). */
    private readonly ownsShards: boolean,
  ) {}

  /**
   * `table` [V, H] as shards of at most `maxBytes` each (4-byte elements). Over the limit the rows
   * are copied from the host-side values, which a freshly loaded tensor still has (slicing it on the
   * GPU would bind it whole); the caller keeps owning `table`. `name` goes into errors.
   */
  static split(table: tf.Tensor2D, name: string, maxBytes = maxBindingBytes()): VocabTable {
    const [V, H] = table.shape;
    const rowsPerShard = Math.floor(maxBytes / (H * 4));
    if (V <= rowsPerShard) return new VocabTable([table], [0], false);
    if (rowsPerShard < 1) throw new RangeError(`${name}: one row of ${H} floats exceeds the ${maxBytes}-byte binding limit`);
    let values: Float32Array;
    try {
      values = table.dataSync() as Float32Array;
    } catch (e) {
      throw new Error(`${name} [${V}, ${H}] is over the ${maxBytes}-byte binding limit and must be split while its values are on the host (before a GPU kernel uses it): ${(e as Error).message}`);
    }
    const shards: tf.Tensor2D[] = [];
    const starts: number[] = [];
    for (let start = 0; start < V; start += rowsPerShard) {
      const rows = Math.min(rowsPerShard, V - start);
      starts.push(start);
      shards.push(tf.tensor2d(values.subarray(start * H, (start + rows) * H), [rows, H]));
    }
    return new VocabTable(shards, starts, true);
  }

  get rows(): number {
    return this.starts[this.starts.length - 1] + this.shards[this.shards.length - 1].shape[0];
  }

  get width(): number {
    return this.shards[0].shape[1];
  }

  /** ids [...] (int32) -> rows [..., H]. */
  gather(ids: tf.Tensor): tf.Tensor {
    if (this.shards.length === 1) return tf.gather(this.shards[0], ids);
    return tf.tidy(() => {
      const flat = ids.reshape([-1]).toInt(); // [M]
      const parts = this.shards.map((shard, s) => {
        const n = shard.shape[0];
        const local = tf.sub(flat, tf.scalar(this.starts[s], 'int32'));
        const inside = tf.logicalAnd(tf.greaterEqual(local, tf.scalar(0, 'int32')), tf.less(local, tf.scalar(n, 'int32'))); // [M]
        const clamped = tf.minimum(tf.maximum(local, tf.scalar(0, 'int32')), tf.scalar(n - 1, 'int32'));
        return tf.mul(tf.gather(shard, clamped), inside.toFloat().expandDims(1)); // [M, H], zeros for other shards' ids
      });
      return tf.addN(parts).reshape([...ids.shape, this.width]);
    });
  }

  /** [..., H] -> [..., V]: times every shard's transpose, logits concatenated in vocabulary order. */
  project(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const shape = x.shape;
      const flat = x.reshape([-1, shape[shape.length - 1]]) as tf.Tensor2D;
      const logits = this.shards.map((shard) => tf.matMul(flat, shard, false, true)); // [N, H] x [rows_s, H]^T
      return (logits.length === 1 ? logits[0] : tf.concat(logits, 1)).reshape([...shape.slice(0, -1), this.rows]);
    });
  }

  dispose(): void {
    if (this.ownsShards) tf.dispose(this.shards);
  }
}
