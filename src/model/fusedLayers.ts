/**
 * Fused WebGPU kernels for the per-token layers around attention, where a plain-ops step spends
 * most of its dispatches (profile: `npx tsx src/cli/kernel-work.ts`, dispatches per program):
 *
 * - LayerNorm, optionally over a residual sum LN(x + r): one kernel forward (a workgroup per row,
 *   mean and variance reduced in workgroup memory), one backward, against ~10 and ~20 plain ops.
 * - RMSNorm (Llama family), the same kernel without mean and beta: `fusedRmsNorm`, for llama.ts to
 *   route to under the same conditions (not wired here).
 * - GELU, exact (erf) and tanh forms: one elementwise kernel each way, against 5-8 and ~12.
 * - linear's bias: tfjs's fused matMul adds it in the matmul's own kernel; the backward is the one
 *   matmul dy·Wᵀ, since the weights are frozen (plain ops would also sum the bias gradient away).
 *
 * Every gradient here is with respect to the activations only: weights (gamma, beta, W, b) are
 * closed over as constants, which is what prompt tuning needs (frozen model). `linear` keeps plain
 * ops for trainable variables (the optional classification head), see `fusableWeights`.
 *
 * Used by layers.ts on the webgpu backend while the tfjs flag FUSED_LAYERS_FLAG is on (the
 * default); `tf.env().set(FUSED_LAYERS_FLAG, false)` (Node tools: STUDIO_FUSED_LAYERS=0) runs the
 * plain ops instead, e.g. to compare. Other backends always run the plain ops.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

/** tfjs flag: false runs LayerNorm, GELU and linear as plain tfjs ops even on WebGPU. */
export const FUSED_LAYERS_FLAG = 'STUDIO_FUSED_LAYERS';

if (!isFlagRegistered()) tf.env().registerFlag(FUSED_LAYERS_FLAG, () => true);

function isFlagRegistered(): boolean {
  try {
    tf.env().get(FUSED_LAYERS_FLAG);
    return true;
  } catch {
    return false;
  }
}

/** Whether layers.ts should take the fused path for activations `x`. */
export function useFusedLayers(x: tf.Tensor): boolean {
  return tf.getBackend() === 'webgpu' && tf.env().getBool(FUSED_LAYERS_FLAG) && x.dtype === 'float32' && x.size > 0;
}

/** Frozen weights only: a trainable variable needs its own gradient, which these kernels do not give. */
export function fusableWeights(...weights: tf.Tensor[]): boolean {
  return weights.every((w) => !(w instanceof tf.Variable && w.trainable) && w.dtype === 'float32');
}

/** A WGSL float literal for a JS number (always with a '.' or an exponent). */
function wgslFloat(v: number): string {
  const s = String(v);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

const LN_WORKGROUP = 64;

/**
 * LayerNorm (or RMSNorm: no mean, no beta) over rows of [rows, H]: a workgroup per row, each thread a strided slice of the
 * columns, sums reduced in workgroup memory. The forward writes y; the backward recomputes the
 * row's mean and 1/σ and writes dx (= dr for the residual).
 */
class NormProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [LN_WORKGROUP, 1, 1];

  constructor(
    private readonly norm: 'layer' | 'rms',
    private readonly backward: boolean,
    private readonly residual: boolean,
    private readonly eps: number,
    rows: number,
    hidden: number,
  ) {
    const value = residual ? ['x', 'r'] : ['x'];
    this.variableNames = backward ? [...value, 'gamma', 'dy'] : [...value, 'gamma', ...(norm === 'layer' ? ['beta'] : [])];
    this.outputShape = [rows, hidden];
    this.dispatchLayout = { x: [0, 1] };
    this.dispatch = [rows, 1, 1];
    this.shaderKey = `studioNorm_${norm}_${backward ? 'backward' : 'forward'}_${residual ? 'residual' : 'plain'}_h${hidden}_eps${eps}`;
  }

  getUserCode(): string {
    const H = this.outputShape[1];
    const value = this.residual ? '(x[base + c] + r[base + c])' : 'x[base + c]';
    const layer = this.norm === 'layer';
    // Tree reduction of the per-thread partial sums in `part` (all threads reach every barrier).
    const reduce = (part: string) => /* wgsl */ `
      for (var stride = WG / 2; stride > 0; stride /= 2) {
        if (lid < stride) { ${part}[lid] += ${part}[lid + stride]; }
        workgroupBarrier();
      }`;
    const tail = this.backward
      ? /* wgsl */ `
      var sg = 0.0;
      var sgx = 0.0;
      for (var c = lid; c < H; c += WG) {
        let g = dy[base + c] * gamma[c];
        sg += g;
        sgx += g * (${value} - mean) * rstd;
      }
      partA[lid] = sg;
      partB[lid] = sgx;
      workgroupBarrier();
      ${reduce('partA')}
      ${reduce('partB')}
      let meanG = ${layer ? 'partA[0] / f32(H)' : '0.0'}; // RMSNorm: no mean subtracted, none to pass back
      let meanGX = partB[0] / f32(H);
      if (live) {
        for (var c = lid; c < H; c += WG) {
          let xhat = (${value} - mean) * rstd;
          result[base + c] = rstd * (dy[base + c] * gamma[c] - meanG - xhat * meanGX);
        }
      }`
      : /* wgsl */ `
      if (live) {
        for (var c = lid; c < H; c += WG) {
          result[base + c] = (${value} - mean) * rstd * gamma[c]${layer ? ' + beta[c]' : ''};
        }
      }`;
    return /* wgsl */ `
    const WG = ${LN_WORKGROUP};
    const H = ${H};
    const EPS = f32(${wgslFloat(this.eps)});
    var<workgroup> partA : array<f32, WG>;
    var<workgroup> partB : array<f32, WG>;

    fn main(index : i32) {
      let rows = uniforms.outShape.x;
      // A dispatch reshaped past the per-dimension limit has spare workgroups: they compute row
      // rows - 1 again through the barriers and write nothing.
      let flatGroup = i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x);
      let live = flatGroup < rows;
      let base = min(flatGroup, rows - 1) * H;
      let lid = i32(localId.x);

      ${
        layer
          ? `var s = 0.0;
      for (var c = lid; c < H; c += WG) { s += ${value}; }
      partA[lid] = s;
      workgroupBarrier();
      ${reduce('partA')}
      let mean = partA[0] / f32(H);
      workgroupBarrier();`
          : 'let mean = 0.0;'
      }

      var ss = 0.0;
      for (var c = lid; c < H; c += WG) {
        let d = ${value} - mean;
        ss += d * d;
      }
      partA[lid] = ss;
      workgroupBarrier();
      ${reduce('partA')}
      let rstd = inverseSqrt(partA[0] / f32(H) + EPS);
      workgroupBarrier();
      ${tail}
    }`;
  }
}

export type GeluKind = 'gelu' | 'gelu_new';

/** Elementwise GELU (forward: y; backward: dy · gelu'(x)) over a flat [n]. */
class GeluProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;

  constructor(
    private readonly kind: GeluKind,
    private readonly backward: boolean,
    n: number,
  ) {
    this.variableNames = backward ? ['x', 'dy'] : ['x'];
    this.outputShape = [n];
    this.dispatchLayout = { x: [0] };
    this.dispatch = [Math.ceil(n / this.workgroupSize[0]), 1, 1];
    this.shaderKey = `studioGelu_${kind}_${backward ? 'backward' : 'forward'}`;
  }

  getUserCode(): string {
    // Exact: 0.5 v (1 + erf(v / √2)), erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, the
    // form tfjs's own erf kernels use). Tanh form (GPT-2): 0.5 v (1 + tanh(√(2/π) (v + 0.044715 v³))),
    // tanh written through exp(-2|u|) so it cannot overflow.
    const math = /* wgsl */ `
    fn erfApprox(a : f32) -> f32 {
      let z = abs(a);
      let t = 1.0 / (1.0 + 0.3275911 * z);
      let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
      return sign(a) * (1.0 - poly * exp(-z * z));
    }
    fn tanhSafe(u : f32) -> f32 {
      let e = exp(-2.0 * abs(u));
      return sign(u) * (1.0 - e) / (1.0 + e);
    }`;
    const SQRT1_2 = wgslFloat(Math.SQRT1_2);
    const INV_SQRT_2PI = wgslFloat(1 / Math.sqrt(2 * Math.PI));
    const SQRT_2_OVER_PI = wgslFloat(Math.sqrt(2 / Math.PI));
    let body: string;
    if (this.kind === 'gelu') {
      body = this.backward
        ? `0.5 * (1.0 + erfApprox(v * ${SQRT1_2})) + v * exp(-0.5 * v * v) * ${INV_SQRT_2PI}`
        : `0.5 * v * (1.0 + erfApprox(v * ${SQRT1_2}))`;
    } else {
      const t = `tanhSafe(${SQRT_2_OVER_PI} * (v + 0.044715 * v * v * v))`;
      body = this.backward
        ? `0.5 * (1.0 + ${t}) + 0.5 * v * (1.0 - ${t} * ${t}) * ${SQRT_2_OVER_PI} * (1.0 + 3.0 * 0.044715 * v * v)`
        : `0.5 * v * (1.0 + ${t})`;
    }
    return /* wgsl */ `
    ${math}
    fn main(index : i32) {
      if (index < uniforms.size) {
        let v = x[index];
        result[index] = ${this.backward ? `dy[index] * (${body})` : body};
      }
    }`;
  }
}

type Program = NormProgram | GeluProgram;

function run(program: Program, inputs: tf.Tensor[]): tf.Tensor {
  const backend = tf.backend() as unknown as WebGPUBackend;
  const info = backend.runWebGPUProgram(program, inputs, 'float32');
  return tf.engine().makeTensorFromTensorInfo(info);
}

/**
 * LayerNorm over the last axis of x (or of x + residual, the post-LN residual join), with frozen
 * gamma and beta [H]: -> x's shape. Differentiable in x (and residual). The backend must be webgpu.
 */
export function fusedLayerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number, residual?: tf.Tensor): tf.Tensor {
  const shape = x.shape;
  const hidden = shape[shape.length - 1];
  const where = 'fusedLayerNorm';
  if (gamma.shape[0] !== hidden || beta.shape[0] !== hidden || gamma.rank !== 1 || beta.rank !== 1) {
    throw new Error(`${where}: gamma and beta must be [${hidden}] for x [${shape}]; got gamma [${gamma.shape}], beta [${beta.shape}]`);
  }
  if (residual && !tf.util.arraysEqual(residual.shape, shape)) {
    throw new Error(`${where}: the residual must have x's shape [${shape}]; got [${residual.shape}]`);
  }
  const rows = x.size / hidden;
  const forward = (inputs: tf.Tensor[], save: tf.GradSaveFunc) => {
    const flat = inputs.map((t) => t.reshape([rows, hidden]));
    save(flat);
    const y = run(new NormProgram('layer', false, !!residual, eps, rows, hidden), [...flat, gamma, beta]);
    return {
      value: y.reshape(shape),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dyFlat = (dy as tf.Tensor).reshape([rows, hidden]);
        const dx = run(new NormProgram('layer', true, !!residual, eps, rows, hidden), [...saved, gamma, dyFlat]).reshape(shape);
        // x + r: both get the same gradient (a second handle on the same data, no dispatch).
        return residual ? [dx, dx.clone()] : dx;
      },
    };
  };
  if (residual) {
    return tf.customGrad((a, b, save) => forward([a as tf.Tensor, b as tf.Tensor], save as tf.GradSaveFunc))(x, residual);
  }
  return tf.customGrad((a, save) => forward([a as tf.Tensor], save as tf.GradSaveFunc))(x);
}

/**
 * RMSNorm over the last axis, x / sqrt(mean(x²) + eps) · weight (Llama family), with a frozen
 * weight [H]: one kernel each way. Differentiable in x. The backend must be webgpu.
 */
export function fusedRmsNorm(x: tf.Tensor, weight: tf.Tensor1D, eps: number): tf.Tensor {
  const shape = x.shape;
  const hidden = shape[shape.length - 1];
  if (weight.rank !== 1 || weight.shape[0] !== hidden) {
    throw new Error(`fusedRmsNorm: the weight must be [${hidden}] for x [${shape}]; got [${weight.shape}]`);
  }
  const rows = x.size / hidden;
  return tf.customGrad((xi, save) => {
    const flat = (xi as tf.Tensor).reshape([rows, hidden]);
    (save as tf.GradSaveFunc)([flat]);
    return {
      value: run(new NormProgram('rms', false, false, eps, rows, hidden), [flat, weight]).reshape(shape),
      gradFunc: (dy, saved) => run(new NormProgram('rms', true, false, eps, rows, hidden), [saved[0], weight, (dy as tf.Tensor).reshape([rows, hidden])]).reshape(shape),
    };
  })(x);
}

/** GELU (exact or tanh form) elementwise, differentiable in x. The backend must be webgpu. */
export function fusedGelu(x: tf.Tensor, kind: GeluKind): tf.Tensor {
  const shape = x.shape;
  const n = x.size;
  return tf.customGrad((xi, save) => {
    const flat = (xi as tf.Tensor).reshape([n]);
    (save as tf.GradSaveFunc)([flat]);
    return {
      value: run(new GeluProgram(kind, false, n), [flat]).reshape(shape),
      gradFunc: (dy, saved) => run(new GeluProgram(kind, true, n), [saved[0], (dy as tf.Tensor).reshape([n])]).reshape(shape),
    };
  })(x);
}

/**
 * x [N, in] · w [in, out] + b [out] with the bias added inside the matmul kernel; differentiable in
 * x only (w and b frozen, see fusableWeights): the backward is the one matmul dy · wᵀ.
 */
export function fusedLinear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  if (x.shape[1] !== w.shape[0] || b.shape[0] !== w.shape[1]) {
    throw new Error(`fusedLinear: x [${x.shape}] · w [${w.shape}] + b [${b.shape}] do not line up`);
  }
  return tf.customGrad((xi, save) => {
    (save as tf.GradSaveFunc)([]);
    return {
      value: tf.fused.matMul({ a: xi as tf.Tensor2D, b: w, bias: b }),
      gradFunc: (dy) => tf.matMul(dy as tf.Tensor2D, w, false, true), // [N, out] x [in, out]^T -> [N, in]
    };
  })(x) as tf.Tensor2D;
}
