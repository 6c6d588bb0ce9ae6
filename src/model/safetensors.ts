/**
 * Safetensors reading and writing (https://huggingface.co/docs/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON header `{name: {dtype, shape, data_offsets: [begin, end]}}`,
 * then the data. Every check names the file and the tensor, and nothing is allocated from a length
 * that has not been checked against the file's real size.
 */

/** Random access to a file's bytes: a File/Blob, an in-memory buffer, or (later) HTTP ranges. */
export interface ByteSource {
  readonly name: string;
  readonly size: number;
  read(start: number, end: number): Promise<Uint8Array>;
}

export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  return { name, size: bytes.byteLength, read: async (s, e) => bytes.subarray(s, e) };
}

export function blobSource(name: string, blob: Blob): ByteSource {
  return {
    name,
    size: blob.size,
    read: async (s, e) => new Uint8Array(await blob.slice(s, e).arrayBuffer()),
  };
}

/** Bytes per element for every dtype the format defines (only float ones can be read as weights). */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};
export const READABLE_DTYPES = ['F32', 'F16', 'BF16', 'F64'] as const;

/** A header larger than this is refused before allocation: real headers are kilobytes to a few MB. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  dataStart: number;
}

export async function readSafetensorsHeader(src: ByteSource): Promise<SafetensorsHeader> {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${src.name}: ${msg}`);
  };
  if (src.size < 8) fail(`truncated file: ${src.size} bytes, shorter than the 8-byte header length`);
  const lenBytes = await src.read(0, 8);
  const headerLen = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLen > src.size - 8) {
    fail(`header length ${headerLen} runs past the end of the file (${src.size} bytes): truncated or not a safetensors file`);
  }
  if (headerLen > MAX_HEADER_BYTES) fail(`header length ${headerLen} exceeds ${MAX_HEADER_BYTES} bytes`);
  const headerBytes = await src.read(8, 8 + headerLen);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(headerBytes));
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataSize = src.size - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const where = `tensor "${name}"`;
    if (typeof entry !== 'object' || entry === null) fail(`${where}: entry is not an object`);
    const dtype = entry.dtype;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
      fail(`${where}: unknown dtype ${JSON.stringify(dtype)} (safetensors dtypes: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      fail(`${where}: data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
    }
    const [b, e] = offsets as [number, number];
    if (b > e) fail(`${where}: data_offsets [${b}, ${e}] has begin after end`);
    if (e > dataSize) {
      fail(`${where}: data_offsets [${b}, ${e}] out of range: the data section holds ${dataSize} bytes (file truncated?)`);
    }
    const expected = (shape as number[]).reduce((a, d) => a * d, 1) * DTYPE_BYTES[dtype as string];
    if (e - b !== expected) {
      fail(`${where}: ${e - b} bytes for shape [${(shape as number[]).join(', ')}] ${dtype}, expected ${expected}`);
    }
    tensors.set(name, { name, dtype: dtype as string, shape: shape as number[], begin: dataStart + b, end: dataStart + e });
  }
  const sorted = [...tensors.values()].sort((x, y) => x.begin - y.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) {
      fail(`tensors "${sorted[i - 1].name}" and "${sorted[i].name}" have overlapping data_offsets`);
    }
  }
  return { tensors, metadata, dataStart };
}

const F16_TABLE = (() => {
  // All 65536 half-precision values, so conversion is one lookup per element.
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * 2 ** -14 * (frac / 1024);
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * 2 ** (exp - 15) * (1 + frac / 1024);
  }
  return t;
})();

/** Decodes little-endian F32/F16/BF16/F64 bytes to float32. */
export function decodeFloats(bytes: Uint8Array, dtype: string, where: string): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      // Copy so the result is 4-byte aligned whatever the offset in the file.
      return new Float32Array(bytes.slice().buffer);
    }
    case 'F16': {
      const out = new Float32Array(bytes.byteLength / 2);
      for (let i = 0; i < out.length; i++) out[i] = F16_TABLE[view.getUint16(2 * i, true)];
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(bytes.byteLength / 2);
      for (let i = 0; i < bits.length; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return new Float32Array(bits.buffer);
    }
    case 'F64': {
      const out = new Float32Array(bytes.byteLength / 8);
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    default:
      throw new SafetensorsError(`${where}: dtype ${dtype} cannot be read as weights`);
  }
}

export async function readTensorData(src: ByteSource, info: TensorInfo): Promise<Float32Array> {
  const where = `${src.name}: tensor "${info.name}"`;
  if (!(READABLE_DTYPES as readonly string[]).includes(info.dtype)) {
    throw new SafetensorsError(`${where}: dtype ${info.dtype} cannot be read as weights (supported: ${READABLE_DTYPES.join(', ')})`);
  }
  return decodeFloats(await src.read(info.begin, info.end), info.dtype, where);
}

export interface NamedArray {
  data: Float32Array;
  shape: number[];
}

/** Writes F32 tensors as a safetensors file (header padded to 8 bytes, keys in the given order). */
export function writeSafetensors(tensors: Record<string, NamedArray>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (n !== t.data.length) throw new SafetensorsError(`tensor "${name}": ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let headerText = JSON.stringify(header);
  while ((8 + new TextEncoder().encode(headerText).length) % 8 !== 0) headerText += ' ';
  const headerBytes = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}
