/** The safetensors reader's own checks: header validation and dtype decoding. */
import { describe, expect, it } from 'vitest';
import { bytesSource, decodeFloats, readSafetensorsHeader, writeSafetensors } from './safetensors';

function rawSafetensors(header: unknown, dataBytes: number, headerLenOverride?: number): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLenOverride ?? h.length), true);
  out.set(h, 8);
  return out;
}

// Whole checkpoints with bad files (missing, cut off, bad headers, bad config.json values, non-finite weights) are
// the reliability corpus, src/session/reliability/checkpointCases.ts, run through the page's and the CLI's loaders.
describe('safetensors header validation', () => {
  const cases: { name: string; file: Uint8Array; error: RegExp }[] = [
    {
      name: 'offsets out of range (truncated data)',
      file: rawSafetensors({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8),
      error: /tensor "a": data_offsets \[0, 16\] out of range: the data section holds 8 bytes/,
    },
    {
      name: 'begin after end',
      file: rawSafetensors({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, 8),
      error: /begin after end/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      await expect(readSafetensorsHeader(bytesSource('w.safetensors', c.file))).rejects.toThrow(c.error);
    });
  }

  it('a huge claimed header length is refused without allocating it', async () => {
    // Claims 2^40 bytes of header in a 16-byte file: must fail on the size check, not in an allocation.
    const file = new Uint8Array(16);
    new DataView(file.buffer).setBigUint64(0, 2n ** 40n, true);
    let reads = 0;
    const src = { ...bytesSource('big.safetensors', file), read: async (s: number, e: number) => (reads++, file.subarray(s, e)) };
    await expect(readSafetensorsHeader(src)).rejects.toThrow(/runs past the end/);
    expect(reads).toBe(1);
  });

  it('round-trips what writeSafetensors writes, with the data section 8-byte aligned', async () => {
    const file = writeSafetensors({ x: { data: new Float32Array([1, -2.5, 3]), shape: [3] } }, { format: 'pt' });
    const h = await readSafetensorsHeader(bytesSource('x.safetensors', file));
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.dataStart % 8).toBe(0);
    const info = h.tensors.get('x')!;
    expect(Array.from(decodeFloats(file.subarray(info.begin, info.end), 'F32', 'x'))).toEqual([1, -2.5, 3]);
  });
});

describe('dtype decoding', () => {
  it('F16 bit patterns: normal, negative, max, subnormal, infinity', () => {
    const bits = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3555];
    const bytes = new Uint8Array(new Uint16Array(bits).buffer);
    const got = Array.from(decodeFloats(bytes, 'F16', 't'));
    expect(got.slice(0, 5)).toEqual([1, -2, 65504, 2 ** -24, Infinity]);
    expect(got[5]).toBeCloseTo(0.333251953125, 10);
  });
  it('BF16 is the top half of float32', () => {
    const f = new Float32Array([1.5, -3.140625]);
    const top = new Uint16Array(Array.from(new Uint32Array(f.buffer), (b) => b >>> 16));
    expect(Array.from(decodeFloats(new Uint8Array(top.buffer), 'BF16', 't'))).toEqual([1.5, -3.140625]);
  });
  it('an integer tensor is refused when read as a weight', () => {
    expect(() => decodeFloats(new Uint8Array(8), 'I64', 'model.safetensors: tensor "position_ids"')).toThrow(/position_ids.*I64 cannot be read/);
  });
});
