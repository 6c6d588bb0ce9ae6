/**
 * Builds the pretraining corpus, trains the two embedded models' tokenizers on its train split and
 * writes them, with a corpus record for the model card:
 *
 *   public/models/studio-bert-tiny/{tokenizer.json, tokenizer_config.json, corpus.json}
 *   public/models/studio-gpt2-tiny/{tokenizer.json, tokenizer_config.json, corpus.json}
 *
 * Then encodes both splits with each tokenizer (cached in .cache/token-streams/ for pretraining) to
 * report token counts. Usage: npx tsx src/cli/build-tokenizers.ts [--vocab 8000] [--max-length 128]
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildCorpus, loadTokenStreams, type CorpusRecord, type TokenStream } from '../pretrain/corpus';
import { trainByteLevelBpe, trainWordPiece, type TrainedTokenizer } from '../pretrain/tokenizerTrainer';

export const BERT_MODEL_DIR = 'public/models/studio-bert-tiny';
export const GPT2_MODEL_DIR = 'public/models/studio-gpt2-tiny';

const { values } = parseArgs({
  options: {
    vocab: { type: 'string', default: '8000' },
    'max-length': { type: 'string', default: '128' },
  },
});
const vocabSize = Number(values.vocab);
const modelMaxLength = Number(values['max-length']);

interface CorpusJson {
  model: string;
  tokenizer: {
    type: 'WordPiece' | 'ByteLevelBPE';
    vocabSize: number;
    merges: number;
    alphabetSize: number;
    trainedOn: 'train split';
    trainingSeconds: number;
    /** Tokens (no special tokens) per split, and per whitespace word. */
    tokens: { train: number; heldOut: number; perWord: number };
    /** Share of held-out tokens that are the unknown token (WordPiece only; byte-level BPE has none). */
    heldOutUnknownRate: number | null;
  };
  corpus: CorpusRecord;
}

function writeModel(dir: string, trained: TrainedTokenizer): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(trained.tokenizerJson) + '\n');
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(trained.tokenizerConfig, null, 2) + '\n');
}

function countId(stream: TokenStream, id: number): number {
  let n = 0;
  for (const x of stream.ids) if (x === id) n++;
  return n;
}

function describe(
  name: string,
  dir: string,
  type: CorpusJson['tokenizer']['type'],
  trained: TrainedTokenizer,
  record: CorpusRecord,
  unknownId: number | null,
): CorpusJson {
  const started = performance.now();
  const streams = loadTokenStreams(dir);
  const encodeSeconds = (performance.now() - started) / 1000;
  const json: CorpusJson = {
    model: name,
    tokenizer: {
      type,
      vocabSize: trained.stats.vocabSize,
      merges: trained.stats.merges,
      alphabetSize: trained.stats.alphabetSize,
      trainedOn: 'train split',
      trainingSeconds: Math.round(trained.stats.trainingMs / 100) / 10,
      tokens: {
        train: streams.train.ids.length,
        heldOut: streams.heldOut.ids.length,
        perWord: Math.round((streams.train.ids.length / record.split.train.words) * 1000) / 1000,
      },
      heldOutUnknownRate: unknownId === null ? null : countId(streams.heldOut, unknownId) / streams.heldOut.ids.length,
    },
    corpus: record,
  };
  writeFileSync(join(dir, 'corpus.json'), JSON.stringify(json, null, 2) + '\n');
  console.log(`${name}: ${JSON.stringify(json.tokenizer)} (encoding ${encodeSeconds.toFixed(1)} s${streams.fromCache ? ', cached' : ''})`);
  for (const file of ['tokenizer.json', 'tokenizer_config.json', 'corpus.json']) {
    console.log(`  ${join(dir, file)}: ${(statSync(join(dir, file)).size / 1024).toFixed(1)} KiB`);
  }
  return json;
}

const corpusStarted = performance.now();
const corpus = buildCorpus();
const { record } = corpus;
console.log(
  `corpus: ${record.total.words} words, ${record.total.characters} characters in ${record.total.documents} documents ` +
    `(train ${record.split.train.paragraphs} / held-out ${record.split.heldOut.paragraphs} paragraphs), ` +
    `${((performance.now() - corpusStarted) / 1000).toFixed(1)} s`,
);

const bert = trainWordPiece(corpus.train, { vocabSize, modelMaxLength });
console.log(`WordPiece: ${JSON.stringify(bert.stats)}`);
writeModel(BERT_MODEL_DIR, bert);

const gpt2 = trainByteLevelBpe(corpus.train, { vocabSize, modelMaxLength });
console.log(`byte-level BPE: ${JSON.stringify(gpt2.stats)}`);
writeModel(GPT2_MODEL_DIR, gpt2);

describe('studio-bert-tiny', BERT_MODEL_DIR, 'WordPiece', bert, record, bert.tokenizerJson.model.vocab['[UNK]']);
describe('studio-gpt2-tiny', GPT2_MODEL_DIR, 'ByteLevelBPE', gpt2, record, null);
