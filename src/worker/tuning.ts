/**
 * Adapter over the engine's training entry points. `trainClassifier` and `trainGenerator` always
 * create a fresh soft prompt from `config.init` and never hand it out before they return; the
 * studio also needs to (a) start from given values (resuming a run from its last checkpoint,
 * continuing an imported prompt), (b) see the prompt while training to checkpoint it, and
 * (c) evaluate a given prompt without training. These functions compose the same engine pieces
 * in the same order as trainClassifier / trainGenerator, with those three additions.
 */
import { DataError } from '../engine/data';
import {
  evaluateClassifier,
  prepareClassification,
  robustnessReport,
  zeroShotReport,
  type ClassificationData,
  type ClassificationHooks,
  type ClassificationResult,
  type EpochClassification,
  type PreparedClassification,
} from '../engine/classification';
import {
  generate,
  generationLoss,
  generationValidationLoss,
  makeGenerationBatch,
  prepareGeneration,
  scoreGenerations,
  type GenerationData,
  type GenerationExample,
  type GenerationHooks,
  type GenerationResult,
} from '../engine/generation';
import type { LanguageModel } from '../engine/languageModel';
import { majorityBaseline } from '../engine/metrics';
import { createLabelHead, createSoftPrompt, PromptError, SoftPrompt, tokenFrequencies, type PromptValues } from '../engine/softPrompt';
import { classificationLoss, makeClassificationBatch, type ClassifierParts, type LabeledExample } from '../engine/step';
import { runTraining, type LoopResult, type TrainingConfig } from '../engine/train';

export interface TuneOptions {
  /** Start from these values instead of `config.init`. */
  initial?: PromptValues;
  /** Called once the prompt exists, before the first step (to checkpoint it while training). */
  onPrompt?(prompt: SoftPrompt): void;
}

/**
 * A SoftPrompt holding `values`, checked against what the task needs. Head mode without a head in
 * the values gets a fresh head; verbalizer mode ignores a head.
 */
export function promptFromValues(values: PromptValues, needs: { length: number; hiddenSize: number; headClasses?: number; seed: number }): SoftPrompt {
  if (values.dim !== needs.hiddenSize) {
    throw new PromptError(`the prompt vectors have size ${values.dim} but the model's hidden size is ${needs.hiddenSize}`);
  }
  if (values.numTokens !== needs.length) {
    throw new PromptError(`the prompt has ${values.numTokens} vectors but the template and prompt length ask for ${needs.length}; set the prompt length to ${values.numTokens}`);
  }
  const C = needs.headClasses;
  const head = C && values.head && values.head.bias.length === C ? values.head : undefined;
  if (C && values.head && !head) throw new PromptError(`the prompt's label head has ${values.head.bias.length} classes; this data has ${C}`);
  const prompt = SoftPrompt.fromValues({ vectors: values.vectors, numTokens: values.numTokens, dim: values.dim, head });
  if (C && !head) return new SoftPrompt(prompt.vectors, createLabelHead(needs.hiddenSize, C, needs.seed));
  return prompt;
}

/** Head mode without label words: the class names' first tokens, for the 'labels' init (as the engine does). */
function classNameIds(lm: LanguageModel, classes: readonly string[]): number[][] | undefined {
  const unk = lm.tokenizer.special.unk;
  const ids = classes.map((c) => lm.tokenizer.encode(' ' + c)[0]).filter((id) => id !== undefined && id !== unk);
  return ids.length ? ids.map((id) => [id]) : undefined;
}

function classifierParts(lm: LanguageModel, prepared: PreparedClassification, prompt: SoftPrompt | null, mode = prepared.mode): ClassifierParts {
  return { model: lm.model, mode, verbalizer: prepared.verbalizer, prompt, numClasses: prepared.classes.length, padId: lm.tokenizer.special.pad ?? 0 };
}

async function classificationPrompt(lm: LanguageModel, prepared: PreparedClassification, config: TrainingConfig, initial?: PromptValues): Promise<SoftPrompt> {
  const headClasses = config.mode === 'head' ? prepared.classes.length : undefined;
  if (initial) return promptFromValues(initial, { length: prepared.promptLength, hiddenSize: lm.model.config.hiddenSize, headClasses, seed: config.seed });
  return createSoftPrompt(lm.model, {
    length: prepared.promptLength,
    init: config.init,
    seed: config.seed,
    text: config.initText,
    tokenizer: lm.tokenizer,
    labelWordIds: prepared.verbalizer?.labelWordIds ?? classNameIds(lm, prepared.classes),
    frequentTokenIds: tokenFrequencies(prepared.train.map((e) => e.encoded.ids), lm.tokenizer),
    headClasses,
  });
}

/** The result record trainClassifier returns, from its parts. */
async function classificationResult(
  lm: LanguageModel,
  prepared: PreparedClassification,
  prompt: SoftPrompt,
  config: TrainingConfig,
  labelColumn: string,
  zeroShot: ClassificationResult['zeroShot'],
  loop: Omit<LoopResult<EpochClassification>, 'epochs'> & { epochs: ClassificationResult['epochs'] },
): Promise<ClassificationResult> {
  const parts = classifierParts(lm, prepared, prompt);
  const validation = prepared.val.length ? await evaluateClassifier(parts, prepared.val, prepared.classes) : null;
  const robustness = await robustnessReport(lm, prepared, prompt, labelColumn, config.seed);
  const majority = majorityBaseline(
    prepared.train.map((e) => e.label),
    prepared.val.map((e) => e.label),
    prepared.classes.length,
  );
  return {
    classes: prepared.classes,
    prompt,
    promptLength: prepared.promptLength,
    trainSize: prepared.train.length,
    valSize: prepared.val.length,
    truncatedCount: prepared.truncatedCount,
    trainLosses: loop.trainLosses,
    epochs: loop.epochs,
    stopReason: loop.stopReason,
    message: loop.message,
    bestEpoch: loop.bestEpoch,
    steps: loop.steps,
    totalSteps: loop.totalSteps,
    seconds: loop.seconds,
    zeroShot,
    majority: { label: prepared.classes[majority.classIndex], accuracy: majority.accuracy },
    validation,
    robustness,
    prepared,
    dispose() {
      prompt.dispose();
      prepared.verbalizer?.dispose();
    },
  };
}

/** trainClassifier, starting from `options.initial` when given. */
export async function tuneClassifier(
  lm: LanguageModel,
  data: ClassificationData,
  config: TrainingConfig,
  hooks: ClassificationHooks = {},
  options: TuneOptions = {},
): Promise<ClassificationResult> {
  const prepared = prepareClassification(lm, data, config);
  let prompt: SoftPrompt | null = null;
  try {
    const zeroShot = await zeroShotReport(lm, prepared, prepared.valRows, data.labelColumn);
    hooks.onZeroShot?.(zeroShot);
    const p = (prompt = await classificationPrompt(lm, prepared, config, options.initial));
    options.onPrompt?.(p);
    const parts = classifierParts(lm, prepared, p);
    const loop = await runTraining<LabeledExample, EpochClassification>(
      {
        variables: p.trainableVariables(),
        batch(examples) {
          const batch = makeClassificationBatch(examples, parts);
          return { loss: () => classificationLoss(parts, batch), tokens: batch.realTokens, dispose: batch.dispose };
        },
        validate:
          prepared.val.length > 0
            ? async () => {
                const { predictions: _, ...report } = await evaluateClassifier(parts, prepared.val, prepared.classes);
                return report;
              }
            : undefined,
        snapshot: () => p.snapshot(),
        restore: (s) => p.restore(s),
      },
      prepared.train,
      config,
      hooks,
    );
    return await classificationResult(lm, prepared, p, config, data.labelColumn, zeroShot, loop);
  } catch (e) {
    prompt?.dispose();
    prepared.verbalizer?.dispose();
    throw e;
  }
}

/** Zero-shot and the given prompt on the validation split, no training (steps 0). */
export async function evaluateClassifierPrompt(lm: LanguageModel, data: ClassificationData, config: TrainingConfig, values: PromptValues): Promise<ClassificationResult> {
  const prepared = prepareClassification(lm, data, config);
  let prompt: SoftPrompt | null = null;
  try {
    if (prepared.val.length === 0) throw new DataError('evaluating a prompt needs a validation split: set the validation fraction above 0');
    const zeroShot = await zeroShotReport(lm, prepared, prepared.valRows, data.labelColumn);
    prompt = await classificationPrompt(lm, prepared, config, values);
    const noTraining = { trainLosses: [], epochs: [], stopReason: 'completed' as const, bestEpoch: null, steps: 0, totalSteps: 0, seconds: 0 };
    return await classificationResult(lm, prepared, prompt, config, data.labelColumn, zeroShot, noTraining);
  } catch (e) {
    prompt?.dispose();
    prepared.verbalizer?.dispose();
    throw e;
  }
}

/** trainGenerator, starting from `options.initial` when given. */
export async function tuneGenerator(
  lm: LanguageModel,
  data: GenerationData,
  config: TrainingConfig,
  hooks: GenerationHooks = {},
  options: TuneOptions & { train?: boolean } = {},
): Promise<GenerationResult> {
  if (config.mode !== 'verbalizer') throw new DataError('generation trains the soft prompt only (no label head): use the label-words mode');
  const prepared = prepareGeneration(lm, data, config);
  const decode = { maxNewTokens: Math.max(1, ...prepared.val.map((e) => e.targetIds.length)) + 2, ...hooks.decode };
  const targets = prepared.val.map((e) => e.target);
  const beforeTexts = prepared.val.length ? await generate(lm, prepared.template, null, prepared.valRows, decode) : [];
  const prompt = options.initial
    ? promptFromValues(options.initial, { length: prepared.promptLength, hiddenSize: lm.model.config.hiddenSize, seed: config.seed })
    : await createSoftPrompt(lm.model, {
        length: prepared.promptLength,
        init: config.init === 'labels' ? 'vocab' : config.init, // no label words here
        seed: config.seed,
        text: config.initText,
        tokenizer: lm.tokenizer,
        frequentTokenIds: tokenFrequencies(prepared.train.map((e) => [...e.prompt.ids, ...e.targetIds]), lm.tokenizer),
      });
  try {
    options.onPrompt?.(prompt);
    const loop =
      options.train === false
        ? { trainLosses: [], epochs: [], stopReason: 'completed' as const, message: undefined, bestEpoch: null, steps: 0, totalSteps: 0, seconds: 0 }
        : await runTraining<GenerationExample, { loss: number }>(
            {
              variables: prompt.trainableVariables(),
              batch(examples) {
                const batch = makeGenerationBatch(examples, lm, prompt.length);
                return { loss: () => generationLoss(lm, prompt, batch), tokens: batch.realTokens, dispose: batch.dispose };
              },
              validate: prepared.val.length ? async () => ({ loss: await generationValidationLoss(lm, prompt, prepared.val) }) : undefined,
              snapshot: () => prompt.snapshot(),
              restore: (s) => prompt.restore(s),
            },
            prepared.train,
            config,
            hooks,
          );
    const afterTexts = prepared.val.length ? await generate(lm, prepared.template, prompt, prepared.valRows, decode) : [];
    return {
      prompt,
      promptLength: prepared.promptLength,
      trainSize: prepared.train.length,
      valSize: prepared.val.length,
      truncatedCount: prepared.truncatedCount,
      trainLosses: loop.trainLosses,
      epochs: loop.epochs,
      stopReason: loop.stopReason,
      message: loop.message,
      bestEpoch: loop.bestEpoch,
      steps: loop.steps,
      totalSteps: loop.totalSteps,
      seconds: loop.seconds,
      before: prepared.val.length ? scoreGenerations(beforeTexts, targets) : null,
      after: prepared.val.length ? scoreGenerations(afterTexts, targets) : null,
      samples: targets.map((target, index) => ({ index, target, before: beforeTexts[index], after: afterTexts[index] })),
      prepared,
      dispose: () => prompt.dispose(),
    };
  } catch (e) {
    prompt.dispose();
    throw e;
  }
}
