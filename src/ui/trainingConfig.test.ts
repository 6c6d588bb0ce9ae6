import { describe, expect, it } from 'vitest';
import { draftFrom, fieldHelp, NUMERIC_FIELDS, parseDraft } from './trainingConfig';
import { DEFAULT_LEARNING_RATES } from '../engine/train';
import { PROMPT_METHODS } from '../engine/types';
import { instantWordProblems } from './useTemplateChecks';
import type { TrainingConfig } from '../shared/tasks';

const defaults: TrainingConfig = {
  mode: 'verbalizer',
  method: 'prompt',
  ensembleSize: 1,
  promptLength: 20,
  init: 'labels',
  learningRate: 0.1,
  warmupFraction: 0.06,
  batchSize: 16,
  epochs: 20,
  maxGradNorm: 1,
  valFraction: 0.2,
  patience: 5,
  seed: 42,
};

describe('training settings form', () => {
  it('round-trips the defaults', () => {
    expect(parseDraft(draftFrom(defaults))).toEqual({ config: defaults, errors: {} });
  });

  it('keeps the method; a config from before methods existed reads as prompt tuning', () => {
    expect(parseDraft({ ...draftFrom(defaults), method: 'prefix' }).config?.method).toBe('prefix');
    const { method: _, ensembleSize: __, ...old } = defaults;
    expect(draftFrom(old).method).toBe('prompt');
    expect(parseDraft(draftFrom(old)).config?.ensembleSize).toBe(1); // a saved config from before ensembles
  });

  it("keeps P-tuning's LSTM encoder, and only for P-tuning", () => {
    const lstm = { ...defaults, method: 'p-tuning' as const, encoderType: 'lstm' as const };
    expect(parseDraft(draftFrom(lstm)).config).toEqual(lstm);
    expect(parseDraft({ ...draftFrom(lstm), method: 'prefix' }).config?.encoderType).toBeUndefined();
    expect(draftFrom(defaults).encoderType).toBeUndefined();
  });

  it.each([
    { key: 'learningRate', value: '0', error: 'Learning rate: must be more than 0' },
    { key: 'batchSize', value: '2.5', error: 'Batch size: enter a whole number' },
    { key: 'epochs', value: '', error: 'Epochs: enter a number' },
    { key: 'valFraction', value: '1', error: 'Validation split: must be below 1' },
    { key: 'promptLength', value: 'x', error: 'Prompt length: enter a number' },
    { key: 'patience', value: '-1', error: 'Early-stopping patience: must be at least 0' },
  ] as const)('$key = "$value" is refused with "$error"', ({ key, value, error }) => {
    const { config, errors } = parseDraft({ ...draftFrom(defaults), [key]: value });
    expect(config).toBeNull();
    expect(errors[key]).toBe(error);
  });

  it("names each method's measured default learning rate in the rate's help", () => {
    const rate = NUMERIC_FIELDS.find((f) => f.key === 'learningRate')!;
    for (const method of PROMPT_METHODS) {
      const rates = (fieldHelp(rate, method).match(/\d+(\.\d+)?/g) ?? []).map(Number);
      expect(rates, method).toContain(DEFAULT_LEARNING_RATES[method].verbalizer);
    }
    const length = NUMERIC_FIELDS.find((f) => f.key === 'promptLength')!;
    expect(fieldHelp(length, 'prefix')).toMatch(/every layer/);
    expect(fieldHelp(length, 'prompt')).toBe(length.help);
  });

  it('needs a text for the text init', () => {
    expect(parseDraft({ ...draftFrom(defaults), init: 'text', initText: ' ' }).errors.initText).toMatch(/needs a text/);
    expect(parseDraft({ ...draftFrom(defaults), init: 'text', initText: ' Classify it ' }).config).toMatchObject({ init: 'text', initText: 'Classify it' });
  });
});

describe('instantWordProblems', () => {
  it('flags an empty class and a word used by two classes, by class', () => {
    const problems = instantWordProblems({ neg: 'bad, awful', pos: 'good, bad', neutral: ' , ' });
    expect(problems.get('pos')).toEqual(['"bad" is already a label word of "neg"; each word may belong to one class']);
    expect(problems.get('neutral')).toEqual(['add at least one label word for "neutral"']);
    expect(problems.has('neg')).toBe(false);
  });
});
