/**
 * A trained prompt scored on rows of the caller's choosing (a sweep's held-out test split), with
 * the same template, label words (or head) and class order it was trained with: the same scoring as
 * validation, on rows that took no part in training or selection.
 */
import { DataError, type Row } from './data';
import { classifierSetup, classifyRows } from './classification';
import type { LanguageModel } from './languageModel';
import { accuracy, confusionMatrix, macroF1 } from './metrics';
import { promptFromValues, type PromptValues, type SoftPrompt } from './softPrompt';
import { compileTemplate } from './template';
import { promptLayout, type TrainingConfig } from './train';
import type { LabelWords } from './verbalizer';
import { generate, generationValidationLoss, prepareGeneration, scoreGenerations } from './generation';

export interface HeldOutData {
  rows: readonly Row[];
  labelColumn: string;
  template: string;
  labelWords?: LabelWords;
}

export interface HeldOutScores {
  accuracy: number;
  macroF1: number;
  /** Mean negative log-probability of the gold class. */
  loss: number;
  /** counts[gold][predicted], in `classes` order. */
  confusionMatrix: number[][];
  /** The template and label words without the prompt, on the same rows; null without label words. */
  zeroShotAccuracy: number | null;
}

/**
 * Scores `prompt` (an ensemble: its members' mean probabilities) on `data.rows`. `classes` is the
 * run's class order (its outcome's), which a head's outputs follow; every row's label must be one.
 */
export async function scoreHeldOut(lm: LanguageModel, data: HeldOutData, config: TrainingConfig, prompt: PromptValues, classes: readonly string[]): Promise<HeldOutScores> {
  if (data.rows.length === 0) throw new DataError('no held-out rows to score');
  const columns = Object.keys(data.rows[0]);
  const template = compileTemplate(data.template, { tokenizer: lm.tokenizer, config: lm.model.config, columns, ...promptLayout(config), maxLength: config.maxLength, maskRequired: config.mode !== 'head' });
  const setup = classifierSetup(lm, template, { mode: config.mode, labelWords: data.labelWords, classes });
  const members: SoftPrompt[] = [];
  try {
    if (setup.classes.join('\n') !== classes.join('\n')) throw new DataError(`the label words' classes (${setup.classes.join(', ')}) are not the run's (${classes.join(', ')})`);
    const gold = data.rows.map((r) => {
      const k = classes.indexOf(r[data.labelColumn]);
      if (k < 0) throw new DataError(`held-out row label "${r[data.labelColumn]}" is not one of the run's classes (${classes.join(', ')})`);
      return k;
    });
    const length = config.method === 'prefix' ? config.promptLength : template.softCount;
    for (const values of prompt.members ?? [prompt]) {
      members.push(promptFromValues(values, { length, hiddenSize: lm.model.config.hiddenSize, numLayers: lm.model.config.numLayers, numKeyValueHeads: lm.model.config.numKeyValueHeads, headDim: lm.model.config.headDim, headClasses: config.mode === 'head' ? classes.length : undefined, seed: config.seed }));
    }
    if (config.mode === 'head' && !prompt.head) throw new DataError('the prompt has no label head; head mode needs one');
    const tuned = await classifyRows(lm, setup, members.length === 1 ? members[0] : members, data.rows);
    const predicted = tuned.map((p) => p.probabilities.indexOf(Math.max(...p.probabilities)));
    const loss = tuned.reduce((sum, p, i) => sum - Math.log(Math.max(p.probabilities[gold[i]], 1e-30)), 0) / tuned.length;
    let zeroShotAccuracy: number | null = null;
    if (setup.verbalizer) {
      const zero = await classifyRows(lm, setup, null, data.rows);
      zeroShotAccuracy = accuracy(
        zero.map((p) => p.probabilities.indexOf(Math.max(...p.probabilities))),
        gold,
      );
    }
    return {
      accuracy: accuracy(predicted, gold),
      macroF1: macroF1(predicted, gold, classes.length),
      loss,
      confusionMatrix: confusionMatrix(predicted, gold, classes.length),
      zeroShotAccuracy,
    };
  } finally {
    members.forEach((p) => p.dispose());
    setup.verbalizer?.dispose();
  }
}

export interface GenerationHeldOutData {
  rows: readonly Row[];
  targetColumn: string;
  template: string;
}

export interface GenerationHeldOutScores {
  /** Mean negative log-likelihood per target token (teacher forcing), as validation reports it. */
  loss: number;
  /** Greedy generations against the targets. */
  exactMatch: number;
  tokenF1: number;
  /** The template alone (no prompt), greedy, on the same rows. */
  zeroShotExactMatch: number;
  zeroShotTokenF1: number;
}

/**
 * A generation prompt scored on `data.rows`: the target tokens' loss as validation computes it, and
 * greedy generations (with and without the prompt) against the targets, decoded as a run's
 * evaluation decodes (up to the longest target plus 2 tokens).
 */
export async function scoreGenerationHeldOut(lm: LanguageModel, data: GenerationHeldOutData, config: TrainingConfig, prompt: PromptValues): Promise<GenerationHeldOutScores> {
  if (data.rows.length === 0) throw new DataError('no held-out rows to score');
  // Every row is scored: none is split off.
  const prepared = prepareGeneration(lm, { rows: [...data.rows], targetColumn: data.targetColumn, template: data.template }, { ...config, valFraction: 0 });
  const soft = promptFromValues(prompt, {
    length: prepared.promptLength,
    hiddenSize: lm.model.config.hiddenSize,
    numLayers: lm.model.config.numLayers,
    numKeyValueHeads: lm.model.config.numKeyValueHeads,
    headDim: lm.model.config.headDim,
    seed: config.seed,
  });
  try {
    const examples = prepared.train;
    const targets = examples.map((e) => e.target);
    const decode = { maxNewTokens: Math.max(1, ...examples.map((e) => e.targetIds.length)) + 2 };
    const loss = await generationValidationLoss(lm, soft, examples);
    const tuned = scoreGenerations(await generate(lm, prepared.template, soft, prepared.trainRows, decode), targets);
    const zero = scoreGenerations(await generate(lm, prepared.template, null, prepared.trainRows, decode), targets);
    return { loss, exactMatch: tuned.exactMatch, tokenF1: tuned.tokenF1, zeroShotExactMatch: zero.exactMatch, zeroShotTokenF1: zero.tokenF1 };
  } finally {
    soft.dispose();
  }
}
