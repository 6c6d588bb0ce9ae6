/**
 * The prompt-tuning engine's public API: pure TypeScript + tfjs, no DOM, React or worker globals,
 * so the worker, the CLI and Node tests import the same code.
 */
export type { LanguageModel } from './languageModel';
export { DataError, stratifiedSplit, type Row, type Split } from './data';
export { compileTemplate, parseTemplate, Template, TemplateError, type EncodedExample, type EncodeOptions, type TemplatePiece } from './template';
export { buildVerbalizer, MASK_SLOT, Verbalizer, VerbalizerError, type LabelWords, type PrefixPair, type ScoringSequence } from './verbalizer';
export { suggestLabelWords, type LabelWordSuggestion, type SuggestedSet, type SuggestedWord } from './labelWordSuggestions';
export { PROMPT_INITS, PROMPT_PLACEMENTS, type ClassifierMode, type PromptInit, type PromptPlacement, type TaskKind } from './types';
export { createSoftPrompt, PromptError, promptFromValues, SoftPrompt, type PromptValues } from './softPrompt';
export { embedInputs, forwardWithPrompt, makeBatch, padSideFor, readHidden, type TokenBatch } from './batch';
export {
  classificationLoss,
  classScores,
  makeClassificationBatch,
  promptTuningStep,
  setLearningRate,
  type ClassifierParts,
  type LabeledExample,
} from './step';
export {
  DEFAULT_HEAD_LEARNING_RATE,
  DEFAULT_TRAINING_CONFIG,
  defaultTrainingConfig,
  LOSS_READBACK_STEPS,
  METRICS_INTERVAL_MS,
  learningRateAt,
  runTraining,
  TrainingConfigError,
  TrainingController,
  type EpochReport,
  type StopReason,
  type TrainingConfig,
  type TrainingControl,
  type TrainingMetrics,
  type TrainingState,
} from './train';
export { tune, type PreparedTask, type TuneCheckpoint, type TuneHooks, type TuneOptions, type TuneResult, type TuningTask } from './tune';
export {
  classificationTask,
  classifyRows,
  evaluateClassifier,
  prepareClassification,
  scoringReserve,
  trainClassifier,
  zeroShotReport,
  type ClassificationData,
  type ClassificationReport,
  type ClassificationResult,
  type ExamplePrediction,
  type RobustnessReport,
} from './classification';
export {
  generate,
  generationTask,
  prepareGeneration,
  scoreGenerations,
  trainGenerator,
  type DecodeOptions,
  type GenerationData,
  type GenerationResult,
  type GenerationScores,
} from './generation';
export { accuracy, confusionMatrix, exactMatch, macroF1, majorityBaseline, tokenF1 } from './metrics';
export { PERTURBATIONS, perturbText, type Perturbation } from './perturb';
export { classificationExport, generationExport, softPromptFromImport, type ModelIdentity } from './export';
export { syntheticStep, type SyntheticStep, type SyntheticStepOptions } from './benchmarkStep';
