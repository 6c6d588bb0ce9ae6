/**
 * The prompt-tuning engine's public API: pure TypeScript + tfjs, no DOM, React or worker globals,
 * so the worker, the CLI and Node tests import the same code.
 */
export type { LanguageModel } from './languageModel';
export { DataError, stratifiedSplit, type Row, type Split } from './data';
export { compileTemplate, parseTemplate, Template, TemplateError, type EncodedExample, type EncodeOptions, type TemplatePiece } from './template';
export { buildVerbalizer, suggestLabelWords, Verbalizer, VerbalizerError, type LabelWords, type SuggestedWord } from './verbalizer';
export { createSoftPrompt, PROMPT_INITS, PromptError, promptFromValues, SoftPrompt, type PromptInit, type PromptValues, type TuneOptions } from './softPrompt';
export { embedInputs, forwardWithPrompt, makeBatch, padSideFor, readHidden, type TokenBatch } from './batch';
export {
  classificationLoss,
  classScores,
  makeClassificationBatch,
  promptTuningStep,
  setLearningRate,
  type ClassifierMode,
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
} from './train';
export {
  classifyRows,
  evaluateClassifier,
  prepareClassification,
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
export { classificationExport, generationExport, softPromptFromImport, type ModelSource } from './promptExport';
export { syntheticStep, type SyntheticStep, type SyntheticStepOptions } from './benchmarkStep';
