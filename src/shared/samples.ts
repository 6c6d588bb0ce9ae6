/**
 * The sample datasets served with the page (public/samples/) and the task each is set up as when a
 * person loads it: template per kind of model and label words per class. The studio fills its
 * editors with these; `npm run measure-samples` measures exactly these settings for the model cards.
 */
import type { LmKind } from '../model/types';

export interface SamplePreset {
  /** File name under public/samples/. */
  file: string;
  title: string;
  task: 'classification' | 'generation';
  /** Starting template for each kind of model the task suits (generation needs a causal LM). */
  templates: Partial<Record<LmKind, string>>;
  /** Classification: label words per class (the label column's values). */
  labelWords?: Record<string, string[]>;
}

export const SAMPLES: readonly SamplePreset[] = [
  {
    // The first sample. With these words the template alone is near chance on the embedded masked
    // LM and the tuned prompt lifts it by about 20 points (numbers in
    // public/models/studio-bert-tiny/README.md). Words the mails themselves use (your/free/our
    // against i/my/it) scored 83% zero-shot on an earlier checkpoint, leaving the prompt little to add.
    file: 'spam.csv',
    title: 'Spam (600 e-mails, spam/ham)',
    task: 'classification',
    templates: { 'masked-lm': '{text} This message is [MASK].', 'causal-lm': '{text} This message is' },
    labelWords: { spam: ['free', 'money'], ham: ['list', 'code'] },
  },
  {
    file: 'sentiment.csv',
    title: 'Sentiment (300 reviews, positive/negative)',
    task: 'classification',
    templates: { 'masked-lm': '{text} It was [MASK].', 'causal-lm': '{text} It was' },
    labelWords: { positive: ['good', 'great'], negative: ['bad', 'terrible'] },
  },
  {
    file: 'antonyms.csv',
    title: 'Antonyms (201 word pairs, generation)',
    task: 'generation',
    templates: { 'causal-lm': 'The opposite of {input} is' },
  },
];

export function samplePreset(file: string): SamplePreset | undefined {
  return SAMPLES.find((s) => s.file === file);
}
