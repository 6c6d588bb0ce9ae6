/**
 * Reading an imported zip without trusting it: the central directory is read first, so the entry
 * count and each entry's declared size are checked before anything is inflated; only entries the
 * importer knows by name are inflated at all, and each is streamed through fflate's `Unzip` a
 * slice at a time, counting the bytes as they come out: it stops at the first slice that takes
 * the entry past the cap or past the size the directory declared, and the rest is never inflated
 * (a 1 MB zip cannot become 1 GB in memory: at most the cap plus one slice's output is held).
 * Every failure is a PromptImportError naming the file.
 */
import { Unzip, UnzipInflate, type UnzipFile } from 'fflate';
import { PromptImportError } from './schema';

/** Any imported file, and any entry inflated from a zip: a prompt for a 4096-wide model with 100 tokens is 1.6 MB as floats, about 20 MB as prompt.json. */
export const MAX_IMPORT_BYTES = 64 * 1024 * 1024;
/** An adapter_config.json (a few hundred bytes when PEFT writes it). */
export const MAX_ADAPTER_CONFIG_BYTES = 1024 * 1024;
/** An export zip has 6 or 7 entries (an ensemble: that many per member, plus the first again); one with more than this is not read. */
export const MAX_ZIP_ENTRIES = 128; // an ensemble of 8 writes 9 sets of 7 files
/** Compressed bytes pushed through the inflater at a time: deflate's best ratio is ~1032:1, so at most ~4 MiB comes out per push. */
export const INFLATE_SLICE_BYTES = 4 * 1024;

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

/** What inflating one entry produced (tests check that a refused entry stopped within one slice of the cap). */
export interface InflateStats {
  /** Bytes that came out of the inflater, the refused slice's included. */
  inflatedBytes: number;
  /** The most that one pushed slice produced. */
  largestChunkBytes: number;
}

/**
 * One entry's bytes: refused before inflating when it declares more than `maxBytes`; while it
 * inflates, stopped at the first slice that takes it past `maxBytes` or past the size it declared.
 */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, fileName: string, maxBytes: number, stats?: InflateStats): Uint8Array {
  const fail = (m: string): never => {
    throw new PromptImportError(`${fileName}: ${m}`);
  };
  const what = entry.name;
  if (entry.size > maxBytes) {
    fail(`${what} would inflate to ${formatBytes(entry.size)}; imports read entries of at most ${formatBytes(maxBytes)}, so it was not inflated`);
  }
  if (entry.flags & 1) fail(`${what} is encrypted`);
  if (entry.method !== 0 && entry.method !== 8) fail(`${what} is compressed with method ${entry.method}; only stored and deflated entries are read`);
  const local = entry.localHeaderOffset;
  if (local + 30 > bytes.length || new DataView(bytes.buffer, bytes.byteOffset + local, 30).getUint32(0, true) !== LOCAL_SIGNATURE) {
    fail(`not a readable zip (the local header of ${what} is damaged)`);
  }
  const header = new DataView(bytes.buffer, bytes.byteOffset + local, 30);
  const start = local + 30 + header.getUint16(26, true) + header.getUint16(28, true);
  if (start + entry.compressedSize > bytes.length) fail(`not a readable zip (${what} runs past the end of the file)`);
  if (entry.method === 0 && entry.compressedSize !== entry.size) {
    fail(`not a readable zip (stored entry ${what} has ${entry.compressedSize} bytes, its header says ${entry.size})`);
  }

  const chunks: Uint8Array[] = [];
  let written = 0;
  let done = false;
  // Set inside fflate's callbacks, which must not throw (its inflater would catch it); thrown after the push.
  let refusal: string | null = null;
  let ours: UnzipFile | null = null;
  const unzip = new Unzip((file) => {
    if (ours || refusal) return; // a later entry: never started, so never inflated
    ours = file;
    if (file.name !== what) {
      refusal = `not a readable zip (the local header of ${what} names ${file.name})`;
      return;
    }
    file.ondata = (error, data, final) => {
      if (refusal || done) return;
      if (error) {
        refusal = `not a readable zip (${what}: ${error.message})`;
        return;
      }
      written += data.length;
      if (stats) {
        stats.inflatedBytes = written;
        stats.largestChunkBytes = Math.max(stats.largestChunkBytes, data.length);
      }
      if (written > maxBytes) {
        refusal = `${what} inflates past ${formatBytes(maxBytes)}, the most imports read from one entry; it was stopped there and the rest was not inflated`;
      } else if (written > entry.size) {
        refusal = `${what} inflates past the ${formatBytes(entry.size)} its zip header declares (the zip is damaged or crafted); it was not read`;
      } else {
        chunks.push(data);
        done = final;
      }
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  // From the entry's local header on: Unzip reads the header, then the entry's data, slice by slice.
  const stream = bytes.subarray(local);
  for (let at = 0; !done && refusal === null; at += INFLATE_SLICE_BYTES) {
    if (at >= stream.length) {
      refusal = `not a readable zip (${what} ends before its data does)`;
      break;
    }
    try {
      unzip.push(stream.subarray(at, at + INFLATE_SLICE_BYTES), at + INFLATE_SLICE_BYTES >= stream.length);
    } catch (e) {
      refusal ??= `not a readable zip (${what}: ${(e as Error).message})`;
    }
  }
  if (refusal !== null) fail(refusal);
  if (written !== entry.size) fail(`not a readable zip (${what} inflates to ${written} bytes, its header says ${entry.size})`);
  if (chunks.length === 1) return chunks[0].slice();
  const out = new Uint8Array(written);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
