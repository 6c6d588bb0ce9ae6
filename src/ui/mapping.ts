/**
 * Which columns a task reads, and the first guesses the studio makes for them (column names,
 * a starting template, label words), so a first run needs few edits. Pure functions.
 */
import type { SamplePreset } from '../shared/samples';
import type { TaskKind, TaskSpec } from '../shared/tasks';

export interface Mapping {
  task: TaskKind;
  /** Input columns (classification text, generation input). */
  textColumns: string[];
  labelColumn: string;
  targetColumn: string;
}

const LABEL_NAMES = ['label', 'labels', 'class', 'category', 'sentiment', 'y', 'target'];
const TARGET_NAMES = ['target', 'output', 'answer', 'response', 'completion'];
const TEXT_NAMES = ['text', 'sentence', 'review', 'content', 'body', 'message', 'input', 'question', 'prompt'];

const find = (columns: readonly string[], names: readonly string[]) => columns.find((c) => names.includes(c.trim().toLowerCase()));

/** A first mapping from the column names: generation when there is an input/target-like pair. */
export function guessMapping(columns: readonly string[]): Mapping {
  const target = find(columns, TARGET_NAMES);
  const hasInput = columns.some((c) => ['input', 'question', 'prompt', 'source'].includes(c.trim().toLowerCase()));
  const task: TaskKind = target && hasInput ? 'generation' : 'classification';
  const labelColumn = find(columns, LABEL_NAMES) ?? columns[columns.length - 1] ?? '';
  const targetColumn = target ?? columns[columns.length - 1] ?? '';
  const answer = task === 'generation' ? targetColumn : labelColumn;
  const text = find(columns.filter((c) => c !== answer), TEXT_NAMES) ?? columns.find((c) => c !== answer);
  return { task, textColumns: text ? [text] : [], labelColumn, targetColumn };
}

/** The column the task predicts. */
export const answerColumn = (m: Mapping): string => (m.task === 'classification' ? m.labelColumn : m.targetColumn);

/** Problems with a mapping, in words (empty when it is usable). */
export function mappingProblems(m: Mapping, columns: readonly string[]): string[] {
  const problems: string[] = [];
  const answer = answerColumn(m);
  const what = m.task === 'classification' ? 'label' : 'target';
  if (!columns.includes(answer)) problems.push(`choose the ${what} column`);
  if (m.textColumns.length === 0) problems.push('choose at least one text column');
  if (m.textColumns.includes(answer)) problems.push(`the ${what} column "${answer}" cannot also be a text column: the model would see the answer`);
  return problems;
}

/**
 * A starting template: a loaded sample's own (when it has one for this kind of model and the
 * mapping is still the sample's task); else encoders predict at [MASK] and decoders continue the text.
 */
export function defaultTemplate(lmKind: 'masked-lm' | 'causal-lm', m: Mapping, preset?: SamplePreset): string {
  const own = preset?.task === m.task ? preset.templates[lmKind] : undefined;
  if (own) return own;
  const inputs = m.textColumns.map((c) => `{${c}}`).join(' ');
  if (m.task === 'generation') return `${inputs} =>`;
  return lmKind === 'masked-lm' ? `${inputs} It was [MASK].` : `${inputs} It was`;
}

/** A first label word for a class: a loaded sample's words for it, else its name when that is a plain word. */
export function defaultLabelWords(className: string, preset?: SamplePreset): string {
  const own = preset?.labelWords?.[className];
  if (own) return own.join(', ');
  const name = className.trim().toLowerCase();
  return /^\p{L}{2,}$/u.test(name) ? name : '';
}

/** "good, great" -> ["good", "great"]. */
export function parseWords(text: string): string[] {
  return [...new Set(text.split(',').map((w) => w.trim()).filter((w) => w.length > 0))];
}

/** The placeholders ({column}) of a template, in order. */
export function templateColumns(template: string): string[] {
  return [...new Set([...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1].trim()).filter((c) => c.length > 0))];
}

/** What the worker trains: the template's placeholders are the text columns it reads. */
export function taskSpec(m: Mapping, template: string, labelWords: Record<string, string> | null): TaskSpec {
  const used = templateColumns(template);
  const textColumns = used.length ? used : m.textColumns;
  if (m.task === 'generation') return { task: 'generation', template, targetColumn: m.targetColumn, textColumns };
  return {
    task: 'classification',
    template,
    labelColumn: m.labelColumn,
    textColumns,
    ...(labelWords ? { labelWords: Object.fromEntries(Object.entries(labelWords).map(([c, text]) => [c, parseWords(text)])) } : {}),
  };
}
