import { describe, expect, it } from 'vitest';
import { TUNING_FILE, tuningFileName } from './tuningFiles';

describe("measure-samples' record names", () => {
  it.each([
    { sample: undefined, method: 'prompt' as const, name: 'tuning.json' },
    { sample: 'spam', method: 'prompt' as const, name: 'tuning-spam.json' },
    { sample: undefined, method: 'prefix' as const, name: 'tuning.prefix.json' },
    { sample: 'sentiment', method: 'p-tuning' as const, name: 'tuning-sentiment.p-tuning.json' },
  ])('$name: written by measure-samples, found by the model card', ({ sample, method, name }) => {
    expect(tuningFileName(sample, method)).toBe(name);
    expect(TUNING_FILE.test(name)).toBe(true);
  });

  it('the card reads no other file', () => {
    for (const other of ['training.json', 'tuning.json.bak', 'tuning-spam.json~', 'evaluation.json', 'tuning-Spam.json']) expect(TUNING_FILE.test(other), other).toBe(false);
  });
});
