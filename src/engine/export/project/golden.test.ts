/**
 * train.py against the studio: it compiles (python3 -m py_compile), and its template rendering,
 * label-word scoring plan, seeded random numbers, schedule and inits equal the engine's on the shared
 * golden file (testdata/template-golden.json), which this test also checks against the engine itself.
 * Regenerate the golden file after an intended change: UPDATE_GOLDEN=1 npx vitest run src/engine/export/project/golden.test.ts
 *
 * Python: CI installs Debian's python3 (.ci/run). Where it is missing the Python checks are skipped
 * with a line saying so.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../model/config';
import { loadTokenizer } from '../../../model/tokenizer';
import { parsePromptJson } from '../promptJson';
import { projectPromptMetadata, csvText, type ProjectInput } from '../project';
import { goldenCases, type GoldenModel, type LoadedTokenizer } from './golden';
import { TRAIN_PY } from './trainPy';
const TRAIN_PY_SOURCE = join('src', 'engine', 'export', 'project', 'train.py');
const TRAIN_PY_MODULE = join('src', 'engine', 'export', 'project', 'trainPy.ts');

const GOLDEN = join('src', 'engine', 'export', 'testdata', 'template-golden.json');
const CHECK = join('src', 'engine', 'export', 'project', 'check_train_py.py');
const PYTHON = process.env.PYTHON ?? 'python3';

function pythonAvailable(): boolean {
  const ok = spawnSync(PYTHON, ['--version']).status === 0;
  if (!ok) console.warn(`SKIPPED: the Python checks of train.py need ${PYTHON} (apt-get install -y python3; .ci/run installs it)`);
  return ok;
}
const HAS_PYTHON = pythonAvailable();
/** torch is not needed by the suite (CI has none; the GPU kit's machine has it): where it is, train.py's torch encoders are checked too. */
const HAS_TORCH = HAS_PYTHON && spawnSync(PYTHON, ['-c', 'import torch']).status === 0;

function python(args: string[]): string {
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${PYTHON} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function embedded(dir: string): LoadedTokenizer {
  const read = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>;
  const config = parseConfig(read('config.json'));
  const tokenizer = loadTokenizer({ tokenizerJson: read('tokenizer.json'), tokenizerConfig: read('tokenizer_config.json') }, config.modelType, dir);
  return { config, tokenizer, hasLmHead: true };
}

describe('train.py', () => {
  it('is embedded unchanged in trainPy.ts (npm run build:train-py)', () => {
    const source = readFileSync(TRAIN_PY_SOURCE, 'utf8');
    expect(TRAIN_PY).toBe(source);
    expect(readFileSync(TRAIN_PY_MODULE, 'utf8')).toContain(`export const TRAIN_PY: string = ${JSON.stringify(source)};`);
  });

  it('golden file: the engine still gives what it records', async () => {
    const tokenizers: Record<GoldenModel, LoadedTokenizer> = {
      bert: embedded(join('public', 'models', 'studio-bert-tiny')),
      gpt2: embedded(join('public', 'models', 'studio-gpt2-tiny')),
    };
    const now = JSON.parse(JSON.stringify(await goldenCases(tokenizers))) as unknown;
    if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, `${JSON.stringify(now, null, 1)}\n`);
    expect(now).toEqual(JSON.parse(readFileSync(GOLDEN, 'utf8')));
  });

  it.skipIf(!HAS_PYTHON)('compiles with python3 -m py_compile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'train-py-'));
    python(['-m', 'py_compile', TRAIN_PY_SOURCE, CHECK]);
    // The embedded text too, as a project folder would hold it.
    writeFileSync(join(dir, 'train.py'), TRAIN_PY);
    python(['-m', 'py_compile', join(dir, 'train.py')]);
    // Its options parse before torch is imported (so --help works anywhere).
    expect(python([join(dir, 'train.py'), '--help'])).toContain('--zero-shot-only');
  });

  it.skipIf(!HAS_PYTHON)('renders, scores, draws and schedules as the studio does (golden file, without torch)', () => {
    const out = python([CHECK, 'golden', GOLDEN]);
    expect(out).toMatch(/^0 failure\(s\) in \d+ golden cases/m);
  });

  it.skipIf(!HAS_TORCH)("computes P-tuning's prompt encoders (MLP; bidirectional LSTM + MLP) as the studio does, in torch", () => {
    expect(python([CHECK, 'encoder-forward', GOLDEN])).toMatch(/^0 failure\(s\) in 2 encoder forward cases/m);
  });

  it.skipIf(!HAS_PYTHON)('the python check fails when the rendering differs', () => {
    // A golden file with one token changed must be reported: the check can fail.
    const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as { templates: { encoded: { ids: number[] }[] }[] };
    golden.templates[0].encoded[0].ids[1] += 1;
    const path = join(mkdtempSync(join(tmpdir(), 'golden-')), 'golden.json');
    writeFileSync(path, JSON.stringify(golden));
    const r = spawnSync(PYTHON, [CHECK, 'golden', path], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/template 0 .* row 0/);
  });

  it.skipIf(!HAS_PYTHON)('reads the exported CSVs back exactly (commas, quotes, newlines, unicode, edge spaces)', () => {
    const columns = ['text', 'label', 'note'];
    const rows = [
      { text: 'plain', label: 'a', note: '' },
      { text: 'comma, inside', label: 'b', note: '"quoted" and ""double""' },
      { text: 'line one\nline two\r\nline three', label: 'a', note: '  edge spaces  ' },
      { text: 'Ünïcödé 日本語 🙂, "mixed"\n', label: 'b', note: '\ttab' },
      { text: '', label: 'a', note: 'empty text' },
    ];
    const path = join(mkdtempSync(join(tmpdir(), 'csv-')), 'train.csv');
    writeFileSync(path, csvText(columns, rows));
    expect(JSON.parse(python([CHECK, 'csv', path]))).toEqual(rows);
  });

  it.skipIf(!HAS_PYTHON)("writes prompt.json in the studio's format (the studio parses it back)", () => {
    const input = {
      template: '{text} It was [MASK].',
      columns: ['text', 'label'],
      labelColumn: 'label',
      textColumns: ['text'],
      classes: ['neg', 'pos'],
      labelWords: { neg: ['bad'], pos: ['good'] },
      train: [{ text: 'x', label: 'pos' }],
      validation: [],
      config: { mode: 'head', method: 'prompt', promptLength: 2, init: 'labels', learningRate: 0.01, warmupFraction: 0.06, batchSize: 4, epochs: 2, maxGradNorm: 1, valFraction: 0.2, patience: 5, seed: 3 },
      model: {
        id: 'org/model',
        checkpointHash: null,
        config: { modelType: 'bert', lmKind: 'masked-lm', hiddenSize: 3, numLayers: 1, numHeads: 1, vocabSize: 10, maxPositions: 32, positionOffset: 0, typeVocabSize: 2 },
        special: { cls: 1, sep: 2, mask: 3, pad: 0, bos: null, eos: null, unk: 4 },
        addBos: false,
        tokenizerVocabSize: 10,
        hasLmHead: true,
      },
      placement: 'after-first-token',
      promptLength: 2,
      init: { kind: 'labels' },
      createdAt: '2026-11-29T12:00:00.000Z',
    } satisfies ProjectInput;
    const meta = { ...projectPromptMetadata(input), metrics: { kind: 'classification', zeroShotAccuracy: 0.5, accuracy: 0.75, zeroShotMacroF1: null, macroF1: 0.7 } };
    const vectors = [
      [0.1, -2.5e-7, 3],
      [1 / 3, -1.5, 123456.789],
    ];
    const head = { weights: [[0.5, -0.5], [1e-3, 2], [0, 1 / 7]], bias: [0.25, -0.125] };
    const path = join(mkdtempSync(join(tmpdir(), 'prompt-')), 'in.json');
    writeFileSync(path, JSON.stringify({ vectors, metadata: meta, head }));
    const { prompt, metadata } = parsePromptJson(python([CHECK, 'prompt-json', path]));
    expect(Array.from(prompt.vectors)).toEqual(vectors.flat().map(Math.fround));
    expect(Array.from(metadata.head!.weights)).toEqual(head.weights.flat().map(Math.fround));
    expect(metadata.metrics).toEqual(meta.metrics);
    expect(metadata.template).toBe(input.template);
  });
});
