/** A "Train at scale" project's output folder, picked for import, as one zip (src/engine/export/project.ts). */
import { zipSync } from 'fflate';

/** The files of a "Train at scale" output folder the import reads (picked as a folder: only these are read). */
export const PROJECT_OUTPUT_FILES = ['prompt.json', 'metrics.json', 'peft/adapter_config.json', 'peft/adapter_model.safetensors', 'adapter_config.json', 'adapter_model.safetensors'];

/**
 * A picked folder's known output files as one zip (paths below the folder), which the import reads like
 * any export zip: the output folder itself, or the project's folder (its output/, never initial_prompt/).
 */
export async function zipOutputFolder(files: readonly File[]): Promise<{ name: string; bytes: Uint8Array }> {
  const entries: Record<string, Uint8Array> = {};
  let folder = 'output';
  for (const f of files) {
    const path = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    const parts = path.split('/');
    if (parts.length > 1) folder = parts[0];
    const rel = parts.slice(1).join('/') || f.name;
    const inside = PROJECT_OUTPUT_FILES.includes(rel) ? rel : rel.startsWith('output/') && PROJECT_OUTPUT_FILES.includes(rel.slice(7)) ? rel.slice(7) : null;
    if (inside !== null && !(inside in entries)) entries[inside] = new Uint8Array(await f.arrayBuffer());
  }
  if (Object.keys(entries).length === 0) {
    throw new Error(`${folder}: none of ${PROJECT_OUTPUT_FILES.join(', ')} in it (pick the project's output folder)`);
  }
  return { name: `${folder}.zip`, bytes: zipSync(entries) };
}
