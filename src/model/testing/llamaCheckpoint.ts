/**
 * Test support for the Llama family (llama, mistral, qwen2, qwen3), beside hfCheckpoint.ts: random
 * checkpoints written exactly as `save_pretrained` lays them out (HF names, nn.Linear [out, in],
 * config.json, a byte-level BPE tokenizer.json), and a float64 reference forward pass over the raw HF
 * tensors and config.json fields, written from the math with plain loops. It shares no code with
 * src/model: rotary frequencies, grouped heads and norms are spelled out here again.
 */
import { writeSafetensors, type NamedArray } from '../safetensors';
import { rng, type HfTensors } from './hfCheckpoint';

export { bf16Safetensors } from './hfCheckpoint';

export type LlamaType = 'llama' | 'mistral' | 'qwen2' | 'qwen3';

/** One tiny checkpoint's shape and switches, in config.json's terms. */
export interface LlamaCase {
  type: LlamaType;
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  /** Written as head_dim when set (qwen3 here: not hidden / heads). */
  headDim?: number;
  inner: number;
  positions: number;
  tie: boolean;
  ropeTheta: number;
  ropeScaling?: Record<string, unknown>;
  slidingWindow?: number;
  /** llama/qwen3 attention_bias: biases on q, k, v and o. */
  attentionBias?: boolean;
}

/** vocab 272: the fixture tokenizer's 269 tokens and a few unused rows. */
const BASE = { vocab: 272, hidden: 16, layers: 2, heads: 4, inner: 24, positions: 64 };

/** The cases the tests cover: each family's distinguishing switches on tiny dimensions. */
export const LLAMA_CASES = {
  /** GQA (2 key/value heads for 4 query heads), untied lm_head. */
  llamaGqa: { ...BASE, type: 'llama', kvHeads: 2, tie: false, ropeTheta: 10000 },
  /** Multi-query attention (1 key/value head), llama3 rope scaling hitting all three frequency bands (head dim 8). */
  llamaMqaLlama3: {
    ...BASE, type: 'llama', hidden: 32, kvHeads: 1, tie: false, ropeTheta: 100,
    ropeScaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
  },
  /** Linear rope scaling, attention_bias, tied. */
  llamaLinear: { ...BASE, type: 'llama', kvHeads: 4, tie: true, ropeTheta: 50, ropeScaling: { type: 'linear', factor: 2 }, attentionBias: true },
  mistralWindow: { ...BASE, type: 'mistral', kvHeads: 2, tie: false, ropeTheta: 10000, slidingWindow: 12 },
  /** q/k/v biases, tied embeddings. */
  qwen2Tied: { ...BASE, type: 'qwen2', kvHeads: 2, tie: true, ropeTheta: 1000000 },
  /** q_norm/k_norm, head_dim 6 with hidden 16 / 4 heads. */
  qwen3HeadDim: { ...BASE, type: 'qwen3', kvHeads: 2, headDim: 6, tie: false, ropeTheta: 1000000 },
} satisfies Record<string, LlamaCase>;

export function llamaHfConfig(c: LlamaCase): Record<string, unknown> {
  const arch = { llama: 'LlamaForCausalLM', mistral: 'MistralForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM' }[c.type];
  return {
    architectures: [arch],
    model_type: c.type,
    vocab_size: c.vocab,
    hidden_size: c.hidden,
    num_hidden_layers: c.layers,
    num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads,
    ...(c.headDim !== undefined ? { head_dim: c.headDim } : {}),
    intermediate_size: c.inner,
    max_position_embeddings: c.positions,
    rms_norm_eps: 1e-5,
    hidden_act: 'silu',
    rope_theta: c.ropeTheta,
    rope_scaling: c.ropeScaling ?? null,
    tie_word_embeddings: c.tie,
    bos_token_id: 1,
    eos_token_id: 2,
    ...(c.type === 'llama' || c.type === 'qwen3' ? { attention_bias: c.attentionBias ?? false } : {}),
    ...(c.type === 'mistral' ? { sliding_window: c.slidingWindow ?? null } : {}),
    ...(c.type === 'qwen2' || c.type === 'qwen3' ? { use_sliding_window: false, sliding_window: 4096 } : {}),
    torch_dtype: 'float32',
  };
}

const headDimOf = (c: LlamaCase) => c.headDim ?? c.hidden / c.heads;

/** Random weights under HF names in torch layout (nn.Linear [out, in]). */
export function randomLlamaWeights(c: LlamaCase, seed = 1): HfTensors {
  const r = rng(seed);
  const out: HfTensors = {};
  const put = (name: string, shape: number[], scale = 0.3, mean = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = mean + scale * r();
    out[name] = { data, shape };
  };
  const H = c.hidden;
  const hd = headDimOf(c);
  const qkvBias = c.type === 'qwen2' || c.attentionBias === true;
  put('model.embed_tokens.weight', [c.vocab, H], 0.5);
  for (let i = 0; i < c.layers; i++) {
    const l = `model.layers.${i}`;
    put(`${l}.input_layernorm.weight`, [H], 0.1, 1);
    put(`${l}.self_attn.q_proj.weight`, [c.heads * hd, H]);
    put(`${l}.self_attn.k_proj.weight`, [c.kvHeads * hd, H]);
    put(`${l}.self_attn.v_proj.weight`, [c.kvHeads * hd, H]);
    if (qkvBias) {
      put(`${l}.self_attn.q_proj.bias`, [c.heads * hd], 0.2);
      put(`${l}.self_attn.k_proj.bias`, [c.kvHeads * hd], 0.2);
      put(`${l}.self_attn.v_proj.bias`, [c.kvHeads * hd], 0.2);
    }
    put(`${l}.self_attn.o_proj.weight`, [H, c.heads * hd]);
    if (c.attentionBias) put(`${l}.self_attn.o_proj.bias`, [H], 0.2);
    if (c.type === 'qwen3') {
      put(`${l}.self_attn.q_norm.weight`, [hd], 0.1, 1);
      put(`${l}.self_attn.k_norm.weight`, [hd], 0.1, 1);
    }
    put(`${l}.post_attention_layernorm.weight`, [H], 0.1, 1);
    put(`${l}.mlp.gate_proj.weight`, [c.inner, H]);
    put(`${l}.mlp.up_proj.weight`, [c.inner, H]);
    put(`${l}.mlp.down_proj.weight`, [H, c.inner]);
  }
  put('model.norm.weight', [H], 0.1, 1);
  if (!c.tie) put('lm_head.weight', [c.vocab, H], 0.5);
  return out;
}

/** GPT-2's byte -> printable character map (the byte-level BPE alphabet), from its published definition. */
function byteAlphabet(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const chars: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) chars.push(String.fromCharCode(printable(b) ? b : 256 + extra++));
  return chars;
}

/** Special tokens of the fixture tokenizer (Llama-3 names), ids 0..2. */
export const LLAMA_FIXTURE_SPECIALS = ['<|pad|>', '<|begin_of_text|>', '<|end_of_text|>'];

/**
 * A Llama-3-style byte-level BPE tokenizer.json: 3 special tokens, the 256 byte symbols, then merges
 * for a few common pieces; every text encodes (any byte is a token). Its vocabulary has
 * 259 + merges tokens; `vocabSize` pads the model's embedding table beyond that.
 */
export function byteLevelTokenizerJson(): { json: unknown; size: number } {
  const bytes = byteAlphabet();
  const vocab: Record<string, number> = {};
  LLAMA_FIXTURE_SPECIALS.forEach((t, i) => (vocab[t] = i));
  bytes.forEach((ch) => (vocab[ch] = Object.keys(vocab).length));
  const space = bytes[0x20];
  const pairs: [string, string][] = [[space, 't'], ['h', 'e'], [`${space}t`, 'he'], [space, 'a'], ['i', 'n'], ['e', 'r'], [space, 's'], ['o', 'n'], ['r', 'e'], ['a', 't']];
  for (const [a, b] of pairs) vocab[a + b] = Object.keys(vocab).length;
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: LLAMA_FIXTURE_SPECIALS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [1], tokens: ['<|begin_of_text|>'] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab, merges: pairs.map(([a, b]) => `${a} ${b}`) },
  };
  return { json, size: Object.keys(vocab).length };
}

/** A checkpoint folder in memory as save_pretrained + tokenizer.save_pretrained write it. */
export function llamaCheckpointFiles(c: LlamaCase, options: { seed?: number; tokenizer?: boolean; tensors?: HfTensors } = {}): Map<string, Uint8Array> {
  const enc = new TextEncoder();
  const files = new Map<string, Uint8Array>();
  files.set('config.json', enc.encode(JSON.stringify(llamaHfConfig(c), null, 2)));
  files.set('model.safetensors', writeSafetensors(options.tensors ?? randomLlamaWeights(c, options.seed ?? 1), { format: 'pt' }));
  if (options.tokenizer !== false) {
    const { json, size } = byteLevelTokenizerJson();
    if (size > c.vocab) throw new Error(`the fixture tokenizer has ${size} tokens; give the case a vocab of at least that`);
    files.set('tokenizer.json', enc.encode(JSON.stringify(json)));
    files.set('tokenizer_config.json', enc.encode(JSON.stringify({ bos_token: '<|begin_of_text|>', eos_token: '<|end_of_text|>', pad_token: null, add_bos_token: true, model_max_length: c.positions })));
  }
  return files;
}

// ---------------------------------------------------------------------------------------------
// Float64 reference forward pass over raw HF tensors and config.json fields.

type Vec = Float64Array<ArrayBuffer>;

function tensor(t: HfTensors, name: string): NamedArray {
  const x = t[name];
  if (!x) throw new Error(`reference: missing ${name}`);
  return x;
}

/** torch nn.Linear: y = W x (+ b) with W [out, in]. */
function linearRef(x: Vec, W: NamedArray, b?: NamedArray): Vec {
  const [out, inp] = W.shape;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = b ? b.data[o] : 0;
    for (let i = 0; i < inp; i++) s += W.data[o * inp + i] * x[i];
    y[o] = s;
  }
  return y;
}

function rmsRef(x: Vec, g: ArrayLike<number>, eps: number): Vec {
  let ms = 0;
  for (const v of x) ms += v * v;
  ms /= x.length;
  const k = 1 / Math.sqrt(ms + eps);
  return x.map((v, i) => v * k * g[i]);
}

/** Rotation frequency of dimension pair i (of hd / 2), from rope_theta and rope_scaling as config.json gives them. */
function frequencyRef(cfg: Record<string, unknown>, hd: number, i: number): number {
  const base = Math.pow(cfg.rope_theta as number, -(2 * i) / hd);
  const s = cfg.rope_scaling as Record<string, number | string> | null;
  const kind = s ? (s.rope_type ?? s.type) : 'default';
  if (kind === 'default') return base;
  const factor = s!.factor as number;
  if (kind === 'linear') return base / factor;
  // llama3: wavelengths longer than original / low_freq_factor are slowed by `factor`, shorter than
  // original / high_freq_factor kept; in between the two are interpolated by where the wavelength falls.
  const original = s!.original_max_position_embeddings as number;
  const low = s!.low_freq_factor as number;
  const high = s!.high_freq_factor as number;
  const wavelength = (2 * Math.PI) / base;
  if (wavelength > original / low) return base / factor;
  if (wavelength < original / high) return base;
  const t = (original / wavelength - low) / (high - low);
  return (1 - t) * (base / factor) + t * base;
}

/** Rotates head vector x (length hd) at `position`: pairs (i, i + hd / 2) turn by position x frequency i. */
function ropeRef(x: Vec, position: number, cfg: Record<string, unknown>): Vec {
  const hd = x.length;
  const half = hd / 2;
  const out = new Float64Array(hd);
  for (let i = 0; i < half; i++) {
    const angle = position * frequencyRef(cfg, hd, i);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    out[i] = x[i] * c - x[i + half] * s;
    out[i + half] = x[i + half] * c + x[i] * s;
  }
  return out;
}

export interface LlamaReferenceOutput {
  /** [B][T] -> H */
  hidden: Vec[][];
  /** [B][T] -> V */
  logits: Vec[][];
  /** [B][T] -> L * 2 * kvHeads * hd: per layer the token's rotated key, then its value (as a cache holds them). */
  keyValues: Vec[][];
}

/**
 * Reference forward over `embeds` [B][T][H] with attention mask [B][T] (left padding allowed:
 * positions count real tokens). `prefix` [P][L * 2 * kvHeads * hd]: per-layer keys (already rotated)
 * and values every query sees first; the sequence's positions then start at P.
 */
export function llamaReferenceForward(t: HfTensors, cfg: Record<string, unknown>, embeds: number[][][], mask: number[][], prefix?: number[][]): LlamaReferenceOutput {
  const H = cfg.hidden_size as number;
  const nh = cfg.num_attention_heads as number;
  const nkv = (cfg.num_key_value_heads as number | undefined) ?? nh;
  const hd = (cfg.head_dim as number | undefined) ?? H / nh;
  const L = cfg.num_hidden_layers as number;
  const eps = cfg.rms_norm_eps as number;
  const group = nh / nkv; // query heads per key/value head
  const P = prefix?.length ?? 0;
  const kvw = nkv * hd;
  const has = (n: string) => n in t;
  const out: LlamaReferenceOutput = { hidden: [], logits: [], keyValues: [] };
  for (let b = 0; b < embeds.length; b++) {
    const m = mask[b];
    const T = m.length;
    const positions: number[] = [];
    let count = 0;
    for (let i = 0; i < T; i++) {
      positions.push(m[i] ? P + count : P);
      if (m[i]) count++;
    }
    let x: Vec[] = embeds[b].map((e) => Float64Array.from(e));
    const kvRows: number[][] = Array.from({ length: T }, () => []);
    for (let l = 0; l < L; l++) {
      const pre = `model.layers.${l}`;
      const W = (n: string) => tensor(t, `${pre}.${n}`);
      const B = (n: string) => (has(`${pre}.${n}`) ? tensor(t, `${pre}.${n}`) : undefined);
      const h = x.map((r) => rmsRef(r, W('input_layernorm.weight').data, eps));
      // Per token: heads of q [nh][hd], k [nkv][hd], v [nkv][hd].
      const split = (v: Vec, heads: number) => Array.from({ length: heads }, (_, j) => v.slice(j * hd, (j + 1) * hd));
      const qs = h.map((r, i) => {
        let heads = split(linearRef(r, W('self_attn.q_proj.weight'), B('self_attn.q_proj.bias')), nh);
        if (has(`${pre}.self_attn.q_norm.weight`)) heads = heads.map((v) => rmsRef(v, W('self_attn.q_norm.weight').data, eps));
        return heads.map((v) => ropeRef(v, positions[i], cfg));
      });
      const ks = h.map((r, i) => {
        let heads = split(linearRef(r, W('self_attn.k_proj.weight'), B('self_attn.k_proj.bias')), nkv);
        if (has(`${pre}.self_attn.k_norm.weight`)) heads = heads.map((v) => rmsRef(v, W('self_attn.k_norm.weight').data, eps));
        return heads.map((v) => ropeRef(v, positions[i], cfg));
      });
      const vs = h.map((r) => split(linearRef(r, W('self_attn.v_proj.weight'), B('self_attn.v_proj.bias')), nkv));
      ks.forEach((heads, i) => kvRows[i].push(...heads.flatMap((v) => [...v]), ...vs[i].flatMap((v) => [...v])));
      // Prefix keys and values of this layer, [P][nkv][hd].
      const pk = (prefix ?? []).map((row) => split(Float64Array.from(row.slice(2 * l * kvw, (2 * l + 1) * kvw)), nkv));
      const pv = (prefix ?? []).map((row) => split(Float64Array.from(row.slice((2 * l + 1) * kvw, (2 * l + 2) * kvw)), nkv));
      const attended = x.map((_, i) => {
        const o = new Float64Array(nh * hd);
        if (!m[i]) return o; // a padding query's output is never read
        for (let qh = 0; qh < nh; qh++) {
          const kh = Math.floor(qh / group);
          const keys: Vec[] = [];
          const values: Vec[] = [];
          for (let j = 0; j < P; j++) {
            keys.push(pk[j][kh]);
            values.push(pv[j][kh]);
          }
          for (let j = 0; j <= i; j++) {
            if (!m[j]) continue;
            keys.push(ks[j][kh]);
            values.push(vs[j][kh]);
          }
          const scores = keys.map((k) => k.reduce((s, kc, c) => s + kc * qs[i][qh][c], 0) / Math.sqrt(hd));
          const top = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - top));
          const z = e.reduce((a, c) => a + c, 0);
          values.forEach((v, n) => {
            for (let c = 0; c < hd; c++) o[qh * hd + c] += (e[n] / z) * v[c];
          });
        }
        return o;
      });
      const a = x.map((r, i) => {
        const proj = linearRef(attended[i], W('self_attn.o_proj.weight'), B('self_attn.o_proj.bias'));
        return r.map((v, c) => v + proj[c]);
      });
      x = a.map((r) => {
        const n = rmsRef(r, W('post_attention_layernorm.weight').data, eps);
        const gate = linearRef(n, W('mlp.gate_proj.weight'));
        const up = linearRef(n, W('mlp.up_proj.weight'));
        const inner = gate.map((g, c) => (g / (1 + Math.exp(-g))) * up[c]); // silu(gate) * up
        const down = linearRef(inner, W('mlp.down_proj.weight'));
        return r.map((v, c) => v + down[c]);
      });
    }
    const final = x.map((r) => rmsRef(r, tensor(t, 'model.norm.weight').data, eps));
    out.hidden.push(final);
    out.keyValues.push(kvRows.map((r) => Float64Array.from(r)));
    // tie_word_embeddings: lm_head is embed_tokens.
    const head = cfg.tie_word_embeddings === true ? tensor(t, 'model.embed_tokens.weight') : tensor(t, 'lm_head.weight');
    out.logits.push(final.map((r) => linearRef(r, head)));
  }
  return out;
}

/** Word-embedding lookup in the reference's terms: ids [B][T] -> [B][T][H]. */
export function llamaReferenceEmbed(t: HfTensors, ids: number[][]): number[][][] {
  const table = tensor(t, 'model.embed_tokens.weight');
  const H = table.shape[1];
  return ids.map((row) => row.map((id) => Array.from(table.data.subarray(id * H, (id + 1) * H))));
}
