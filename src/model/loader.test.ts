/** Every bad-input path of the loader gives an error that names the file and tensor. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { loadPretrained } from './loader';
import { useNodeBackend } from '../node/model';
import { bytesSource, decodeFloats, readSafetensorsHeader, writeSafetensors } from './safetensors';
import { hfCheckpointFiles, memFolder, randomHfWeights } from './testing/hfCheckpoint';

function rawSafetensors(header: unknown, dataBytes: number, headerLenOverride?: number): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLenOverride ?? h.length), true);
  out.set(h, 8);
  return out;
}

describe('safetensors header validation', () => {
  const cases: { name: string; file: Uint8Array; error: RegExp }[] = [
    { name: 'truncated below 8 bytes', file: new Uint8Array(5), error: /w\.safetensors: truncated file: 5 bytes/ },
    { name: 'header length past the end', file: rawSafetensors({}, 0, 1_000_000), error: /header length 1000000 runs past the end of the file/ },
    { name: 'header not JSON', file: rawSafetensors('{nope', 0), error: /header is not valid JSON/ },
    {
      name: 'offsets out of range (truncated data)',
      file: rawSafetensors({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8),
      error: /tensor "a": data_offsets \[0, 16\] out of range: the data section holds 8 bytes/,
    },
    {
      name: 'overlapping tensors',
      file: rawSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12),
      error: /tensors "a" and "b" have overlapping data_offsets/,
    },
    {
      name: 'unknown dtype',
      file: rawSafetensors({ a: { dtype: 'Q4', shape: [2], data_offsets: [0, 8] } }, 8),
      error: /tensor "a": unknown dtype "Q4"/,
    },
    {
      name: 'byte length does not match shape',
      file: rawSafetensors({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8),
      error: /tensor "a": 8 bytes for shape \[3\] F32, expected 12/,
    },
    {
      name: 'begin after end',
      file: rawSafetensors({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, 8),
      error: /begin after end/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      await expect(readSafetensorsHeader(bytesSource('w.safetensors', c.file))).rejects.toThrow(c.error);
    });
  }

  it('a huge claimed header length is refused without allocating it', async () => {
    // Claims 2^40 bytes of header in a 16-byte file: must fail on the size check, not in an allocation.
    const file = new Uint8Array(16);
    new DataView(file.buffer).setBigUint64(0, 2n ** 40n, true);
    let reads = 0;
    const src = { ...bytesSource('big.safetensors', file), read: async (s: number, e: number) => (reads++, file.subarray(s, e)) };
    await expect(readSafetensorsHeader(src)).rejects.toThrow(/runs past the end/);
    expect(reads).toBe(1);
  });

  it('round-trips what writeSafetensors writes, with the data section 8-byte aligned', async () => {
    const file = writeSafetensors({ x: { data: new Float32Array([1, -2.5, 3]), shape: [3] } }, { format: 'pt' });
    const h = await readSafetensorsHeader(bytesSource('x.safetensors', file));
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.dataStart % 8).toBe(0);
    const info = h.tensors.get('x')!;
    expect(Array.from(decodeFloats(file.subarray(info.begin, info.end), 'F32', 'x'))).toEqual([1, -2.5, 3]);
  });
});

describe('dtype decoding', () => {
  it('F16 bit patterns: normal, negative, max, subnormal, infinity', () => {
    const bits = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3555];
    const bytes = new Uint8Array(new Uint16Array(bits).buffer);
    const got = Array.from(decodeFloats(bytes, 'F16', 't'));
    expect(got.slice(0, 5)).toEqual([1, -2, 65504, 2 ** -24, Infinity]);
    expect(got[5]).toBeCloseTo(0.333251953125, 10);
  });
  it('BF16 is the top half of float32', () => {
    const f = new Float32Array([1.5, -3.140625]);
    const top = new Uint16Array(Array.from(new Uint32Array(f.buffer), (b) => b >>> 16));
    expect(Array.from(decodeFloats(new Uint8Array(top.buffer), 'BF16', 't'))).toEqual([1.5, -3.140625]);
  });
  it('an integer tensor is refused when read as a weight', () => {
    expect(() => decodeFloats(new Uint8Array(8), 'I64', 'model.safetensors: tensor "position_ids"')).toThrow(/position_ids.*I64 cannot be read/);
  });
});

describe('loader errors', () => {
  beforeAll(async () => {
    await useNodeBackend('cpu');
  });

  const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));

  it('unsupported model_type lists the supported ones', async () => {
    const files = hfCheckpointFiles('bert');
    files.set('config.json', enc({ model_type: 't5', d_model: 8 }));
    await expect(loadPretrained(memFolder(files))).rejects.toThrow(
      /config\.json: unsupported model_type "t5"; supported model types: bert, distilbert, roberta, gpt2/,
    );
  });

  it('missing config.json', async () => {
    const files = hfCheckpointFiles('bert');
    files.delete('config.json');
    await expect(loadPretrained(memFolder(files))).rejects.toThrow(/mem:\/\/checkpoint: config\.json not found/);
  });

  it('missing tokenizer', async () => {
    await expect(loadPretrained(memFolder(hfCheckpointFiles('bert', { tokenizer: 'none' })))).rejects.toThrow(
      /no tokenizer found: expected tokenizer\.json/,
    );
  });

  it('no safetensors: says which files exist and that .bin is not read', async () => {
    const files = hfCheckpointFiles('gpt2');
    files.delete('model.safetensors');
    files.set('pytorch_model.bin', new Uint8Array(4));
    await expect(loadPretrained(memFolder(files))).rejects.toThrow(
      /no model\.safetensors or model\.safetensors\.index\.json \(files: .*pytorch_model\.bin.*\)\. PyTorch \.bin checkpoints are not read/,
    );
  });

  it('shape mismatch against config.json names the file and tensor', async () => {
    const files = hfCheckpointFiles('bert');
    const cfg = JSON.parse(new TextDecoder().decode(files.get('config.json')));
    cfg.intermediate_size = 32;
    files.set('config.json', enc(cfg));
    await expect(loadPretrained(memFolder(files))).rejects.toThrow(
      /model\.safetensors: tensor "bert\.encoder\.layer\.0\.intermediate\.dense\.weight" has shape \[24, 16\], expected \[32, 16\] from config\.json/,
    );
  });

  it('missing tensor is named', async () => {
    const w = randomHfWeights('gpt2', 1);
    delete w['transformer.h.1.mlp.c_fc.bias'];
    const files = hfCheckpointFiles('gpt2');
    files.set('model.safetensors', writeSafetensors(w));
    await expect(loadPretrained(memFolder(files))).rejects.toThrow(/missing 1 expected tensor\(s\): h\.1\.mlp\.c_fc\.bias/);
  });

  it('a truncated weight file is reported with its name, not as a crash', async () => {
    const files = hfCheckpointFiles('distilbert');
    const full = files.get('model.safetensors')!;
    files.set('model.safetensors', full.subarray(0, full.length - 100));
    await expect(loadPretrained(memFolder(files))).rejects.toThrow(/model\.safetensors: tensor ".*": data_offsets .* out of range/);
  });

  it('a shard named in the index but absent', async () => {
    const files = hfCheckpointFiles('bert');
    files.delete('model.safetensors');
    files.set('model.safetensors.index.json', enc({ weight_map: { 'bert.embeddings.word_embeddings.weight': 'model-00001-of-00002.safetensors' } }));
    await expect(loadPretrained(memFolder(files))).rejects.toThrow(/shard model-00001-of-00002\.safetensors named in model\.safetensors\.index\.json is missing/);
  });

  it('config.json with a missing field names it', async () => {
    const files = hfCheckpointFiles('gpt2');
    files.set('config.json', enc({ model_type: 'gpt2', vocab_size: 40, n_layer: 2, n_head: 2, n_positions: 24 }));
    await expect(loadPretrained(memFolder(files))).rejects.toThrow(/field "n_embd" is missing or not a number/);
  });

  // config.json's sizes are whole numbers from 1 (type_vocab_size from 0): refused at parse, before any weights are read.
  it.each([
    { family: 'bert', field: 'num_hidden_layers', value: 0 },
    { family: 'bert', field: 'num_hidden_layers', value: -1 },
    { family: 'bert', field: 'num_hidden_layers', value: 2.5 },
    { family: 'gpt2', field: 'n_layer', value: 0 },
    { family: 'distilbert', field: 'n_heads', value: 1.5 },
    { family: 'roberta', field: 'vocab_size', value: -40 },
    { family: 'gpt2', field: 'n_inner', value: 0 },
    { family: 'bert', field: 'type_vocab_size', value: -1 },
    { family: 'bert', field: 'pad_token_id', value: 0.5 },
  ] as const)('config.json $field: $value is refused with the field named', async ({ family, field, value }) => {
    const files = hfCheckpointFiles(family);
    const cfg = JSON.parse(new TextDecoder().decode(files.get('config.json')));
    cfg[field] = value;
    files.set('config.json', enc(cfg));
    files.delete('model.safetensors'); // never reached: the config fails first
    const min = field === 'type_vocab_size' || field === 'pad_token_id' ? 0 : 1;
    await expect(loadPretrained(memFolder(files))).rejects.toThrow(`config.json: field "${field}" must be a whole number >= ${min}, not ${value}`);
  });

  it('config.json layer_norm_eps of 0 is refused', async () => {
    const files = hfCheckpointFiles('bert');
    const cfg = JSON.parse(new TextDecoder().decode(files.get('config.json')));
    cfg.layer_norm_eps = 0;
    files.set('config.json', enc(cfg));
    await expect(loadPretrained(memFolder(files))).rejects.toThrow(/field "layer_norm_eps" must be greater than 0, not 0/);
  });

  // A NaN or infinity in a frozen weight would train to the end on NaN losses: the load refuses it, naming file, tensor and element.
  it.each([
    { family: 'bert', tensor: 'bert.encoder.layer.1.attention.self.query.weight', at: 17, value: NaN, element: '[1, 1]' },
    { family: 'gpt2', tensor: 'transformer.wte.weight', at: 0, value: Infinity, element: '[0, 0]' },
    { family: 'distilbert', tensor: 'distilbert.embeddings.LayerNorm.bias', at: 14, value: -Infinity, element: '[14]' },
  ] as const)('$value in $tensor is refused', async ({ family, tensor, at, value, element }) => {
    const w = randomHfWeights(family, 1);
    expect(w[tensor], `fixture has ${tensor}`).toBeDefined();
    w[tensor].data[at] = value;
    w[tensor].data[at + 1] = NaN;
    const files = hfCheckpointFiles(family);
    files.set('model.safetensors', writeSafetensors(w));
    const before = tf.memory().numTensors;
    await expect(loadPretrained(memFolder(files))).rejects.toThrow(
      `mem://checkpoint/model.safetensors: tensor "${tensor}" holds 2 non-finite values (the first, ${value}, at ${element})`,
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('loads leave no stray tensors behind when they fail late', async () => {
    const w = randomHfWeights('bert', 1);
    w['bert.encoder.layer.1.output.dense.weight'] = { data: new Float32Array(16 * 24).fill(0), shape: [24, 16] };
    const files = hfCheckpointFiles('bert');
    files.set('model.safetensors', writeSafetensors(w));
    const before = tf.memory().numTensors;
    await expect(loadPretrained(memFolder(files))).rejects.toThrow(/has shape \[24, 16\], expected \[16, 24\]/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
