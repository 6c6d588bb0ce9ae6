import { describe, expect, it } from 'vitest';
import { checkPromptAgainstModel } from './compatibility';
import type { ImportedPrompt } from './schema';
import { baseMeta, H, HASH_A, HASH_B, makePrompt } from './testing';

describe('checkPromptAgainstModel', () => {
  const imported = (over: Partial<ImportedPrompt> = {}): ImportedPrompt => ({
    ...makePrompt(),
    fileName: 'prompt.json',
    format: 'prompt.json',
    metadata: baseMeta(),
    modelId: 'embedded/tiny-bert',
    checkpointHash: HASH_A,
    warnings: [],
    ...over,
  });
  const config = { modelType: 'bert' as const, hiddenSize: H, numLayers: 2, numHeads: 2, vocabSize: 100 };
  const model = { id: 'embedded/tiny-bert', checkpointHash: HASH_A, config };

  it.each([
    { name: 'same checkpoint', file: imported(), m: model, errors: [], warnings: [] },
    {
      name: 'different hidden size',
      file: imported(),
      m: { ...model, config: { ...config, hiddenSize: 768 } },
      errors: [/prompt\.json: the prompt vectors have size 4 but model "embedded\/tiny-bert" has hidden size 768/],
      warnings: [],
    },
    {
      name: 'different checkpoint hash',
      file: imported(),
      m: { ...model, checkpointHash: HASH_B, id: 'other' },
      errors: [],
      warnings: [/tuned on checkpoint aaaaaaaaaaaa… \("embedded\/tiny-bert"\) but the loaded checkpoint is bbbbbbbbbbbb… \("other"\)/],
    },
    {
      name: 'no hash in the file, different model id',
      file: imported({ checkpointHash: null, modelId: 'bert-base-uncased' }),
      m: model,
      errors: [],
      warnings: [/tuned on model "bert-base-uncased", the loaded model is "embedded\/tiny-bert"/],
    },
    {
      name: 'a bare .npy',
      file: imported({ fileName: 'p.npy', format: 'npy', metadata: null, modelId: null, checkpointHash: null }),
      m: model,
      errors: [],
      warnings: [/p\.npy: no checkpoint hash to compare/],
    },
    {
      name: 'another model family',
      file: imported(),
      m: { ...model, config: { ...config, modelType: 'gpt2' as const } },
      errors: [],
      warnings: [/tuned on a bert model but the loaded model is gpt2/],
    },
    {
      name: 'import warnings are carried',
      file: imported({ warnings: ['prompt.json: converted'] }),
      m: model,
      errors: [],
      warnings: [/converted/],
    },
  ])('$name', ({ file, m, errors, warnings }) => {
    const result = checkPromptAgainstModel(file, m);
    expect(result.errors).toHaveLength(errors.length);
    errors.forEach((re, i) => expect(result.errors[i]).toMatch(re));
    expect(result.warnings).toHaveLength(warnings.length);
    warnings.forEach((re, i) => expect(result.warnings[i]).toMatch(re));
  });
});
