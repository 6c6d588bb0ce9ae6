/**
 * Prompt imports (exports of the studio, PEFT adapters, zips of either, and everything else a person
 * may drop on the import box), each with what the studio does with it. They go through
 * StudioSession.importPrompt, the worker's `importPrompt` request.
 */
import { zipSync } from 'fflate';
import { exportBundle } from '../../engine/export/bundle';
import { writeNpy } from '../../engine/export/npy';
import { peftAdapterConfigJson, peftAdapterSafetensors } from '../../engine/export/peft';
import { promptJsonText } from '../../engine/export/promptJson';
import { baseMeta, bytes, declareSize, f32, garbleData, makePrompt, rawSafetensors } from '../../engine/export/testing';
import { MAX_IMPORT_BYTES, MAX_ZIP_ENTRIES } from '../../engine/export/zipImport';

export type ImportOutcome =
  /** Imported: its format and the prompt's shape [tokens, dim]. */
  | { imported: { format: string; shape: [number, number] } }
  /** A PromptImportError whose message starts with the file's name and holds this. */
  | { refused: string };

export interface ImportCase {
  name: string;
  file: string;
  bytes: () => Uint8Array;
  outcome: ImportOutcome;
}

const MiB = 1024 * 1024;

const promptJson = () => bytes(promptJsonText(makePrompt(), baseMeta()));
const jsonWith = (edit: (doc: Record<string, unknown>) => void) => {
  const doc = JSON.parse(promptJsonText(makePrompt(), baseMeta()));
  edit(doc);
  return bytes(JSON.stringify(doc));
};
/** 16 MiB of spaces and a prompt.json at the end, which deflate to about 16 kB (leading whitespace is valid JSON). */
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

export const IMPORT_CASES: ImportCase[] = [
  // What imports.
  { name: "the studio's export zip", file: 'export.zip', bytes: () => exportBundle(makePrompt(), baseMeta()), outcome: { imported: { format: 'zip', shape: [3, 4] } } },
  { name: 'prompt.json', file: 'prompt.json', bytes: promptJson, outcome: { imported: { format: 'prompt.json', shape: [3, 4] } } },
  { name: 'a zipped PEFT adapter folder', file: 'adapter.zip', bytes: () => zipSync({ 'adapter_config.json': bytes(peftAdapterConfigJson(makePrompt(), baseMeta())), 'adapter_model.safetensors': peftAdapterSafetensors(makePrompt()) }), outcome: { imported: { format: 'zip', shape: [3, 4] } } },
  { name: 'a bare PEFT adapter_model.safetensors', file: 'adapter_model.safetensors', bytes: () => peftAdapterSafetensors(makePrompt()), outcome: { imported: { format: 'safetensors', shape: [3, 4] } } },
  { name: 'a 16 MiB entry, honestly declared (under the cap)', file: 'big.zip', bytes: () => zipSync({ 'prompt.json': bombJson() }), outcome: { imported: { format: 'zip', shape: [3, 4] } } },
  { name: 'unknown entries (../../etc/passwd, a 4000 MiB claim) beside prompt.json: never inflated', file: 'extra.zip', bytes: () => garbleData(declareSize(zipSync({ 'README.md': bytes('# hi'), '../../etc/passwd': bytes('root:x:0:0'), 'huge.bin': new Uint8Array(1000), 'prompt.json': promptJson() }), 'huge.bin', 4000 * MiB), 'huge.bin'), outcome: { imported: { format: 'zip', shape: [3, 4] } } },
  // Limits: refused before inflating.
  { name: 'a zip bomb (16 kB declaring 1 GiB)', file: 'bomb.zip', bytes: () => garbleData(declareSize(zipSync({ 'prompt.json': bombJson() }, { level: 9 }), 'prompt.json', 1024 * MiB), 'prompt.json'), outcome: { refused: 'bomb.zip: prompt.json would inflate to 1024.0 MiB; imports read entries of at most 64.0 MiB, so it was not inflated' } },
  { name: 'an entry inflating past its declared size', file: 'liar.zip', bytes: () => declareSize(zipSync({ 'prompt.json': bombJson() }, { level: 9 }), 'prompt.json', 1000), outcome: { refused: 'liar.zip: prompt.json inflates past the 1000 bytes its zip header declares' } },
  { name: `a zip of ${MAX_ZIP_ENTRIES + 2} entries`, file: 'many.zip', bytes: () => zipSync({ ...Object.fromEntries(Array.from({ length: MAX_ZIP_ENTRIES + 1 }, (_, i) => [`f${i}.txt`, bytes('x')])), 'prompt.json': promptJson() }), outcome: { refused: `many.zip: the zip has ${MAX_ZIP_ENTRIES + 2} entries; imports read zips of at most ${MAX_ZIP_ENTRIES}` } },
  { name: 'a file over 64 MiB', file: 'huge.json', bytes: () => new Uint8Array(MAX_IMPORT_BYTES + 1), outcome: { refused: 'huge.json is 64.0 MiB; imports read files of at most 64.0 MiB' } },
  // Zips that are not exports.
  { name: 'an empty zip', file: 'empty.zip', bytes: () => zipSync({}), outcome: { refused: 'empty.zip: the zip holds none of prompt.json, prompt.safetensors, peft/adapter_model.safetensors, adapter_model.safetensors, prompt.npy (it holds nothing)' } },
  { name: 'a zip of other files', file: 'other.zip', bytes: () => zipSync({ 'notes.txt': bytes('hi') }), outcome: { refused: '(it holds notes.txt)' } },
  { name: 'a zip cut off (no directory)', file: 'cut.zip', bytes: () => exportBundle(makePrompt(), baseMeta()).subarray(0, 200), outcome: { refused: 'cut.zip: not a readable zip (no end-of-central-directory record)' } },
  { name: 'a zip whose prompt.json is not JSON', file: 'badjson.zip', bytes: () => zipSync({ 'prompt.json': bytes('{"format": ') }), outcome: { refused: 'badjson.zip/prompt.json: not valid JSON' } },
  // Adapters of other PEFT types.
  { name: 'a LoRA adapter folder, zipped', file: 'lora.zip', bytes: () => zipSync({ 'adapter_config.json': loraConfig(), 'adapter_model.safetensors': loraSafetensors() }), outcome: { refused: "lora.zip: its adapter_config.json says this is a PEFT LoRA adapter (peft_type \"LORA\"), which changes the model's own weights" } },
  { name: "a LoRA adapter's adapter_config.json", file: 'adapter_config.json', bytes: loraConfig, outcome: { refused: 'adapter_config.json: this is a PEFT LoRA adapter (peft_type "LORA")' } },
  { name: "a LoRA adapter's weights", file: 'adapter_model.safetensors', bytes: loraSafetensors, outcome: { refused: 'it holds "base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight"' } },
  { name: 'an (IA)³ adapter_config.json', file: 'adapter_config.json', bytes: () => bytes(JSON.stringify({ peft_type: 'IA3' })), outcome: { refused: 'this is a PEFT (IA)³ adapter (peft_type "IA3")' } },
  { name: 'an AdaLoRA adapter in peft/', file: 'adalora.zip', bytes: () => zipSync({ 'peft/adapter_config.json': bytes(JSON.stringify({ peft_type: 'ADALORA' })), 'peft/adapter_model.safetensors': loraSafetensors() }), outcome: { refused: 'adalora.zip: its peft/adapter_config.json says this is a PEFT AdaLoRA adapter' } },
  { name: "a prompt-tuning adapter's config alone", file: 'adapter_config.json', bytes: () => bytes(peftAdapterConfigJson(makePrompt(), baseMeta())), outcome: { refused: 'PEFT adapter_config.json, which holds no vectors; import adapter_model.safetensors' } },
  // prompt.json.
  { name: 'prompt.json not JSON', file: 'prompt.json', bytes: () => bytes('{"vectors": [[1, 2]'), outcome: { refused: 'not valid JSON' } },
  { name: 'prompt.json an array', file: 'prompt.json', bytes: () => bytes('[1, 2]'), outcome: { refused: 'not a JSON object' } },
  { name: 'some other JSON', file: 'prompt.json', bytes: () => bytes('{"name": "something else"}'), outcome: { refused: 'not a prompt export: "format" is undefined' } },
  { name: 'a newer formatVersion', file: 'prompt.json', bytes: () => jsonWith((d) => (d.formatVersion = 99)), outcome: { refused: 'formatVersion 99 is not supported' } },
  { name: 'no vectors', file: 'prompt.json', bytes: () => jsonWith((d) => delete d.vectors), outcome: { refused: 'has no "vectors"' } },
  { name: 'ragged vectors', file: 'prompt.json', bytes: () => jsonWith((d) => ((d.vectors as number[][])[1] = [1, 2])), outcome: { refused: 'row 1 has 2 values, row 0 has 4' } },
  { name: 'a null among the vectors', file: 'prompt.json', bytes: () => jsonWith((d) => ((d.vectors as unknown[][])[0][1] = null)), outcome: { refused: 'null at [0, 1] is not a finite number' } },
  { name: 'vectors of rank 1', file: 'prompt.json', bytes: () => jsonWith((d) => (d.vectors = [1, 2, 3])), outcome: { refused: 'has rank 1' } },
  { name: 'numTokens disagreeing with the vectors', file: 'prompt.json', bytes: () => jsonWith((d) => (d.numTokens = 5)), outcome: { refused: 'numTokens/dim say [5, 4] but "vectors" is [3, 4]' } },
  { name: 'no model object', file: 'prompt.json', bytes: () => jsonWith((d) => delete d.model), outcome: { refused: 'has no "model" object' } },
  { name: 'an unknown mode', file: 'prompt.json', bytes: () => jsonWith((d) => (d.mode = 'magic')), outcome: { refused: 'mode "magic" is not verbalizer or head' } },
  // Tensor files.
  { name: 'safetensors without prompt_embeddings', file: 'w.safetensors', bytes: () => rawSafetensors({ weight: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32([1])), outcome: { refused: 'no "prompt_embeddings" tensor (found: weight)' } },
  { name: 'safetensors of 20 other tensors', file: 'many-tensors.safetensors', bytes: () => rawSafetensors(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`w${i}`, { dtype: 'F32', shape: [1], data_offsets: [4 * i, 4 * i + 4] }])), new Uint8Array(80)), outcome: { refused: 'no "prompt_embeddings" tensor (found: w0, w1, w2, w3, w4, w5, w6, w7, … (20 in all))' } },
  { name: 'prompt_embeddings of dtype I32', file: 'w.safetensors', bytes: () => rawSafetensors({ prompt_embeddings: { dtype: 'I32', shape: [1, 2], data_offsets: [0, 8] } }, new Uint8Array(8)), outcome: { refused: '"prompt_embeddings" has dtype I32; expected F32' } },
  { name: 'prompt_embeddings of rank 3', file: 'w.safetensors', bytes: () => rawSafetensors({ prompt_embeddings: { dtype: 'F32', shape: [1, 2, 2], data_offsets: [0, 16] } }, f32([1, 2, 3, 4])), outcome: { refused: 'shape [1, 2, 2] (rank 3); expected rank 2' } },
  { name: 'NaN in prompt_embeddings', file: 'w.safetensors', bytes: () => rawSafetensors({ prompt_embeddings: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } }, f32([1, 2, 3, NaN])), outcome: { refused: '"prompt_embeddings": NaN at [1, 1]' } },
  { name: 'a cut-off adapter_model.safetensors', file: 'w.safetensors', bytes: () => peftAdapterSafetensors(makePrompt()).subarray(0, 60), outcome: { refused: 'runs past the end' } },
  { name: 'a text file named .safetensors', file: 'w.safetensors', bytes: () => bytes('not a safetensors file at all'), outcome: { refused: 'w.safetensors: header length' } },
  { name: 'a .npy of rank 1', file: 'p.npy', bytes: () => writeNpy(Float32Array.from([1, 2, 3]), [3]), outcome: { refused: 'shape (3) (rank 1); expected rank 2' } },
  { name: 'Infinity in a .npy', file: 'p.npy', bytes: () => writeNpy(Float32Array.from([1, Infinity]), [1, 2]), outcome: { refused: 'Infinity at [0, 1]' } },
  { name: 'a .npy cut after its magic', file: 'p.npy', bytes: () => bytes('\x93NUMPY\x01\x00'), outcome: { refused: 'not a NumPy .npy file' } },
  { name: 'an unknown file type', file: 'prompt.bin', bytes: () => new Uint8Array([0, 1, 2, 3]), outcome: { refused: 'unrecognised file' } },
];
