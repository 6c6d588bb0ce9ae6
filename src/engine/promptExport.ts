/**
 * From a training result to what exports.ts writes (and back): the prompt's values and the
 * metadata record (model, template, label words, mode, init, hyperparameters, seed, metrics, date).
 */
import type { TransformerConfig } from '../model/types';
import type { ClassificationData, ClassificationResult } from './classification';
import type { ImportedPrompt, PromptExportMetadata, PromptVectors } from './exports';
import type { GenerationData, GenerationResult } from './generation';
import { SoftPrompt } from './softPrompt';
import type { TrainingConfig } from './train';

/** The checkpoint a prompt was tuned on. */
export interface ModelSource {
  /** Hub id, URL or folder it was loaded from. */
  id: string;
  /** LoadedModel.checkpointHash, or null when unknown. */
  checkpointHash: string | null;
  config: TransformerConfig;
}

type SharedMeta = Pick<PromptExportMetadata, 'model' | 'template' | 'placement' | 'init' | 'hyperparameters' | 'seed' | 'createdAt'>;

/** The metadata both tasks record the same way. */
function sharedMeta(result: ClassificationResult | GenerationResult, template: string, config: TrainingConfig, source: ModelSource, createdAt: string): SharedMeta {
  return {
    model: {
      id: source.id,
      checkpointHash: source.checkpointHash,
      modelType: source.config.modelType,
      hiddenSize: source.config.hiddenSize,
      numLayers: source.config.numLayers,
      numHeads: source.config.numHeads,
      vocabSize: source.config.vocabSize,
    },
    template,
    placement: result.prepared.template.placement,
    init: config.init === 'text' ? { kind: config.init, text: config.initText } : { kind: config.init },
    hyperparameters: {
      promptLength: result.promptLength,
      learningRate: config.learningRate,
      batchSize: config.batchSize,
      epochs: config.epochs,
      warmupSteps: Math.round(config.warmupFraction * result.totalSteps),
      clipNorm: config.maxGradNorm > 0 ? config.maxGradNorm : null,
      valSplit: config.valFraction,
      earlyStoppingPatience: config.patience > 0 ? config.patience : null,
    },
    seed: config.seed,
    createdAt,
  };
}

/** Values (read from the device) and metadata for a classification run. */
export async function classificationExport(
  result: ClassificationResult,
  data: ClassificationData,
  config: TrainingConfig,
  source: ModelSource,
  createdAt = new Date().toISOString(),
): Promise<{ prompt: PromptVectors; meta: PromptExportMetadata }> {
  const values = await result.prompt.values();
  const meta: PromptExportMetadata = {
    ...sharedMeta(result, data.template, config, source, createdAt),
    task: 'classification',
    mode: config.mode,
    classNames: result.classes,
    labelWords: data.labelWords ?? {},
    metrics: result.validation
      ? {
          kind: 'classification',
          zeroShotAccuracy: result.zeroShot?.accuracy ?? null,
          accuracy: result.validation.accuracy,
          zeroShotMacroF1: result.zeroShot?.macroF1 ?? null,
          macroF1: result.validation.macroF1,
        }
      : null,
  };
  if (values.head) meta.head = values.head;
  return { prompt: { vectors: values.vectors, numTokens: values.numTokens, dim: values.dim }, meta };
}

/** Values and metadata for a generation run. */
export async function generationExport(
  result: GenerationResult,
  data: GenerationData,
  config: TrainingConfig,
  source: ModelSource,
  createdAt = new Date().toISOString(),
): Promise<{ prompt: PromptVectors; meta: PromptExportMetadata }> {
  const values = await result.prompt.values();
  const meta: PromptExportMetadata = {
    ...sharedMeta(result, data.template, config, source, createdAt),
    task: 'generation',
    mode: 'verbalizer',
    classNames: [],
    labelWords: {},
    metrics:
      result.after && result.before
        ? {
            kind: 'generation',
            zeroShotExactMatch: result.before.exactMatch,
            exactMatch: result.after.exactMatch,
            zeroShotTokenF1: result.before.tokenF1,
            tokenF1: result.after.tokenF1,
          }
        : null,
  };
  return { prompt: { vectors: values.vectors, numTokens: values.numTokens, dim: values.dim }, meta };
}

/** A SoftPrompt (and head, when the file has one) holding an imported prompt's values. */
export function softPromptFromImport(imported: ImportedPrompt): SoftPrompt {
  return SoftPrompt.fromValues({ vectors: imported.vectors, numTokens: imported.numTokens, dim: imported.dim, head: imported.metadata?.head });
}
