/** prompt.json: the vectors as nested arrays plus everything needed to reproduce and reuse them. */
import {
  checkExport,
  checkMetadata,
  isObject,
  PROMPT_FORMAT,
  PROMPT_FORMAT_VERSION,
  PromptImportError,
  type Json,
  type PromptExportMetadata,
  type PromptVectors,
} from './schema';
import { otherPeftTypeProblem } from './peft';

/** The shortest decimal that reads back as the same float32 (so files stay small and exact). */
export function formatFloat32(v: number): string {
  if (Object.is(v, -0)) return '-0';
  for (let p = 1; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9))); // 9 significant digits always identify a float32
}

function matrixJson(values: Float32Array, rows: number, cols: number, indent: string): string {
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) {
    const row: string[] = [];
    for (let c = 0; c < cols; c++) row.push(formatFloat32(values[r * cols + c]));
    lines.push(`${indent}  [${row.join(', ')}]`);
  }
  return `[\n${lines.join(',\n')}\n${indent}]`;
}

/** prompt.json's text: metadata first (2-space JSON), then the head and the vectors one row per line. */
export function promptJsonText(prompt: PromptVectors, meta: PromptExportMetadata): string {
  checkExport(prompt, meta);
  const { head, ...rest } = meta;
  const header = {
    format: PROMPT_FORMAT,
    formatVersion: PROMPT_FORMAT_VERSION,
    numTokens: prompt.numTokens,
    dim: prompt.dim,
    ...rest,
  };
  const text = JSON.stringify(header, null, 2);
  const tail: string[] = [];
  if (head) {
    const c = meta.classNames.length;
    tail.push(
      `  "head": {\n    "weights": ${matrixJson(head.weights, meta.model.hiddenSize, c, '    ')},\n` +
        `    "bias": [${Array.from(head.bias, formatFloat32).join(', ')}]\n  }`,
    );
  }
  tail.push(`  "vectors": ${matrixJson(prompt.vectors, prompt.numTokens, prompt.dim, '  ')}`);
  // `text` ends in "\n}"; the numeric blocks go last so the metadata reads first.
  return `${text.slice(0, -2)},\n${tail.join(',\n')}\n}\n`;
}

/** Nested number arrays [rows][cols] -> row-major float32, or a message saying what is wrong. */
function readMatrix(v: Json, what: string, fail: (m: string) => never): { data: Float32Array; rows: number; cols: number } {
  if (!Array.isArray(v)) fail(`${what} is not an array (expected [rows][cols] numbers)`);
  const rowsArr = v as Json[];
  if (rowsArr.length === 0) fail(`${what} is empty`);
  if (!Array.isArray(rowsArr[0])) fail(`${what} has rank 1; expected a 2-D [rows][cols] array`);
  const cols = (rowsArr[0] as Json[]).length;
  const data = new Float32Array(rowsArr.length * cols);
  rowsArr.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== cols) {
      fail(`${what}: row ${r} has ${Array.isArray(row) ? row.length : 'no'} values, row 0 has ${cols}`);
    }
    (row as Json[]).forEach((x, c) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) fail(`${what}: ${JSON.stringify(x)} at [${r}, ${c}] is not a finite number`);
      data[r * cols + c] = x as number;
    });
  });
  return { data, rows: rowsArr.length, cols };
}

/** Parses prompt.json text; every problem is an error naming the file. */
export function parsePromptJson(text: string, fileName = 'prompt.json'): { prompt: PromptVectors; metadata: PromptExportMetadata } {
  const fail = (m: string): never => {
    throw new PromptImportError(`${fileName}: ${m}`);
  };
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return fail(`not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) return fail('not a JSON object');
  if (doc.peft_type !== undefined) {
    const problem = otherPeftTypeProblem(doc.peft_type);
    fail(problem ? `this is ${problem}` : 'this is a PEFT adapter_config.json, which holds no vectors; import adapter_model.safetensors instead');
  }
  if (doc.format !== PROMPT_FORMAT) fail(`not a prompt export: "format" is ${JSON.stringify(doc.format)}, expected "${PROMPT_FORMAT}"`);
  if (doc.formatVersion !== PROMPT_FORMAT_VERSION) {
    fail(`formatVersion ${JSON.stringify(doc.formatVersion)} is not supported (this version reads ${PROMPT_FORMAT_VERSION})`);
  }
  if (doc.vectors === undefined) fail('has no "vectors"');
  const v = readMatrix(doc.vectors, '"vectors"', fail);
  if (doc.numTokens !== v.rows || doc.dim !== v.cols) {
    fail(`numTokens/dim say [${doc.numTokens}, ${doc.dim}] but "vectors" is [${v.rows}, ${v.cols}]`);
  }
  const prompt: PromptVectors = { vectors: v.data, numTokens: v.rows, dim: v.cols };
  const { format: _f, formatVersion: _v, numTokens: _n, dim: _d, vectors: _vec, head: rawHead, ...rest } = doc;
  const metadata = rest as unknown as PromptExportMetadata;
  if (rawHead !== undefined) {
    if (!isObject(rawHead)) fail('"head" is not an object with weights and bias');
    const { weights, bias } = rawHead as Record<string, Json>;
    const hw = readMatrix(weights, '"head.weights"', fail);
    if (!Array.isArray(bias)) fail('"head.bias" is not an array');
    const hb = readMatrix([bias], '"head.bias"', fail);
    metadata.head = { weights: hw.data, bias: hb.data };
  }
  if (!isObject(doc.model)) fail('has no "model" object');
  if (!isObject(doc.hyperparameters)) fail('has no "hyperparameters" object');
  if (!isObject(doc.init)) fail('has no "init" object');
  checkMetadata(metadata, prompt, fail);
  return { prompt, metadata };
}
