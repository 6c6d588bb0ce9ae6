/**
 * Loading a model from any `ModelSource` in the worker: the embedded URL folders, local files, or
 * a Hub repo (from the browser cache when it is there, otherwise downloaded with per-file progress,
 * checked, and cached once it has loaded). One load runs at a time: a new load, or a `cancel`
 * source, aborts the one in flight.
 *
 * Hub loads go in this order, so that nothing large is downloaded for a model that cannot work:
 * file list -> config.json (model_type checked) -> safetensors headers by Range (parameters,
 * memory, device limits) -> tokenizer and weight files (streamed, resumed, verified) -> the loader
 * -> the cache.
 */
import { HubClient, HubError, cancelledError, hubRepoRef, type HubFile, type HubRepoRef, type RemoteFile } from './hub';
import { browserCacheStorage, ModelCache, type CacheStorageLike } from './cache';
import { inspectCheckpoint, type DeviceLimits, type ModelInspection } from './hubInspect';
import { filesFolder, loadPretrained, urlFolder, type LoadedModel, type ModelFolder } from './loader';
import { blobSource, readSafetensorsHeader } from './safetensors';
import type { ModelSource, Progress } from '../shared/protocol';

/** Progress events are sent at most this often while bytes arrive. */
export const PROGRESS_INTERVAL_MS = 100;

/** Files the loader may read besides config and weights (see readTokenizerFiles in loader.ts). */
export const TOKENIZER_FILES = [
  'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', 'vocab.json', 'merges.txt', 'generation_config.json', 'chat_template.jinja',
] as const;

export interface FileProgress {
  name: string;
  /** Bytes received (or read from the cache). */
  loaded: number;
  /** Bytes in the file; 0 until known. */
  total: number;
  /** Average since this file started. */
  bytesPerSecond: number;
  state: 'queued' | 'downloading' | 'retrying' | 'done' | 'cached';
}

export interface DownloadProgress {
  files: FileProgress[];
  loaded: number;
  total: number;
  bytesPerSecond: number;
  /** Every file came from the browser cache: no network request was made. */
  fromCache: boolean;
}

/**
 * The `Progress` events of a model load. Extra fields ride along the protocol's `Progress`;
 * the model panel reads them when present.
 */
export interface ModelLoadProgress extends Progress {
  download?: DownloadProgress;
  inspection?: ModelInspection;
}

export interface LoadContext {
  progress: (p: ModelLoadProgress) => void;
  limits: DeviceLimits;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Defaults to the browser's Cache Storage; null disables caching. */
  cacheStorage?: CacheStorageLike | null;
}

/** Aborts the previous load when a new one begins: one download at a time per worker. */
export class LoadSupervisor {
  private current: AbortController | null = null;

  begin(): AbortSignal {
    this.current?.abort(new HubError('cancelled', 'Loading was cancelled: another model load started'));
    this.current = new AbortController();
    return this.current.signal;
  }

  /** True when a load was in flight. */
  cancel(): boolean {
    const had = this.current !== null;
    this.current?.abort(new HubError('cancelled', 'Loading was cancelled'));
    this.current = null;
    return had;
  }

  end(signal: AbortSignal): void {
    if (this.current?.signal === signal) this.current = null;
  }
}

/** The worker's loads. */
export const modelLoads = new LoadSupervisor();

/** Loads whatever the source names; the caller owns (and disposes) the returned model. */
export async function loadFromSource(source: ModelSource, ctx: LoadContext, loads: LoadSupervisor = modelLoads): Promise<{ model: LoadedModel; id: string }> {
  const signal = loads.begin();
  try {
    const opened = await openSource(source, ctx, signal);
    const model = await loadPretrained(opened.folder, { onProgress: (stage) => ctx.progress({ stage: `reading ${stage}` }) });
    if (signal.aborted) {
      model.model.dispose();
      throw cancelledError(signal);
    }
    if (opened.commit) {
      ctx.progress({ stage: 'saving to the browser cache' });
      try {
        await opened.commit(model);
      } catch (e) {
        ctx.progress({ stage: 'loaded', message: `Loaded, but not cached: ${(e as Error).message}` });
      }
    }
    return { model, id: opened.id };
  } catch (e) {
    // The loader's own errors are clearer than an abort's; but a cancelled load says so.
    if (signal.aborted) throw cancelledError(signal);
    throw e;
  } finally {
    loads.end(signal);
  }
}

interface OpenedSource {
  folder: ModelFolder;
  id: string;
  /** Stores what was downloaded once the model has loaded from it. */
  commit?: (model: LoadedModel) => Promise<void>;
}

async function openSource(source: ModelSource, ctx: LoadContext, signal: AbortSignal): Promise<OpenedSource> {
  switch (source.kind) {
    case 'url':
      return { folder: urlFolder(new URL(source.url, globalThis.location?.href).href, ctx.fetch), id: source.id };
    case 'files': {
      const folder = filesFolder(source.label, source.files);
      await check(folder, ctx, source.label);
      return { folder, id: source.label };
    }
    case 'hub':
      return openHub(hubRepoRef(source), source.token, ctx, signal);
  }
}

/** Inspects the checkpoint, reports it, and stops when it cannot run here. */
async function check(folder: ModelFolder, ctx: LoadContext, label: string): Promise<ModelInspection> {
  ctx.progress({ stage: 'reading config.json and weight headers' });
  const inspection = await inspectCheckpoint(folder, ctx.limits, label);
  ctx.progress({ stage: 'checked', inspection });
  if (inspection.blocker) throw new HubError('too-large', `${label}: ${inspection.blocker}`);
  return inspection;
}

function memoryFolder(label: string, files: Map<string, Blob>): ModelFolder {
  return {
    label,
    list: () => [...files.keys()],
    file: async (name) => {
      const blob = files.get(name);
      return blob ? blobSource(name, blob) : null;
    },
  };
}

async function openHub(ref: HubRepoRef, token: string | undefined, ctx: LoadContext, signal: AbortSignal): Promise<OpenedSource> {
  const storage = ctx.cacheStorage === undefined ? browserCacheStorage() : ctx.cacheStorage;
  const cache = storage ? new ModelCache(storage) : null;
  const id = ref.revision === 'main' ? ref.repo : `${ref.repo}@${ref.revision}`;
  const tracker = new DownloadTracker(ctx.progress);

  const cached = await cache?.read(ref);
  if (cached) {
    for (const [name, blob] of cached.files) tracker.cached(name, blob.size);
    tracker.emit('read from the browser cache', true, true);
    const folder = memoryFolder(id, cached.files);
    await check(folder, ctx, id);
    return { folder, id };
  }

  const client = new HubClient(ref, { token, signal, fetch: ctx.fetch });
  ctx.progress({ stage: 'listing files' });
  const listed = await client.listFiles();
  const remote = new RemoteRepo(client, listed);
  const downloaded = new Map<string, Blob>();
  const etags = new Map<string, string>();
  const fetchWhole = async (name: string): Promise<boolean> => {
    const file = await remote.open(name);
    if (!file) return false;
    tracker.queue(name, file.size);
    const blob = await client.download(
      file,
      (n) => tracker.bytes(name, n),
      () => tracker.retrying(name),
    );
    await verify(file, blob);
    tracker.done(name);
    downloaded.set(name, blob);
    etags.set(name, file.etag);
    return true;
  };

  // A folder that serves what is downloaded, and weight headers by Range from the Hub.
  const folder: ModelFolder = {
    label: id,
    list: () => (listed ? listed.map((f) => f.path) : undefined),
    file: async (name) => {
      const blob = downloaded.get(name);
      if (blob) return blobSource(name, blob);
      const file = await remote.open(name);
      if (!file) return null;
      const ranges = blobSource(name, file.blob);
      return {
        ...ranges,
        read: (start, end) =>
          ranges.read(start, end).catch((e: unknown) => {
            throw client.explain(e, `${name} bytes ${start}-${end - 1}`);
          }),
      };
    },
  };

  if (!(await fetchWhole('config.json'))) {
    throw new HubError('no-weights', `${id} has no config.json${listed ? ` (files: ${listed.map((f) => f.path).join(', ') || 'none'})` : ''}: it is not a transformers checkpoint`);
  }
  // Sharded checkpoints: the index names the shards.
  if (!(await remote.open('model.safetensors'))) await fetchWhole('model.safetensors.index.json');
  const inspection = await check(folder, ctx, id);
  const rest = [...TOKENIZER_FILES, ...inspection.weightFiles];
  for (const name of rest) {
    const file = await remote.open(name);
    if (file) tracker.queue(name, file.size);
  }
  for (const name of rest) await fetchWhole(name);
  tracker.emit('downloaded', false, true);

  return {
    folder: memoryFolder(id, downloaded),
    id,
    commit: async (model) => {
      if (!cache) return;
      await cache.write(ref, downloaded, { etags, modelType: model.config.modelType, parameters: model.parameters });
    },
  };
}

/** The repo's files as lazy handles, opened once each; a file absent from the listing is not requested. */
class RemoteRepo {
  private readonly opened = new Map<string, Promise<RemoteFile | null>>();
  constructor(
    private readonly client: HubClient,
    private readonly listed: HubFile[] | undefined,
  ) {}

  open(name: string): Promise<RemoteFile | null> {
    if (this.listed && !this.listed.some((f) => f.path === name)) return Promise.resolve(null);
    let file = this.opened.get(name);
    if (!file) {
      file = this.client.open(name);
      this.opened.set(name, file);
    }
    return file;
  }
}

/**
 * The bytes are what the Hub announced: the size always; the SHA-256 when the ETag is one (LFS
 * files); a parseable header whose tensors end exactly at the end of the file for safetensors.
 */
export async function verify(file: RemoteFile, blob: Blob): Promise<void> {
  const where = `${file.name}`;
  if (blob.size !== file.size) throw new HubError('corrupt', `${where}: got ${blob.size} bytes, the Hub announced ${file.size}`);
  const etag = file.etag.replace(/^W\//, '').replace(/"/g, '');
  if (/^[0-9a-f]{64}$/.test(etag)) {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
    const hex = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
    if (hex !== etag) throw new HubError('corrupt', `${where}: SHA-256 ${hex} does not match the Hub's ${etag}`);
  }
  if (file.name.endsWith('.safetensors')) {
    const header = await readSafetensorsHeader(blobSource(file.name, blob));
    const end = Math.max(header.dataStart, ...[...header.tensors.values()].map((t) => t.end));
    if (end !== blob.size) throw new HubError('corrupt', `${where}: tensors end at byte ${end} but the file has ${blob.size}`);
  }
}

/** Per-file and overall byte counts, sent as throttled progress events. */
class DownloadTracker {
  private readonly files = new Map<string, FileProgress & { startedAt: number }>();
  private readonly startedAt = performance.now();
  private lastEmit = 0;

  constructor(private readonly progress: (p: ModelLoadProgress) => void) {}

  queue(name: string, total: number): void {
    if (!this.files.has(name)) this.files.set(name, { name, loaded: 0, total, bytesPerSecond: 0, state: 'queued', startedAt: 0 });
    this.emit(`downloading ${name}`, false, true);
  }

  retrying(name: string): void {
    const f = this.files.get(name);
    if (f) f.state = 'retrying';
    this.emit(`resuming ${name}`, false, true);
  }

  bytes(name: string, received: number): void {
    const f = this.files.get(name);
    if (!f) return;
    const now = performance.now();
    if (f.state === 'queued') f.startedAt = now;
    f.state = 'downloading';
    f.loaded = received;
    f.bytesPerSecond = now > f.startedAt ? (1000 * received) / (now - f.startedAt) : 0;
    this.emit(`downloading ${name}`);
  }

  done(name: string): void {
    const f = this.files.get(name);
    if (f) {
      f.state = 'done';
      f.loaded = f.total;
    }
    this.emit(`downloaded ${name}`, false, true);
  }

  cached(name: string, size: number): void {
    this.files.set(name, { name, loaded: size, total: size, bytesPerSecond: 0, state: 'cached', startedAt: 0 });
  }

  emit(stage: string, fromCache = false, force = false): void {
    const now = performance.now();
    if (!force && now - this.lastEmit < PROGRESS_INTERVAL_MS) return;
    this.lastEmit = now;
    const files = [...this.files.values()].map(({ startedAt: _, ...f }) => f);
    const loaded = files.reduce((n, f) => n + f.loaded, 0);
    const total = files.reduce((n, f) => n + f.total, 0);
    const downloadedBytes = files.filter((f) => f.state !== 'cached').reduce((n, f) => n + f.loaded, 0);
    const seconds = (now - this.startedAt) / 1000;
    this.progress({
      stage,
      fraction: total > 0 ? loaded / total : undefined,
      download: { files, loaded, total, bytesPerSecond: seconds > 0 ? downloadedBytes / seconds : 0, fromCache },
    });
  }
}
