/**
 * From a training result to what the export files record (and back): the prompt's values and the
 * metadata record (model, template, label words, mode, init, hyperparameters, seed, metrics, date).
 * The one part of export/ that needs tfjs (it reads the SoftPrompt's tensors).
 */
import type { ClassificationData, ClassificationResult } from '../classification';
import type { GenerationData, GenerationResult } from '../generation';
import { SoftPrompt } from '../softPrompt';
import type { TrainingConfig } from '../train';
import { exportedModel, type ImportedPrompt, type ModelIdentity, type PromptExportMetadata, type PromptVectors } from './schema';

type SharedMeta = Pick<PromptExportMetadata, 'model' | 'template' | 'placement' | 'method' | 'encoderHiddenSize' | 'encoderType' | 'init' | 'hyperparameters' | 'seed' | 'createdAt'>;

/** The metadata both tasks record the same way. */
function sharedMeta(result: ClassificationResult | GenerationResult, template: string, config: TrainingConfig, model: ModelIdentity, createdAt: string): SharedMeta {
  return {
    model: exportedModel(model),
    template,
    placement: result.prepared.template.placement,
    ...(config.method && config.method !== 'prompt' ? { method: config.method } : {}),
    ...(config.method && config.method !== 'prompt' && (config.method === 'p-tuning' || config.prefixProjection) ? { encoderHiddenSize: config.encoderHiddenSize ?? model.config.hiddenSize } : {}),
    ...(config.method === 'p-tuning' && config.encoderType === 'lstm' ? { encoderType: 'lstm' as const } : {}),
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

type TaskMeta = Pick<PromptExportMetadata, 'task' | 'mode' | 'classNames' | 'labelWords' | 'metrics'>;

/** The prompt's values (read from the device) and the metadata record, shared part first. */
async function exportOf(
  result: ClassificationResult | GenerationResult,
  template: string,
  config: TrainingConfig,
  model: ModelIdentity,
  createdAt: string,
  taskMeta: TaskMeta,
): Promise<{ prompt: PromptVectors; meta: PromptExportMetadata }> {
  const values = await result.prompt.values();
  const meta: PromptExportMetadata = { ...sharedMeta(result, template, config, model, createdAt), ...taskMeta };
  if (values.head) meta.head = values.head;
  return { prompt: { vectors: values.vectors, numTokens: values.numTokens, dim: values.dim }, meta };
}

/** Values and metadata for a classification run. */
export function classificationExport(
  result: ClassificationResult,
  data: ClassificationData,
  config: TrainingConfig,
  model: ModelIdentity,
  createdAt = new Date().toISOString(),
): Promise<{ prompt: PromptVectors; meta: PromptExportMetadata }> {
  const { validation, zeroShot } = result;
  return exportOf(result, data.template, config, model, createdAt, {
    task: 'classification',
    mode: config.mode,
    classNames: result.classes,
    labelWords: data.labelWords ?? {},
    metrics: validation
      ? { kind: 'classification', zeroShotAccuracy: zeroShot?.accuracy ?? null, accuracy: validation.accuracy, zeroShotMacroF1: zeroShot?.macroF1 ?? null, macroF1: validation.macroF1 }
      : null,
  });
}

/** Values and metadata for a generation run. */
export function generationExport(
  result: GenerationResult,
  data: GenerationData,
  config: TrainingConfig,
  model: ModelIdentity,
  createdAt = new Date().toISOString(),
): Promise<{ prompt: PromptVectors; meta: PromptExportMetadata }> {
  const { before, after } = result;
  return exportOf(result, data.template, config, model, createdAt, {
    task: 'generation',
    mode: 'verbalizer',
    classNames: [],
    labelWords: {},
    metrics:
      before && after
        ? { kind: 'generation', zeroShotExactMatch: before.exactMatch, exactMatch: after.exactMatch, zeroShotTokenF1: before.tokenF1, tokenF1: after.tokenF1 }
        : null,
  });
}

/** A SoftPrompt (and head, when the file has one) holding an imported prompt's values. */
export function softPromptFromImport(imported: ImportedPrompt): SoftPrompt {
  return SoftPrompt.fromValues({ vectors: imported.vectors, numTokens: imported.numTokens, dim: imported.dim, head: imported.metadata?.head });
}
