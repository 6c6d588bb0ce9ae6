import { describe, expect, it } from 'vitest';
import { parseCsvText } from './csv';
import { Dataset } from './dataset';
import { trainingWarnings, type TrainingWarningKind } from './warnings';

const csv = (rows: [string, string][]) => 'text,label\n' + rows.map(([t, l]) => `${t},${l}`).join('\n') + '\n';
const balanced = (n: number, classes: string[]) => Array.from({ length: n }, (_, i) => [`sentence ${i}`, classes[i % classes.length]] as [string, string]);

describe('trainingWarnings: {data, warnings}', () => {
  it.each([
    { name: 'a healthy two-class set', text: csv(balanced(40, ['pos', 'neg'])), kinds: [], match: [] },
    { name: 'one class', text: csv(balanced(30, ['pos'])), kinds: ['one-class'], match: [/every row has the label "pos" \(column "label"\)/] },
    {
      name: '500 labels with one example each',
      text: csv(Array.from({ length: 500 }, (_, i) => [`t${i}`, `c${i}`] as [string, string])),
      kinds: ['small-classes', 'no-validation'],
      match: [/500 of 500 classes have fewer than 5 examples \("c0" 1, "c1" 1, "c10" 1, "c100" 1, "c101" 1, … \(500 in all\)\)/, /no row is held out for validation \(500 rows, validation split 0\.2\)/],
    },
    { name: 'a validation split of 0', text: csv(balanced(40, ['pos', 'neg'])), valFraction: 0, kinds: ['no-validation'], match: [/validation split 0\)/] },
    { name: 'two small classes among big ones', text: csv([...balanced(40, ['pos', 'neg']), ['x', 'rare'], ['y', 'odd'], ['z', 'odd']]), kinds: ['small-classes'], match: [/2 of 4 classes have fewer than 5 examples \("rare" 1, "odd" 2\)/] },
    { name: 'a template without a column', text: csv(balanced(40, ['pos', 'neg'])), template: 'It was [MASK].', kinds: ['no-text'], match: [/the template "It was \[MASK\]\." uses no column/] },
    {
      name: 'texts of zero-width and control characters only',
      text: csv(balanced(40, ['pos', 'neg']).map(([, l], i) => [i % 2 ? '\u200b' : '\u00a0\u200d\u0007', l] as [string, string])),
      kinds: ['no-text'],
      match: [/every row's text is empty after the template \(columns text hold only spaces, control or zero-width characters\)/],
    },
    { name: 'generation: classes do not count', text: csv(balanced(30, ['same'])), task: 'generation' as const, kinds: [], match: [] },
  ])('$name', ({ text, kinds, match, valFraction, template, task }) => {
    const ds = Dataset.fromParsed('d.csv', parseCsvText(text, 'd.csv'));
    const warnings = trainingWarnings(ds, {
      task: task ?? 'classification',
      labelColumn: 'label',
      textColumns: ['text'],
      valFraction: valFraction ?? 0.2,
      seed: 42,
      template: template ?? '{text} It was [MASK].',
    });
    expect(warnings.map((w) => w.kind)).toEqual(kinds as TrainingWarningKind[]);
    match.forEach((m, i) => expect(warnings[i].message).toMatch(m));
  });
});
