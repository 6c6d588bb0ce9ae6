/**
 * Test support (Node only): a local stand-in for the Hugging Face Hub on 127.0.0.1 that serves
 * the Hub's URL layout from checkpoints held in memory, for the unit tests and the e2e spec.
 *
 * - `GET <hub>/<repo>/resolve/<revision>/<file>`: small files directly; LFS files (weights) with a
 *   302 to a "CDN" on another port (another origin, as the Hub's CDN is), carrying X-Linked-Size,
 *   X-Linked-Etag (the SHA-256) and X-Repo-Commit. Range requests (`bytes=a-b`, `bytes=a-`) get 206.
 * - Errors as the Hub sends them: 404 with X-Error-Code RepoNotFound / RevisionNotFound /
 *   EntryNotFound and a JSON `{"error": ...}`; 401 GatedRepo without the right token.
 * - `GET <hub>/api/models/<repo>[/revision/<rev>]` (siblings) and `/api/models/<repo>/tree/<rev>`.
 * - CORS as the Hub does it: any origin, preflights answered, the size/range/etag/error headers exposed.
 * - Faults per file: cut the connection after N bytes (a number of times), or trickle the body.
 * Every request is recorded, and every response is `Cache-Control: no-store` so that the browser's
 * HTTP cache never answers in the server's place (the tests count requests).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeSafetensors } from '../model/safetensors';
import { hfCheckpointFiles, hfConfig, randomHfWeights, type HfTensors } from '../model/testing/hfCheckpoint';
import { bf16Safetensors, LLAMA_CASES, llamaCheckpointFiles, randomLlamaWeights } from '../model/testing/llamaCheckpoint';

/** A file too large to hold: its bytes are made on demand (a safetensors header, then zeros). */
export interface VirtualFile {
  size: number;
  read(start: number, end: number): Uint8Array;
}

export interface FixtureRepo {
  files: Map<string, Uint8Array | VirtualFile>;
  /** Revisions that resolve (default ['main']). */
  revisions?: string[];
  /** When set, every request needs `Authorization: Bearer <token>` (a gated repo). */
  token?: string;
  /** Cut the connection after `afterBytes` of the body, the first `times` requests for `file`. */
  cut?: { file: string; afterBytes: number; times: number };
  /** Send `file` slowly: `bytesPerTick` every `tickMs`. */
  trickle?: { file: string; bytesPerTick: number; tickMs: number };
  /** Serve no `api/` routes for this repo (a mirror that only proxies `resolve`). */
  noApi?: boolean;
}

export interface RecordedRequest {
  server: 'hub' | 'cdn';
  method: string;
  /** Path and query. */
  url: string;
  range?: string;
  authorization?: string;
  status: number;
}

export interface HubServer {
  /** The Hub's address, e.g. http://127.0.0.1:41234 */
  endpoint: string;
  cdn: string;
  requests: RecordedRequest[];
  repos: Map<string, FixtureRepo>;
  /**
   * Resolves with the first request (already recorded or still to come) that `matches`: a test
   * waits for the request it means instead of polling `requests` or sleeping.
   */
  nextRequest(matches: (request: RecordedRequest) => boolean): Promise<RecordedRequest>;
  close(): Promise<void>;
}

const LFS_EXTENSIONS = ['.safetensors', '.bin', '.h5', '.msgpack', '.onnx', '.pt'];
const EXPOSED = 'Content-Length, Content-Range, Content-Type, ETag, Accept-Ranges, Link, Location, X-Linked-Size, X-Linked-Etag, X-Repo-Commit, X-Error-Code, X-Error-Message, X-Request-Id';
const COMMIT = 'a'.repeat(40);

const isLfs = (name: string) => LFS_EXTENSIONS.some((e) => name.endsWith(e));
const isVirtual = (f: Uint8Array | VirtualFile): f is VirtualFile => !(f instanceof Uint8Array);
const sizeOf = (f: Uint8Array | VirtualFile) => (isVirtual(f) ? f.size : f.byteLength);
const bytesOf = (f: Uint8Array | VirtualFile, start: number, end: number) => (isVirtual(f) ? f.read(start, end) : f.subarray(start, end));

/** The Hub's ETag for an LFS file is its SHA-256; a virtual file gets a stable non-hash tag. */
function lfsOid(f: Uint8Array | VirtualFile, repo: string, name: string): string {
  return isVirtual(f) ? `virtual-${createHash('sha1').update(`${repo}/${name}`).digest('hex')}` : createHash('sha256').update(f).digest('hex');
}

/** Git's blob id, which the Hub sends as the ETag of small files. */
function gitOid(f: Uint8Array): string {
  return createHash('sha1').update(`blob ${f.byteLength}\0`).update(f).digest('hex');
}

export async function startHubServer(repos: Record<string, FixtureRepo>): Promise<HubServer> {
  const state = { repos: new Map(Object.entries(repos)), requests: [] as RecordedRequest[], cuts: new Map<string, number>() };
  const waiters = new Set<(request: RecordedRequest) => void>();
  const hub = createServer((req, res) => void handleHub(req, res).catch((e) => fail(res, 500, 'Internal', String(e))));
  const cdn = createServer((req, res) => void handleCdn(req, res).catch((e) => fail(res, 500, 'Internal', String(e))));
  await Promise.all([listen(hub), listen(cdn)]);
  const endpoint = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
  const cdnUrl = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;

  const record = (server: 'hub' | 'cdn', req: IncomingMessage, res: ServerResponse) => {
    const entry: RecordedRequest = { server, method: req.method ?? 'GET', url: req.url ?? '/', status: 0 };
    if (req.headers.range) entry.range = req.headers.range;
    if (req.headers.authorization) entry.authorization = req.headers.authorization;
    state.requests.push(entry);
    for (const waiter of [...waiters]) waiter(entry);
    res.on('finish', () => (entry.status = res.statusCode));
    res.on('close', () => (entry.status ||= res.statusCode));
  };

  async function handleHub(req: IncomingMessage, res: ServerResponse): Promise<void> {
    record('hub', req, res);
    cors(res);
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const path = decodeURI(new URL(req.url ?? '/', endpoint).pathname);
    const api = /^\/api\/models\/(.+?)(?:\/(tree|revision)\/([^/]+)(?:\/.*)?)?$/.exec(path);
    if (api) {
      const [, repoId, what, rev] = api;
      const repo = state.repos.get(repoId);
      if (!repo || repo.noApi) return fail(res, 404, repo ? 'NotFound' : 'RepoNotFound', repo ? 'Not Found' : 'Repository not found');
      if (!authorized(repo, req)) return fail(res, 401, 'GatedRepo', `Access to model ${repoId} is restricted. You must be authenticated.`);
      if (rev && !(repo.revisions ?? ['main']).includes(rev)) return fail(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
      const names = [...repo.files.keys()];
      const body =
        what === 'tree'
          ? names.map((name) => {
              const f = repo.files.get(name)!;
              return isLfs(name)
                ? { type: 'file', path: name, size: sizeOf(f), oid: gitOid(new Uint8Array(0)), lfs: { oid: lfsOid(f, repoId, name), size: sizeOf(f), pointerSize: 134 } }
                : { type: 'file', path: name, size: sizeOf(f), oid: gitOid(f as Uint8Array) };
            })
          : { _id: repoId, id: repoId, modelId: repoId, sha: COMMIT, private: false, gated: repo.token ? 'manual' : false, siblings: names.map((rfilename) => ({ rfilename })) };
      return json(res, 200, body);
    }
    const resolve = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (!resolve) return fail(res, 404, 'NotFound', 'Not Found');
    const [, repoId, rev, name] = resolve;
    const repo = state.repos.get(repoId);
    if (!repo) return fail(res, 404, 'RepoNotFound', 'Repository not found');
    if (!authorized(repo, req)) return fail(res, 401, 'GatedRepo', `Access to model ${repoId} is restricted. You must be authenticated to access it.`);
    if (!(repo.revisions ?? ['main']).includes(rev)) return fail(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
    const file = repo.files.get(name);
    if (!file) return fail(res, 404, 'EntryNotFound', `Entry not found`);
    res.setHeader('X-Repo-Commit', COMMIT);
    if (isLfs(name)) {
      const oid = lfsOid(file, repoId, name);
      res.setHeader('X-Linked-Size', String(sizeOf(file)));
      res.setHeader('X-Linked-Etag', `"${oid}"`);
      res.setHeader('ETag', `"${gitOid(new Uint8Array(0))}"`);
      res.setHeader('Location', `${cdnUrl}/lfs/${encodeURIComponent(repoId)}/${encodeURIComponent(name)}/${oid}`);
      return void res.writeHead(302).end();
    }
    return serveBytes(req, res, repoId, name, file, `"${gitOid(file as Uint8Array)}"`, repo);
  }

  async function handleCdn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    record('cdn', req, res);
    cors(res);
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const m = /^\/lfs\/([^/]+)\/([^/]+)\/([^/?]+)/.exec(new URL(req.url ?? '/', cdnUrl).pathname);
    const repoId = m && decodeURIComponent(m[1]);
    const repo = repoId ? state.repos.get(repoId) : undefined;
    const name = m && decodeURIComponent(m[2]);
    const file = repo && name ? repo.files.get(name) : undefined;
    if (!repo || !file || !name || !repoId) return fail(res, 404, 'NotFound', 'Not Found');
    return serveBytes(req, res, repoId, name, file, `"${lfsOid(file, repoId, name)}"`, repo);
  }

  function serveBytes(req: IncomingMessage, res: ServerResponse, repoId: string, name: string, file: Uint8Array | VirtualFile, etag: string, repo: FixtureRepo): void {
    const size = sizeOf(file);
    let start = 0;
    let end = size; // exclusive
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', etag);
    res.setHeader('Content-Type', name.endsWith('.json') ? 'application/json' : 'application/octet-stream');
    const range = req.headers.range;
    if (range) {
      const r = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!r || Number(r[1]) >= size) {
        res.setHeader('Content-Range', `bytes */${size}`);
        return void res.writeHead(416).end();
      }
      start = Number(r[1]);
      end = r[2] ? Math.min(size, Number(r[2]) + 1) : size;
      res.setHeader('Content-Range', `bytes ${start}-${end - 1}/${size}`);
    }
    res.setHeader('Content-Length', String(end - start));
    res.writeHead(range ? 206 : 200);
    if (req.method === 'HEAD') return void res.end();
    const key = `${repoId}/${name}`;
    if (repo.cut?.file === name && (state.cuts.get(key) ?? 0) < repo.cut.times && end - start > repo.cut.afterBytes) {
      state.cuts.set(key, (state.cuts.get(key) ?? 0) + 1);
      res.write(bytesOf(file, start, start + repo.cut.afterBytes));
      // Let the bytes reach the client, then drop the connection mid-body.
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    if (repo.trickle?.file === name) {
      const { bytesPerTick, tickMs } = repo.trickle;
      let pos = start;
      const timer = setInterval(() => {
        if (res.destroyed || pos >= end) {
          clearInterval(timer);
          if (!res.destroyed) res.end();
          return;
        }
        const next = Math.min(end, pos + bytesPerTick);
        res.write(bytesOf(file, pos, next));
        pos = next;
      }, tickMs);
      res.on('close', () => clearInterval(timer));
      return;
    }
    res.end(bytesOf(file, start, end));
  }

  return {
    endpoint,
    cdn: cdnUrl,
    requests: state.requests,
    repos: state.repos,
    nextRequest: (matches) =>
      new Promise((resolve) => {
        const seen = state.requests.find(matches);
        if (seen) return resolve(seen);
        const waiter = (request: RecordedRequest) => {
          if (!matches(request)) return;
          waiters.delete(waiter);
          resolve(request);
        };
        waiters.add(waiter);
      }),
    close: async () => {
      hub.closeAllConnections();
      cdn.closeAllConnections();
      await Promise.all([new Promise((r) => hub.close(r)), new Promise((r) => cdn.close(r))]);
    },
  };
}

function authorized(repo: FixtureRepo, req: IncomingMessage): boolean {
  return !repo.token || req.headers.authorization === `Bearer ${repo.token}`;
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}

function cors(res: ServerResponse): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Headers', 'Authorization, Range, Accept, Content-Type');
  res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, OPTIONS');
  res.setHeader('Access-Control-Expose-Headers', EXPOSED);
  res.setHeader('Access-Control-Max-Age', '86400');
  // The browser's HTTP cache must not answer for the server: the tests count what reaches it.
  res.setHeader('Cache-Control', 'no-store');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) return void res.destroy();
  res.setHeader('X-Error-Code', code);
  res.setHeader('X-Error-Message', message);
  json(res, status, { error: message });
}

/** A safetensors file of `shape` F32 zeros that is never held in memory: header bytes, then zeros on demand. */
export function virtualSafetensors(tensors: Record<string, number[]>): VirtualFile {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of Object.entries(tensors)) {
    const bytes = 4 * shape.reduce((a, d) => a * d, 1);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let text = JSON.stringify(header);
  while ((8 + Buffer.byteLength(text)) % 8 !== 0) text += ' ';
  const head = Buffer.alloc(8 + Buffer.byteLength(text));
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(text)), 0);
  head.write(text, 8);
  const size = head.length + offset;
  return {
    size,
    read(start, end) {
      const out = new Uint8Array(Math.max(0, Math.min(end, size) - start));
      if (start < head.length) out.set(head.subarray(start, Math.min(end, head.length)));
      return out;
    },
  };
}

/** Split a checkpoint's weights into `shards` safetensors files plus model.safetensors.index.json, as save_pretrained does. */
export function shardCheckpoint(files: Map<string, Uint8Array>, tensors: HfTensors, shards: number): Map<string, Uint8Array> {
  const out = new Map([...files].filter(([name]) => name !== 'model.safetensors'));
  const names = Object.keys(tensors);
  const per = Math.ceil(names.length / shards);
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part: HfTensors = {};
    for (const name of names.slice(s * per, (s + 1) * per)) {
      part[name] = tensors[name];
      weightMap[name] = file;
      total += tensors[name].data.byteLength;
    }
    out.set(file, writeSafetensors(part, { format: 'pt' }));
  }
  out.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)));
  return out;
}

/** The tiny-llama fixture: config and tokenizer files as written, weights as two BF16 shards with their index. */
function tinyLlama(): Map<string, Uint8Array> {
  const c = { ...LLAMA_CASES.llamaGqa, positions: 512 }; // byte-level tokens: a sample review is ~100 of them
  const tensors = randomLlamaWeights(c, 14);
  const files = new Map([...llamaCheckpointFiles(c, { tensors })].filter(([name]) => name !== 'model.safetensors'));
  const names = Object.keys(tensors);
  const weightMap: Record<string, string> = {};
  [names.slice(0, names.length / 2), names.slice(names.length / 2)].forEach((part, s) => {
    const file = `model-0000${s + 1}-of-00002.safetensors`;
    files.set(file, bf16Safetensors(Object.fromEntries(part.map((n) => [n, tensors[n]]))).file);
    for (const n of part) weightMap[n] = file;
  });
  const total = names.reduce((n, name) => n + 2 * tensors[name].data.length, 0);
  files.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)));
  files.set('generation_config.json', new TextEncoder().encode(JSON.stringify({ bos_token_id: 1, eos_token_id: 2 })));
  addLlama3Chat(files);
  return files;
}

/**
 * The Llama-3 instruct chat format (Meta's model card): each turn is
 * `<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>`, BOS before the first, and the
 * generation prompt opens the assistant's header. Written here as a chat_template (Jinja) in
 * tokenizer_config.json; its three markers become added tokens in the vocabulary's free ids (269-271 of 272).
 */
export const LLAMA3_CHAT_TEMPLATE =
  "{%- for message in messages %}{%- if loop.first %}{{- bos_token }}{%- endif %}" +
  "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";

function addLlama3Chat(files: Map<string, Uint8Array>): void {
  const read = (name: string) => JSON.parse(new TextDecoder().decode(files.get(name))) as Record<string, unknown>;
  const write = (name: string, json: unknown) => files.set(name, new TextEncoder().encode(JSON.stringify(json)));
  const tokenizer = read('tokenizer.json') as { added_tokens: Record<string, unknown>[]; model: { vocab: Record<string, number> } };
  for (const content of ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>']) {
    const id = Object.keys(tokenizer.model.vocab).length;
    tokenizer.model.vocab[content] = id;
    tokenizer.added_tokens.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  }
  write('tokenizer.json', tokenizer);
  write('tokenizer_config.json', { ...read('tokenizer_config.json'), chat_template: LLAMA3_CHAT_TEMPLATE });
}

/** The access token of the gated fixture repo. */
export const FIXTURE_TOKEN = 'hf_studioFixtureToken';

/**
 * The fixture repos the tests use, random tiny models in the HF layout:
 * - studio-test/tiny-bert: one model.safetensors; studio-test/tiny-gpt2: two shards and an index
 * - studio-test/gated-roberta: needs FIXTURE_TOKEN
 * - studio-test/pytorch-only: pytorch_model.bin, no safetensors
 * - studio-test/t5-like: model_type "t5"
 * - studio-test/broken: model.safetensors always cut mid-body; studio-test/flaky: cut once, halfway
 * - studio-test/mirror-only: no api/ routes
 * - studio-test/huge: a 2 GiB word-embedding table (virtual), trickled
 * - studio-test/wide-mlp: a 4 GiB MLP weight (virtual, one GPU operand: vocabulary tables are split, this is not)
 * - studio-test/tiny-llama: a Llama with grouped-query attention and a byte-level BPE tokenizer.json,
 *   its weights in BF16 over two shards (as most published Llama/Qwen checkpoints are), and a
 *   Llama-3-style chat_template in tokenizer_config.json
 */
export function fixtureRepos(): Record<string, FixtureRepo> {
  const enc = new TextEncoder();
  const bert = hfCheckpointFiles('bert', { seed: 11 });
  const bertWeights = bert.get('model.safetensors')!;
  const gpt2 = hfCheckpointFiles('gpt2', { seed: 12 });
  const t5Config = enc.encode(JSON.stringify({ model_type: 't5', architectures: ['T5ForConditionalGeneration'], d_model: 16, vocab_size: 40 }));
  const hugeConfig = { ...hfConfig('bert'), vocab_size: 131072, hidden_size: 4096, num_hidden_layers: 1, num_attention_heads: 32, intermediate_size: 16384, max_position_embeddings: 512 };
  const wideConfig = { ...hugeConfig, vocab_size: 1024, intermediate_size: 262144 };
  const half = Math.floor(bertWeights.byteLength / 2);
  return {
    'studio-test/tiny-bert': { files: bert, revisions: ['main', 'v1'] },
    'studio-test/tiny-gpt2': { files: shardCheckpoint(gpt2, randomHfWeights('gpt2', 12), 2) },
    'studio-test/tiny-llama': { files: tinyLlama() },
    'studio-test/gated-roberta': { files: hfCheckpointFiles('roberta', { seed: 13 }), token: FIXTURE_TOKEN },
    'studio-test/pytorch-only': {
      files: new Map([
        ['config.json', bert.get('config.json')!],
        ['vocab.txt', bert.get('vocab.txt')!],
        ['pytorch_model.bin', new Uint8Array(64)],
      ]),
    },
    'studio-test/t5-like': { files: new Map([...bert, ['config.json', t5Config]]) },
    // Each attempt gets 6000 bytes further (past the header): resuming cannot finish within the client's attempts.
    'studio-test/broken': { files: new Map(bert), cut: { file: 'model.safetensors', afterBytes: 6000, times: Infinity } },
    'studio-test/flaky': { files: new Map(bert), cut: { file: 'model.safetensors', afterBytes: half, times: 1 } },
    'studio-test/mirror-only': { files: new Map(bert), noApi: true },
    'studio-test/huge': {
      files: new Map<string, Uint8Array | VirtualFile>([
        ['config.json', enc.encode(JSON.stringify(hugeConfig))],
        ['vocab.txt', bert.get('vocab.txt')!],
        ['model.safetensors', virtualSafetensors({ 'bert.embeddings.word_embeddings.weight': [131072, 4096] })],
      ]),
      trickle: { file: 'model.safetensors', bytesPerTick: 64 * 1024, tickMs: 50 },
    },
    'studio-test/wide-mlp': {
      files: new Map<string, Uint8Array | VirtualFile>([
        ['config.json', enc.encode(JSON.stringify(wideConfig))],
        ['vocab.txt', bert.get('vocab.txt')!],
        ['model.safetensors', virtualSafetensors({ 'bert.encoder.layer.0.intermediate.dense.weight': [262144, 4096] })],
      ]),
      trickle: { file: 'model.safetensors', bytesPerTick: 64 * 1024, tickMs: 50 },
    },
  };
}
