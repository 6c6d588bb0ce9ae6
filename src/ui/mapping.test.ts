import { describe, expect, it } from 'vitest';
import { samplePreset } from '../shared/samples';
import { defaultLabelWords, defaultTemplate, guessMapping, mappingProblems, parseWords, taskSpec, templateColumns } from './mapping';

describe('guessMapping', () => {
  it.each([
    { columns: ['text', 'label'], task: 'classification', text: ['text'], label: 'label' },
    { columns: ['id', 'Review', 'sentiment'], task: 'classification', text: ['Review'], label: 'sentiment' },
    { columns: ['a', 'b'], task: 'classification', text: ['a'], label: 'b' },
    { columns: ['input', 'target'], task: 'generation', text: ['input'], target: 'target' },
    { columns: ['question', 'answer'], task: 'generation', text: ['question'], target: 'answer' },
  ])('$columns -> $task', ({ columns, task, text, label, target }) => {
    const m = guessMapping(columns);
    expect(m.task).toBe(task);
    expect(m.textColumns).toEqual(text);
    if (label) expect(m.labelColumn).toBe(label);
    if (target) expect(m.targetColumn).toBe(target);
  });
});

describe('mappingProblems', () => {
  it('names a missing label column, no text column, and the label used as text', () => {
    expect(mappingProblems({ task: 'classification', textColumns: ['text'], labelColumn: 'label', targetColumn: '' }, ['text', 'label'])).toEqual([]);
    expect(mappingProblems({ task: 'classification', textColumns: [], labelColumn: 'nope', targetColumn: '' }, ['text'])).toEqual([
      'choose the label column',
      'choose at least one text column',
    ]);
    expect(mappingProblems({ task: 'generation', textColumns: ['target'], labelColumn: '', targetColumn: 'target' }, ['target'])[0]).toMatch(
      /target column "target" cannot also be a text column/,
    );
  });
});

describe('templates and label words', () => {
  it('starts encoders at [MASK], decoders after the text, generation with an arrow', () => {
    const m = { task: 'classification' as const, textColumns: ['text'], labelColumn: 'label', targetColumn: '' };
    expect(defaultTemplate('masked-lm', m)).toBe('{text} It was [MASK].');
    expect(defaultTemplate('causal-lm', m)).toBe('{text} It was');
    expect(defaultTemplate('causal-lm', { ...m, task: 'generation', textColumns: ['input'] })).toBe('{input} =>');
  });

  it('uses a class name as its first label word only when it is a plain word', () => {
    expect(defaultLabelWords('Positive')).toBe('positive');
    expect(defaultLabelWords('4_stars')).toBe('');
  });

  it("a loaded sample's preset wins for its own task and kind of model, and only there", () => {
    const spam = samplePreset('spam.csv')!;
    const antonyms = samplePreset('antonyms.csv')!;
    const m = { task: 'classification' as const, textColumns: ['text'], labelColumn: 'label', targetColumn: '' };
    expect(defaultTemplate('masked-lm', m, spam)).toBe('{text} This message is [MASK].');
    expect(defaultTemplate('causal-lm', m, spam)).toBe('{text} This message is');
    expect(defaultLabelWords('spam', spam)).toBe(spam.labelWords!.spam.join(', '));
    expect(defaultLabelWords('other', spam)).toBe('other');
    const gen = { ...m, task: 'generation' as const, textColumns: ['input'], targetColumn: 'target' };
    expect(defaultTemplate('causal-lm', gen, antonyms)).toBe('The opposite of {input} is');
    // Re-mapped to another task, or no template for this kind of model: the generic start.
    expect(defaultTemplate('causal-lm', { ...gen, task: 'classification' }, antonyms)).toBe('{input} It was');
    expect(defaultTemplate('masked-lm', gen, antonyms)).toBe('{input} =>');
  });

  it('parses comma-separated words and template placeholders', () => {
    expect(parseWords(' good,great , ,good')).toEqual(['good', 'great']);
    expect(templateColumns('[SOFT*4] {title}: { body } [MASK] {title}')).toEqual(['title', 'body']);
  });

  it('builds the task spec from the template columns', () => {
    const m = { task: 'classification' as const, textColumns: ['text'], labelColumn: 'label', targetColumn: '' };
    expect(taskSpec(m, '{title} {text} [MASK]', { pos: 'good, great', neg: 'bad' })).toEqual({
      task: 'classification',
      template: '{title} {text} [MASK]',
      labelColumn: 'label',
      textColumns: ['title', 'text'],
      labelWords: { pos: ['good', 'great'], neg: ['bad'] },
    });
    expect(taskSpec({ ...m, task: 'generation', targetColumn: 'out' }, 'no placeholder', null)).toEqual({
      task: 'generation',
      template: 'no placeholder',
      targetColumn: 'out',
      textColumns: ['text'],
    });
  });
});
