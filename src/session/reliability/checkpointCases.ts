/**
 * Checkpoint folders, good and broken, each with what the studio does with it. They are loaded as
 * the page loads picked files (src/model/hubLoad.ts: inspection, then the loader) and as the CLI
 * loads a folder (src/model/loader.ts's loadPretrained); both must agree.
 */
import { writeSafetensors } from '../../model/safetensors';
import { hfCheckpointFiles, hfConfig, randomHfWeights, type Family } from '../../model/testing/hfCheckpoint';
import { json } from './bytes';

export type CheckpointOutcome =
  /** Loads: the model's family as the loader reports it. */
  | { loaded: Family }
  /**
   * The one error, as a substring: it names the file and, where there is one, the field or tensor.
   * `<folder>` stands for the folder as each path names it (the page's pick, the CLI's directory).
   */
  | { refused: string };

export interface CheckpointCase {
  name: string;
  files: () => Map<string, Uint8Array>;
  outcome: CheckpointOutcome;
}

/** The tiny checkpoint of `family` with config.json's `field` set to `value`. */
function withConfig(family: Family, changes: Record<string, unknown>, dropWeights = false): Map<string, Uint8Array> {
  const files = hfCheckpointFiles(family);
  files.set('config.json', json({ ...hfConfig(family), ...changes }));
  if (dropWeights) files.delete('model.safetensors');
  return files;
}

/** The tiny checkpoint of `family` with its weights changed by `edit`. */
function withWeights(family: Family, edit: (w: ReturnType<typeof randomHfWeights>) => void): Map<string, Uint8Array> {
  const w = randomHfWeights(family, 1);
  edit(w);
  const files = hfCheckpointFiles(family);
  files.set('model.safetensors', writeSafetensors(w));
  return files;
}

/** A checkpoint whose model.safetensors is these raw bytes: an 8-byte header length, the header, `dataBytes` of zeros. */
function rawWeights(header: unknown, dataBytes: number, headerLength?: number): Map<string, Uint8Array> {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? h.length), true);
  out.set(h, 8);
  const files = hfCheckpointFiles('bert');
  files.set('model.safetensors', out);
  return files;
}

const without = (files: Map<string, Uint8Array>, ...names: string[]) => (names.forEach((n) => files.delete(n)), files);

export const CHECKPOINT_CASES: CheckpointCase[] = [
  // The four families load.
  { name: 'BERT', files: () => hfCheckpointFiles('bert'), outcome: { loaded: 'bert' } },
  { name: 'RoBERTa', files: () => hfCheckpointFiles('roberta'), outcome: { loaded: 'roberta' } },
  { name: 'DistilBERT', files: () => hfCheckpointFiles('distilbert'), outcome: { loaded: 'distilbert' } },
  { name: 'GPT-2', files: () => hfCheckpointFiles('gpt2'), outcome: { loaded: 'gpt2' } },
  // Files missing or of another kind.
  { name: 'no config.json', files: () => without(hfCheckpointFiles('bert'), 'config.json'), outcome: { refused: '<folder>: config.json not found' } },
  { name: 'config.json is not JSON', files: () => hfCheckpointFiles('bert').set('config.json', new TextEncoder().encode('{"model_type": "bert",')), outcome: { refused: 'config.json' } },
  { name: 'unsupported model_type (t5)', files: () => withConfig('bert', { model_type: 't5' }), outcome: { refused: 'config.json: unsupported model_type "t5"; supported model types: bert, distilbert, roberta, gpt2' } },
  { name: 'no tokenizer files', files: () => hfCheckpointFiles('bert', { tokenizer: 'none' }), outcome: { refused: 'no tokenizer found: expected tokenizer.json' } },
  { name: 'only pytorch_model.bin', files: () => without(hfCheckpointFiles('gpt2'), 'model.safetensors').set('pytorch_model.bin', new Uint8Array(4)), outcome: { refused: 'no model.safetensors or model.safetensors.index.json (files: config.json, vocab.json, merges.txt, pytorch_model.bin)' } },
  { name: 'a shard named in the index is missing', files: () => without(hfCheckpointFiles('bert'), 'model.safetensors').set('model.safetensors.index.json', json({ weight_map: { 'bert.embeddings.word_embeddings.weight': 'model-00001-of-00002.safetensors' } })), outcome: { refused: '<folder>: shard model-00001-of-00002.safetensors named in model.safetensors.index.json is missing' } },
  // config.json values.
  { name: 'config.json without n_embd (GPT-2)', files: () => hfCheckpointFiles('gpt2').set('config.json', json({ model_type: 'gpt2', vocab_size: 40, n_layer: 2, n_head: 2, n_positions: 24 })), outcome: { refused: 'field "n_embd" is missing or not a number' } },
  { name: 'num_hidden_layers: 0', files: () => withConfig('bert', { num_hidden_layers: 0 }, true), outcome: { refused: 'config.json: field "num_hidden_layers" must be a whole number >= 1, not 0' } },
  { name: 'num_hidden_layers: -1', files: () => withConfig('bert', { num_hidden_layers: -1 }, true), outcome: { refused: 'config.json: field "num_hidden_layers" must be a whole number >= 1, not -1' } },
  { name: 'num_hidden_layers: 2.5', files: () => withConfig('bert', { num_hidden_layers: 2.5 }, true), outcome: { refused: 'config.json: field "num_hidden_layers" must be a whole number >= 1, not 2.5' } },
  { name: 'n_layer: 0 (GPT-2)', files: () => withConfig('gpt2', { n_layer: 0 }, true), outcome: { refused: 'config.json: field "n_layer" must be a whole number >= 1, not 0' } },
  { name: 'n_heads: 1.5 (DistilBERT)', files: () => withConfig('distilbert', { n_heads: 1.5 }, true), outcome: { refused: 'config.json: field "n_heads" must be a whole number >= 1, not 1.5' } },
  { name: 'vocab_size: -40 (RoBERTa)', files: () => withConfig('roberta', { vocab_size: -40 }, true), outcome: { refused: 'config.json: field "vocab_size" must be a whole number >= 1, not -40' } },
  { name: 'n_inner: 0 (GPT-2)', files: () => withConfig('gpt2', { n_inner: 0 }, true), outcome: { refused: 'config.json: field "n_inner" must be a whole number >= 1, not 0' } },
  { name: 'type_vocab_size: -1', files: () => withConfig('bert', { type_vocab_size: -1 }, true), outcome: { refused: 'config.json: field "type_vocab_size" must be a whole number >= 0, not -1' } },
  { name: 'pad_token_id: 0.5', files: () => withConfig('bert', { pad_token_id: 0.5 }, true), outcome: { refused: 'config.json: field "pad_token_id" must be a whole number >= 0, not 0.5' } },
  { name: 'layer_norm_eps: 0', files: () => withConfig('bert', { layer_norm_eps: 0 }), outcome: { refused: 'field "layer_norm_eps" must be greater than 0, not 0' } },
  // Weights that do not match config.json.
  { name: 'intermediate_size disagrees with the weights', files: () => withConfig('bert', { intermediate_size: 32 }), outcome: { refused: '<folder>/model.safetensors: tensor "bert.encoder.layer.0.intermediate.dense.weight" has shape [24, 16], expected [32, 16] from config.json' } },
  { name: 'a tensor missing', files: () => withWeights('gpt2', (w) => delete w['transformer.h.1.mlp.c_fc.bias']), outcome: { refused: '<folder>/model.safetensors: checkpoint is missing 1 expected tensor(s): h.1.mlp.c_fc.bias' } },
  { name: 'a transposed weight', files: () => withWeights('bert', (w) => (w['bert.encoder.layer.1.output.dense.weight'] = { data: new Float32Array(16 * 24), shape: [24, 16] })), outcome: { refused: 'has shape [24, 16], expected [16, 24]' } },
  // Non-finite weights: refused at load, naming file, tensor and element.
  { name: 'NaN in a BERT query weight', files: () => withWeights('bert', (w) => ((w['bert.encoder.layer.1.attention.self.query.weight'].data[17] = NaN), (w['bert.encoder.layer.1.attention.self.query.weight'].data[18] = NaN))), outcome: { refused: '<folder>/model.safetensors: tensor "bert.encoder.layer.1.attention.self.query.weight" holds 2 non-finite values (the first, NaN, at [1, 1])' } },
  { name: 'Infinity in GPT-2 token embeddings', files: () => withWeights('gpt2', (w) => (w['transformer.wte.weight'].data[0] = Infinity)), outcome: { refused: '<folder>/model.safetensors: tensor "transformer.wte.weight" holds 1 non-finite value (the first, Infinity, at [0, 0])' } },
  { name: '-Infinity in a DistilBERT LayerNorm bias', files: () => withWeights('distilbert', (w) => (w['distilbert.embeddings.LayerNorm.bias'].data[14] = -Infinity)), outcome: { refused: '<folder>/model.safetensors: tensor "distilbert.embeddings.LayerNorm.bias" holds 1 non-finite value (the first, -Infinity, at [14])' } },
  // Broken safetensors files.
  { name: 'weights cut off (truncated download)', files: () => { const f = hfCheckpointFiles('distilbert'); const full = f.get('model.safetensors')!; return f.set('model.safetensors', full.subarray(0, full.length - 100)); }, outcome: { refused: '<folder>/model.safetensors: tensor "vocab_projector.bias": data_offsets [21120, 21280] out of range' } },
  { name: 'weights file of 5 bytes', files: () => hfCheckpointFiles('bert').set('model.safetensors', new Uint8Array(5)), outcome: { refused: '<folder>/model.safetensors: truncated file: 5 bytes' } },
  { name: 'header length past the end of the file', files: () => rawWeights({}, 0, 1_000_000), outcome: { refused: '<folder>/model.safetensors: header length 1000000 runs past the end of the file' } },
  { name: 'header length of 2^40 bytes (not allocated)', files: () => rawWeights({}, 8, 2 ** 40), outcome: { refused: '<folder>/model.safetensors: header length 1099511627776 runs past the end of the file' } },
  { name: 'header is not JSON', files: () => rawWeights('{nope', 0), outcome: { refused: '<folder>/model.safetensors: header is not valid JSON' } },
  { name: 'overlapping tensors', files: () => rawWeights({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12), outcome: { refused: '<folder>/model.safetensors: tensors "a" and "b" have overlapping data_offsets' } },
  { name: 'unknown dtype', files: () => rawWeights({ a: { dtype: 'Q4', shape: [2], data_offsets: [0, 8] } }, 8), outcome: { refused: '<folder>/model.safetensors: tensor "a": unknown dtype "Q4"' } },
  { name: 'byte length does not match the shape', files: () => rawWeights({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), outcome: { refused: '<folder>/model.safetensors: tensor "a": 8 bytes for shape [3] F32, expected 12' } },
];
