/** Import limits: zips are read from their directory first, and only known entries are inflated, within caps. */
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { importPrompt } from './bundle';
import { promptJsonText } from './promptJson';
import { PromptImportError } from './schema';
import { baseMeta, bytes, declareSize, makePrompt } from './testing';
import { INFLATE_SLICE_BYTES, MAX_ADAPTER_CONFIG_BYTES, MAX_IMPORT_BYTES, readZipEntry, zipEntries, type InflateStats } from './zipImport';

const MiB = 1024 * 1024;

const promptJson = () => bytes(promptJsonText(makePrompt(), baseMeta()));

// What imports and what is refused whole-file (bombs, liars, entry counts, other PEFT types, broken zips) is
// the reliability corpus, src/session/reliability/importCases.ts; these are the streaming reader's own tests.
describe('entries are streamed: size-checked as they inflate', () => {
  /** 48 MiB of spaces (about 48 kB deflated) whose directory declares exactly `declared`: only the cap can stop it. */
  const bomb = (name: string, declared: number) => declareSize(zipSync({ [name]: new Uint8Array(48 * MiB).fill(0x20) }, { level: 9 }), name, declared);
  /** Deflate's best ratio is 1032:1 (258 bytes from about 2 bits): the most one pushed slice can produce. */
  const maxSliceOutput = 1032 * INFLATE_SLICE_BYTES + 32 * 1024;

  it('an entry that inflates past the cap is refused with its name and the cap, within one slice of the cap', () => {
    const cap = MiB;
    const zip = bomb('prompt.json', cap);
    expect(zip.length).toBeLessThan(128 * 1024);
    const entry = zipEntries(zip, 'bomb.zip')[0];
    const stats: InflateStats = { inflatedBytes: 0, largestChunkBytes: 0 };
    expect(() => readZipEntry(zip, entry, 'bomb.zip', cap, stats)).toThrow(
      new PromptImportError('bomb.zip: prompt.json inflates past 1.0 MiB, the most imports read from one entry; it was stopped there and the rest was not inflated'),
    );
    // Peak memory stays bounded: what came out before the refusal is at most the cap plus one slice's output.
    expect(stats.inflatedBytes).toBeGreaterThan(cap);
    expect(stats.largestChunkBytes).toBeLessThanOrEqual(maxSliceOutput);
    expect(stats.inflatedBytes).toBeLessThanOrEqual(cap + stats.largestChunkBytes);
    expect(stats.inflatedBytes).toBeLessThan(48 * MiB / 4); // the rest was never inflated
  });

  it('through the import: an adapter_config.json past its 1 MiB cap is refused, naming it', async () => {
    const zip = zipSync({ 'adapter_config.json': new Uint8Array(48 * MiB).fill(0x20), 'prompt.json': promptJson() }, { level: 9 });
    const result = importPrompt('adapter.zip', declareSize(zip, 'adapter_config.json', MAX_ADAPTER_CONFIG_BYTES));
    await expect(result).rejects.toThrow(PromptImportError);
    await expect(result).rejects.toThrow('adapter.zip: adapter_config.json inflates past 1.0 MiB, the most imports read from one entry');
  });

  it('an honest entry streams in many slices and comes out whole', () => {
    let state = 1;
    // An LCG's top bytes barely compress: the entry spans many slices.
    const body = new Uint8Array(3 * MiB).map(() => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) >>> 24);
    const zip = zipSync({ 'prompt.safetensors': body, 'other.bin': bytes('x') });
    const stats: InflateStats = { inflatedBytes: 0, largestChunkBytes: 0 };
    const entry = zipEntries(zip, 'z.zip').find((e) => e.name === 'prompt.safetensors')!;
    expect(entry.compressedSize).toBeGreaterThan(10 * INFLATE_SLICE_BYTES);
    const out = readZipEntry(zip, entry, 'z.zip', MAX_IMPORT_BYTES, stats);
    expect(out).toEqual(body);
    expect(stats.inflatedBytes).toBe(body.length);
    // A stored entry too (Unzip's pass-through), after a deflated one.
    const stored = zipSync({ 'a.txt': bytes('first'), 'b.txt': [bytes('stored'), { level: 0 }] });
    const b = zipEntries(stored, 's.zip').find((e) => e.name === 'b.txt')!;
    expect(b.method).toBe(0);
    expect(new TextDecoder().decode(readZipEntry(stored, b, 's.zip', MAX_IMPORT_BYTES))).toBe('stored');
  });
});
