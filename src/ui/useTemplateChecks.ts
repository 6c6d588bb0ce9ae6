import { useEffect, useState } from 'react';
import type { LabelWordsCheck, TaskKind, TemplatePreview } from '../shared/tasks';
import type { StudioClient } from './StudioClient';
import { errorText } from './format';
import { parseWords } from './mapping';
import { useDebounced } from './useDebounced';

/** Rows rendered in the template preview. */
export const PREVIEW_EXAMPLES = 3;
/** Editors ask the worker once typing pauses this long. */
export const CHECK_DELAY_MS = 200;

export interface TemplateInputs {
  /** Model and dataset are loaded (and which: a change asks again). */
  key: string | null;
  task: TaskKind;
  template: string;
  promptLength: number;
  targetColumn: string;
  /** Classification: class -> words as typed; null when label words are not used. */
  labelWords: Record<string, string> | null;
  /** Classification's mode: in head mode an encoder's template needs no [MASK], and unscorable words are no error. */
  mode?: 'verbalizer' | 'head';
}

export interface TemplateChecks {
  preview: TemplatePreview | null;
  previewError: string | null;
  /** Per class (null key: about all classes), problems found instantly or by the worker. */
  wordProblems: Map<string | null, string[]>;
  /** Per class (null key: about all classes), warnings from the worker: allowed, worth a second look. */
  wordWarnings: Map<string | null, string[]>;
  multiTokenWords: LabelWordsCheck['multiTokenWords'];
  /** Rows the model runs per example to score the label words (1: every word is one token). */
  sequencesPerExample: number;
  /** The worker has not answered for the latest input yet. */
  pending: boolean;
}

/** Problems found without the model: a class with no words, a word in two classes. */
export function instantWordProblems(labelWords: Record<string, string>): Map<string | null, string[]> {
  const problems = new Map<string | null, string[]>();
  const add = (c: string | null, m: string) => problems.set(c, [...(problems.get(c) ?? []), m]);
  const owner = new Map<string, string>();
  for (const [className, text] of Object.entries(labelWords)) {
    const words = parseWords(text);
    if (words.length === 0) add(className, `add at least one label word for "${className}"`);
    for (const w of words) {
      const other = owner.get(w);
      if (other !== undefined) add(className, `"${w}" is already a label word of "${other}"; each word may belong to one class`);
      else owner.set(w, className);
    }
  }
  return problems;
}

/** The live template preview and label-word validation, asked of the worker as the user types. */
export function useTemplateChecks(client: StudioClient | null, inputs: TemplateInputs): TemplateChecks {
  const settled = useDebounced(JSON.stringify(inputs), CHECK_DELAY_MS);
  const [preview, setPreview] = useState<TemplatePreview | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [check, setCheck] = useState<{ for: string; result: LabelWordsCheck } | null>(null);
  const [answered, setAnswered] = useState<string | null>(null);

  useEffect(() => {
    const p = JSON.parse(settled) as TemplateInputs;
    if (!client || p.key === null) {
      setPreview(null);
      setPreviewError(null);
      setAnswered(settled);
      return;
    }
    let current = true;
    const previewCall = client
      .call('previewTemplate', {
        task: p.task,
        template: p.template,
        promptLength: p.promptLength,
        count: PREVIEW_EXAMPLES,
        ...(p.task === 'classification' && p.mode ? { mode: p.mode } : {}),
        ...(p.task === 'generation' ? { targetColumn: p.targetColumn } : {}),
      })
      .then((r) => current && (setPreview(r), setPreviewError(null)))
      .catch((e: unknown) => current && (setPreview(null), setPreviewError(errorText(e))));
    const words = p.labelWords;
    const wordsCall =
      words && instantWordProblems(words).size === 0
        ? client
            .call('checkLabelWords', {
              template: p.template,
              promptLength: p.promptLength,
              labelWords: Object.fromEntries(Object.entries(words).map(([c, t]) => [c, parseWords(t)])),
              ...(p.mode ? { mode: p.mode } : {}),
            })
            .then((r) => current && setCheck({ for: settled, result: r }))
            .catch((e: unknown) => current && setCheck({ for: settled, result: { problems: [{ className: null, message: errorText(e) }], warnings: [], multiTokenWords: [], sequencesPerExample: 1 } }))
        : Promise.resolve(current && setCheck(null));
    void Promise.all([previewCall, wordsCall]).then(() => current && setAnswered(settled));
    return () => {
      current = false;
    };
  }, [client, settled]);

  const wordProblems = inputs.labelWords ? instantWordProblems(inputs.labelWords) : new Map<string | null, string[]>();
  const wordWarnings = new Map<string | null, string[]>();
  if (wordProblems.size === 0 && check && check.for === settled) {
    for (const p of check.result.problems) wordProblems.set(p.className, [...(wordProblems.get(p.className) ?? []), p.message]);
    for (const w of check.result.warnings) wordWarnings.set(w.className, [...(wordWarnings.get(w.className) ?? []), w.message]);
  }
  return {
    preview,
    previewError,
    wordProblems,
    wordWarnings,
    multiTokenWords: check?.result.multiTokenWords ?? [],
    sequencesPerExample: check?.result.sequencesPerExample ?? 1,
    pending: answered !== JSON.stringify(inputs),
  };
}
