/** Every export file at once (and zipped), and import of any of them, told apart by name or content. */
import { strToU8, zipSync, type Zippable } from 'fflate';
import { otherPeftTypeProblem, peftAdapterConfigJson, peftAdapterSafetensors } from './peft';
import { parsePromptJson, promptJsonText } from './promptJson';
import { exportReadme } from './readme';
import {
  checkExport,
  EXPORT_FILE_NAMES,
  isObject,
  PROMPT_EMBEDDINGS_KEY,
  PromptImportError,
  type EncoderValues,
  type ImportedFormat,
  type ImportedMember,
  type ImportedPrompt,
  type Json,
  type PromptExportMetadata,
  type PromptVectors,
} from './schema';
import { importNpy, importSafetensors, promptNpy, promptSafetensors } from './tensorFiles';
import { ENCODER_FILE_NAME, encoderSafetensors, readEncoderSafetensors } from './encoderFile';
import { formatBytes, MAX_ADAPTER_CONFIG_BYTES, MAX_IMPORT_BYTES, readZipEntry, zipEntries, type ZipEntry } from './zipImport';
import { MAX_PROJECT_METRICS_BYTES, parseProjectMetrics } from './project';

export interface ExportFilesOptions {
  /** Written as metrics.json when given (any JSON-serialisable object). */
  metrics?: unknown;
  /** Written as encoder.safetensors when given: the encoder the vectors were computed with. */
  encoder?: EncoderValues;
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
  if (options.encoder) files[ENCODER_FILE_NAME] = encoderSafetensors(options.encoder, prompt.numTokens);
  files[EXPORT_FILE_NAMES.readme] = strToU8(exportReadme(prompt, meta, files));
  return files;
}

/**
 * A zip of exportFiles(). Entry times are metadata.createdAt (zip stores local time), so the same
 * inputs give the same bytes on the same machine.
 */
/** An ensemble member's values as the export needs them. */
export interface EnsembleMember extends PromptVectors {
  head?: PromptExportMetadata['head'];
  encoder?: EncoderValues;
}

/**
 * The files of a prompt ensemble: the first member's files where a single prompt's go (so every tool
 * that reads one prompt reads it), and every member's own complete set under members/<k>/ (k from 1),
 * each recording its own init seed (the run's seed + (k - 1) x seedStep).
 */
export function ensembleFiles(members: readonly EnsembleMember[], meta: PromptExportMetadata, seedStep: number, options: ExportFilesOptions = {}): Record<string, Uint8Array> {
  const memberMeta = (m: EnsembleMember, k: number): PromptExportMetadata => {
    const { head: _, ...rest } = meta;
    return { ...rest, seed: meta.seed + k * seedStep, ...(m.head ? { head: m.head } : {}) };
  };
  const withEncoder = (m: EnsembleMember): ExportFilesOptions => ({ ...options, encoder: m.encoder });
  const files = exportFiles(members[0], memberMeta(members[0], 0), withEncoder(members[0]));
  members.forEach((m, k) => {
    for (const [path, bytes] of Object.entries(exportFiles(m, memberMeta(m, k), withEncoder(m)))) files[`members/${k + 1}/${path}`] = bytes;
  });
  return files;
}

export function exportBundle(prompt: PromptVectors, meta: PromptExportMetadata, options: ExportFilesOptions = {}): Uint8Array {
  return zipFiles(exportFiles(prompt, meta, options), meta);
}

/** Files as one zip, dated with the run. */
export function zipFiles(files: Record<string, Uint8Array>, meta: PromptExportMetadata): Uint8Array {
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
 * The zip entries that hold a prompt, in the order they are tried: an export's, then a zipped PEFT
 * adapter folder's. Only these (and an adapter_config.json) are ever inflated; other entries are ignored.
 */
const ZIP_PROMPT_ENTRIES = [
  EXPORT_FILE_NAMES.promptJson,
  EXPORT_FILE_NAMES.promptSafetensors,
  EXPORT_FILE_NAMES.peftWeights,
  'adapter_model.safetensors',
  EXPORT_FILE_NAMES.promptNpy,
];
const ZIP_ADAPTER_CONFIGS = [EXPORT_FILE_NAMES.peftConfig, 'adapter_config.json'];

/**
 * Reads prompt.json, prompt.safetensors, adapter_model.safetensors, prompt.npy or an export zip
 * (its prompt.json). Throws PromptImportError naming the file for anything unusable, whatever went
 * wrong inside; files over MAX_IMPORT_BYTES are refused unread.
 */
export async function importPrompt(fileName: string, bytes: Uint8Array): Promise<ImportedPrompt> {
  try {
    return await importFile(fileName, bytes);
  } catch (e) {
    if (e instanceof PromptImportError) throw e;
    throw new PromptImportError(`${fileName}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function importFile(fileName: string, bytes: Uint8Array): Promise<ImportedPrompt> {
  if (bytes.length > MAX_IMPORT_BYTES) {
    throw new PromptImportError(`${fileName} is ${formatBytes(bytes.length)}; imports read files of at most ${formatBytes(MAX_IMPORT_BYTES)} (a prompt export is a few MB)`);
  }
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
    case 'zip':
      return importZip(fileName, bytes);
    default:
      throw new PromptImportError(
        `${fileName}: unrecognised file; expected prompt.json, a .safetensors file with "${PROMPT_EMBEDDINGS_KEY}", a .npy array or an export .zip`,
      );
  }
}

/** A "Train at scale" project's output folder, zipped alone (entries at the root) or inside the project (under output/). */
const PROJECT_OUTPUT_DIR = 'output/';

/**
 * Where the prompt entries sit: the zip's root, or else the one folder named output/ that holds one
 * of them (a zipped project: its initial_prompt/ is never taken for the output).
 */
function promptRoot(entries: readonly ZipEntry[]): string {
  const names = new Set(entries.map((e) => e.name));
  if (ZIP_PROMPT_ENTRIES.some((n) => names.has(n))) return '';
  const roots = new Set<string>();
  for (const e of entries) {
    for (const n of ZIP_PROMPT_ENTRIES) {
      const suffix = PROJECT_OUTPUT_DIR + n;
      if (e.name.endsWith(suffix) && (e.name.length === suffix.length || e.name[e.name.length - suffix.length - 1] === '/')) roots.add(e.name.slice(0, -n.length));
    }
  }
  return roots.size === 1 ? [...roots][0] : '';
}

/** The studio's encoder.safetensors in `folder` of the zip, or null when there is none. */
async function zipEncoder(bytes: Uint8Array, byName: ReadonlyMap<string, ZipEntry>, folder: string, prefix: string, fileName: string): Promise<EncoderValues | null> {
  const entry = byName.get(`${folder}${ENCODER_FILE_NAME}`);
  return entry ? readEncoderSafetensors(`${prefix}${folder}${ENCODER_FILE_NAME}`, readZipEntry(bytes, entry, fileName, MAX_IMPORT_BYTES)) : null;
}

const MEMBER_ENTRY = /^members\/(\d+)\/(.+)$/;

/**
 * An ensemble export's members (ensembleFiles: members/<k>/ from 1, each a complete set), each read
 * from its first prompt entry, in member order; null when the zip holds no members/ folder. The
 * members must be numbered 1..K without gaps and share the first member's shape.
 */
async function importEnsembleMembers(
  bytes: Uint8Array,
  byName: ReadonlyMap<string, ZipEntry>,
  prefix: string,
  fileName: string,
  first: ImportedPrompt,
): Promise<ImportedMember[] | null> {
  const numbers = new Set<number>();
  for (const name of byName.keys()) {
    const m = MEMBER_ENTRY.exec(name);
    if (m && (ZIP_PROMPT_ENTRIES as readonly string[]).includes(m[2])) numbers.add(Number(m[1]));
  }
  if (numbers.size === 0) return null;
  const K = numbers.size;
  const sorted = [...numbers].sort((a, b) => a - b);
  if (sorted[0] !== 1 || sorted[K - 1] !== K) {
    throw new PromptImportError(`${fileName}: its ensemble members are numbered ${sorted.join(', ')}; an ensemble export numbers them 1 to ${K} (members/1/ … members/${K}/)`);
  }
  const members: ImportedMember[] = [];
  for (let k = 1; k <= K; k++) {
    const name = ZIP_PROMPT_ENTRIES.map((n) => `members/${k}/${n}`).find((n) => byName.has(n))!;
    const inner = await importFile(`${prefix}${name}`, readZipEntry(bytes, byName.get(name)!, fileName, MAX_IMPORT_BYTES));
    if (inner.numTokens !== first.numTokens || inner.dim !== first.dim) {
      throw new PromptImportError(
        `${fileName}: ensemble member ${k} (${prefix}${name}) is [${inner.numTokens}, ${inner.dim}] but the ensemble's first prompt is [${first.numTokens}, ${first.dim}]; every member must have the same shape`,
      );
    }
    const encoder = await zipEncoder(bytes, byName, `members/${k}/`, prefix, fileName);
    const member: ImportedMember = { vectors: inner.vectors, numTokens: inner.numTokens, dim: inner.dim, metadata: inner.metadata, ...(encoder ? { encoder } : {}) };
    members.push(member);
  }
  return members;
}

/** A zip: its directory checked (entry count, declared sizes), an adapter_config.json of another PEFT type refused, then the first prompt entry (and an ensemble's members). */
async function importZip(fileName: string, bytes: Uint8Array): Promise<ImportedPrompt> {
  const entries = zipEntries(bytes, fileName);
  const root = promptRoot(entries);
  const byName = new Map(entries.filter((e) => e.name.startsWith(root)).map((e) => [e.name.slice(root.length), e]));
  const config = ZIP_ADAPTER_CONFIGS.map((name) => byName.get(name)).find((e) => e !== undefined);
  if (config) {
    let doc: Json = null;
    try {
      doc = JSON.parse(new TextDecoder().decode(readZipEntry(bytes, config, fileName, MAX_ADAPTER_CONFIG_BYTES))) as Json;
    } catch (e) {
      if (e instanceof PromptImportError) throw e; // unreadable JSON says nothing about the type: the prompt entry decides
    }
    const peftType = isObject(doc) ? doc.peft_type : undefined;
    const problem = peftType === undefined ? null : otherPeftTypeProblem(peftType);
    if (problem) throw new PromptImportError(`${fileName}: its ${config.name} says this is ${problem}`);
  }
  // A project's output: train.py's metrics.json (the studio's own export's metrics.json is another format, ignored here).
  const metricsEntry = byName.get(EXPORT_FILE_NAMES.metrics);
  const projectMetrics = metricsEntry
    ? parseProjectMetrics(new TextDecoder().decode(readZipEntry(bytes, metricsEntry, fileName, MAX_PROJECT_METRICS_BYTES)), `${fileName}/${metricsEntry.name}`)
    : null;
  for (const name of ZIP_PROMPT_ENTRIES) {
    const entry = byName.get(name);
    if (!entry) continue;
    const inner = await importFile(`${fileName}/${root}${name}`, readZipEntry(bytes, entry, fileName, MAX_IMPORT_BYTES));
    const members = await importEnsembleMembers(bytes, byName, `${fileName}/${root}`, fileName, inner);
    const encoder = await zipEncoder(bytes, byName, '', `${fileName}/${root}`, fileName);
    return { ...inner, fileName, format: 'zip', ...(projectMetrics ? { projectMetrics } : {}), ...(members ? { members } : {}), ...(encoder ? { encoder } : {}) };
  }
  const held = entries.map((e) => e.name);
  const listed = held.length === 0 ? 'nothing' : held.length > 8 ? `${held.slice(0, 8).join(', ')}, … (${held.length} entries)` : held.join(', ');
  throw new PromptImportError(`${fileName}: the zip holds none of ${ZIP_PROMPT_ENTRIES.join(', ')} (it holds ${listed})`);
}
