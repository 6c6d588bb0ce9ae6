/**
 * Downloaded Hub models in the browser's Cache Storage, keyed by endpoint + repo + revision + file
 * (the file's `resolve` URL), so a second load makes no network request.
 *
 * Two caches: FILES_CACHE holds each file's bytes; MODELS_CACHE holds one manifest per model that
 * names its files and sizes. A model is cached only when its manifest exists, and the manifest is
 * written last, after every file was stored and the model had loaded from those exact bytes: an
 * interrupted or unverified download never becomes a cache entry that loads as a model. Reading
 * checks every file's size against the manifest.
 *
 * This module imports nothing at run time and touches no worker globals, so the model panel lists
 * and deletes cached models with it directly, while the worker writes them.
 */
import type { HubRepoRef } from './hub';

export const FILES_CACHE = 'studio-hub-files-v1';
export const MODELS_CACHE = 'studio-hub-models-v1';

/** What the model list shows about one cached model. */
export interface CachedModel extends HubRepoRef {
  files: { name: string; size: number; etag?: string }[];
  /** Bytes of all files. */
  bytes: number;
  /** Date.now() when it was stored. */
  cachedAt: number;
  modelType?: string;
  parameters?: number;
}

/** The part of the Cache Storage API used here, so tests can pass an in-memory one. */
export interface CacheStorageLike {
  open(name: string): Promise<CacheLike>;
}
export interface CacheLike {
  match(key: string): Promise<Response | undefined>;
  put(key: string, response: Response): Promise<void>;
  delete(key: string): Promise<boolean>;
  keys(): Promise<readonly { url: string }[]>;
}

/** The browser's Cache Storage, or null where there is none (Node, an insecure page). */
export function browserCacheStorage(): CacheStorageLike | null {
  return typeof caches === 'undefined' ? null : (caches as unknown as CacheStorageLike);
}

export function fileKey(ref: HubRepoRef, file: string): string {
  return `${ref.endpoint}/${ref.repo}/resolve/${encodeURIComponent(ref.revision)}/${file}`;
}

export function modelKey(ref: HubRepoRef): string {
  return `${ref.endpoint}/${ref.repo}/resolve/${encodeURIComponent(ref.revision)}/`;
}

export class ModelCache {
  constructor(private readonly storage: CacheStorageLike) {}

  /** The model's files, each checked against the manifest's size, or null when it is not (completely) cached. */
  async read(ref: HubRepoRef): Promise<{ model: CachedModel; files: Map<string, Blob> } | null> {
    const model = await this.manifest(ref);
    if (!model) return null;
    const filesCache = await this.storage.open(FILES_CACHE);
    const files = new Map<string, Blob>();
    for (const f of model.files) {
      const res = await filesCache.match(fileKey(ref, f.name));
      const blob = res ? await res.blob() : null;
      if (!blob || blob.size !== f.size) {
        // Storage lost a file (quota eviction, manual clearing): the rest is useless.
        await this.delete(ref);
        return null;
      }
      files.set(f.name, blob);
    }
    return { model, files };
  }

  /**
   * Stores complete, verified files, then the manifest. If any write fails (quota), what was
   * written is removed and the error is rethrown: no half-stored model stays behind.
   */
  async write(ref: HubRepoRef, files: Map<string, Blob>, about: { etags?: Map<string, string>; modelType?: string; parameters?: number } = {}): Promise<CachedModel> {
    const model: CachedModel = {
      ...ref,
      files: [...files].map(([name, blob]) => ({ name, size: blob.size, ...(about.etags?.has(name) ? { etag: about.etags.get(name) } : {}) })),
      bytes: [...files.values()].reduce((n, b) => n + b.size, 0),
      cachedAt: Date.now(),
      ...(about.modelType ? { modelType: about.modelType } : {}),
      ...(about.parameters !== undefined ? { parameters: about.parameters } : {}),
    };
    const filesCache = await this.storage.open(FILES_CACHE);
    const written: string[] = [];
    try {
      for (const [name, blob] of files) {
        const key = fileKey(ref, name);
        await filesCache.put(key, new Response(blob, { headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(blob.size) } }));
        written.push(key);
      }
      const models = await this.storage.open(MODELS_CACHE);
      await models.put(modelKey(ref), new Response(JSON.stringify(model), { headers: { 'Content-Type': 'application/json' } }));
    } catch (e) {
      await Promise.all(written.map((key) => filesCache.delete(key).catch(() => false)));
      throw e;
    }
    return model;
  }

  async manifest(ref: HubRepoRef): Promise<CachedModel | null> {
    const models = await this.storage.open(MODELS_CACHE);
    const res = await models.match(modelKey(ref));
    if (!res) return null;
    try {
      return parseManifest(await res.json());
    } catch {
      return null;
    }
  }

  /** Every cached model, newest first. */
  async list(): Promise<CachedModel[]> {
    const models = await this.storage.open(MODELS_CACHE);
    const out: CachedModel[] = [];
    for (const request of await models.keys()) {
      const res = await models.match(request.url);
      const model = res ? parseManifest(await res.json().catch(() => null)) : null;
      if (model) out.push(model);
    }
    return out.sort((a, b) => b.cachedAt - a.cachedAt);
  }

  /** Removes the manifest first (so the model stops loading from cache at once), then its files. */
  async delete(ref: HubRepoRef): Promise<boolean> {
    const model = await this.manifest(ref);
    const models = await this.storage.open(MODELS_CACHE);
    const existed = await models.delete(modelKey(ref));
    if (model) {
      const filesCache = await this.storage.open(FILES_CACHE);
      await Promise.all(model.files.map((f) => filesCache.delete(fileKey(ref, f.name))));
    }
    return existed;
  }
}

function parseManifest(json: unknown): CachedModel | null {
  const m = json as Partial<CachedModel> | null;
  if (!m || typeof m.endpoint !== 'string' || typeof m.repo !== 'string' || typeof m.revision !== 'string') return null;
  if (!Array.isArray(m.files) || !m.files.every((f) => typeof f?.name === 'string' && Number.isInteger(f?.size))) return null;
  return m as CachedModel;
}
