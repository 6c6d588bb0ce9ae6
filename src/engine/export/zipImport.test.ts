/** Import limits: zips are read from their directory first, and only known entries are inflated, within caps. */
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { exportBundle, importPrompt } from './bundle';
import { peftAdapterConfigJson, peftAdapterSafetensors } from './peft';
import { promptJsonText } from './promptJson';
import { PromptImportError } from './schema';
import { baseMeta, bits, bytes, f32, makePrompt, rawSafetensors } from './testing';
import { INFLATE_SLICE_BYTES, MAX_ADAPTER_CONFIG_BYTES, MAX_IMPORT_BYTES, MAX_ZIP_ENTRIES, readZipEntry, zipEntries, type InflateStats } from './zipImport';

const MiB = 1024 * 1024;

/** Sets the uncompressed size that the zip's central directory declares for `name`. */
function declareSize(zip: Uint8Array, name: string, size: number): Uint8Array {
  const out = zip.slice();
  const view = new DataView(out.buffer);
  for (let at = 0; at + 46 <= out.length; at++) {
    if (view.getUint32(at, true) !== 0x02014b50) continue;
    const nameLength = view.getUint16(at + 28, true);
    if (new TextDecoder().decode(out.subarray(at + 46, at + 46 + nameLength)) === name) {
      view.setUint32(at + 24, size, true);
      return out;
    }
  }
  throw new Error(`no central directory entry ${name}`);
}

/** Overwrites the compressed bytes of `name` with garbage: inflating them would fail with another message. */
function garbleData(zip: Uint8Array, name: string): Uint8Array {
  const out = zip.slice();
  const view = new DataView(out.buffer);
  const entry = zipEntries(zip, 'z').find((e) => e.name === name)!;
  const local = entry.localHeaderOffset;
  const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
  out.fill(0xff, start, start + entry.compressedSize);
  return out;
}

const promptJson = () => bytes(promptJsonText(makePrompt(), baseMeta()));
/** 16 MiB of spaces, which deflate to about 16 kB (leading whitespace is valid JSON). */
const bombJson = () => {
  const body = new Uint8Array(16 * MiB).fill(0x20);
  body.set(promptJson(), body.length - promptJson().length);
  return body;
};
const loraSafetensors = () =>
  rawSafetensors(
    {
      'base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight': { dtype: 'F32', shape: [1, 2], data_offsets: [0, 8] },
      'base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight': { dtype: 'F32', shape: [2, 1], data_offsets: [8, 16] },
    },
    f32([1, 2, 3, 4]),
  );
const loraConfig = () => bytes(JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['query', 'value'], task_type: 'FEATURE_EXTRACTION' }));

describe('import limits', () => {
  it('a zip bomb (16 kB that inflates to 16 MiB, declared 1 GiB) is refused from its directory, without inflating', async () => {
    const zip = zipSync({ 'prompt.json': bombJson() }, { level: 9 });
    expect(zip.length).toBeLessThan(64 * 1024);
    // The compressed data is garbled too: had anything tried to inflate it, the error would be a different one.
    const bomb = garbleData(declareSize(zip, 'prompt.json', 1024 * MiB), 'prompt.json');
    const t0 = performance.now();
    const result = importPrompt('bomb.zip', bomb);
    await expect(result).rejects.toThrow(PromptImportError);
    await expect(result).rejects.toThrow('bomb.zip: prompt.json would inflate to 1024.0 MiB; imports read entries of at most 64.0 MiB, so it was not inflated');
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('an entry that inflates past the size its header declares is stopped there', async () => {
    const liar = declareSize(zipSync({ 'prompt.json': bombJson() }, { level: 9 }), 'prompt.json', 1000);
    await expect(importPrompt('liar.zip', liar)).rejects.toThrow('liar.zip: prompt.json inflates past the 1000 bytes its zip header declares');
  });

  it('the same 16 MiB entry, honestly declared, is under the cap and imports', async () => {
    const imported = await importPrompt('big.zip', zipSync({ 'prompt.json': bombJson() }));
    expect(bits(imported.vectors)).toEqual(bits(makePrompt().vectors));
  });

  it(`a zip with more than ${MAX_ZIP_ENTRIES} entries is refused before any is read`, async () => {
    const files = Object.fromEntries(Array.from({ length: MAX_ZIP_ENTRIES + 1 }, (_, i) => [`f${i}.txt`, bytes('x')]));
    files['prompt.json'] = promptJson();
    await expect(importPrompt('many.zip', zipSync(files))).rejects.toThrow(`many.zip: the zip has ${MAX_ZIP_ENTRIES + 2} entries; imports read zips of at most ${MAX_ZIP_ENTRIES}`);
  });

  it('unknown entries are ignored, never inflated, however large they claim to be', async () => {
    const zip = zipSync({ 'README.md': bytes('# hi'), '../../etc/passwd': bytes('root:x:0:0'), 'huge.bin': new Uint8Array(1000), 'prompt.json': promptJson() });
    const crafted = garbleData(declareSize(zip, 'huge.bin', 4000 * MiB), 'huge.bin');
    const imported = await importPrompt('extra.zip', crafted);
    expect(imported.format).toBe('zip');
    expect(bits(imported.vectors)).toEqual(bits(makePrompt().vectors));
  });

  it('a file over the import cap is refused unread', async () => {
    const big = new Uint8Array(MAX_IMPORT_BYTES + 1);
    await expect(importPrompt('huge.json', big)).rejects.toThrow('huge.json is 64.0 MiB; imports read files of at most 64.0 MiB');
  });

  it('an export zip and a zipped PEFT adapter folder import', async () => {
    const prompt = makePrompt();
    expect(bits((await importPrompt('export.zip', exportBundle(prompt, baseMeta()))).vectors)).toEqual(bits(prompt.vectors));
    const folder = zipSync({ 'adapter_config.json': bytes(peftAdapterConfigJson(prompt, baseMeta())), 'adapter_model.safetensors': peftAdapterSafetensors(prompt) });
    const imported = await importPrompt('adapter.zip', folder);
    expect(imported.fileName).toBe('adapter.zip');
    expect(bits(imported.vectors)).toEqual(bits(prompt.vectors));
  });
});

describe('entries are streamed: size-checked as they inflate', () => {
  /** 48 MiB of spaces (about 48 kB deflated) whose directory declares exactly `declared`: only the cap can stop it. */
  const bomb = (name: string, declared: number) => declareSize(zipSync({ [name]: new Uint8Array(48 * MiB).fill(0x20) }, { level: 9 }), name, declared);
  /** Deflate's best ratio is 1032:1 (258 bytes from about 2 bits): the most one pushed slice can produce. */
  const maxSliceOutput = 1032 * INFLATE_SLICE_BYTES + 32 * 1024;

  it('an entry that inflates past the cap is refused with its name and the cap, within one slice of the cap', () => {
    const cap = MiB;
    const zip = bomb('prompt.json', cap);
    expect(zip.length).toBeLessThan(128 * 1024);
    const entry = zipEntries(zip, 'bomb.zip')[0];
    const stats: InflateStats = { inflatedBytes: 0, largestChunkBytes: 0 };
    expect(() => readZipEntry(zip, entry, 'bomb.zip', cap, stats)).toThrow(
      new PromptImportError('bomb.zip: prompt.json inflates past 1.0 MiB, the most imports read from one entry; it was stopped there and the rest was not inflated'),
    );
    // Peak memory stays bounded: what came out before the refusal is at most the cap plus one slice's output.
    expect(stats.inflatedBytes).toBeGreaterThan(cap);
    expect(stats.largestChunkBytes).toBeLessThanOrEqual(maxSliceOutput);
    expect(stats.inflatedBytes).toBeLessThanOrEqual(cap + stats.largestChunkBytes);
    expect(stats.inflatedBytes).toBeLessThan(48 * MiB / 4); // the rest was never inflated
  });

  it('through the import: an adapter_config.json past its 1 MiB cap is refused, naming it', async () => {
    const zip = zipSync({ 'adapter_config.json': new Uint8Array(48 * MiB).fill(0x20), 'prompt.json': promptJson() }, { level: 9 });
    const result = importPrompt('adapter.zip', declareSize(zip, 'adapter_config.json', MAX_ADAPTER_CONFIG_BYTES));
    await expect(result).rejects.toThrow(PromptImportError);
    await expect(result).rejects.toThrow('adapter.zip: adapter_config.json inflates past 1.0 MiB, the most imports read from one entry');
  });

  it('an honest entry streams in many slices and comes out whole', () => {
    let state = 1;
    // An LCG's top bytes barely compress: the entry spans many slices.
    const body = new Uint8Array(3 * MiB).map(() => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) >>> 24);
    const zip = zipSync({ 'prompt.safetensors': body, 'other.bin': bytes('x') });
    const stats: InflateStats = { inflatedBytes: 0, largestChunkBytes: 0 };
    const entry = zipEntries(zip, 'z.zip').find((e) => e.name === 'prompt.safetensors')!;
    expect(entry.compressedSize).toBeGreaterThan(10 * INFLATE_SLICE_BYTES);
    const out = readZipEntry(zip, entry, 'z.zip', MAX_IMPORT_BYTES, stats);
    expect(out).toEqual(body);
    expect(stats.inflatedBytes).toBe(body.length);
    // A stored entry too (Unzip's pass-through), after a deflated one.
    const stored = zipSync({ 'a.txt': bytes('first'), 'b.txt': [bytes('stored'), { level: 0 }] });
    const b = zipEntries(stored, 's.zip').find((e) => e.name === 'b.txt')!;
    expect(b.method).toBe(0);
    expect(new TextDecoder().decode(readZipEntry(stored, b, 's.zip', MAX_IMPORT_BYTES))).toBe('stored');
  });
});

describe('import errors: every one a PromptImportError naming the file', () => {
  it.each([
    { file: 'lora.zip', data: () => zipSync({ 'adapter_config.json': loraConfig(), 'adapter_model.safetensors': loraSafetensors() }), error: /^lora\.zip: its adapter_config\.json says this is a PEFT LoRA adapter \(peft_type "LORA"\), which changes the model's own weights/ },
    { file: 'adapter_config.json', data: loraConfig, error: /^adapter_config\.json: this is a PEFT LoRA adapter \(peft_type "LORA"\)/ },
    { file: 'adapter_model.safetensors', data: loraSafetensors, error: /^adapter_model\.safetensors: this is a PEFT LoRA adapter .* \(it holds "base_model\.model\.bert\.encoder\.layer\.0\.attention\.self\.query\.lora_A\.weight"\)/ },
    { file: 'adapter_config.json', data: () => bytes(JSON.stringify({ peft_type: 'IA3' })), error: /this is a PEFT \(IA\)³ adapter \(peft_type "IA3"\)/ },
    { file: 'adalora.zip', data: () => zipSync({ 'peft/adapter_config.json': bytes(JSON.stringify({ peft_type: 'ADALORA' })), 'peft/adapter_model.safetensors': loraSafetensors() }), error: /^adalora\.zip: its peft\/adapter_config\.json says this is a PEFT AdaLoRA adapter/ },
    { file: 'empty.zip', data: () => zipSync({}), error: /^empty\.zip: the zip holds none of prompt\.json, prompt\.safetensors, peft\/adapter_model\.safetensors, adapter_model\.safetensors, prompt\.npy \(it holds nothing\)/ },
    { file: 'other.zip', data: () => zipSync({ 'notes.txt': bytes('hi') }), error: /\(it holds notes\.txt\)/ },
    { file: 'cut.zip', data: () => exportBundle(makePrompt(), baseMeta()).subarray(0, 200), error: /^cut\.zip: not a readable zip \(no end-of-central-directory record\)/ },
    { file: 'badjson.zip', data: () => zipSync({ 'prompt.json': bytes('{"format": ') }), error: /^badjson\.zip\/prompt\.json: not valid JSON/ },
    { file: 'many-tensors.safetensors', data: () => rawSafetensors(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`w${i}`, { dtype: 'F32', shape: [1], data_offsets: [4 * i, 4 * i + 4] }])), new Uint8Array(80)), error: /no "prompt_embeddings" tensor \(found: w0, w1, w2, w3, w4, w5, w6, w7, … \(20 in all\)\)/ },
  ])('$file: $error', async ({ file, data, error }) => {
    const result = importPrompt(file, data());
    await expect(result).rejects.toThrow(PromptImportError);
    await expect(result).rejects.toThrow(error);
  });
});
