/**
 * Export and import of tuned soft prompts. Pure functions from vectors + metadata to bytes and back
 * (no tfjs, no DOM, except fromResult.ts, which reads a trained SoftPrompt), so the worker, the CLI
 * and Node tests share them.
 *
 * Files (all hold the same [N, H] float32 matrix, N soft tokens of the model's hidden size H):
 * - prompt.json: the vectors as nested arrays plus everything needed to reproduce and reuse them.
 * - prompt.safetensors: tensor `prompt_embeddings` F32 [N, H]; string metadata incl. the JSON metadata.
 * - prompt.npy: numpy float32 (N, H).
 * - peft/adapter_config.json + peft/adapter_model.safetensors: a PEFT prompt-tuning adapter that
 *   `PeftModel.from_pretrained(base_model, "peft")` loads.
 *
 * | file | what |
 * | --- | --- |
 * | schema.ts | constants, metadata types, errors, the validator export and import share |
 * | promptJson.ts | prompt.json text and parsing |
 * | tensorFiles.ts, npy.ts | prompt.safetensors and prompt.npy, writing and reading |
 * | peft.ts | the PEFT adapter and where it differs from the studio |
 * | bundle.ts | every file at once, the zip, and `importPrompt` for any of them |
 * | zipImport.ts | reading an imported zip within limits (entry count, sizes checked before inflating, entries streamed and counted as they inflate) |
 * | compatibility.ts | whether an imported prompt fits the loaded model |
 * | fromResult.ts | a training result -> vectors + metadata; an import -> SoftPrompt |
 * | project.ts | "Train at scale": the run as a transformers + PEFT + Accelerate project (train.py from project/train.py via project/trainPy.ts), and its metrics.json read back |
 */
export {
  EXPORT_FILE_NAMES,
  PROMPT_EMBEDDINGS_KEY,
  PROMPT_FORMAT,
  PROMPT_FORMAT_VERSION,
  PromptExportError,
  PromptImportError,
  SAFETENSORS_METADATA_KEY,
  type ClassificationMetrics,
  type EncoderValues,
  type GenerationMetrics,
  type ImportedFormat,
  type ImportedMember,
  type ImportedPrompt,
  type LabelHead,
  type ModelIdentity,
  type PromptExportMetadata,
  type PromptHyperparameters,
  type PromptInitMetadata,
  type PromptJson,
  type PromptMetrics,
  type PromptModelInfo,
  type PromptVectors,
  type ProjectMetrics,
} from './schema';
export { formatFloat32, parsePromptJson, promptJsonText } from './promptJson';
export { promptNpy, promptSafetensors } from './tensorFiles';
export { ENCODER_FILE_NAME, encoderSafetensors, readEncoderSafetensors } from './encoderFile';
export {
  peftAdapterConfig,
  peftAdapterConfigJson,
  peftAdapterSafetensors,
  peftExportNotes,
  peftTaskType,
  pythonJsonDumps,
  type PeftPromptTuningConfig,
  type PeftTaskType,
} from './peft';
export { ensembleFiles, exportBundle, exportFiles, importPrompt, zipFiles, type EnsembleMember, type ExportFilesOptions } from './bundle';
export { MAX_ADAPTER_CONFIG_BYTES, MAX_IMPORT_BYTES, MAX_ZIP_ENTRIES } from './zipImport';
export { checkPromptAgainstModel, type PromptCompatibility } from './compatibility';
export { classificationExport, generationExport, softPromptFromImport } from './fromResult';
export {
  csvText,
  parseProjectMetrics,
  projectConfig,
  projectFiles,
  projectModelJson,
  PROJECT_FORMAT,
  PROJECT_METRICS_FORMAT,
  PROJECT_REQUIREMENTS,
  type ProjectInit,
  type ProjectInput,
  type ProjectModelInfo,
} from './project';
