/**
 * Fused scaled dot-product attention for tfjs's WebGPU backend: softmax(q kᵀ / √d + bias) v in one
 * WGSL kernel (flash-style: each workgroup keeps a block of query rows, streams the keys and values
 * through workgroup memory a tile at a time and keeps a running max and sum per row, so the
 * [T_q, T_k] score matrix never exists in memory), and its backward in four more (flash-attention-2's
 * recompute: the row statistics, then dQ, dK and dV, each recomputing the probabilities it needs).
 *
 * The kernels read q, k, v in the layout the projections produce, [B, T, heads x d], and write the
 * output in it too, so the head split and merge (three transposes in, one out) disappear along with
 * the matmuls, scale, bias add and softmax. A forward is one dispatch, a backward four, against 9
 * and 13 for the same attention in plain tfjs ops.
 *
 * Used by layers.ts `multiHeadAttention` when the active backend is webgpu, the head size is at most
 * FUSED_ATTENTION_MAX_HEAD_DIM and the tfjs flag FUSED_ATTENTION_FLAG is on (the default); turn it
 * off (`tf.env().set(FUSED_ATTENTION_FLAG, false)`; the Node tools: STUDIO_FUSED_ATTENTION=0) to run
 * the plain ops instead, e.g. to compare.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

/** tfjs flag: false runs attention as plain tfjs ops even on WebGPU. */
export const FUSED_ATTENTION_FLAG = 'STUDIO_FUSED_ATTENTION';
/** Each thread keeps its own row's vectors (q and dO, or k and v) and an accumulator in registers: d floats each. */
export const FUSED_ATTENTION_MAX_HEAD_DIM = 128;

/** Workgroup memory per kernel: two [tile, d] f32 tiles within WebGPU's guaranteed 16 KiB. */
const TILE_FLOATS = 2048;
const MAX_ROWS_PER_WORKGROUP = 64;
const MAX_TILE_ROWS = 32;

if (!isFlagRegistered()) tf.env().registerFlag(FUSED_ATTENTION_FLAG, () => true);

function isFlagRegistered(): boolean {
  try {
    tf.env().get(FUSED_ATTENTION_FLAG);
    return true;
  } catch {
    return false;
  }
}

/** Whether multiHeadAttention should take the fused path for q [B, T, heads x d] split into `numHeads`. */
export function useFusedAttention(q: tf.Tensor, numHeads: number): boolean {
  if (tf.getBackend() !== 'webgpu' || !tf.env().getBool(FUSED_ATTENTION_FLAG)) return false;
  const headDim = q.shape[q.rank - 1] / numHeads;
  return q.rank === 3 && q.dtype === 'float32' && Number.isInteger(headDim) && headDim <= FUSED_ATTENTION_MAX_HEAD_DIM;
}

type KernelKind = 'forward' | 'stats' | 'dq' | 'dk' | 'dv';

/**
 * One of the five programs. Every kernel gives a workgroup `rows` consecutive rows (queries for
 * forward, stats and dq; keys for dk and dv) of one (batch, head); each thread owns one row and
 * the workgroup streams the other side (keys or queries) through workgroup memory `tile` rows at a
 * time. Bias is [B or 1, 1, T_q or 1, T_k]; its shape comes in as a uniform.
 */
class AttentionProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  private readonly rows: number;
  private readonly tile: number;

  constructor(
    private readonly kind: KernelKind,
    private readonly headDim: number,
    batch: number,
    heads: number,
    ownRows: number,
    outputShape: number[],
  ) {
    this.variableNames = {
      forward: ['q', 'k', 'v', 'bias'],
      stats: ['q', 'k', 'bias', 'o', 'dO'],
      dq: ['q', 'k', 'v', 'bias', 'dO', 'stats'],
      dk: ['q', 'k', 'v', 'bias', 'dO', 'stats'],
      dv: ['q', 'k', 'bias', 'dO', 'stats'],
    }[kind];
    this.outputShape = outputShape;
    this.rows = Math.min(MAX_ROWS_PER_WORKGROUP, Math.max(8, 2 ** Math.ceil(Math.log2(Math.max(1, ownRows)))));
    this.tile = Math.max(1, Math.min(MAX_TILE_ROWS, Math.floor(TILE_FLOATS / headDim)));
    this.workgroupSize = [this.rows, 1, 1];
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [batch * heads * Math.ceil(ownRows / this.rows), 1, 1];
    this.shaderKey = `studioAttention_${kind}_d${headDim}_r${this.rows}_t${this.tile}`;
  }

  getUserCode(): string {
    const D = this.headDim;
    const scale = 1 / Math.sqrt(D);
    const kind = this.kind;
    const perQuery = kind === 'forward' || kind === 'stats' || kind === 'dq';
    // Workgroup tiles of the streamed side: keys (and values) for per-query kernels, queries (and dO) for per-key ones.
    const tileA = perQuery ? 'k' : 'q';
    const tileB = { forward: 'v', stats: '', dq: 'v', dk: 'dO', dv: 'dO' }[kind];
    const header = /* wgsl */ `
      const D = ${D};
      const ROWS = ${this.rows};
      const TILE = ${this.tile};
      const SCALE = f32(${scale});
      var<workgroup> tileA : array<f32, ${this.tile * D}>;
      ${tileB ? `var<workgroup> tileB : array<f32, ${this.tile * D}>;` : ''}
      ${perQuery ? '' : `var<workgroup> tileLse : array<f32, ${this.tile}>;
      var<workgroup> tileDelta : array<f32, ${this.tile}>;`}

      fn biasAt(b : i32, i : i32, j : i32) -> f32 {
        let s = uniforms.biasShape;
        return bias[((select(b, 0, s.x == 1) * s.z) + select(i, 0, s.z == 1)) * s.w + j];
      }
    `;
    // Shared prologue: which (batch, head, row) this thread owns.
    const prologue = /* wgsl */ `
      let tq = uniforms.qShape.y;
      let tk = uniforms.kShape.y;
      let hidden = uniforms.qShape.z;
      let heads = hidden / D;
      let own = ${perQuery ? 'tq' : 'tk'};
      let other = ${perQuery ? 'tk' : 'tq'};
      let blocks = (own + ROWS - 1) / ROWS;
      // A dispatch reshaped past the per-dimension limit has spare workgroups: they idle through the
      // barriers (tfjs's workgroupId is a private copy, so WGSL cannot prove an early return uniform).
      let groups = uniforms.qShape.x * heads * blocks;
      let flatGroup = i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x);
      let group = min(flatGroup, groups - 1);
      let bh = group / blocks;
      let b = bh / heads;
      let h = bh % heads;
      let row = (group % blocks) * ROWS + i32(localId.x);
      let inRange = row < own && flatGroup < groups;
      let ownBase = (b * own + row) * hidden + h * D; // this row in [B, T, heads x d]
      let otherHead = b * other * hidden + h * D;
    `;
    // Loads the streamed rows j0 .. j0 + TILE into workgroup memory (zeros past the end).
    const loadTile = (name: string, src: string) => /* wgsl */ `
        for (var e = i32(localId.x); e < TILE * D; e += ROWS) {
          let j = j0 + e / D;
          var x = 0.0;
          if (j < other) { x = ${src}[otherHead + j * hidden + e % D]; }
          ${name}[e] = x;
        }
    `;
    const loadStats = /* wgsl */ `
        for (var e = i32(localId.x); e < TILE; e += ROWS) {
          let i = j0 + e;
          var lse = 0.0;
          var delta = 0.0;
          if (i < other) {
            let at = ((b * heads + h) * tq + i) * 2;
            lse = stats[at];
            delta = stats[at + 1];
          }
          tileLse[e] = lse;
          tileDelta[e] = delta;
        }
    `;
    // A dot product of this thread's row with streamed row j, inline (WGSL functions cannot take workgroup arrays generically).
    const inlineDot = (out: string, mine: string, t: string) => /* wgsl */ `
            var ${out} = 0.0;
            for (var c = 0; c < D; c++) { ${out} += ${mine}[c] * ${t}[j * D + c]; }
    `;
    const loadOwn = (name: string, src: string) => /* wgsl */ `
      var ${name} : array<f32, D>;
      if (inRange) { for (var c = 0; c < D; c++) { ${name}[c] = ${src}[ownBase + c]; } }
    `;

    let body: string;
    switch (kind) {
      case 'forward':
      case 'stats':
        body = /* wgsl */ `
      ${loadOwn('qRow', 'q')}
      ${kind === 'forward' ? 'var acc : array<f32, D>;' : ''}
      var m = -3.0e38;
      var l = 0.0;
      for (var j0 = 0; j0 < other; j0 += TILE) {
        ${loadTile('tileA', 'k')}
        ${kind === 'forward' ? loadTile('tileB', 'v') : ''}
        workgroupBarrier();
        if (inRange) {
          let n = min(TILE, other - j0);
          var s : array<f32, TILE>;
          var tileMax = m;
          for (var j = 0; j < n; j++) {
            ${inlineDot('qk', 'qRow', 'tileA')}
            s[j] = qk * SCALE + biasAt(b, row, j0 + j);
            tileMax = max(tileMax, s[j]);
          }
          let correction = exp(m - tileMax);
          l *= correction;
          ${kind === 'forward' ? 'for (var c = 0; c < D; c++) { acc[c] *= correction; }' : ''}
          for (var j = 0; j < n; j++) {
            let p = exp(s[j] - tileMax);
            l += p;
            ${kind === 'forward' ? 'for (var c = 0; c < D; c++) { acc[c] += p * tileB[j * D + c]; }' : ''}
          }
          m = tileMax;
        }
        workgroupBarrier();
      }
      if (inRange) {
        ${
          kind === 'forward'
            ? 'let inv = 1.0 / l;\n        for (var c = 0; c < D; c++) { result[ownBase + c] = acc[c] * inv; }'
            : `var delta = 0.0;
        for (var c = 0; c < D; c++) { delta += dO[ownBase + c] * o[ownBase + c]; }
        let at = ((b * heads + h) * tq + row) * 2;
        result[at] = m + log(l);
        result[at + 1] = delta;`
        }
      }
    `;
        break;
      case 'dq':
        body = /* wgsl */ `
      ${loadOwn('qRow', 'q')}
      ${loadOwn('gRow', 'dO')}
      var acc : array<f32, D>;
      var lse = 0.0;
      var delta = 0.0;
      if (inRange) {
        let at = ((b * heads + h) * tq + row) * 2;
        lse = stats[at];
        delta = stats[at + 1];
      }
      for (var j0 = 0; j0 < other; j0 += TILE) {
        ${loadTile('tileA', 'k')}
        ${loadTile('tileB', 'v')}
        workgroupBarrier();
        if (inRange) {
          let n = min(TILE, other - j0);
          for (var j = 0; j < n; j++) {
            ${inlineDot('qk', 'qRow', 'tileA')}
            ${inlineDot('gv', 'gRow', 'tileB')}
            let p = exp(qk * SCALE + biasAt(b, row, j0 + j) - lse);
            let ds = p * (gv - delta);
            for (var c = 0; c < D; c++) { acc[c] += ds * tileA[j * D + c]; }
          }
        }
        workgroupBarrier();
      }
      if (inRange) { for (var c = 0; c < D; c++) { result[ownBase + c] = acc[c] * SCALE; } }
    `;
        break;
      case 'dk':
      case 'dv':
        body = /* wgsl */ `
      ${loadOwn('kRow', 'k')}
      ${kind === 'dk' ? loadOwn('vRow', 'v') : ''}
      var acc : array<f32, D>;
      for (var j0 = 0; j0 < other; j0 += TILE) {
        ${loadTile('tileA', 'q')}
        ${loadTile('tileB', 'dO')}
        ${loadStats}
        workgroupBarrier();
        if (inRange) {
          let n = min(TILE, other - j0);
          for (var j = 0; j < n; j++) {
            ${inlineDot('qk', 'kRow', 'tileA')}
            let p = exp(qk * SCALE + biasAt(b, j0 + j, row) - tileLse[j]);
            ${
              kind === 'dv'
                ? 'for (var c = 0; c < D; c++) { acc[c] += p * tileB[j * D + c]; }'
                : `${inlineDot('gv', 'vRow', 'tileB')}
            let ds = p * (gv - tileDelta[j]);
            for (var c = 0; c < D; c++) { acc[c] += ds * tileA[j * D + c]; }`
            }
          }
        }
        workgroupBarrier();
      }
      if (inRange) { for (var c = 0; c < D; c++) { result[ownBase + c] = acc[c]${kind === 'dk' ? ' * SCALE' : ''}; } }
    `;
        break;
    }
    return `${header}
    fn main(index : i32) {
      ${prologue}
      ${body}
    }`;
  }
}

function run(kind: KernelKind, inputs: tf.Tensor[], outputShape: number[], headDim: number, ownRows: number): tf.Tensor {
  const backend = tf.backend() as unknown as WebGPUBackend;
  const [batch, , hidden] = inputs[0].shape;
  const program = new AttentionProgram(kind, headDim, batch, hidden / headDim, ownRows, outputShape);
  const info = backend.runWebGPUProgram(program, inputs, 'float32');
  return tf.engine().makeTensorFromTensorInfo(info);
}

function checkShapes(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, bias: tf.Tensor, numHeads: number): void {
  const where = 'fusedAttention';
  if (q.rank !== 3 || k.rank !== 3 || v.rank !== 3) throw new Error(`${where}: q, k, v must be [B, T, heads x d]; got [${q.shape}], [${k.shape}], [${v.shape}]`);
  const [b, tq, h] = q.shape;
  const tk = k.shape[1];
  if (k.shape[0] !== b || v.shape[0] !== b || k.shape[2] !== h || v.shape[2] !== h || v.shape[1] !== tk) {
    throw new Error(`${where}: k and v must be [${b}, T_k, ${h}] like q [${q.shape}]; got k [${k.shape}], v [${v.shape}]`);
  }
  if (h % numHeads !== 0) throw new Error(`${where}: hidden ${h} is not a multiple of ${numHeads} heads`);
  const [bb, one, bq, bk] = bias.shape;
  if (bias.rank !== 4 || (bb !== b && bb !== 1) || one !== 1 || (bq !== tq && bq !== 1) || bk !== tk) {
    throw new Error(`${where}: bias must be [${b} or 1, 1, ${tq} or 1, ${tk}]; got [${bias.shape}]`);
  }
}

/**
 * softmax(q kᵀ / √d + bias) v per head: q [B, T_q, heads x d], k and v [B, T_k, heads x d], bias
 * [B, 1, T_q or 1, T_k] (attentionBias) -> [B, T_q, heads x d]. Differentiable in q, k and v (the
 * bias gets a zero gradient: it is a constant mask). The inRange backend must be webgpu.
 */
export function fusedAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, bias: tf.Tensor4D, numHeads: number): tf.Tensor3D {
  checkShapes(q, k, v, bias, numHeads);
  const headDim = q.shape[2] / numHeads;
  const [, tq] = q.shape;
  const tk = k.shape[1];
  const attend = tf.customGrad((qi, ki, vi, bi, save) => {
    const [qt, kt, vt, bt] = [qi, ki, vi, bi] as tf.Tensor[];
    const out = run('forward', [qt, kt, vt, bt], qt.shape, headDim, tq);
    (save as tf.GradSaveFunc)([qt, kt, vt, bt, out]);
    return {
      value: out,
      gradFunc: (dy, saved) => {
        const [sq, sk, sv, sb, so] = saved;
        const dO = dy as tf.Tensor;
        const [batch] = sq.shape;
        // Per query row: the log-sum-exp of its scores and Σ dO·O (softmax's backward needs both).
        const stats = run('stats', [sq, sk, sb, so, dO], [batch, numHeads, tq, 2], headDim, tq);
        const dq = run('dq', [sq, sk, sv, sb, dO, stats], sq.shape, headDim, tq);
        const dk = run('dk', [sq, sk, sv, sb, dO, stats], sk.shape, headDim, tk);
        const dv = run('dv', [sq, sk, sb, dO, stats], sv.shape, headDim, tk);
        // tf.zeros stays on the host until read: the constant mask's gradient costs no dispatch.
        return [dq, dk, dv, tf.zeros(sb.shape)];
      },
    };
  });
  return attend(q, k, v, bias) as tf.Tensor3D;
}
