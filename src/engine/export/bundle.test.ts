import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { ensembleFiles, exportBundle, exportFiles, importPrompt, zipFiles } from './bundle';
import { writeNpy } from './npy';
import { peftAdapterConfigJson, peftAdapterSafetensors } from './peft';
import { promptJsonText } from './promptJson';
import { exportReadme } from './readme';
import { EXPORT_FILE_NAMES, PromptImportError } from './schema';
import { promptNpy, promptSafetensors } from './tensorFiles';
import { baseMeta, bits, bytes, f32, headMeta, makePrompt, rawSafetensors, text } from './testing';

describe('exportBundle', () => {
  const all = [
    'prompt.json',
    'prompt.safetensors',
    'prompt.npy',
    'peft/adapter_config.json',
    'peft/adapter_model.safetensors',
    'README.md',
  ];

  it.each([
    { name: 'without metrics', metrics: undefined, files: all },
    { name: 'with metrics', metrics: { zeroShotAccuracy: 0.5, accuracy: 0.75, macroF1: 0.74, confusion: [[3, 1], [1, 3]] }, files: [...all, 'metrics.json'] },
  ])('zips every export file ($name), each identical to its own writer', ({ metrics, files }) => {
    const prompt = makePrompt();
    const meta = headMeta();
    const unzipped = unzipSync(exportBundle(prompt, meta, { metrics }));
    expect(Object.keys(unzipped).sort()).toEqual([...files].sort());
    expect(text(unzipped['prompt.json'])).toBe(promptJsonText(prompt, meta));
    expect(unzipped['prompt.safetensors']).toEqual(promptSafetensors(prompt, meta));
    expect(unzipped['prompt.npy']).toEqual(promptNpy(prompt));
    expect(text(unzipped['peft/adapter_config.json'])).toBe(peftAdapterConfigJson(prompt, meta));
    expect(unzipped['peft/adapter_model.safetensors']).toEqual(peftAdapterSafetensors(prompt));
    if (metrics) expect(JSON.parse(text(unzipped['metrics.json']))).toEqual(metrics);
    expect(text(unzipped['README.md'])).toBe(exportReadme(prompt, meta, exportFiles(prompt, meta, { metrics })));
    for (const path of files) expect(text(unzipped['README.md'])).toContain(`\`${path}\``);
  });

  it('is deterministic and imports back from the zip', async () => {
    const prompt = makePrompt();
    const a = exportBundle(prompt, baseMeta());
    expect(exportBundle(prompt, baseMeta())).toEqual(a);
    const imported = await importPrompt('export.zip', a);
    expect(imported.format).toBe('zip');
    expect(imported.fileName).toBe('export.zip');
    expect(bits(imported.vectors)).toEqual(bits(prompt.vectors));
    expect(imported.metadata?.template).toBe('{text} It was [MASK].');
  });

  it('an ensemble zip imports every member in order (members/1 .. members/K); gaps and mismatched shapes are named', async () => {
    const members = [0, 1, 2].map((k) => ({ ...makePrompt(), vectors: makePrompt().vectors.map((x, i) => (i === 0 ? k + 0.5 : x)) }));
    const files = ensembleFiles(members, baseMeta(), 1000);
    const imported = await importPrompt('ensemble.zip', zipFiles(files, baseMeta()));
    expect(imported.members?.map((m) => m.vectors[0])).toEqual([0.5, 1.5, 2.5]);
    expect(imported.members?.map((m) => m.metadata?.seed)).toEqual([baseMeta().seed, baseMeta().seed + 1000, baseMeta().seed + 2000]);
    members.forEach((m, k) => expect(bits(imported.members![k].vectors)).toEqual(bits(m.vectors)));
    expect((await importPrompt('one.zip', exportBundle(makePrompt(), baseMeta()))).members).toBeUndefined();

    const gap = Object.fromEntries(Object.entries(files).filter(([path]) => !path.startsWith('members/2/')));
    await expect(importPrompt('gap.zip', zipFiles(gap, baseMeta()))).rejects.toThrow(/^gap\.zip: its ensemble members are numbered 1, 3; an ensemble export numbers them 1 to 2/);
    const wide = { ...files, 'members/3/prompt.json': bytes(promptJsonText(makePrompt(2), baseMeta({ hyperparameters: { ...baseMeta().hyperparameters, promptLength: 2 } }))) };
    await expect(importPrompt('wide.zip', zipFiles(wide, baseMeta()))).rejects.toThrow(/^wide\.zip: ensemble member 3 \(wide\.zip\/members\/3\/prompt\.json\) is \[2, 4\] but the ensemble's first prompt is \[3, 4\]/);
  });

  it('exportFiles names the same paths as EXPORT_FILE_NAMES', () => {
    const files = exportFiles(makePrompt(), baseMeta(), { metrics: {} });
    expect(Object.keys(files).sort()).toEqual(Object.values(EXPORT_FILE_NAMES).sort());
  });
});

describe('importPrompt errors name the file', () => {
  const goodJson = () => JSON.parse(promptJsonText(makePrompt(), baseMeta()));
  const jsonWith = (edit: (doc: Record<string, unknown>) => void) => {
    const doc = goodJson();
    edit(doc);
    return bytes(JSON.stringify(doc));
  };

  it.each([
    { file: 'prompt.json', data: () => bytes('{"vectors": [[1, 2]'), error: /not valid JSON/ },
    { file: 'prompt.json', data: () => bytes('[1, 2]'), error: /not a JSON object/ },
    { file: 'prompt.json', data: () => bytes('{"name": "something else"}'), error: /not a prompt export: "format" is undefined/ },
    { file: 'adapter_config.json', data: () => bytes(peftAdapterConfigJson(makePrompt(), baseMeta())), error: /PEFT adapter_config\.json, which holds no vectors; import adapter_model\.safetensors/ },
    { file: 'prompt.json', data: () => jsonWith((d) => (d.formatVersion = 99)), error: /formatVersion 99 is not supported/ },
    { file: 'prompt.json', data: () => jsonWith((d) => delete d.vectors), error: /has no "vectors"/ },
    { file: 'prompt.json', data: () => jsonWith((d) => ((d.vectors as number[][])[1] = [1, 2])), error: /row 1 has 2 values, row 0 has 4/ },
    { file: 'prompt.json', data: () => jsonWith((d) => ((d.vectors as unknown[][])[0][1] = null)), error: /null at \[0, 1\] is not a finite number/ },
    { file: 'prompt.json', data: () => jsonWith((d) => (d.vectors = [1, 2, 3])), error: /has rank 1/ },
    { file: 'prompt.json', data: () => jsonWith((d) => (d.numTokens = 5)), error: /numTokens\/dim say \[5, 4\] but "vectors" is \[3, 4\]/ },
    { file: 'prompt.json', data: () => jsonWith((d) => delete d.model), error: /has no "model" object/ },
    { file: 'prompt.json', data: () => jsonWith((d) => (d.mode = 'magic')), error: /mode "magic" is not verbalizer or head/ },
    { file: 'w.safetensors', data: () => rawSafetensors({ weight: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32([1])), error: /no "prompt_embeddings" tensor \(found: weight\)/ },
    { file: 'w.safetensors', data: () => rawSafetensors({ prompt_embeddings: { dtype: 'I32', shape: [1, 2], data_offsets: [0, 8] } }, new Uint8Array(8)), error: /"prompt_embeddings" has dtype I32; expected F32/ },
    { file: 'w.safetensors', data: () => rawSafetensors({ prompt_embeddings: { dtype: 'F32', shape: [1, 2, 2], data_offsets: [0, 16] } }, f32([1, 2, 3, 4])), error: /shape \[1, 2, 2\] \(rank 3\); expected rank 2/ },
    { file: 'w.safetensors', data: () => rawSafetensors({ prompt_embeddings: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } }, f32([1, 2, 3, NaN])), error: /"prompt_embeddings": NaN at \[1, 1\]/ },
    { file: 'w.safetensors', data: () => peftAdapterSafetensors(makePrompt()).subarray(0, 60), error: /truncated|runs past the end/ },
    { file: 'w.safetensors', data: () => bytes('not a safetensors file at all'), error: /w\.safetensors: header length/ },
    { file: 'p.npy', data: () => writeNpy(Float32Array.from([1, 2, 3]), [3]), error: /shape \(3\) \(rank 1\); expected rank 2/ },
    { file: 'p.npy', data: () => writeNpy(Float32Array.from([1, Infinity]), [1, 2]), error: /Infinity at \[0, 1\]/ },
    { file: 'p.npy', data: () => bytes('\x93NUMPY\x01\x00'), error: /not a NumPy \.npy file/ },
    { file: 'prompt.bin', data: () => new Uint8Array([0, 1, 2, 3]), error: /unrecognised file/ },
    { file: 'b.zip', data: () => exportBundle(makePrompt(), baseMeta()).subarray(0, 30), error: /not a readable zip/ },
  ])('$file: $error', async ({ file, data, error }) => {
    const result = importPrompt(file, data());
    await expect(result).rejects.toThrow(PromptImportError);
    await expect(result).rejects.toThrow(new RegExp(`^${file.replace('.', '\\.')}`));
    await expect(result).rejects.toThrow(error);
  });
});
