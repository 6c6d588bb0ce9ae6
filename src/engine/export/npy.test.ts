import { describe, expect, it } from 'vitest';
import { NPY_ARRAY_ALIGN_BYTES, NpyError, npyHeaderText, readNpy, writeNpy } from './npy';

const latin1 = (bytes: Uint8Array) => new TextDecoder('latin1').decode(bytes);

/** Builds an .npy file by hand: version bytes, header text (padding included) and raw data bytes. */
function rawNpy(major: number, header: string, data: Uint8Array): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  const out = new Uint8Array(pre + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  out.set(data, pre + header.length);
  return out;
}

const f32Bytes = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

describe('writeNpy', () => {
  it('writes the exact bytes numpy.save writes for float32 (2, 3)', () => {
    // np.save of np.zeros((2, 3), np.float32) with numpy >= 1.23: header length 118 ('v\x00'),
    // 20 growth-axis spaces + 38 alignment spaces, newline, data at byte 128.
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    const expected = `\x93NUMPY\x01\x00v\x00${dict}${' '.repeat(58)}\n`;
    const bytes = writeNpy(new Float32Array(6), [2, 3]);
    expect(bytes.length).toBe(128 + 6 * 4);
    expect(latin1(bytes.subarray(0, 128))).toBe(expected);
  });

  it.each([
    { shape: [5], dict: "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", total: 128 },
    { shape: [], dict: "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", total: 128 },
    { shape: [20, 768], dict: "{'descr': '<f4', 'fortran_order': False, 'shape': (20, 768), }", total: 128 },
    { shape: [2, 3, 4], dict: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }", total: 128 },
  ])('header for shape $shape starts with the dict numpy writes and ends at byte $total', ({ shape, dict, total }) => {
    const header = npyHeaderText(shape);
    expect(header.startsWith(dict)).toBe(true);
    expect(header.endsWith('\n')).toBe(true);
    expect(header.slice(dict.length, -1)).toMatch(/^ +$/);
    expect(10 + header.length).toBe(total);
  });

  it('aligns the data to 64 bytes for every prompt-sized shape', () => {
    for (let n = 1; n <= 300; n += 7) {
      for (const h of [1, 64, 128, 768, 1024, 4096, 12288]) {
        const header = npyHeaderText([n, h]);
        expect((10 + header.length) % NPY_ARRAY_ALIGN_BYTES).toBe(0);
        // numpy pads 1..64 bytes after the growth spaces, never more than one block.
        expect(header.length).toBeLessThan(59 + 21 + 64 + 20);
      }
    }
  });

  it('stores the values little-endian, bit-exact', () => {
    const values = Float32Array.from([1.5, -0, 3.4028234663852886e38, 1e-45, -7.25, Math.PI]);
    const bytes = writeNpy(values, [2, 3]);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) {
      expect(view.getUint32(128 + 4 * i, true)).toBe(new Uint32Array(values.buffer)[i]);
    }
  });

  it('refuses a value count that does not match the shape', () => {
    expect(() => writeNpy(new Float32Array(5), [2, 3])).toThrow(/5 values for shape \(2, 3\)/);
  });
});

describe('readNpy', () => {
  it.each([[[2, 3]], [[1, 1]], [[7]], [[3, 1, 4]]])('round-trips shape %j bit-exactly', (shape) => {
    const n = shape.reduce((a, d) => a * d, 1);
    const values = Float32Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * Math.fround(Math.sqrt(i + 0.1)));
    const back = readNpy(writeNpy(values, shape));
    expect(back.shape).toEqual(shape);
    expect(back.descr).toBe('<f4');
    expect(new Uint32Array(back.data.buffer)).toEqual(new Uint32Array(values.buffer));
  });

  it('reads big-endian float32, float64, Fortran order and versions 2.0/3.0 as numpy writes them', () => {
    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat32(0, 1.25, false);
    new DataView(be.buffer).setFloat32(4, -2, false);
    expect(Array.from(readNpy(rawNpy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", be)).data)).toEqual([1.25, -2]);

    const f8 = new Uint8Array(Float64Array.from([0.1, 2]).buffer);
    const r8 = readNpy(rawNpy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }\n", f8));
    expect(r8.descr).toBe('<f8');
    expect(Array.from(r8.data)).toEqual([Math.fround(0.1), 2]);

    // Column-major [[1, 2, 3], [4, 5, 6]] is stored 1 4 2 5 3 6.
    const fortran = readNpy(rawNpy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", f32Bytes([1, 4, 2, 5, 3, 6])));
    expect(Array.from(fortran.data)).toEqual([1, 2, 3, 4, 5, 6]);

    for (const major of [2, 3]) {
      const r = readNpy(rawNpy(major, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }\n", f32Bytes([3, 4])));
      expect(Array.from(r.data)).toEqual([3, 4]);
    }
  });

  const ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n";
  it.each([
    { name: 'wrong magic', bytes: () => new TextEncoder().encode('PK\x03\x04 not numpy at all'), error: /x\.npy: not a NumPy \.npy file/ },
    { name: 'too short', bytes: () => new Uint8Array([0x93, 0x4e]), error: /not a NumPy \.npy file/ },
    { name: 'unknown version', bytes: () => { const b = rawNpy(1, ok, f32Bytes([1, 2])); b[6] = 4; return b; }, error: /unsupported \.npy format version 4\.0/ },
    { name: 'header past the end', bytes: () => { const b = rawNpy(1, ok, new Uint8Array()); new DataView(b.buffer).setUint16(8, 5000, true); return b; }, error: /header length 5000 runs past the end/ },
    { name: 'integer dtype', bytes: () => rawNpy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }\n", new Uint8Array(16)), error: /dtype '<i8' is not supported/ },
    { name: 'structured dtype', bytes: () => rawNpy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }\n", new Uint8Array(8)), error: /descr .* is not a simple dtype string/ },
    { name: 'missing key', bytes: () => rawNpy(1, "{'descr': '<f4', 'shape': (2,), }\n", f32Bytes([1, 2])), error: /header keys are \[descr, shape\]/ },
    { name: 'bad shape', bytes: () => rawNpy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }\n", f32Bytes([1, 2])), error: /shape \[2,-1\] is not a tuple of non-negative integers/ },
    { name: 'not a dict', bytes: () => rawNpy(1, "[1, 2]\n", f32Bytes([1, 2])), error: /is not a dict/ },
    { name: 'garbage header', bytes: () => rawNpy(1, "{'descr': '<f4', 'fortran_order': Maybe}\n", f32Bytes([1, 2])), error: /unexpected "Maybe}/ },
    { name: 'truncated data', bytes: () => rawNpy(1, ok, f32Bytes([1])), error: /needs 8 data bytes but the file holds 4 \(truncated\?\)/ },
    { name: 'trailing data', bytes: () => rawNpy(1, ok, f32Bytes([1, 2, 3])), error: /needs 8 data bytes but the file holds 12$/ },
  ])('rejects $name with a message naming the file', ({ bytes, error }) => {
    let caught: unknown;
    try {
      readNpy(bytes(), 'x.npy');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NpyError);
    expect((caught as Error).message).toMatch(/^x\.npy: /);
    expect((caught as Error).message).toMatch(error);
  });
});
