/** Every export file at once (and zipped), and import of any of them, told apart by name or content. */
import { strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import { peftAdapterConfigJson, peftAdapterSafetensors } from './peft';
import { parsePromptJson, promptJsonText } from './promptJson';
import {
  checkExport,
  EXPORT_FILE_NAMES,
  PROMPT_EMBEDDINGS_KEY,
  PromptImportError,
  type ImportedFormat,
  type ImportedPrompt,
  type PromptExportMetadata,
  type PromptVectors,
} from './schema';
import { importNpy, importSafetensors, promptNpy, promptSafetensors } from './tensorFiles';

export interface ExportFilesOptions {
  /** Written as metrics.json when given (any JSON-serialisable object). */
  metrics?: unknown;
}

/** Every export file by its path in the bundle. */
export function exportFiles(prompt: PromptVectors, meta: PromptExportMetadata, options: ExportFilesOptions = {}): Record<string, Uint8Array> {
  checkExport(prompt, meta);
  const files: Record<string, Uint8Array> = {
    [EXPORT_FILE_NAMES.promptJson]: strToU8(promptJsonText(prompt, meta)),
    [EXPORT_FILE_NAMES.promptSafetensors]: promptSafetensors(prompt, meta),
    [EXPORT_FILE_NAMES.promptNpy]: promptNpy(prompt),
    [EXPORT_FILE_NAMES.peftConfig]: strToU8(peftAdapterConfigJson(prompt, meta)),
    [EXPORT_FILE_NAMES.peftWeights]: peftAdapterSafetensors(prompt),
  };
  if (options.metrics !== undefined) files[EXPORT_FILE_NAMES.metrics] = strToU8(`${JSON.stringify(options.metrics, null, 2)}\n`);
  return files;
}

/**
 * A zip of exportFiles(). Entry times are metadata.createdAt (zip stores local time), so the same
 * inputs give the same bytes on the same machine.
 */
export function exportBundle(prompt: PromptVectors, meta: PromptExportMetadata, options: ExportFilesOptions = {}): Uint8Array {
  const files = exportFiles(prompt, meta, options);
  const zippable: Zippable = {};
  for (const [path, bytes] of Object.entries(files)) zippable[path] = bytes;
  return zipSync(zippable, { mtime: new Date(meta.createdAt) });
}

// ---------------------------------------------------------------------------------------------
// Import

function detectFormat(fileName: string, bytes: Uint8Array): ImportedFormat | null {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.json')) return 'prompt.json';
  if (lower.endsWith('.safetensors')) return 'safetensors';
  if (lower.endsWith('.npy')) return 'npy';
  if (lower.endsWith('.zip')) return 'zip';
  // Unknown extension: sniff the content.
  if (bytes[0] === 0x93 && bytes[1] === 0x4e) return 'npy';
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return 'zip';
  const firstChar = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart()[0];
  if (firstChar === '{') return 'prompt.json';
  if (bytes.length >= 9 && bytes[8] === 0x7b) return 'safetensors';
  return null;
}

/**
 * Reads prompt.json, prompt.safetensors, adapter_model.safetensors, prompt.npy or an export zip
 * (its prompt.json). Throws PromptImportError naming the file for anything unusable.
 */
export async function importPrompt(fileName: string, bytes: Uint8Array): Promise<ImportedPrompt> {
  const format = detectFormat(fileName, bytes);
  switch (format) {
    case 'prompt.json': {
      const { prompt, metadata } = parsePromptJson(new TextDecoder().decode(bytes), fileName);
      return { fileName, format, ...prompt, metadata, modelId: metadata.model.id, checkpointHash: metadata.model.checkpointHash, warnings: [] };
    }
    case 'safetensors':
      return importSafetensors(fileName, bytes);
    case 'npy':
      return importNpy(fileName, bytes);
    case 'zip': {
      let entries: Record<string, Uint8Array>;
      try {
        entries = unzipSync(bytes);
      } catch (e) {
        throw new PromptImportError(`${fileName}: not a readable zip (${(e as Error).message})`);
      }
      for (const name of [EXPORT_FILE_NAMES.promptJson, EXPORT_FILE_NAMES.promptSafetensors, EXPORT_FILE_NAMES.peftWeights, EXPORT_FILE_NAMES.promptNpy]) {
        if (entries[name]) {
          const inner = await importPrompt(`${fileName}/${name}`, entries[name]);
          return { ...inner, fileName, format: 'zip' };
        }
      }
      throw new PromptImportError(`${fileName}: the zip holds none of prompt.json, prompt.safetensors, peft/adapter_model.safetensors, prompt.npy`);
    }
    default:
      throw new PromptImportError(
        `${fileName}: unrecognised file; expected prompt.json, a .safetensors file with "${PROMPT_EMBEDDINGS_KEY}", a .npy array or an export .zip`,
      );
  }
}
