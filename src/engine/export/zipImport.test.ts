/** Import limits: zips are read from their directory first, and only known entries are inflated, within caps. */
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { exportBundle, importPrompt } from './bundle';
import { peftAdapterConfigJson, peftAdapterSafetensors } from './peft';
import { promptJsonText } from './promptJson';
import { PromptImportError } from './schema';
import { baseMeta, bits, bytes, f32, makePrompt, rawSafetensors } from './testing';
import { MAX_IMPORT_BYTES, MAX_ZIP_ENTRIES, zipEntries } from './zipImport';

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
