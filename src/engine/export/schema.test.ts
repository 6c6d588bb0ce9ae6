import { describe, expect, it } from 'vitest';
import { exportBundle } from './bundle';
import { peftAdapterConfig } from './peft';
import { promptJsonText } from './promptJson';
import { PromptExportError } from './schema';
import { promptNpy, promptSafetensors } from './tensorFiles';
import { baseMeta, generationMeta, headMeta, makePrompt } from './testing';

describe('export refuses inconsistent input', () => {
  it.each([
    { name: 'NaN in the vectors', run: () => promptNpy({ ...makePrompt(), vectors: Float32Array.from([1, 2, NaN, 4]), numTokens: 1 }), error: /prompt vectors: NaN at \[0, 2\]/ },
    { name: 'wrong value count', run: () => promptNpy({ vectors: new Float32Array(5), numTokens: 2, dim: 3 }), error: /5 values for shape \[2, 3\]/ },
    { name: 'hidden size mismatch', run: () => promptJsonText(makePrompt(), baseMeta({ model: { ...baseMeta().model, hiddenSize: 8 } })), error: /hiddenSize is 8 but the prompt vectors are 4-dimensional/ },
    { name: 'prompt length mismatch', run: () => promptJsonText(makePrompt(), baseMeta({ hyperparameters: { ...baseMeta().hyperparameters, promptLength: 20 } })), error: /promptLength is 20 but the prompt has 3 vectors/ },
    { name: 'head mode without head', run: () => promptJsonText(makePrompt(), baseMeta({ mode: 'head' })), error: /mode is head but no head weights/ },
    { name: 'head of the wrong shape', run: () => exportBundle(makePrompt(), { ...headMeta(), head: { weights: new Float32Array(6), bias: new Float32Array(2) } }), error: /head weights \[H=4, C=2\]: 6 values/ },
    { name: 'class without label words', run: () => promptSafetensors(makePrompt(), baseMeta({ labelWords: { negative: ['bad'] } })), error: /class "positive" has no label words/ },
    { name: 'label words of an unknown class', run: () => promptJsonText(makePrompt(), baseMeta({ labelWords: { negative: ['bad'], positive: ['good'], neutral: ['ok'] } })), error: /class "neutral", which is not in classNames/ },
    { name: 'bad checkpoint hash', run: () => peftAdapterConfig(makePrompt(), baseMeta({ model: { ...baseMeta().model, checkpointHash: 'abc' } })), error: /checkpointHash "abc" is not a lowercase hex SHA-256/ },
    { name: 'metrics of the other task', run: () => promptJsonText(makePrompt(), { ...generationMeta(), metrics: baseMeta().metrics }), error: /metrics.kind "classification" does not match task generation/ },
  ])('$name', ({ run, error }) => {
    expect(run).toThrow(PromptExportError);
    expect(run).toThrow(error);
  });
});
