/**
 * Test support: writes small random checkpoints exactly as Hugging Face `save_pretrained` lays
 * them out (HF tensor names in torch layout, config.json, tokenizer files), and a float64
 * reference forward pass over those raw HF tensors written with plain loops. The reference shares
 * no code with src/model: names, transposes and position rules are spelled out here again.
 */
import { bytesSource, writeSafetensors, type NamedArray } from '../safetensors';
import type { ModelFolder } from '../loader';

/** An in-memory checkpoint folder. */
export function memFolder(files: Map<string, Uint8Array>, label = 'mem://checkpoint'): ModelFolder {
  return {
    label,
    list: () => [...files.keys()],
    file: async (name) => {
      const bytes = files.get(name);
      return bytes ? bytesSource(name, bytes) : null;
    },
  };
}

export type Family = 'bert' | 'roberta' | 'distilbert' | 'gpt2';

export interface TinyDims {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  inner: number;
  positions: number;
}

export const TINY: TinyDims = { vocab: 40, hidden: 16, layers: 2, heads: 2, inner: 24, positions: 24 };

/** Deterministic normal samples (mulberry32 + Box-Muller). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

export function hfConfig(family: Family, d: TinyDims = TINY): Record<string, unknown> {
  switch (family) {
    case 'bert':
      return { model_type: 'bert', architectures: ['BertForMaskedLM'], vocab_size: d.vocab, hidden_size: d.hidden, num_hidden_layers: d.layers, num_attention_heads: d.heads, intermediate_size: d.inner, max_position_embeddings: d.positions, type_vocab_size: 2, layer_norm_eps: 1e-12, hidden_act: 'gelu', pad_token_id: 0 };
    case 'roberta':
      return { model_type: 'roberta', architectures: ['RobertaForMaskedLM'], vocab_size: d.vocab, hidden_size: d.hidden, num_hidden_layers: d.layers, num_attention_heads: d.heads, intermediate_size: d.inner, max_position_embeddings: d.positions + 2, type_vocab_size: 1, layer_norm_eps: 1e-5, hidden_act: 'gelu', pad_token_id: 1 };
    case 'distilbert':
      return { model_type: 'distilbert', architectures: ['DistilBertForMaskedLM'], vocab_size: d.vocab, dim: d.hidden, n_layers: d.layers, n_heads: d.heads, hidden_dim: d.inner, max_position_embeddings: d.positions, activation: 'gelu', pad_token_id: 0, sinusoidal_pos_embds: false };
    case 'gpt2':
      return { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: d.vocab, n_embd: d.hidden, n_layer: d.layers, n_head: d.heads, n_inner: null, n_positions: d.positions, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new' };
  }
}

export type HfTensors = Record<string, NamedArray>;

/**
 * Random weights under HF names in torch layout (nn.Linear [out, in]; GPT-2 Conv1D [in, out]).
 * `withHead: false` gives a plain *Model checkpoint (no MLM head, no family prefix).
 */
export function randomHfWeights(family: Family, seed = 1, options: { withHead?: boolean; d?: TinyDims; std?: number } = {}): HfTensors {
  const d = options.d ?? TINY;
  /** Multiplies every spread below (0.3 for matrices); 0.02 / 0.3 gives transformers' init std for big models. */
  const spread = (options.std ?? 0.3) / 0.3;
  const withHead = options.withHead ?? true;
  const r = rng(seed);
  const H = d.hidden;
  const I = family === 'gpt2' ? 4 * H : d.inner;
  const out: HfTensors = {};
  const put = (name: string, shape: number[], scale = 0.3, mean = 0) => {
    scale *= spread;
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = mean + scale * r();
    out[name] = { data, shape };
  };
  const ln = (name: string) => {
    put(`${name}.weight`, [H], 0.1, 1);
    put(`${name}.bias`, [H], 0.1);
  };
  if (family === 'gpt2') {
    const p = 'transformer.';
    put(`${p}wte.weight`, [d.vocab, H]);
    put(`${p}wpe.weight`, [d.positions, H], 0.1);
    for (let i = 0; i < d.layers; i++) {
      const l = `${p}h.${i}`;
      ln(`${l}.ln_1`);
      put(`${l}.attn.c_attn.weight`, [H, 3 * H]);
      put(`${l}.attn.c_attn.bias`, [3 * H], 0.1);
      put(`${l}.attn.c_proj.weight`, [H, H]);
      put(`${l}.attn.c_proj.bias`, [H], 0.1);
      ln(`${l}.ln_2`);
      put(`${l}.mlp.c_fc.weight`, [H, I]);
      put(`${l}.mlp.c_fc.bias`, [I], 0.1);
      put(`${l}.mlp.c_proj.weight`, [I, H]);
      put(`${l}.mlp.c_proj.bias`, [H], 0.1);
    }
    ln(`${p}ln_f`);
    return out;
  }
  const p = withHead ? `${family}.` : '';
  const P = family === 'roberta' ? d.positions + 2 : d.positions;
  put(`${p}embeddings.word_embeddings.weight`, [d.vocab, H]);
  put(`${p}embeddings.position_embeddings.weight`, [P, H], 0.1);
  if (family !== 'distilbert') put(`${p}embeddings.token_type_embeddings.weight`, [family === 'bert' ? 2 : 1, H], 0.1);
  ln(`${p}embeddings.LayerNorm`);
  for (let i = 0; i < d.layers; i++) {
    if (family === 'distilbert') {
      const l = `${p}transformer.layer.${i}`;
      for (const m of ['q_lin', 'k_lin', 'v_lin', 'out_lin']) {
        put(`${l}.attention.${m}.weight`, [H, H]);
        put(`${l}.attention.${m}.bias`, [H], 0.1);
      }
      ln(`${l}.sa_layer_norm`);
      put(`${l}.ffn.lin1.weight`, [I, H]);
      put(`${l}.ffn.lin1.bias`, [I], 0.1);
      put(`${l}.ffn.lin2.weight`, [H, I]);
      put(`${l}.ffn.lin2.bias`, [H], 0.1);
      ln(`${l}.output_layer_norm`);
    } else {
      const l = `${p}encoder.layer.${i}`;
      for (const m of ['query', 'key', 'value']) {
        put(`${l}.attention.self.${m}.weight`, [H, H]);
        put(`${l}.attention.self.${m}.bias`, [H], 0.1);
      }
      put(`${l}.attention.output.dense.weight`, [H, H]);
      put(`${l}.attention.output.dense.bias`, [H], 0.1);
      ln(`${l}.attention.output.LayerNorm`);
      put(`${l}.intermediate.dense.weight`, [I, H]);
      put(`${l}.intermediate.dense.bias`, [I], 0.1);
      put(`${l}.output.dense.weight`, [H, I]);
      put(`${l}.output.dense.bias`, [H], 0.1);
      ln(`${l}.output.LayerNorm`);
    }
  }
  if (!withHead) return out;
  if (family === 'bert') {
    put('cls.predictions.transform.dense.weight', [H, H]);
    put('cls.predictions.transform.dense.bias', [H], 0.1);
    ln('cls.predictions.transform.LayerNorm');
    put('cls.predictions.bias', [d.vocab], 0.1);
  } else if (family === 'roberta') {
    put('lm_head.dense.weight', [H, H]);
    put('lm_head.dense.bias', [H], 0.1);
    ln('lm_head.layer_norm');
    put('lm_head.bias', [d.vocab], 0.1);
  } else {
    put('vocab_transform.weight', [H, H]);
    put('vocab_transform.bias', [H], 0.1);
    ln('vocab_layer_norm');
    put('vocab_projector.bias', [d.vocab], 0.1);
  }
  return out;
}

/** Words of the fixture vocabularies; ids follow the order of each family's vocab file. */
export const FIXTURE_WORDS = ['the', 'movie', 'was', 'great', 'terrible', 'good', 'bad', 'it', 'a', 'film', 'very', 'not', 'plot', 'and'];

export function vocabTxt(size: number): string {
  const toks = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...FIXTURE_WORDS, '##s', '##ly', '.', ','];
  for (let i = toks.length; i < size; i++) toks.push(`tok${i}`);
  return toks.slice(0, size).join('\n') + '\n';
}

/** GPT-2-style byte-level BPE files with only the symbols the fixture texts need (a-z . , and Ġ for a space). */
export function bpeFiles(family: 'gpt2' | 'roberta', size: number): { vocab: Record<string, number>; merges: string } {
  const specials = family === 'gpt2' ? ['<|endoftext|>'] : ['<s>', '<pad>', '</s>', '<unk>', '<mask>'];
  const letters = 'abcdefghijklmnopqrstuvwxyz.,Ġ'.split('');
  const merges = ['Ġ t', 'Ġt h', 'Ġth e', 't h', 'th e', 'g r', 'gr e', 'gre a', 'grea t', 'Ġ m'];
  const toks = [...specials, ...letters, 'Ġt', 'Ġth', 'Ġthe', 'th', 'the', 'gr', 'gre', 'grea', 'great', 'Ġm'];
  const vocab: Record<string, number> = {};
  toks.slice(0, size).forEach((t, i) => (vocab[t] = i));
  return { vocab, merges: '#version: 0.2\n' + merges.join('\n') + '\n' };
}

/** A checkpoint folder in memory: file name -> bytes, as save_pretrained + tokenizer.save_pretrained write it. */
export function hfCheckpointFiles(
  family: Family,
  options: { seed?: number; withHead?: boolean; d?: TinyDims; tokenizer?: 'vocab' | 'none'; std?: number } = {},
): Map<string, Uint8Array> {
  const d = options.d ?? TINY;
  const enc = new TextEncoder();
  const files = new Map<string, Uint8Array>();
  files.set('config.json', enc.encode(JSON.stringify(hfConfig(family, d), null, 2)));
  files.set('model.safetensors', writeSafetensors(randomHfWeights(family, options.seed ?? 1, options), { format: 'pt' }));
  if (options.tokenizer !== 'none') {
    if (family === 'bert' || family === 'distilbert') {
      files.set('vocab.txt', enc.encode(vocabTxt(d.vocab)));
      files.set('tokenizer_config.json', enc.encode(JSON.stringify({ do_lower_case: true, model_max_length: d.positions })));
    } else {
      const { vocab, merges } = bpeFiles(family, d.vocab);
      files.set('vocab.json', enc.encode(JSON.stringify(vocab)));
      files.set('merges.txt', enc.encode(merges));
    }
  }
  return files;
}

// ---------------------------------------------------------------------------------------------
// Float64 reference forward pass over raw HF tensors.

type Mat = Float64Array[]; // rows

function w(t: HfTensors, name: string): NamedArray {
  const x = t[name];
  if (!x) throw new Error(`reference: missing ${name}`);
  return x;
}

function rowOf(a: NamedArray, i: number): Float64Array {
  const n = a.shape[1];
  return Float64Array.from(a.data.subarray(i * n, (i + 1) * n));
}

/** torch nn.Linear: y = x W^T + b with W [out, in]. */
function torchLinear(x: Float64Array, W: NamedArray, b: NamedArray): Float64Array {
  const [out, inp] = W.shape;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = b.data[o];
    for (let i = 0; i < inp; i++) s += W.data[o * inp + i] * x[i];
    y[o] = s;
  }
  return y;
}

/** GPT-2 Conv1D: y = x W + b with W [in, out]. */
function conv1d(x: Float64Array, W: NamedArray, b: NamedArray): Float64Array {
  const [inp, out] = W.shape;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = b.data[o];
    for (let i = 0; i < inp; i++) s += x[i] * W.data[i * out + o];
    y[o] = s;
  }
  return y;
}

function lnorm(x: Float64Array, g: NamedArray, b: NamedArray, eps: number): Float64Array {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let v2 = 0;
  for (const v of x) v2 += (v - mean) ** 2;
  v2 /= x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(v2 + eps)) * g.data[i] + b.data[i]);
}

/** erf by its Taylor series (converges fast for the |x| < 6 seen here), not the approximation tfjs uses. */
function erf(x: number): number {
  if (Math.abs(x) > 5) return Math.sign(x);
  let sum = 0;
  let term = x;
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const geluExact = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);

/** Attention of one sequence; keys with mask 0 (and future keys when causal) are skipped entirely. */
/**
 * Attention of one sequence; `prefix` holds this layer's prefix keys and values (a key/value cache of
 * P positions, as transformers' past_key_values): every query sees them, before its own keys.
 */
function attend(q: Mat, k: Mat, v: Mat, mask: number[], heads: number, causal: boolean, prefix?: { k: Mat; v: Mat }): Mat {
  const T = q.length;
  const H = q[0].length;
  const hd = H / heads;
  const out: Mat = q.map(() => new Float64Array(H));
  const P = prefix?.k.length ?? 0;
  k = [...(prefix?.k ?? []), ...k];
  v = [...(prefix?.v ?? []), ...v];
  const visible = [...Array(P).fill(1), ...mask];
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < T; i++) {
      const keys = [...Array(P + T).keys()].filter((j) => visible[j] === 1 && (!causal || j < P || j - P <= i));
      if (keys.length === 0) continue;
      const scores = keys.map((j) => {
        let s = 0;
        for (let c = 0; c < hd; c++) s += q[i][h * hd + c] * k[j][h * hd + c];
        return s / Math.sqrt(hd);
      });
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      keys.forEach((j, n) => {
        for (let c = 0; c < hd; c++) out[i][h * hd + c] += (e[n] / z) * v[j][h * hd + c];
      });
    }
  }
  return out;
}

export interface ReferenceOutput {
  hidden: Mat[]; // [B][T] -> H
  logits: Mat[] | null; // [B][T] -> V
}

/**
 * Reference forward over `embeds` [B][T][H] (word embeddings, or anything spliced in) with
 * attention mask [B][T]. Positions count real tokens (HF's rule for right padding; for RoBERTa
 * they start at padding_idx + 1).
 */
export function referenceForward(
  family: Family,
  t: HfTensors,
  cfg: Record<string, unknown>,
  embeds: number[][][],
  mask: number[][],
  /** Prefix tuning: [P][L * 2 * H] per-layer keys and values (layer 0 key, layer 0 value, layer 1 key, ...). */
  prefix?: number[][],
): ReferenceOutput {
  const hidden: Mat[] = [];
  const P = prefix?.length ?? 0;
  const H = embeds[0]?.[0]?.length ?? 0;
  // Layer l's prefix keys and values, each [P][H].
  const layerPrefix = prefix
    ? (l: number) => ({ k: prefix.map((r) => Float64Array.from(r.slice(2 * l * H, (2 * l + 1) * H))), v: prefix.map((r) => Float64Array.from(r.slice((2 * l + 1) * H, (2 * l + 2) * H))) })
    : undefined;
  const logits: Mat[] = [];
  const hasHead = family === 'gpt2' || `cls.predictions.bias` in t || 'lm_head.bias' in t || 'vocab_projector.bias' in t;
  for (let b = 0; b < embeds.length; b++) {
    const m = mask[b];
    const positions: number[] = [];
    let count = 0;
    for (let i = 0; i < m.length; i++) {
      positions.push(m[i] ? P + count : P); // after a prefix (a cache) of P positions, numbering starts at P
      if (m[i]) count++;
    }
    const hOut = family === 'gpt2' ? gpt2Ref(t, cfg, embeds[b], m, positions, layerPrefix) : encoderRef(family, t, cfg, embeds[b], m, positions, layerPrefix);
    hidden.push(hOut);
    if (hasHead) logits.push(hOut.map((x) => headRef(family, t, cfg, x)));
  }
  return { hidden, logits: hasHead ? logits : null };
}

type LayerPrefixRef = (layer: number) => { k: Mat; v: Mat };

function encoderRef(family: Family, t: HfTensors, cfg: Record<string, unknown>, emb: number[][], mask: number[], positions: number[], prefix?: LayerPrefixRef): Mat {
  const hasHead = 'cls.predictions.bias' in t || 'lm_head.bias' in t || 'vocab_projector.bias' in t;
  const p = hasHead ? `${family}.` : '';
  const eps = family === 'distilbert' ? 1e-12 : (cfg.layer_norm_eps as number);
  const heads = (family === 'distilbert' ? cfg.n_heads : cfg.num_attention_heads) as number;
  const layers = (family === 'distilbert' ? cfg.n_layers : cfg.num_hidden_layers) as number;
  const posOffset = family === 'roberta' ? (cfg.pad_token_id as number) + 1 : 0;
  let x: Mat = emb.map((e, i) => {
    let v = add(Float64Array.from(e), rowOf(w(t, `${p}embeddings.position_embeddings.weight`), positions[i] + posOffset));
    if (family !== 'distilbert') v = add(v, rowOf(w(t, `${p}embeddings.token_type_embeddings.weight`), 0));
    return lnorm(v, w(t, `${p}embeddings.LayerNorm.weight`), w(t, `${p}embeddings.LayerNorm.bias`), eps);
  });
  for (let l = 0; l < layers; l++) {
    const names =
      family === 'distilbert'
        ? { pre: `${p}transformer.layer.${l}`, q: 'attention.q_lin', k: 'attention.k_lin', v: 'attention.v_lin', o: 'attention.out_lin', ln1: 'sa_layer_norm', f1: 'ffn.lin1', f2: 'ffn.lin2', ln2: 'output_layer_norm' }
        : { pre: `${p}encoder.layer.${l}`, q: 'attention.self.query', k: 'attention.self.key', v: 'attention.self.value', o: 'attention.output.dense', ln1: 'attention.output.LayerNorm', f1: 'intermediate.dense', f2: 'output.dense', ln2: 'output.LayerNorm' };
    const L = (n: string) => [w(t, `${names.pre}.${n}.weight`), w(t, `${names.pre}.${n}.bias`)] as const;
    const q = x.map((r) => torchLinear(r, ...L(names.q)));
    const k = x.map((r) => torchLinear(r, ...L(names.k)));
    const v = x.map((r) => torchLinear(r, ...L(names.v)));
    const a = attend(q, k, v, mask, heads, false, prefix?.(l));
    const h1 = x.map((r, i) => lnorm(add(r, torchLinear(a[i], ...L(names.o))), ...L(names.ln1), eps));
    x = h1.map((r) => {
      const inner = torchLinear(r, ...L(names.f1)).map(geluExact);
      return lnorm(add(r, torchLinear(inner, ...L(names.f2))), ...L(names.ln2), eps);
    });
  }
  return x;
}

function headRef(family: Family, t: HfTensors, cfg: Record<string, unknown>, x: Float64Array): Float64Array {
  if (family === 'gpt2') {
    const wte = w(t, 'transformer.wte.weight');
    const V = wte.shape[0];
    const out = new Float64Array(V);
    for (let v = 0; v < V; v++) {
      const row = rowOf(wte, v);
      out[v] = row.reduce((s, e, i) => s + e * x[i], 0);
    }
    return out;
  }
  const n =
    family === 'bert'
      ? { d: 'cls.predictions.transform.dense', ln: 'cls.predictions.transform.LayerNorm', b: 'cls.predictions.bias', dec: 'cls.predictions.decoder.weight' }
      : family === 'roberta'
        ? { d: 'lm_head.dense', ln: 'lm_head.layer_norm', b: 'lm_head.bias', dec: 'lm_head.decoder.weight' }
        : { d: 'vocab_transform', ln: 'vocab_layer_norm', b: 'vocab_projector.bias', dec: 'vocab_projector.weight' };
  const eps = family === 'distilbert' ? 1e-12 : (cfg.layer_norm_eps as number);
  const h = lnorm(torchLinear(x, w(t, `${n.d}.weight`), w(t, `${n.d}.bias`)).map(geluExact), w(t, `${n.ln}.weight`), w(t, `${n.ln}.bias`), eps);
  // transformers ties the decoder to the word embeddings unless the config says otherwise.
  const wte = cfg.tie_word_embeddings === false ? w(t, n.dec) : w(t, `${family}.embeddings.word_embeddings.weight`);
  const bias = w(t, n.b);
  const V = wte.shape[0];
  const out = new Float64Array(V);
  for (let v = 0; v < V; v++) out[v] = rowOf(wte, v).reduce((s, e, i) => s + e * h[i], bias.data[v]);
  return out;
}

function gpt2Ref(t: HfTensors, cfg: Record<string, unknown>, emb: number[][], mask: number[], positions: number[], prefix?: LayerPrefixRef): Mat {
  const p = 'transformer.';
  const eps = cfg.layer_norm_epsilon as number;
  const heads = cfg.n_head as number;
  const H = cfg.n_embd as number;
  let x: Mat = emb.map((e, i) => add(Float64Array.from(e), rowOf(w(t, `${p}wpe.weight`), positions[i])));
  for (let l = 0; l < (cfg.n_layer as number); l++) {
    const pre = `${p}h.${l}`;
    const W = (n: string) => [w(t, `${pre}.${n}.weight`), w(t, `${pre}.${n}.bias`)] as const;
    const qkv = x.map((r) => conv1d(lnorm(r, ...W('ln_1'), eps), ...W('attn.c_attn')));
    const q = qkv.map((r) => r.slice(0, H));
    const k = qkv.map((r) => r.slice(H, 2 * H));
    const v = qkv.map((r) => r.slice(2 * H, 3 * H));
    const a = attend(q, k, v, mask, heads, true, prefix?.(l));
    const h1 = x.map((r, i) => add(r, conv1d(a[i], ...W('attn.c_proj'))));
    x = h1.map((r) => add(r, conv1d(conv1d(lnorm(r, ...W('ln_2'), eps), ...W('mlp.c_fc')).map(geluTanh), ...W('mlp.c_proj'))));
  }
  return x.map((r) => lnorm(r, w(t, `${p}ln_f.weight`), w(t, `${p}ln_f.bias`), eps));
}

/** Word-embedding lookup in the reference's terms: ids [B][T] -> [B][T][H]. */
export function referenceEmbed(family: Family, t: HfTensors, ids: number[][], withHead = true): number[][][] {
  const name = family === 'gpt2' ? 'transformer.wte.weight' : `${withHead ? `${family}.` : ''}embeddings.word_embeddings.weight`;
  const table = w(t, name);
  return ids.map((row) => row.map((id) => Array.from(rowOf(table, id))));
}

/**
 * A safetensors file holding every tensor as BF16 (the top 16 bits of its float32, i.e. rounded
 * toward zero), written by hand; `rounded` holds the float32 values those bits mean.
 */
export function bf16Safetensors(tensors: HfTensors): { file: Uint8Array; rounded: HfTensors } {
  const rounded: HfTensors = {};
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bits = new Uint32Array(Float32Array.from(t.data).buffer);
    const half = new Uint16Array(bits.length);
    const back = new Uint32Array(bits.length);
    bits.forEach((b, i) => {
      half[i] = b >>> 16;
      back[i] = (b >>> 16) << 16;
    });
    rounded[name] = { data: new Float32Array(back.buffer), shape: t.shape };
    const bytes = new Uint8Array(half.buffer);
    header[name] = { dtype: 'BF16', shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const file = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  file.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const c of chunks) {
    file.set(c, pos);
    pos += c.length;
  }
  return { file, rounded };
}

/** The largest |actual - expected| over the real (mask 1) positions of [B, T, D] outputs. */
export function worstAtReal(actual: number[][][], expected: ArrayLike<number>[][], mask: number[][]): number {
  let worst = 0;
  actual.forEach((row, b) =>
    row.forEach((vec, t) => {
      if (mask[b][t]) vec.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - expected[b][t][i]))));
    }),
  );
  return worst;
}
