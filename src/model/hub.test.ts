/**
 * The Hub client and the whole Hub load (list, config, headers by Range, downloads, verification,
 * cache) against the local Hub stand-in in hubTestServer.ts, with Node's real fetch, and an
 * in-memory Cache Storage.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { endpointFetch, HubClient, HubError, hubRepoRef, DEFAULT_HUB_ENDPOINT } from './hub';
import { LoadSupervisor, loadFromSource, verify, type ModelLoadProgress } from './hubLoad';
import { ModelCache, type CacheStorageLike } from './cache';
import { memoryCacheStorage } from './cacheMemory';
import { useNodeBackend } from '../node/model';
import { FIXTURE_TOKEN, fixtureRepos, startHubServer, type HubServer } from '../node/hubTestServer';
import type { DeviceLimits } from './hubInspect';
import type { ModelSource } from '../shared/protocol';

const CPU: DeviceLimits = { backend: 'cpu' };

let server: HubServer;
beforeAll(async () => {
  await useNodeBackend('cpu');
  server = await startHubServer(fixtureRepos());
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

async function load(
  repo: string,
  options: {
    token?: string;
    revision?: string;
    storage?: CacheStorageLike | null;
    limits?: DeviceLimits;
    fetch?: typeof fetch;
    loads?: LoadSupervisor;
    onProgress?: (p: ModelLoadProgress) => void;
  } = {},
) {
  const events: ModelLoadProgress[] = [];
  const source: ModelSource = { kind: 'hub', repo, endpoint: server.endpoint, revision: options.revision, token: options.token };
  const result = await loadFromSource(
    source,
    { progress: (p) => (events.push(p), options.onProgress?.(p)), limits: options.limits ?? CPU, cacheStorage: options.storage ?? null, fetch: options.fetch },
    options.loads ?? new LoadSupervisor(),
  );
  return { ...result, events };
}

const weightGets = () => server.requests.filter((r) => r.server === 'cdn' && r.url.includes('model') && !r.range);

describe('hubRepoRef', () => {
  it.each([
    { input: { repo: 'openai-community/gpt2' }, ref: { endpoint: DEFAULT_HUB_ENDPOINT, repo: 'openai-community/gpt2', revision: 'main' } },
    { input: { repo: ' gpt2 ', revision: ' v1.0 ', endpoint: 'https://hf-mirror.example/' }, ref: { endpoint: 'https://hf-mirror.example', repo: 'gpt2', revision: 'v1.0' } },
    { input: { repo: 'https://huggingface.co/bert-base-uncased' }, ref: { endpoint: DEFAULT_HUB_ENDPOINT, repo: 'bert-base-uncased', revision: 'main' } },
  ])('accepts $input.repo', ({ input, ref }) => expect(hubRepoRef(input)).toEqual(ref));

  it.each([
    { input: { repo: 'a/b/c' }, error: /not a model id/ },
    { input: { repo: '../etc' }, error: /not a model id/ },
    { input: { repo: 'org/na me' }, error: /not a model id/ },
    { input: { repo: 'gpt2', endpoint: 'ftp://x' }, error: /http\(s\) URL/ },
    { input: { repo: 'gpt2', endpoint: 'not a url' }, error: /not a URL/ },
    { input: { repo: 'gpt2', revision: 'a b' }, error: /not a revision/ },
  ])('refuses $input', ({ input, error }) => expect(() => hubRepoRef(input)).toThrow(error));
});

describe('endpointFetch', () => {
  it('sends the token to the endpoint origin only, asks for plain files, and carries the abort signal', async () => {
    const seen: { url: string; auth: string | null; accept: string | null; signal?: AbortSignal | null }[] = [];
    const base = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      seen.push({ url: String(input), auth: headers.get('Authorization'), accept: headers.get('Accept'), signal: init?.signal });
      return new Response('ok');
    }) as typeof fetch;
    const controller = new AbortController();
    const f = endpointFetch('https://hub.example', controller.signal, base);
    await f('https://hub.example/a/resolve/main/config.json', { headers: { Authorization: 'Bearer hf_x', Accept: 'application/vnd.xet-fileinfo+json, */*' } });
    await f('https://cdn.example/blob', { headers: { Authorization: 'Bearer hf_x' } });
    expect(seen.map((s) => s.auth)).toEqual(['Bearer hf_x', null]);
    expect(seen[0].accept).toBe('*/*');
    expect(seen.every((s) => s.signal === controller.signal)).toBe(true);
  });

  it('refuses a token that is not a Hub token', () => {
    expect(() => new HubClient(hubRepoRef({ repo: 'a/b' }), { token: 'secret' })).toThrow(/starts with "hf_"/);
  });
});

describe('loading from the Hub', () => {
  it('reads headers by Range before downloading, reports per-file progress, and caches the model', async () => {
    const storage = memoryCacheStorage();
    const { model, id, events } = await load('studio-test/tiny-bert', { storage });
    expect(id).toBe('studio-test/tiny-bert');
    expect(model.config.modelType).toBe('bert');
    // config, header length and header by Range, then the whole weights, in that order.
    const weightRequests = server.requests.filter((r) => r.server === 'cdn' && r.url.includes('model.safetensors'));
    expect(weightRequests.map((r) => r.range)).toEqual(['bytes=0-0', 'bytes=0-7', expect.stringMatching(/^bytes=8-\d+$/), undefined]);
    const inspection = events.find((e) => e.inspection)!.inspection!;
    // Every tensor in the file is one the model uses.
    expect(inspection.parameters).toBe(model.parameters);
    expect(inspection.memory.weightBytes).toBe(4 * inspection.parameters);
    const inspectedAt = events.findIndex((e) => e.inspection);
    const firstWeightBytes = events.findIndex((e) => e.download?.files.some((f) => f.name === 'model.safetensors' && f.loaded > 0));
    expect(inspectedAt).toBeLessThan(firstWeightBytes);
    const last = events.filter((e) => e.download).at(-1)!.download!;
    expect(last.files.map((f) => f.name).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt']);
    expect(last.files.every((f) => f.state === 'done' && f.loaded === f.total && f.total > 0)).toBe(true);
    expect(last.loaded).toBe(last.total);
    expect(last.fromCache).toBe(false);

    const cached = await new ModelCache(storage).list();
    expect(cached).toHaveLength(1);
    expect(cached[0]).toMatchObject({ endpoint: server.endpoint, repo: 'studio-test/tiny-bert', revision: 'main', modelType: 'bert', bytes: last.total });
    model.model.dispose();
  });

  it('loads a second time from the cache without any request', async () => {
    const storage = memoryCacheStorage();
    (await load('studio-test/tiny-bert', { storage })).model.model.dispose();
    server.requests.length = 0;
    const noNetwork = (() => Promise.reject(new Error('network used'))) as typeof fetch;
    const again = await load('studio-test/tiny-bert', { storage, fetch: noNetwork });
    expect(server.requests).toEqual([]);
    expect(again.events.find((e) => e.download)?.download?.fromCache).toBe(true);
    // Another revision is another cache entry.
    const v1 = await load('studio-test/tiny-bert', { storage, revision: 'v1' });
    expect(v1.id).toBe('studio-test/tiny-bert@v1');
    expect(server.requests.length).toBeGreaterThan(0);
    expect(await new ModelCache(storage).list()).toHaveLength(2);
    again.model.model.dispose();
    v1.model.model.dispose();
  });

  it('loads a sharded checkpoint through its index', async () => {
    const { model } = await load('studio-test/tiny-gpt2');
    expect(model.config.modelType).toBe('gpt2');
    const shardGets = weightGets().map((r) => decodeURIComponent(r.url.split('/')[3]));
    expect(shardGets.sort()).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    model.model.dispose();
  });

  it('works against a mirror without the file-list API, probing files instead', async () => {
    const { model } = await load('studio-test/mirror-only');
    expect(model.config.modelType).toBe('bert');
    expect(server.requests.some((r) => r.url.startsWith('/api/') && r.status === 404)).toBe(true);
    model.model.dispose();
  });

  it('sends the token for a gated repo to the Hub but never to the CDN', async () => {
    await expect(load('studio-test/gated-roberta')).rejects.toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/gated or private \(HTTP 401\): add an access token/) });
    server.requests.length = 0;
    const { model } = await load('studio-test/gated-roberta', { token: FIXTURE_TOKEN });
    expect(model.config.modelType).toBe('roberta');
    const hub = server.requests.filter((r) => r.server === 'hub');
    const cdn = server.requests.filter((r) => r.server === 'cdn');
    expect(hub.length).toBeGreaterThan(0);
    expect(hub.every((r) => r.authorization === `Bearer ${FIXTURE_TOKEN}`)).toBe(true);
    expect(cdn.length).toBeGreaterThan(0);
    expect(cdn.every((r) => r.authorization === undefined)).toBe(true);
    model.model.dispose();
  });

  it.each([
    { repo: 'studio-test/no-such-model', code: 'not-found', error: /No model "studio-test\/no-such-model" on http:\/\/127\.0\.0\.1:\d+ \(HTTP 404\)/ },
    {
      repo: 'studio-test/pytorch-only',
      code: undefined,
      error: /has no model\.safetensors .*\(files: config\.json, vocab\.txt, pytorch_model\.bin\)\. Only safetensors weights are read: PyTorch \.bin .* convert pytorch_model\.bin to safetensors/,
    },
    { repo: 'studio-test/t5-like', code: undefined, error: /config\.json: unsupported model_type "t5"; supported model types: bert, distilbert, roberta, gpt2/ },
  ])('fails clearly for $repo without downloading weights', async ({ repo, code, error }) => {
    const failure = load(repo);
    await expect(failure).rejects.toThrow(error);
    if (code) await expect(failure).rejects.toMatchObject({ code });
    expect(weightGets()).toEqual([]);
  });

  it('names an unknown revision', async () => {
    await expect(load('studio-test/tiny-bert', { revision: 'nope' })).rejects.toMatchObject({ code: 'revision-not-found', message: expect.stringContaining('no revision "nope"') });
  });

  it('resumes a dropped download with a Range request', async () => {
    const storage = memoryCacheStorage();
    const { model, events } = await load('studio-test/flaky', { storage });
    const size = fixtureRepos()['studio-test/flaky'].files.get('model.safetensors')!;
    const half = Math.floor((size as Uint8Array).byteLength / 2);
    const gets = server.requests.filter((r) => r.server === 'cdn' && (!r.range || r.range.startsWith(`bytes=${half}-`)));
    expect(gets.map((r) => r.range)).toEqual([undefined, `bytes=${half}-${(size as Uint8Array).byteLength - 1}`]);
    expect(events.some((e) => e.download?.files.some((f) => f.state === 'retrying'))).toBe(true);
    expect(await new ModelCache(storage).list()).toHaveLength(1);
    model.model.dispose();
  });

  it('gives a clean error and caches nothing when the connection keeps dropping', async () => {
    const storage = memoryCacheStorage();
    await expect(load('studio-test/broken', { storage })).rejects.toMatchObject({
      code: 'interrupted',
      message: expect.stringMatching(/studio-test\/broken\/model\.safetensors: download interrupted at [\d,]+ of [\d,]+ bytes after 3 attempts .* Nothing was cached/),
    });
    expect(await new ModelCache(storage).list()).toEqual([]);
    expect([...storage.caches.values()].every((c) => c.size === 0)).toBe(true);
  });

  it('stops before downloading weights that cannot fit in one GPU buffer', async () => {
    const limits: DeviceLimits = { backend: 'webgpu', maxBufferSize: 2 ** 31, maxStorageBufferBindingSize: 2 ** 30 };
    await expect(load('studio-test/wide-mlp', { limits })).rejects.toMatchObject({
      code: 'too-large',
      message: expect.stringMatching(/bert\.encoder\.layer\.0\.intermediate\.dense\.weight needs 4\.0 GiB in one GPU buffer, more than this GPU adapter allows \(maxStorageBufferBindingSize 1\.0 GiB\)/),
    });
    expect(weightGets()).toEqual([]);
  });

  it('a cancel aborts the download in flight', async () => {
    const loads = new LoadSupervisor();
    // The first progress event that counts received weight bytes: the download is in flight.
    let flowing!: (bytes: number) => void;
    const weightBytes = new Promise<number>((resolve) => (flowing = resolve));
    const pending = load('studio-test/huge', {
      loads,
      onProgress: (p) => {
        const weights = p.download?.files.find((f) => f.name === 'model.safetensors');
        if (weights?.state === 'downloading' && weights.loaded > 0) flowing(weights.loaded);
      },
    });
    pending.catch(() => {});
    const received = await weightBytes;
    // As the worker's cancelModelLoad does.
    expect(loads.cancel()).toBe(true);
    await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
    // Cancelled mid-body: far less than the 2 GiB table had arrived.
    expect(received).toBeLessThan(2 ** 31);
  });

  it('a new load aborts the one in flight', async () => {
    const loads = new LoadSupervisor();
    const first = load('studio-test/huge', { loads });
    first.catch(() => {});
    // The weight download has reached the CDN: the first load is in flight.
    await server.nextRequest((r) => r.server === 'cdn' && r.method === 'GET' && !r.range);
    const second = await load('studio-test/tiny-bert', { loads });
    await expect(first).rejects.toMatchObject({ code: 'cancelled', message: expect.stringContaining('another model load started') });
    second.model.model.dispose();
  });
});

describe('verify', () => {
  const bytes = fixtureRepos()['studio-test/tiny-bert'].files.get('model.safetensors') as Uint8Array;
  const file = (etag: string, size = bytes.byteLength) => ({ name: 'model.safetensors', size, etag, blob: new Blob([bytes as BlobPart]) });

  it('accepts matching bytes and refuses a wrong SHA-256, size or trailing bytes', async () => {
    const sha = Buffer.from(await crypto.subtle.digest('SHA-256', bytes as BufferSource)).toString('hex');
    await expect(verify(file(`"${sha}"`), new Blob([bytes as BlobPart]))).resolves.toBeUndefined();
    await expect(verify(file(`"${'0'.repeat(64)}"`), new Blob([bytes as BlobPart]))).rejects.toThrow(/SHA-256 [0-9a-f]{64} does not match/);
    await expect(verify(file('"x"', bytes.byteLength + 1), new Blob([bytes as BlobPart]))).rejects.toThrow(/got \d+ bytes, the Hub announced/);
    const padded = new Uint8Array(bytes.byteLength + 4);
    padded.set(bytes);
    await expect(verify(file('"x"', padded.byteLength), new Blob([padded]))).rejects.toThrow(/tensors end at byte \d+ but the file has/);
  });

  it('HubError carries a code', () => {
    expect(new HubError('cancelled', 'x').code).toBe('cancelled');
  });
});
