/**
 * What the template and label-word editors ask while the user types: the first rows rendered
 * and tokenised (soft tokens, mask, special tokens, truncation), and label words checked class by
 * class with the engine's verbalizer.
 */
import type { Row } from '../engine/data';
import { compileTemplate, isSpaceSensitive, TemplateError, type Template } from '../engine/template';
import { buildVerbalizer, VerbalizerError, type LabelWords } from '../engine/verbalizer';
import type { LanguageModel } from '../engine/languageModel';
import type { ClassifierMode } from '../engine/types';
import { encodeTarget, requireDecoder, requireTargetOutside } from '../engine/generation';
import { MAX_PREVIEW_STATS_ROWS } from '../shared/tasks';
import type { LabelWordProblem, LabelWordsCheck, PreviewExample, PreviewToken, PreviewTemplatePayload, TemplatePreview } from '../shared/tasks';

/** A token as the user should read it: byte-level BPE's space and newline markers made visible. */
export function displayToken(token: string): string {
  return token.replace(/^Ġ/, '␣').replace(/Ċ/g, '⏎').replace(/Ġ/g, '␣');
}

/** `template` compiled for the loaded model; in head mode (`mode: 'head'`) an encoder's template may leave out [MASK] (the head reads [CLS]). */
export function compileFor(
  lm: LanguageModel,
  template: string,
  columns: readonly string[],
  promptLength: number,
  options: { maxLength?: number; mode?: ClassifierMode } = {},
): Template {
  return compileTemplate(template, { tokenizer: lm.tokenizer, config: lm.model.config, columns, promptLength, maxLength: options.maxLength, maskRequired: options.mode !== 'head' });
}

/** The first `count` rows rendered as tokens, plus length statistics over the first rows. */
export function previewTemplate(lm: LanguageModel, columns: readonly string[], rows: readonly Row[], rowNumberOf: (r: Row) => number, p: PreviewTemplatePayload): TemplatePreview {
  const { tokenizer } = lm;
  const template = compileFor(lm, p.template, columns, p.promptLength, { maxLength: p.maxLength, mode: p.mode });
  if (p.task === 'generation') {
    requireDecoder(lm.model.config);
    if (p.targetColumn) requireTargetOutside(template, p.targetColumn);
  }
  const specials = new Set(Object.values(tokenizer.special).filter((v): v is number => v !== null));
  const targetIds = (row: Row): number[] => (p.task === 'generation' && p.targetColumn ? encodeTarget(lm, template, row[p.targetColumn] ?? '').ids : []);
  const render = (row: Row): PreviewExample => {
    const target = targetIds(row);
    const e = template.encode(row, { reserve: target.length });
    const tokens: PreviewToken[] = e.ids.map((id, i) => {
      if (e.softIndex[i] >= 0) return { text: `P${e.softIndex[i] + 1}`, kind: 'soft' };
      if (template.lmKind === 'masked-lm' && i === e.maskPosition) return { text: tokenizer.idToToken(id) ?? '[MASK]', kind: 'mask' };
      if (specials.has(id)) return { text: tokenizer.idToToken(id) ?? `#${id}`, kind: 'special' };
      return { text: displayToken(tokenizer.idToToken(id) ?? `#${id}`), kind: 'token' };
    });
    for (const id of target) tokens.push({ text: displayToken(tokenizer.idToToken(id) ?? `#${id}`), kind: 'target' });
    return { row: rowNumberOf(row), tokens, tokenCount: e.ids.length, truncated: e.truncated };
  };
  const examples = rows.slice(0, Math.max(0, p.count)).map(render);
  const checked = rows.slice(0, MAX_PREVIEW_STATS_ROWS);
  let truncatedRows = 0;
  let total = 0;
  let maxTokens = 0;
  for (const row of checked) {
    const e = template.encode(row, { reserve: targetIds(row).length });
    if (e.truncated) truncatedRows++;
    total += e.ids.length;
    maxTokens = Math.max(maxTokens, e.ids.length);
  }
  return {
    lmKind: template.lmKind,
    softCount: template.softCount,
    fixedLength: template.fixedLength,
    maxLength: template.maxLength,
    placement: template.placement,
    spaceBeforePrediction: template.spaceBeforePrediction,
    examples,
    checkedRows: checked.length,
    truncatedRows,
    meanTokens: checked.length ? total / checked.length : 0,
    maxTokens,
  };
}

/** Words tried, in order, as the partner class when one class's words are checked alone. */
const PROBE_WORDS = ['the', 'and', 'of', 'it', 'is', 'was', 'a', 'to'];

/**
 * Every problem with the label words, by class. Each class is first checked alone (against a probe
 * class holding one harmless word, placed after it so that any error is about this class); then
 * the full set is checked for conflicts between classes (a shared word, the same tokens). Words of
 * two classes where one's tokens start the other's ("good" / "goods") are a warning: they are
 * scored apart, but differ only in length.
 */
export function checkLabelWords(lm: LanguageModel, labelWords: LabelWords, spaceBefore: boolean): LabelWordsCheck {
  const { tokenizer } = lm;
  const lmKind = lm.model.config.lmKind;
  const options = { spaceBefore, vocabSize: lm.model.config.vocabSize, lmKind };
  const problems: LabelWordProblem[] = [];
  const refused = (p: LabelWordProblem[]): LabelWordsCheck => ({ problems: p, warnings: [], multiTokenWords: [], sequencesPerExample: 1 });
  const classes = Object.keys(labelWords);
  const clean = (words: string[]) => words.map((w) => w.trim()).filter((w) => w.length > 0);
  const encode = (w: string) => tokenizer.encode((spaceBefore ? ' ' : '') + w).join(',');
  for (const className of classes) {
    const words = clean(labelWords[className] ?? []);
    if (words.length === 0) {
      problems.push({ className, message: `class "${className}" has no label words` });
      continue;
    }
    const encoded = new Set(words.map(encode));
    const probe = PROBE_WORDS.find((w) => !words.includes(w) && !encoded.has(encode(w)));
    try {
      buildVerbalizer({ [className]: words, '\u0000probe': [probe ?? 'the'] }, tokenizer, options).dispose();
    } catch (e) {
      if (!(e instanceof VerbalizerError)) throw e;
      problems.push({ className, message: e.message });
    }
  }
  if (problems.length > 0) return refused(problems);
  if (classes.length < 2) return refused([{ className: null, message: `label words are needed for at least two classes (got ${classes.length})` }]);
  try {
    const verbalizer = buildVerbalizer(
      Object.fromEntries(classes.map((c) => [c, clean(labelWords[c])])),
      tokenizer,
      options,
    );
    const shown = (ids: number[]) => ids.map((id) => displayToken(tokenizer.idToToken(id) ?? `#${id}`));
    const multiTokenWords = verbalizer.multiTokenWords.map((w) => ({ className: w.className, word: w.word, tokens: shown(w.tokenIds) }));
    const warnings = verbalizer.prefixPairs.map(({ shorter, longer }): LabelWordProblem => {
      const extra = shown(longer.tokenIds.slice(shorter.tokenIds.length)).join(' ');
      const lead =
        `"${longer.word}" ("${longer.className}") is "${shorter.word}" ("${shorter.className}") followed by ${extra}: ` +
        'the two classes\' words differ only in length';
      const why =
        lmKind === 'causal-lm'
          ? `; a decoder scores "${longer.word}" as "${shorter.word}" plus the log-probability of ${extra}, so it never scores above "${shorter.word}"`
          : `; both start with the same token, so little but ${extra} and the number of [MASK]s (${shorter.tokenIds.length} against ${longer.tokenIds.length}) tells the classes apart`;
      return { className: longer.className, message: `${lead}${why}. Words that differ from the first token are safer.` };
    });
    const sequencesPerExample = verbalizer.sequences.length;
    verbalizer.dispose();
    return { problems: [], warnings, multiTokenWords, sequencesPerExample };
  } catch (e) {
    if (!(e instanceof VerbalizerError)) throw e;
    return refused([{ className: lastNamedClass(e.message, classes), message: e.message }]);
  }
}

/** The class whose quoted name appears last in a verbalizer message: the one being checked when it failed. */
function lastNamedClass(message: string, classes: readonly string[]): string | null {
  let best: string | null = null;
  let at = -1;
  for (const c of classes) {
    const i = message.lastIndexOf(`"${c}"`);
    if (i > at) [best, at] = [c, i];
  }
  return best;
}

/** Where the label word is predicted follows a space, from the template when it compiles. */
export function spaceBeforePrediction(lm: LanguageModel, template: string, columns: readonly string[], promptLength: number): boolean {
  try {
    return compileFor(lm, template, columns, promptLength).spaceBeforePrediction;
  } catch {
    return isSpaceSensitive(lm.tokenizer); // the usual case: "... It was [MASK]." / "... Label:"
  }
}
