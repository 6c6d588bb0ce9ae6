/**
 * The shared golden file of the "Train at scale" project (testdata/template-golden.json): what the
 * engine's own code makes of templates, rows, label words, seeds and schedules, recorded so that
 * train.py's port can be checked against it without torch (check_train_py.py, run by
 * golden.test.ts). Test support only: built from the embedded models' tokenizers.
 *
 * Every text the engine hands its tokenizer is recorded with the ids it got (`pieces`), so the
 * python side tokenises through that table and checks the template logic, not a tokenizer.
 */
import * as tf from '@tensorflow/tfjs';
import { withoutWordStartMarker, type TextTokenizer } from '../../../model/tokenizer';
import type { FrozenLM, TransformerConfig } from '../../../model/types';
import type { Row } from '../../data';
import { seededRandom } from '../../random';
import { createLabelHead, createLstmPromptEncoder, createPromptEncoder, initTokenIds, SoftPrompt, tokenFrequencies } from '../../softPrompt';
import { compileTemplate } from '../../template';
import { learningRateAt } from '../../train';
import type { PromptInit } from '../../types';
import { buildVerbalizer } from '../../verbalizer';
import { projectModelJson } from '../project';

export type GoldenModel = 'bert' | 'gpt2';

export interface LoadedTokenizer {
  config: TransformerConfig;
  tokenizer: TextTokenizer;
  hasLmHead: boolean;
}

type Tables = { encode: Map<string, number[]>; encodeStart: Map<string, number[]> };

/** A tokenizer that records every text it encodes (and the ids, by method), otherwise the same object. */
function recording(tokenizer: TextTokenizer, tables: Tables): TextTokenizer {
  return new Proxy(tokenizer, {
    get(target, key) {
      if (key === 'encode' || key === 'encodeStart') {
        return (text: string) => {
          const ids = target[key](text);
          tables[key].set(text, [...ids]); // a copy: the template cuts the arrays it gets when it truncates
          return ids;
        };
      }
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const sortedTable = (m: Map<string, number[]>) => Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

interface TemplateCase {
  model: GoldenModel;
  template: string;
  columns: string[];
  promptLength: number;
  prefixLength?: number;
  maxLength?: number;
  maskRequired?: boolean;
  rows: { row: Row; withSoft?: boolean; reserve?: number }[];
}

const ROWS: Row[] = [
  { text: 'A quiet, warm film.', title: 'Review' },
  { text: '  "Loud" and, frankly,\nbad  ', title: ' café — naïve ' },
  { text: 'Ünïcödé 日本語 text 🙂 with ümlauts', title: '' },
  { text: 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen', title: 'a b c d e f g h i j k l m n o p' },
];

const TEMPLATE_CASES: TemplateCase[] = [
  { model: 'bert', template: '{text} It was [MASK].', columns: ['text', 'title'], promptLength: 4, rows: ROWS.map((row) => ({ row })) },
  { model: 'bert', template: '{text} It was [MASK].', columns: ['text', 'title'], promptLength: 4, rows: ROWS.map((row) => ({ row, withSoft: false, reserve: 2 })) },
  { model: 'bert', template: '[SOFT*2] {title} [SEP] {text} [SOFT] It was [MASK] .', columns: ['text', 'title'], promptLength: 20, rows: ROWS.map((row) => ({ row })) },
  { model: 'bert', template: '{title}: {text} was [MASK]', columns: ['text', 'title'], promptLength: 3, maxLength: 16, rows: ROWS.map((row) => ({ row, reserve: 1 })) },
  { model: 'bert', template: '{text}', columns: ['text', 'title'], promptLength: 2, maskRequired: false, rows: ROWS.map((row) => ({ row })) },
  { model: 'bert', template: '{text} It was [MASK].', columns: ['text', 'title'], promptLength: 0, prefixLength: 5, rows: ROWS.map((row) => ({ row })) },
  { model: 'gpt2', template: 'Review: {text} Sentiment:', columns: ['text', 'title'], promptLength: 4, rows: ROWS.map((row) => ({ row })) },
  { model: 'gpt2', template: '{text}\nLabel:', columns: ['text', 'title'], promptLength: 2, rows: ROWS.map((row) => ({ row, withSoft: false })) },
  { model: 'gpt2', template: '  [SOFT*2]{title} [SOFT] {text} It was [MASK]', columns: ['text', 'title'], promptLength: 9, maxLength: 20, rows: ROWS.map((row) => ({ row, reserve: 2 })) },
  { model: 'gpt2', template: '{title} / {text} =', columns: ['text', 'title'], promptLength: 0, prefixLength: 3, maxLength: 18, rows: ROWS.map((row) => ({ row })) },
];

interface VerbalizerCase {
  model: GoldenModel;
  template: string;
  labelWords: Record<string, string[]>;
  row: Row;
}

const VERBALIZER_CASES: VerbalizerCase[] = [
  { model: 'bert', template: '{text} It was [MASK].', labelWords: { positive: ['good', 'fantastic', 'great'], negative: ['bad', 'terrible', 'unwatchable'] }, row: ROWS[0] },
  { model: 'gpt2', template: 'Review: {text} Sentiment:', labelWords: { positive: ['good', 'fantastic'], negative: ['bad', 'goodness', 'dreadful'], neutral: ['so-so'] }, row: ROWS[1] },
  { model: 'gpt2', template: '{text} It was [MASK]', labelWords: { spam: ['money'], ham: ['list', 'lists'] }, row: ROWS[2] },
];

/** The log-probability the class-score cases use at (row of the reads matrix, token): no tensor to store. */
export function fakeLogProb(row: number, token: number): number {
  return -((((row + 1) * 31 + token * 17) % 97) / 10);
}

const RNG_SEEDS = [42, 0, 7, -3, 4294967301, 1.5];
const RNG_STREAMS = ['', 'shuffle', 'split', 'init-vocab', 'init-random', 'ünï·stream'];

/** Everything the golden file holds, computed by the engine now. */
export async function goldenCases(tokenizers: Record<GoldenModel, LoadedTokenizer>) {
  const pieces: Record<GoldenModel, Tables> = { bert: { encode: new Map(), encodeStart: new Map() }, gpt2: { encode: new Map(), encodeStart: new Map() } };
  const models = Object.fromEntries(
    (Object.keys(tokenizers) as GoldenModel[]).map((m) => {
      const { config, tokenizer, hasLmHead } = tokenizers[m];
      return [m, projectModelJson({ id: m, checkpointHash: null, config, special: tokenizer.special, addBos: tokenizer.addBos, tokenizerVocabSize: tokenizer.vocabSize, hasLmHead })];
    }),
  );
  const templates = TEMPLATE_CASES.map((c) => {
    const { config, tokenizer } = tokenizers[c.model];
    const tok = recording(tokenizer, pieces[c.model]);
    const template = compileTemplate(c.template, {
      tokenizer: tok,
      config,
      columns: c.columns,
      promptLength: c.promptLength,
      prefixLength: c.prefixLength,
      maxLength: c.maxLength,
      maskRequired: c.maskRequired,
    });
    return {
      ...c,
      compiled: {
        placement: template.placement,
        softCount: template.softCount,
        fixedLength: template.fixedLength,
        maxLength: template.maxLength,
        spaceBeforePrediction: template.spaceBeforePrediction,
        hasMask: template.hasMask,
        columns: template.columns,
      },
      encoded: c.rows.map((r) => template.encode(r.row, { withSoft: r.withSoft, reserve: r.reserve })),
    };
  });
  const verbalizers = VERBALIZER_CASES.map((c) => {
    const { config, tokenizer } = tokenizers[c.model];
    const tok = recording(tokenizer, pieces[c.model]);
    const template = compileTemplate(c.template, { tokenizer: tok, config, columns: Object.keys(c.row), promptLength: 3 });
    const verbalizer = buildVerbalizer(c.labelWords, tok, { spaceBefore: template.spaceBeforePrediction, vocabSize: config.vocabSize, lmKind: config.lmKind });
    try {
      const example = template.encode(c.row, { reserve: verbalizer.extraPositions });
      const scoring = verbalizer.scoringInputs(example);
      // Class scores for fakeLogProb over the reads of one example ([S * K, V] rows, S sequences of K reads).
      const K = Math.max(1, ...verbalizer.sequences.map((s) => s.reads.length));
      const R = verbalizer.sequences.length * K;
      const V = config.vocabSize;
      const values = new Float32Array(R * V);
      for (let r = 0; r < R; r++) for (let v = 0; v < V; v++) values[r * V + v] = fakeLogProb(r, v);
      const scores = tf.tidy(() => verbalizer.classScores(tf.tensor2d(values, [R, V])).arraySync()[0]);
      return {
        ...c,
        spaceBefore: template.spaceBeforePrediction,
        tokenIds: verbalizer.words.map((ws) => ws.map((w) => w.tokenIds)),
        labelWordIds: verbalizer.labelWordIds,
        extraPositions: verbalizer.extraPositions,
        sequences: verbalizer.sequences,
        readsPerSequence: K,
        example,
        scoring,
        classScores: scores,
      };
    } finally {
      verbalizer.dispose();
    }
  });
  const random = RNG_SEEDS.flatMap((seed) =>
    RNG_STREAMS.map((stream) => {
      const a = seededRandom(seed, stream);
      const uniforms = [a.uniform(), a.uniform(), a.uniform(), a.uniform()];
      const b = seededRandom(seed, stream);
      const normals = [b.normal(), b.normal()];
      const shuffle = seededRandom(seed, stream).shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      return { seed, stream, state: seededRandom(seed, stream).state(), uniforms, normals, shuffle };
    }),
  );
  const schedules = [
    { totalSteps: 50, warmupSteps: 3, peak: 0.1 },
    { totalSteps: 10, warmupSteps: 0, peak: 0.3 },
    { totalSteps: 7, warmupSteps: 7, peak: 1 },
  ].map((s) => ({ ...s, rates: Array.from({ length: s.totalSteps }, (_, step) => learningRateAt(step, s.totalSteps, s.peak, s.warmupSteps)) }));
  const sequences = [
    [5, 9, 9, 2, 7, 5, 9],
    [2, 2, 11, 0, 5],
    [101, 5, 102],
  ];
  const specials = [0, 101, 102];
  const fakeTokenizer = { special: { cls: 101, sep: 102, pad: 0, mask: null, bos: null, eos: null, unk: null } } as unknown as TextTokenizer;
  const frequent = tokenFrequencies(sequences, fakeTokenizer);
  const fakeModel = { config: { vocabSize: 40 } } as unknown as FrozenLM;
  const inits = (
    [
      { init: 'labels', length: 6, seed: 3, labelWordIds: [[7, 8], [20]] },
      { init: 'labels', length: 2, seed: 3, labelWordIds: [[7, 8], [20, 7]] },
      { init: 'vocab', length: 4, seed: 11 },
      { init: 'vocab', length: 8, seed: 1 },
      { init: 'text', length: 5, seed: 1, textIds: [4, 6] },
    ] as { init: PromptInit; length: number; seed: number; labelWordIds?: number[][]; textIds?: number[] }[]
  ).map((c) => {
    const tokenizer = c.textIds ? ({ ...fakeTokenizer, encode: () => c.textIds, encodeStart: () => c.textIds } as unknown as TextTokenizer) : fakeTokenizer;
    const ids = initTokenIds(fakeModel, { length: c.length, init: c.init, seed: c.seed, labelWordIds: c.labelWordIds, frequentTokenIds: frequent, tokenizer, text: 'x' });
    return { ...c, vocabSize: 40, ids };
  });
  const encoder = createPromptEncoder([3, 2, 4], 'relu', 5);
  const head = createLabelHead(4, 3, 9);
  const read = (t: tf.Tensor) => Array.from(t.dataSync());
  // P-tuning's encoders on 4 embeddings: their draws, and what they compute (train.py's torch modules are
  // checked against `output` where torch is installed, check_train_py.py encoder-forward).
  const embeddings = Array.from({ length: 4 }, (_, i) => Array.from({ length: 3 }, (_, j) => Math.sin(1 + 3 * i + j)));
  const outputOf = (e: typeof encoder) => {
    const prompt = new SoftPrompt(tf.variable(tf.tensor2d(embeddings)), null, { method: 'p-tuning', encoder: e });
    const out = tf.tidy(() => prompt.output());
    const values = read(out);
    out.dispose();
    prompt.vectors.dispose();
    return values;
  };
  const lstm = createLstmPromptEncoder(3, 2, 7);
  const direction = (d: NonNullable<typeof lstm.lstm>[number]['forward']) => ({ inputWeight: read(d.inputWeight), recurrentWeight: read(d.recurrentWeight), bias: read(d.bias) });
  const inited = {
    encoder: { sizes: [3, 2, 4], seed: 5, layers: encoder.layers.map((l) => ({ weight: read(l.weight), bias: read(l.bias) })) },
    head: { hidden: 4, classes: 3, seed: 9, weight: read(head.weight), bias: read(head.bias) },
    mlpForward: { sizes: [3, 2, 4], seed: 5, embeddings, output: outputOf(encoder) },
    lstmEncoder: {
      hidden: 3,
      encoderHidden: 2,
      seed: 7,
      lstm: lstm.lstm!.map((l) => ({ forward: direction(l.forward), backward: direction(l.backward) })),
      mlp: lstm.layers.map((l) => ({ weight: read(l.weight), bias: read(l.bias) })),
      embeddings,
      output: outputOf(lstm),
    },
  };
  const lstmVariables = lstm.lstm!.flatMap((l) => [l.forward, l.backward]).flatMap((d) => [d.inputWeight, d.recurrentWeight, d.bias]);
  tf.dispose([...encoder.layers.flatMap((l) => [l.weight, l.bias]), head.weight, head.bias, ...lstmVariables, ...lstm.layers.flatMap((l) => [l.weight, l.bias])]);
  // SentencePiece tokenizers: the continuation tokenizer's tokenizer.json (no word-start marker).
  const wordStartMarker = [
    { name: 'Metaspace, prepend always', input: { normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: false } } },
    { name: 'Metaspace, add_prefix_space', input: { normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', add_prefix_space: true } } },
    { name: 'Prepend in a Sequence', input: { normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] }, pre_tokenizer: null } },
    { name: 'byte-level BPE', input: { normalizer: null, pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false } } },
    { name: 'Metaspace never', input: { normalizer: null, pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Metaspace', replacement: '▁', prepend_scheme: 'never' }] } } },
  ].map((c) => ({ ...c, output: withoutWordStartMarker(c.input) ?? null }));
  return {
    description: 'Generated by src/engine/export/project/golden.test.ts (UPDATE_GOLDEN=1); checked against the engine there and against train.py by check_train_py.py.',
    models,
    pieces: Object.fromEntries((Object.keys(pieces) as GoldenModel[]).map((m) => [m, { encode: sortedTable(pieces[m].encode), encodeStart: sortedTable(pieces[m].encodeStart) }])),
    templates,
    verbalizers,
    random,
    schedules,
    frequencies: { sequences, specials, frequent },
    inits,
    inited,
    wordStartMarker,
  };
}
