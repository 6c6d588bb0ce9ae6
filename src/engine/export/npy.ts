/**
 * NumPy `.npy` files (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
 *
 * Layout: the magic `\x93NUMPY`, a major and a minor version byte, the header length (uint16 LE for
 * version 1.0, uint32 LE for 2.0 and 3.0), the header — a Python dict literal such as
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces and ending in
 * '\n' — then the raw array data in C order.
 *
 * The writer reproduces `numpy.save` byte for byte (numpy >= 1.23): after the dict it leaves
 * `GROWTH_AXIS_MAX_DIGITS - len(repr(shape[0]))` spaces so the file can grow along axis 0 in place,
 * then pads so that the data starts at a multiple of `NPY_ARRAY_ALIGN_BYTES`. Like numpy, the pad is
 * 1..64 spaces including the newline's slot, never 0 (a header that already ends on the boundary
 * gets a full extra 64).
 */

export const NPY_MAGIC = Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59); // \x93NUMPY
/** numpy.lib.format.ARRAY_ALIGN: data starts at a multiple of this many bytes. */
export const NPY_ARRAY_ALIGN_BYTES = 64;
/** numpy.lib.format.GROWTH_AXIS_MAX_DIGITS: room reserved for the digits of shape[0]. */
const GROWTH_AXIS_MAX_DIGITS = 21;
/** Bytes before the header text in a version 1.0 file: magic (6) + version (2) + uint16 length. */
const V1_PREAMBLE_BYTES = 10;

export class NpyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpyError';
  }
}

/** `repr()` of a Python tuple of ints: `()`, `(5,)`, `(2, 3)`. */
function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** The header text numpy writes for a C-order little-endian float32 array, newline included. */
export function npyHeaderText(shape: readonly number[]): string {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new NpyError(`shape [${shape.join(', ')}] is not a list of non-negative integers`);
  }
  // numpy sorts the keys; every entry, the last included, ends in ", ".
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  if (shape.length > 0) dict += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  const withNewline = dict.length + 1;
  const pad = NPY_ARRAY_ALIGN_BYTES - ((V1_PREAMBLE_BYTES + withNewline) % NPY_ARRAY_ALIGN_BYTES);
  return dict + ' '.repeat(pad) + '\n';
}

/** Writes a float32 array as a version 1.0 `.npy` file, dtype '<f4', C order. */
export function writeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  const header = npyHeaderText(shape);
  const count = shape.reduce((a, d) => a * d, 1);
  if (count !== data.length) throw new NpyError(`${data.length} values for shape ${shapeRepr(shape)} (expected ${count})`);
  // The header is ASCII (digits, quotes, spaces), so its length in bytes is its length in characters.
  if (header.length > 0xffff) throw new NpyError(`header of ${header.length} bytes does not fit format version 1.0`);
  const dataStart = V1_PREAMBLE_BYTES + header.length;
  const out = new Uint8Array(dataStart + data.byteLength);
  const view = new DataView(out.buffer);
  out.set(NPY_MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[V1_PREAMBLE_BYTES + i] = header.charCodeAt(i);
  // Typed arrays are little-endian on every platform this runs on, so the bytes copy as they are.
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dataStart);
  return out;
}

export interface NpyArray {
  /** Values in C (row-major) order, converted to float32. */
  data: Float32Array;
  shape: number[];
  /** The dtype as stored, e.g. '<f4' or '<f8'. */
  descr: string;
}

type PyValue = string | number | boolean | PyValue[] | { [key: string]: PyValue };

/**
 * Parses the small subset of Python literals an .npy header uses: a dict of string keys whose values
 * are strings, True/False, ints and tuples of ints.
 */
function parseHeaderLiteral(text: string, fail: (msg: string) => never): PyValue {
  let pos = 0;
  const skipSpace = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const expect = (ch: string) => {
    skipSpace();
    if (text[pos] !== ch) fail(`header ${JSON.stringify(text.trim())}: expected '${ch}' at character ${pos}`);
    pos++;
  };
  const value = (): PyValue => {
    skipSpace();
    const ch = text[pos];
    if (ch === "'" || ch === '"') {
      const end = text.indexOf(ch, pos + 1);
      if (end < 0) fail(`header ${JSON.stringify(text.trim())}: unterminated string`);
      const s = text.slice(pos + 1, end);
      pos = end + 1;
      return s;
    }
    if (ch === '{') {
      pos++;
      const dict: { [key: string]: PyValue } = {};
      for (;;) {
        skipSpace();
        if (text[pos] === '}') {
          pos++;
          return dict;
        }
        const key = value();
        if (typeof key !== 'string') fail(`header ${JSON.stringify(text.trim())}: dict keys must be strings`);
        expect(':');
        dict[key as string] = value();
        skipSpace();
        if (text[pos] === ',') pos++;
        else if (text[pos] !== '}') fail(`header ${JSON.stringify(text.trim())}: expected ',' or '}' at character ${pos}`);
      }
    }
    if (ch === '(' || ch === '[') {
      const close = ch === '(' ? ')' : ']';
      pos++;
      const items: PyValue[] = [];
      for (;;) {
        skipSpace();
        if (text[pos] === close) {
          pos++;
          return items;
        }
        items.push(value());
        skipSpace();
        if (text[pos] === ',') pos++;
        else if (text[pos] !== close) fail(`header ${JSON.stringify(text.trim())}: expected ',' or '${close}' at character ${pos}`);
      }
    }
    const word = /^(True|False|-?\d+L?)/.exec(text.slice(pos));
    if (!word) fail(`header ${JSON.stringify(text.trim())}: unexpected ${JSON.stringify(text.slice(pos, pos + 10))} at character ${pos}`);
    pos += word![0].length;
    if (word![0] === 'True') return true;
    if (word![0] === 'False') return false;
    return Number(word![0].replace('L', '')); // Python 2 wrote longs as 3L.
  };
  const result = value();
  skipSpace();
  if (pos !== text.length) fail(`header ${JSON.stringify(text.trim())}: trailing text after the dict`);
  return result;
}

/** Float dtypes this reader converts to float32: [itemsize, DataView getter]. */
const FLOAT_DESCRS: Record<string, { bytes: number; read: (v: DataView, at: number) => number }> = {
  '<f4': { bytes: 4, read: (v, at) => v.getFloat32(at, true) },
  '>f4': { bytes: 4, read: (v, at) => v.getFloat32(at, false) },
  '<f8': { bytes: 8, read: (v, at) => v.getFloat64(at, true) },
  '>f8': { bytes: 8, read: (v, at) => v.getFloat64(at, false) },
};

/**
 * Reads an .npy file of float32 or float64 values (versions 1.0, 2.0 and 3.0). Fortran-ordered
 * 2-D arrays are transposed to C order. Every error names the file.
 */
export function readNpy(bytes: Uint8Array, fileName = 'array.npy'): NpyArray {
  const fail = (msg: string): never => {
    throw new NpyError(`${fileName}: ${msg}`);
  };
  if (bytes.length < 10 || NPY_MAGIC.some((b, i) => bytes[i] !== b)) {
    fail('not a NumPy .npy file (it does not start with the magic bytes \\x93NUMPY)');
  }
  const major = bytes[6];
  const minor = bytes[7];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLen: number;
  if (major === 1) {
    headerStart = 10;
    headerLen = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail(`truncated: ${bytes.length} bytes is too short for a version ${major}.${minor} header`);
    headerStart = 12;
    headerLen = view.getUint32(8, true);
  } else {
    return fail(`unsupported .npy format version ${major}.${minor} (this reader knows 1.0, 2.0 and 3.0)`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) {
    fail(`header length ${headerLen} runs past the end of the file (${bytes.length} bytes): truncated`);
  }
  // Versions 1 and 2 store latin-1 headers; 3 stores UTF-8. Both are ASCII in practice.
  const headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
  const header = parseHeaderLiteral(headerText, fail);
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    return fail(`header ${JSON.stringify(headerText.trim())} is not a dict`);
  }
  const keys = Object.keys(header).sort();
  if (keys.join(',') !== 'descr,fortran_order,shape') {
    fail(`header keys are [${keys.join(', ')}], expected exactly descr, fortran_order and shape`);
  }
  const { descr, fortran_order: fortranOrder, shape } = header as { descr: PyValue; fortran_order: PyValue; shape: PyValue };
  if (typeof descr !== 'string') return fail(`descr ${JSON.stringify(descr)} is not a simple dtype string`);
  const dtype = FLOAT_DESCRS[descr];
  if (!dtype) {
    fail(`dtype '${descr}' is not supported: expected a float array ('<f4' float32 or '<f8' float64)`);
  }
  if (typeof fortranOrder !== 'boolean') fail(`fortran_order ${JSON.stringify(fortranOrder)} is not True or False`);
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    return fail(`shape ${JSON.stringify(shape)} is not a tuple of non-negative integers`);
  }
  const dims = shape as number[];
  const count = dims.reduce((a, d) => a * d, 1);
  const dataBytes = bytes.length - dataStart;
  // Checked before allocating anything from the header's numbers.
  if (dataBytes !== count * dtype.bytes) {
    fail(
      `shape ${shapeRepr(dims)} of '${descr}' needs ${count * dtype.bytes} data bytes but the file holds ${dataBytes}` +
        (dataBytes < count * dtype.bytes ? ' (truncated?)' : ''),
    );
  }
  let data: Float32Array;
  if (descr === '<f4') {
    data = new Float32Array(bytes.slice(dataStart).buffer); // a copy, so 4-byte aligned
  } else {
    data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = dtype.read(view, dataStart + i * dtype.bytes);
  }
  if (fortranOrder && dims.length > 1) {
    if (dims.length !== 2) fail(`fortran_order True with ${dims.length} dimensions is not supported (only 2-D)`);
    const [rows, cols] = dims;
    const c = new Float32Array(count);
    // Fortran order stores column by column: element (i, j) sits at j * rows + i.
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) c[i * cols + j] = data[j * rows + i];
    return { data: c, shape: dims, descr };
  }
  return { data, shape: dims, descr };
}
