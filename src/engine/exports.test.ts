import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { bytesSource, readSafetensorsHeader, readTensorData } from '../model/safetensors';
import {
  checkPromptAgainstModel,
  EXPORT_FILE_NAMES,
  exportBundle,
  exportFiles,
  formatFloat32,
  importPrompt,
  parsePromptJson,
  peftAdapterConfig,
  peftAdapterConfigJson,
  peftAdapterSafetensors,
  peftExportNotes,
  peftTaskType,
  PROMPT_EMBEDDINGS_KEY,
  PromptExportError,
  PromptImportError,
  promptJsonText,
  promptNpy,
  promptSafetensors,
  SAFETENSORS_METADATA_KEY,
  type ImportedPrompt,
  type PromptExportMetadata,
  type PromptVectors,
} from './exports';
import { writeNpy } from './npy';

const HASH_A = 'a'.repeat(63) + '1';
const HASH_B = 'b'.repeat(63) + '2';
const N = 3;
const H = 4;

/** Values that break naive serialisers: -0, a subnormal, float32 max, non-terminating decimals. */
function makePrompt(numTokens = N, dim = H): PromptVectors {
  const special = [-0, 1e-45, 3.4028234663852886e38, -1 / 3, 0.1, 1e-7, 123456.789, -2.5];
  const vectors = Float32Array.from({ length: numTokens * dim }, (_, i) => special[i] ?? Math.sin(i * 12.9898) * 0.05);
  return { vectors, numTokens, dim };
}

function baseMeta(overrides: Partial<PromptExportMetadata> = {}): PromptExportMetadata {
  return {
    model: { id: 'embedded/tiny-bert', checkpointHash: HASH_A, modelType: 'bert', hiddenSize: H, numLayers: 2, numHeads: 2, vocabSize: 100 },
    task: 'classification',
    template: '{text} It was [MASK].',
    placement: 'after-first-token',
    mode: 'verbalizer',
    classNames: ['negative', 'positive'],
    labelWords: { negative: ['bad', 'terrible'], positive: ['good', 'great'] },
    init: { kind: 'labels' },
    hyperparameters: { promptLength: N, learningRate: 0.03, batchSize: 16, epochs: 10, warmupSteps: 20, clipNorm: 1, valSplit: 0.2, earlyStoppingPatience: 3 },
    seed: 42,
    metrics: { kind: 'classification', zeroShotAccuracy: 0.53, accuracy: 0.71, zeroShotMacroF1: 0.5, macroF1: 0.7 },
    createdAt: '2025-01-02T03:04:05.000Z',
    ...overrides,
  };
}

const headMeta = () =>
  baseMeta({
    mode: 'head',
    labelWords: {},
    head: { weights: Float32Array.from({ length: H * 2 }, (_, i) => (i - 3.3) / 7), bias: Float32Array.from([0.25, -0.1]) },
  });

const generationMeta = () =>
  baseMeta({
    model: { id: 'embedded/tiny-gpt2', checkpointHash: null, modelType: 'gpt2', hiddenSize: H, numLayers: 2, numHeads: 2, vocabSize: 100 },
    task: 'generation',
    template: 'Q: {question} A:',
    placement: 'prefix',
    classNames: [],
    labelWords: {},
    init: { kind: 'text', text: 'Answer the question' },
    metrics: { kind: 'generation', zeroShotExactMatch: null, exactMatch: 0.4, zeroShotTokenF1: null, tokenF1: 0.55 },
  });

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

/** A safetensors file written by hand, for dtypes and shapes our writer never produces. */
function rawSafetensors(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  const h = bytes(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

async function safetensorsContents(file: Uint8Array) {
  const src = bytesSource('t.safetensors', file);
  const header = await readSafetensorsHeader(src);
  const info = header.tensors.get(PROMPT_EMBEDDINGS_KEY)!;
  return { header, info, data: info ? await readTensorData(src, info) : null };
}

describe('formatFloat32', () => {
  it('writes the shortest decimal that reads back as the same float32', () => {
    expect(formatFloat32(Math.fround(0.1))).toBe('0.1');
    expect(formatFloat32(Math.fround(-2.5))).toBe('-2.5');
    expect(formatFloat32(-0)).toBe('-0');
    expect(formatFloat32(1e-45)).toBe('1e-45');
  });

  it('round-trips random float32 bit patterns exactly', () => {
    const patterns = new Uint32Array(5000);
    let x = 2463534242;
    for (let i = 0; i < patterns.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      patterns[i] = x >>> 0;
    }
    const values = new Float32Array(patterns.buffer);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) continue;
      const back = Float32Array.of(JSON.parse(formatFloat32(values[i])));
      expect(new Uint32Array(back.buffer)[0]).toBe(patterns[i]);
    }
  });
});

describe('prompt.json', () => {
  it.each([
    { name: 'verbalizer', meta: baseMeta },
    { name: 'head', meta: headMeta },
    { name: 'generation', meta: generationMeta },
  ])('round-trips $name vectors bit-exactly with all metadata', ({ meta }) => {
    const prompt = makePrompt();
    const m = meta();
    const { prompt: back, metadata } = parsePromptJson(promptJsonText(prompt, m));
    expect([back.numTokens, back.dim]).toEqual([N, H]);
    expect(bits(back.vectors)).toEqual(bits(prompt.vectors));
    const { head, ...rest } = m;
    const { head: backHead, ...backRest } = metadata;
    expect(backRest).toEqual(rest);
    if (head) {
      expect(bits(backHead!.weights)).toEqual(bits(head.weights));
      expect(bits(backHead!.bias)).toEqual(bits(head.bias));
    } else {
      expect(backHead).toBeUndefined();
    }
  });

  it('is plain JSON with the reproduction fields and vectors as [N][H]', () => {
    const doc = JSON.parse(promptJsonText(makePrompt(), headMeta()));
    expect(doc.format).toBe('prompt-tuning-studio/prompt');
    expect(doc.formatVersion).toBe(1);
    expect(doc.model).toMatchObject({ id: 'embedded/tiny-bert', checkpointHash: HASH_A, modelType: 'bert', hiddenSize: H });
    expect(doc).toMatchObject({ task: 'classification', mode: 'head', seed: 42, createdAt: '2025-01-02T03:04:05.000Z' });
    expect(doc.hyperparameters).toMatchObject({ promptLength: N, learningRate: 0.03, warmupSteps: 20, clipNorm: 1, valSplit: 0.2 });
    expect(doc.metrics).toMatchObject({ zeroShotAccuracy: 0.53, accuracy: 0.71, macroF1: 0.7 });
    expect(doc.vectors).toHaveLength(N);
    expect(doc.vectors.every((row: number[]) => row.length === H)).toBe(true);
    expect(doc.vectors[0][2]).toBe(3.4028235e38); // float32 max, shortest form
    expect(Math.fround(doc.vectors[0][2])).toBe(3.4028234663852886e38);
    expect(doc.head.weights).toHaveLength(H); // [H][C]
    expect(doc.head.weights[0]).toHaveLength(2);
    expect(doc.head.bias).toEqual([0.25, Math.fround(-0.1)].map((v) => JSON.parse(formatFloat32(v))));
  });
});

describe('prompt.safetensors and prompt.npy', () => {
  it('prompt.safetensors holds prompt_embeddings F32 [N, H] and string metadata', async () => {
    const prompt = makePrompt();
    const file = promptSafetensors(prompt, baseMeta());
    const { header, info, data } = await safetensorsContents(file);
    expect([...header.tensors.keys()]).toEqual([PROMPT_EMBEDDINGS_KEY]);
    expect(info.dtype).toBe('F32');
    expect(info.shape).toEqual([N, H]);
    expect(bits(data!)).toEqual(bits(prompt.vectors));
    expect(header.metadata).toMatchObject({
      format: 'pt',
      model_id: 'embedded/tiny-bert',
      model_type: 'bert',
      checkpoint_hash: HASH_A,
      num_virtual_tokens: String(N),
      token_dim: String(H),
    });
    expect(Object.values(header.metadata).every((v) => typeof v === 'string')).toBe(true);
    const headerLen = Number(new DataView(file.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0);
  });

  it.each([
    { name: 'verbalizer', meta: baseMeta },
    { name: 'head', meta: headMeta },
  ])('importing prompt.safetensors ($name) restores the vectors and the metadata', async ({ meta }) => {
    const prompt = makePrompt();
    const m = meta();
    const imported = await importPrompt('prompt.safetensors', promptSafetensors(prompt, m));
    expect(imported.format).toBe('safetensors');
    expect(bits(imported.vectors)).toEqual(bits(prompt.vectors));
    expect(imported.metadata?.labelWords).toEqual(m.labelWords);
    expect(imported.metadata?.hyperparameters).toEqual(m.hyperparameters);
    if (m.head) expect(bits(imported.metadata!.head!.weights)).toEqual(bits(m.head.weights));
    expect(imported.checkpointHash).toBe(HASH_A);
    expect(imported.warnings).toEqual([]);
  });

  it('prompt.npy is float32 (N, H) and imports bit-exactly, without metadata', async () => {
    const prompt = makePrompt();
    const file = promptNpy(prompt);
    expect(text(file.subarray(10, 70))).toContain("'shape': (3, 4)");
    const imported = await importPrompt('prompt.npy', file);
    expect([imported.format, imported.numTokens, imported.dim]).toEqual(['npy', N, H]);
    expect(bits(imported.vectors)).toEqual(bits(prompt.vectors));
    expect([imported.metadata, imported.modelId, imported.checkpointHash]).toEqual([null, null, null]);
  });
});

describe('PEFT adapter', () => {
  it.each([
    { modelType: 'bert', taskType: 'FEATURE_EXTRACTION' },
    { modelType: 'distilbert', taskType: 'FEATURE_EXTRACTION' },
    { modelType: 'roberta', taskType: 'FEATURE_EXTRACTION' },
    { modelType: 'gpt2', taskType: 'CAUSAL_LM' },
  ] as const)('task_type for $modelType is $taskType', ({ modelType, taskType }) => {
    expect(peftTaskType(modelType)).toBe(taskType);
    const meta = baseMeta({ model: { ...baseMeta().model, modelType } });
    expect(peftAdapterConfig(makePrompt(), meta).task_type).toBe(taskType);
  });

  it('adapter_config.json has every PromptTuningConfig field, sorted and formatted as PEFT writes it', () => {
    const meta = baseMeta({ model: { ...baseMeta().model, numLayers: 12, numHeads: 6, id: 'bert-base-uncased' } });
    const json = peftAdapterConfigJson(makePrompt(), meta);
    expect(JSON.parse(json)).toEqual({
      auto_mapping: null,
      base_model_name_or_path: 'bert-base-uncased',
      inference_mode: true,
      num_attention_heads: 6,
      num_layers: 12,
      num_transformer_submodules: 1,
      num_virtual_tokens: N,
      peft_type: 'PROMPT_TUNING',
      prompt_tuning_init: 'RANDOM',
      prompt_tuning_init_text: null,
      revision: null,
      task_type: 'FEATURE_EXTRACTION',
      token_dim: H,
      tokenizer_kwargs: null,
      tokenizer_name_or_path: null,
    });
    // json.dumps(indent=2, sort_keys=True): keys in order, 2-space indent, no trailing newline.
    const keys = [...json.matchAll(/^ {2}"([a-z_]+)":/gm)].map((m) => m[1]);
    expect(keys).toEqual([...keys].sort());
    expect(keys).toHaveLength(15);
    expect(json.startsWith('{\n  "auto_mapping": null,\n  "base_model_name_or_path": "bert-base-uncased",\n')).toBe(true);
    expect(json.endsWith('"tokenizer_name_or_path": null\n}')).toBe(true);
  });

  it('escapes non-ASCII like Python json.dumps', () => {
    const meta = baseMeta({ model: { ...baseMeta().model, id: 'modèles/bert' } });
    const json = peftAdapterConfigJson(makePrompt(), meta);
    expect(json).toContain('"base_model_name_or_path": "mod\\u00e8les/bert"');
    expect(/[^\x00-\x7f]/.test(json)).toBe(false);
  });

  it('adapter_model.safetensors holds only prompt_embeddings [N, H] F32 with metadata {format: pt}', async () => {
    const prompt = makePrompt();
    const { header, info, data } = await safetensorsContents(peftAdapterSafetensors(prompt));
    expect([...header.tensors.keys()]).toEqual(['prompt_embeddings']);
    expect([info.dtype, info.shape]).toEqual(['F32', [N, H]]);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(bits(data!)).toEqual(bits(prompt.vectors));
    const imported = await importPrompt('adapter_model.safetensors', peftAdapterSafetensors(prompt));
    expect(bits(imported.vectors)).toEqual(bits(prompt.vectors));
    expect(imported.metadata).toBeNull();
  });

  it('notes where PEFT differs from how the prompt was tuned', () => {
    expect(peftExportNotes(baseMeta()).join(' ')).toMatch(/tuned right after \[CLS\]\/BOS/);
    expect(peftExportNotes(baseMeta({ placement: 'template' })).join(' ')).toMatch(/does not reproduce/);
    expect(peftExportNotes(headMeta()).join(' ')).toMatch(/label head is not part of the PEFT adapter/);
    expect(peftExportNotes(generationMeta())).toEqual([]);
  });
});

describe('exportBundle', () => {
  const all = [
    'prompt.json',
    'prompt.safetensors',
    'prompt.npy',
    'peft/adapter_config.json',
    'peft/adapter_model.safetensors',
  ];

  it.each([
    { name: 'without metrics', metrics: undefined, files: all },
    { name: 'with metrics', metrics: { zeroShotAccuracy: 0.5, accuracy: 0.75, macroF1: 0.74, confusion: [[3, 1], [1, 3]] }, files: [...all, 'metrics.json'] },
  ])('zips every export file ($name), each identical to its own writer', ({ metrics, files }) => {
    const prompt = makePrompt();
    const meta = headMeta();
    const unzipped = unzipSync(exportBundle(prompt, meta, { metrics }));
    expect(Object.keys(unzipped).sort()).toEqual([...files].sort());
    expect(text(unzipped['prompt.json'])).toBe(promptJsonText(prompt, meta));
    expect(unzipped['prompt.safetensors']).toEqual(promptSafetensors(prompt, meta));
    expect(unzipped['prompt.npy']).toEqual(promptNpy(prompt));
    expect(text(unzipped['peft/adapter_config.json'])).toBe(peftAdapterConfigJson(prompt, meta));
    expect(unzipped['peft/adapter_model.safetensors']).toEqual(peftAdapterSafetensors(prompt));
    if (metrics) expect(JSON.parse(text(unzipped['metrics.json']))).toEqual(metrics);
  });

  it('is deterministic and imports back from the zip', async () => {
    const prompt = makePrompt();
    const a = exportBundle(prompt, baseMeta());
    expect(exportBundle(prompt, baseMeta())).toEqual(a);
    const imported = await importPrompt('export.zip', a);
    expect(imported.format).toBe('zip');
    expect(imported.fileName).toBe('export.zip');
    expect(bits(imported.vectors)).toEqual(bits(prompt.vectors));
    expect(imported.metadata?.template).toBe('{text} It was [MASK].');
  });

  it('exportFiles names the same paths as EXPORT_FILE_NAMES', () => {
    const files = exportFiles(makePrompt(), baseMeta(), { metrics: {} });
    expect(Object.keys(files).sort()).toEqual(Object.values(EXPORT_FILE_NAMES).sort());
  });
});

describe('export refuses inconsistent input', () => {
  it.each([
    { name: 'NaN in the vectors', run: () => promptNpy({ ...makePrompt(), vectors: Float32Array.from([1, 2, NaN, 4]), numTokens: 1 }), error: /prompt vectors: NaN at \[0, 2\]/ },
    { name: 'wrong value count', run: () => promptNpy({ vectors: new Float32Array(5), numTokens: 2, dim: 3 }), error: /5 values for shape \[2, 3\]/ },
    { name: 'hidden size mismatch', run: () => promptJsonText(makePrompt(), baseMeta({ model: { ...baseMeta().model, hiddenSize: 8 } })), error: /hiddenSize is 8 but the prompt vectors are 4-dimensional/ },
    { name: 'prompt length mismatch', run: () => promptJsonText(makePrompt(), baseMeta({ hyperparameters: { ...baseMeta().hyperparameters, promptLength: 20 } })), error: /promptLength is 20 but the prompt has 3 vectors/ },
    { name: 'head mode without head', run: () => promptJsonText(makePrompt(), baseMeta({ mode: 'head' })), error: /mode is head but no head weights/ },
    { name: 'head of the wrong shape', run: () => exportBundle(makePrompt(), { ...headMeta(), head: { weights: new Float32Array(6), bias: new Float32Array(2) } }), error: /head weights \[H=4, C=2\]: 6 values/ },
    { name: 'class without label words', run: () => promptSafetensors(makePrompt(), baseMeta({ labelWords: { negative: ['bad'] } })), error: /class "positive" has no label words/ },
    { name: 'label words of an unknown class', run: () => promptJsonText(makePrompt(), baseMeta({ labelWords: { negative: ['bad'], positive: ['good'], neutral: ['ok'] } })), error: /class "neutral", which is not in classNames/ },
    { name: 'bad checkpoint hash', run: () => peftAdapterConfig(makePrompt(), baseMeta({ model: { ...baseMeta().model, checkpointHash: 'abc' } })), error: /checkpointHash "abc" is not a lowercase hex SHA-256/ },
    { name: 'metrics of the other task', run: () => promptJsonText(makePrompt(), { ...generationMeta(), metrics: baseMeta().metrics }), error: /metrics.kind "classification" does not match task generation/ },
  ])('$name', ({ run, error }) => {
    expect(run).toThrow(PromptExportError);
    expect(run).toThrow(error);
  });
});

describe('importPrompt errors name the file', () => {
  const goodJson = () => JSON.parse(promptJsonText(makePrompt(), baseMeta()));
  const jsonWith = (edit: (doc: Record<string, unknown>) => void) => {
    const doc = goodJson();
    edit(doc);
    return bytes(JSON.stringify(doc));
  };
  const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

  it.each([
    { file: 'prompt.json', data: () => bytes('{"vectors": [[1, 2]'), error: /not valid JSON/ },
    { file: 'prompt.json', data: () => bytes('[1, 2]'), error: /not a JSON object/ },
    { file: 'prompt.json', data: () => bytes('{"name": "something else"}'), error: /not a prompt export: "format" is undefined/ },
    { file: 'adapter_config.json', data: () => bytes(peftAdapterConfigJson(makePrompt(), baseMeta())), error: /PEFT adapter_config\.json, which holds no vectors; import adapter_model\.safetensors/ },
    { file: 'prompt.json', data: () => jsonWith((d) => (d.formatVersion = 99)), error: /formatVersion 99 is not supported/ },
    { file: 'prompt.json', data: () => jsonWith((d) => delete d.vectors), error: /has no "vectors"/ },
    { file: 'prompt.json', data: () => jsonWith((d) => ((d.vectors as number[][])[1] = [1, 2])), error: /row 1 has 2 values, row 0 has 4/ },
    { file: 'prompt.json', data: () => jsonWith((d) => ((d.vectors as unknown[][])[0][1] = null)), error: /null at \[0, 1\] is not a finite number/ },
    { file: 'prompt.json', data: () => jsonWith((d) => (d.vectors = [1, 2, 3])), error: /has rank 1/ },
    { file: 'prompt.json', data: () => jsonWith((d) => (d.numTokens = 5)), error: /numTokens\/dim say \[5, 4\] but "vectors" is \[3, 4\]/ },
    { file: 'prompt.json', data: () => jsonWith((d) => delete d.model), error: /has no "model" object/ },
    { file: 'prompt.json', data: () => jsonWith((d) => (d.mode = 'magic')), error: /mode "magic" is not verbalizer or head/ },
    { file: 'w.safetensors', data: () => rawSafetensors({ weight: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32([1])), error: /no "prompt_embeddings" tensor \(found: weight\)/ },
    { file: 'w.safetensors', data: () => rawSafetensors({ prompt_embeddings: { dtype: 'I32', shape: [1, 2], data_offsets: [0, 8] } }, new Uint8Array(8)), error: /"prompt_embeddings" has dtype I32; expected F32/ },
    { file: 'w.safetensors', data: () => rawSafetensors({ prompt_embeddings: { dtype: 'F32', shape: [1, 2, 2], data_offsets: [0, 16] } }, f32([1, 2, 3, 4])), error: /shape \[1, 2, 2\] \(rank 3\); expected rank 2/ },
    { file: 'w.safetensors', data: () => rawSafetensors({ prompt_embeddings: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } }, f32([1, 2, 3, NaN])), error: /"prompt_embeddings": NaN at \[1, 1\]/ },
    { file: 'w.safetensors', data: () => peftAdapterSafetensors(makePrompt()).subarray(0, 60), error: /truncated|runs past the end/ },
    { file: 'w.safetensors', data: () => bytes('not a safetensors file at all'), error: /w\.safetensors: header length/ },
    { file: 'p.npy', data: () => writeNpy(Float32Array.from([1, 2, 3]), [3]), error: /shape \(3\) \(rank 1\); expected rank 2/ },
    { file: 'p.npy', data: () => writeNpy(Float32Array.from([1, Infinity]), [1, 2]), error: /Infinity at \[0, 1\]/ },
    { file: 'p.npy', data: () => bytes('\x93NUMPY\x01\x00'), error: /not a NumPy \.npy file/ },
    { file: 'prompt.bin', data: () => new Uint8Array([0, 1, 2, 3]), error: /unrecognised file/ },
    { file: 'b.zip', data: () => exportBundle(makePrompt(), baseMeta()).subarray(0, 30), error: /not a readable zip/ },
  ])('$file: $error', async ({ file, data, error }) => {
    const result = importPrompt(file, data());
    await expect(result).rejects.toThrow(PromptImportError);
    await expect(result).rejects.toThrow(new RegExp(`^${file.replace('.', '\\.')}`));
    await expect(result).rejects.toThrow(error);
  });

  it('warns instead of failing when converting F16 embeddings', async () => {
    // 1.0 and -2.0 as IEEE half: 0x3c00, 0xc000.
    const half = new Uint8Array([0x00, 0x3c, 0x00, 0xc0]);
    const imported = await importPrompt('a.safetensors', rawSafetensors({ prompt_embeddings: { dtype: 'F16', shape: [1, 2], data_offsets: [0, 4] } }, half));
    expect(Array.from(imported.vectors)).toEqual([1, -2]);
    expect(imported.warnings.join(' ')).toMatch(/was F16; converted to F32/);
  });

  it('keeps the vectors but warns when embedded metadata is broken', async () => {
    const file = rawSafetensors(
      { __metadata__: { format: 'pt', [SAFETENSORS_METADATA_KEY]: '{"model": 3' }, prompt_embeddings: { dtype: 'F32', shape: [1, 2], data_offsets: [0, 8] } },
      f32([1, 2]),
    );
    const imported = await importPrompt('x.safetensors', file);
    expect(imported.metadata).toBeNull();
    expect(imported.warnings.join(' ')).toMatch(/x\.safetensors: its "prompt_tuning_studio" metadata is unreadable/);
  });
});

describe('checkPromptAgainstModel', () => {
  const imported = (over: Partial<ImportedPrompt> = {}): ImportedPrompt => ({
    ...makePrompt(),
    fileName: 'prompt.json',
    format: 'prompt.json',
    metadata: baseMeta(),
    modelId: 'embedded/tiny-bert',
    checkpointHash: HASH_A,
    warnings: [],
    ...over,
  });
  const model = { hiddenSize: H, modelId: 'embedded/tiny-bert', checkpointHash: HASH_A, modelType: 'bert' as const };

  it.each([
    { name: 'same checkpoint', file: imported(), m: model, errors: [], warnings: [] },
    {
      name: 'different hidden size',
      file: imported(),
      m: { ...model, hiddenSize: 768 },
      errors: [/prompt\.json: the prompt vectors have size 4 but model "embedded\/tiny-bert" has hidden size 768/],
      warnings: [],
    },
    {
      name: 'different checkpoint hash',
      file: imported(),
      m: { ...model, checkpointHash: HASH_B, modelId: 'other' },
      errors: [],
      warnings: [/tuned on checkpoint aaaaaaaaaaaa… \("embedded\/tiny-bert"\) but the loaded checkpoint is bbbbbbbbbbbb… \("other"\)/],
    },
    {
      name: 'no hash in the file, different model id',
      file: imported({ checkpointHash: null, modelId: 'bert-base-uncased' }),
      m: model,
      errors: [],
      warnings: [/tuned on model "bert-base-uncased", the loaded model is "embedded\/tiny-bert"/],
    },
    {
      name: 'a bare .npy',
      file: imported({ fileName: 'p.npy', format: 'npy', metadata: null, modelId: null, checkpointHash: null }),
      m: model,
      errors: [],
      warnings: [/p\.npy: no checkpoint hash to compare/],
    },
    {
      name: 'another model family',
      file: imported(),
      m: { ...model, modelType: 'gpt2' as const },
      errors: [],
      warnings: [/tuned on a bert model but the loaded model is gpt2/],
    },
    {
      name: 'import warnings are carried',
      file: imported({ warnings: ['prompt.json: converted'] }),
      m: model,
      errors: [],
      warnings: [/converted/],
    },
  ])('$name', ({ file, m, errors, warnings }) => {
    const result = checkPromptAgainstModel(file, m);
    expect(result.errors).toHaveLength(errors.length);
    errors.forEach((re, i) => expect(result.errors[i]).toMatch(re));
    expect(result.warnings).toHaveLength(warnings.length);
    warnings.forEach((re, i) => expect(result.warnings[i]).toMatch(re));
  });
});
