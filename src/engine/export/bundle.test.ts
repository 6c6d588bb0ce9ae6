import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { ensembleFiles, exportBundle, exportFiles, importPrompt, zipFiles } from './bundle';
import { peftAdapterConfigJson, peftAdapterSafetensors } from './peft';
import { promptJsonText } from './promptJson';
import { exportReadme } from './readme';
import { EXPORT_FILE_NAMES, PromptImportError } from './schema';
import { promptNpy, promptSafetensors } from './tensorFiles';
import { baseMeta, bits, bytes, headMeta, makePrompt, text } from './testing';

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

// Files that import and files that are refused (bad prompt.json, tensor files, .npy, other PEFT types) are the
// reliability corpus, src/session/reliability/importCases.ts, run through the worker's import.
it('a zip cut off inside its first entry is refused, naming the file', async () => {
  const result = importPrompt('b.zip', exportBundle(makePrompt(), baseMeta()).subarray(0, 30));
  await expect(result).rejects.toThrow(PromptImportError);
  await expect(result).rejects.toThrow(/^b\.zip: not a readable zip/);
});
