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
    // The first sample, and the one the embedded masked LM learns best in label-word mode. Its label
    // words are the ones that mark each class in the mails themselves (spam says "your", "free",
    // "our"; ham, mostly mailing-list talk, says "i", "my", "it"): the small model's [MASK] guesses
    // lean on the words around it, so words the texts use carry the task better than words that
    // describe it (numbers in public/models/studio-bert-tiny/README.md).
    file: 'spam.csv',
    title: 'Spam (600 e-mails, spam/ham)',
    task: 'classification',
    templates: { 'masked-lm': '{text} This message is [MASK].', 'causal-lm': '{text} This message is' },
    labelWords: { spam: ['your', 'free', 'our'], ham: ['i', 'my', 'it'] },
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
