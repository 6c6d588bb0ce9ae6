/**
 * Reading an imported zip without trusting it: the central directory is read first, so the entry
 * count and each entry's declared size are checked before anything is inflated; only entries the
 * importer knows by name are inflated at all, and each is inflated in slices that stop as soon as
 * the output passes the size the directory declared (a 1 MB zip cannot become 1 GB in memory).
 * Every failure is a PromptImportError naming the file.
 */
import { Inflate } from 'fflate';
import { PromptImportError } from './schema';

/** Any imported file, and any entry inflated from a zip: a prompt for a 4096-wide model with 100 tokens is 1.6 MB as floats, about 20 MB as prompt.json. */
export const MAX_IMPORT_BYTES = 64 * 1024 * 1024;
/** An adapter_config.json (a few hundred bytes when PEFT writes it). */
export const MAX_ADAPTER_CONFIG_BYTES = 1024 * 1024;
/** An export zip has 6 or 7 entries (an ensemble: that many per member, plus the first again); one with more than this is not read. */
export const MAX_ZIP_ENTRIES = 128; // an ensemble of 8 writes 9 sets of 7 files
/** Compressed bytes pushed through the inflater at a time: at most ~1032x this comes out per push. */
const INFLATE_SLICE_BYTES = 16 * 1024;

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
/** The end-of-central-directory record is 22 bytes plus a comment of up to 65535. */
const EOCD_SEARCH_BYTES = 22 + 0xffff;

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  flags: number;
  compressedSize: number;
  /** Uncompressed size as the central directory declares it. */
  size: number;
  localHeaderOffset: number;
}

export const formatBytes = (n: number) =>
  n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`;

/** The zip's entries from its central directory, or a PromptImportError (too many, ZIP64, damaged). */
export function zipEntries(bytes: Uint8Array, fileName: string): ZipEntry[] {
  const fail = (m: string): never => {
    throw new PromptImportError(`${fileName}: ${m}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => (at + 2 <= bytes.length ? view.getUint16(at, true) : fail('not a readable zip (it ends inside a header)'));
  const u32 = (at: number) => (at + 4 <= bytes.length ? view.getUint32(at, true) : fail('not a readable zip (it ends inside a header)'));
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - EOCD_SEARCH_BYTES); at--) {
    if (view.getUint32(at, true) === EOCD_SIGNATURE) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) fail('not a readable zip (no end-of-central-directory record)');
  const count = u16(eocd + 10);
  const directoryOffset = u32(eocd + 16);
  if (count === 0xffff || directoryOffset === 0xffffffff) fail('the zip uses ZIP64, which prompt exports never need; it was not read');
  if (count > MAX_ZIP_ENTRIES) fail(`the zip has ${count} entries; imports read zips of at most ${MAX_ZIP_ENTRIES} (a prompt export has 7, an ensemble of 8 prompts 63)`);
  const entries: ZipEntry[] = [];
  let at = directoryOffset;
  for (let i = 0; i < count; i++) {
    if (u32(at) !== CENTRAL_SIGNATURE) fail(`not a readable zip (central directory entry ${i + 1} of ${count} is damaged)`);
    const nameLength = u16(at + 28);
    if (at + 46 + nameLength > bytes.length) fail('not a readable zip (it ends inside the central directory)');
    const entry: ZipEntry = {
      flags: u16(at + 8),
      method: u16(at + 10),
      compressedSize: u32(at + 20),
      size: u32(at + 24),
      name: new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength)),
      localHeaderOffset: u32(at + 42),
    };
    if (entry.size === 0xffffffff || entry.compressedSize === 0xffffffff) fail(`${entry.name} uses ZIP64 sizes, which prompt exports never need; it was not read`);
    entries.push(entry);
    at += 46 + nameLength + u16(at + 30) + u16(at + 32);
  }
  return entries;
}

/**
 * One entry's bytes, refusing it before inflating when it declares more than `maxBytes`, and
 * stopping the inflater as soon as it produces more than the entry declared.
 */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, fileName: string, maxBytes: number): Uint8Array {
  const fail = (m: string): never => {
    throw new PromptImportError(`${fileName}: ${m}`);
  };
  const what = entry.name;
  if (entry.size > maxBytes) {
    fail(`${what} would inflate to ${formatBytes(entry.size)}; imports read entries of at most ${formatBytes(maxBytes)}, so it was not inflated`);
  }
  if (entry.flags & 1) fail(`${what} is encrypted`);
  const local = entry.localHeaderOffset;
  if (local + 30 > bytes.length || new DataView(bytes.buffer, bytes.byteOffset + local, 30).getUint32(0, true) !== LOCAL_SIGNATURE) {
    fail(`not a readable zip (the local header of ${what} is damaged)`);
  }
  const header = new DataView(bytes.buffer, bytes.byteOffset + local, 30);
  const start = local + 30 + header.getUint16(26, true) + header.getUint16(28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.length) fail(`not a readable zip (${what} runs past the end of the file)`);
  const compressed = bytes.subarray(start, end);
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) fail(`not a readable zip (stored entry ${what} has ${entry.compressedSize} bytes, its header says ${entry.size})`);
    return compressed.slice();
  }
  if (entry.method !== 8) fail(`${what} is compressed with method ${entry.method}; only stored and deflated entries are read`);
  const out = new Uint8Array(entry.size);
  let written = 0;
  const inflater = new Inflate((chunk) => {
    if (written + chunk.length > entry.size) {
      fail(`${what} inflates past the ${formatBytes(entry.size)} its zip header declares (the zip is damaged or crafted); it was not read`);
    }
    out.set(chunk, written);
    written += chunk.length;
  });
  try {
    let at = 0;
    do {
      const slice = compressed.subarray(at, at + INFLATE_SLICE_BYTES);
      at += INFLATE_SLICE_BYTES;
      inflater.push(slice, at >= compressed.length);
    } while (at < compressed.length);
  } catch (e) {
    if (e instanceof PromptImportError) throw e;
    fail(`not a readable zip (${what}: ${(e as Error).message})`);
  }
  if (written !== entry.size) fail(`not a readable zip (${what} inflates to ${written} bytes, its header says ${entry.size})`);
  return out;
}
