/** Whether an imported prompt fits the loaded model: blocking errors and softer warnings. */
import { keyValueWidthText, prefixWidth as prefixWidthOf } from '../../model/types';
import type { ImportedPrompt, ModelIdentity } from './schema';

export interface PromptCompatibility {
  /** Blocking: the prompt cannot be used with this model. */
  errors: string[];
  /** The prompt can be used but may not behave as when it was tuned. */
  warnings: string[];
}

const shortHash = (h: string) => h.slice(0, 12);

/** Whether an imported prompt fits the loaded model. */
export function checkPromptAgainstModel(imported: ImportedPrompt, model: ModelIdentity): PromptCompatibility {
  const file = imported.fileName;
  const errors: string[] = [];
  const warnings: string[] = [...imported.warnings];
  const prefixWidth = prefixWidthOf(model.config);
  const isPrefix = imported.metadata?.method === 'prefix' || (imported.metadata === null && imported.dim === prefixWidth);
  if (isPrefix && imported.dim !== prefixWidth) {
    errors.push(
      `${file}: the prefix has ${imported.dim} values per virtual token but model "${model.id}" needs ${prefixWidth} ` +
        `(layers ${model.config.numLayers} x 2 x ${keyValueWidthText(model.config)}); a prefix only fits the model it was tuned on`,
    );
  } else if (!isPrefix && imported.dim !== model.config.hiddenSize) {
    errors.push(
      `${file}: the prompt vectors have size ${imported.dim} but model "${model.id}" has hidden size ${model.config.hiddenSize}; ` +
        'a soft prompt only fits the model it was tuned on',
    );
  }
  const fileType = imported.metadata?.model.modelType;
  if (fileType && fileType !== model.config.modelType) {
    warnings.push(`${file}: tuned on a ${fileType} model but the loaded model is ${model.config.modelType}`);
  }
  if (imported.checkpointHash && model.checkpointHash) {
    if (imported.checkpointHash !== model.checkpointHash) {
      warnings.push(
        `${file}: tuned on checkpoint ${shortHash(imported.checkpointHash)}… ("${imported.modelId ?? 'unknown model'}") but the loaded ` +
          `checkpoint is ${shortHash(model.checkpointHash)}… ("${model.id}"); the prompt may not transfer`,
      );
    }
  } else if (imported.modelId && imported.modelId !== model.id) {
    warnings.push(`${file}: tuned on model "${imported.modelId}", the loaded model is "${model.id}", and no checkpoint hash is available to compare`);
  } else {
    warnings.push(`${file}: no checkpoint hash to compare, so it cannot be verified that the prompt was tuned on "${model.id}"`);
  }
  return { errors, warnings };
}
