import { describe, expect, it } from 'vitest';
import { FILES_CACHE, MODELS_CACHE, ModelCache, fileKey, modelKey, type CacheStorageLike } from './cache';
import { memoryCacheStorage } from './cacheMemory';
import type { HubRepoRef } from './hub';

const REF: HubRepoRef = { endpoint: 'https://hub.example', repo: 'org/model', revision: 'main' };
const files = () =>
  new Map([
    ['config.json', new Blob(['{"model_type":"bert"}'])],
    ['model.safetensors', new Blob([new Uint8Array(100)])],
  ]);

describe('ModelCache', () => {
  it('keys entries by endpoint, repo, revision and file', () => {
    expect(fileKey(REF, 'config.json')).toBe('https://hub.example/org/model/resolve/main/config.json');
    expect(fileKey({ ...REF, revision: 'refs/pr/1' }, 'config.json')).toBe('https://hub.example/org/model/resolve/refs%2Fpr%2F1/config.json');
    expect(modelKey({ ...REF, endpoint: 'https://mirror.example' })).not.toBe(modelKey(REF));
  });

  it('stores files then a manifest, reads them back, lists and deletes', async () => {
    const storage = memoryCacheStorage();
    const cache = new ModelCache(storage);
    expect(await cache.read(REF)).toBeNull();
    await cache.write(REF, files(), { modelType: 'bert', parameters: 25, etags: new Map([['model.safetensors', '"abc"']]) });
    const got = await cache.read(REF);
    expect([...got!.files.keys()]).toEqual(['config.json', 'model.safetensors']);
    expect(await got!.files.get('config.json')!.text()).toBe('{"model_type":"bert"}');
    const [listed] = await cache.list();
    expect(listed).toMatchObject({ ...REF, bytes: 121, modelType: 'bert', parameters: 25 });
    expect(listed.files).toEqual([
      { name: 'config.json', size: 21 },
      { name: 'model.safetensors', size: 100, etag: '"abc"' },
    ]);
    expect(await cache.delete(REF)).toBe(true);
    expect(await cache.list()).toEqual([]);
    expect(storage.caches.get(FILES_CACHE)!.size).toBe(0);
    expect(await cache.delete(REF)).toBe(false);
  });

  it('treats a model with a lost or shortened file as not cached, and drops it', async () => {
    const storage = memoryCacheStorage();
    const cache = new ModelCache(storage);
    await cache.write(REF, files());
    storage.caches.get(FILES_CACHE)!.set(fileKey(REF, 'model.safetensors'), new Blob([new Uint8Array(99)]));
    expect(await cache.read(REF)).toBeNull();
    expect(await cache.list()).toEqual([]);
  });

  it('leaves nothing behind when a write fails part-way (quota)', async () => {
    const base = memoryCacheStorage();
    let puts = 0;
    const full: CacheStorageLike = {
      async open(name) {
        const cache = await base.open(name);
        return {
          ...cache,
          put: async (key, res) => {
            if (++puts === 2) throw new DOMException('quota', 'QuotaExceededError');
            return cache.put(key, res);
          },
        };
      },
    };
    await expect(new ModelCache(full).write(REF, files())).rejects.toThrow('quota');
    expect(base.caches.get(FILES_CACHE)!.size).toBe(0);
    expect(base.caches.get(MODELS_CACHE)?.size ?? 0).toBe(0);
  });

  it('ignores a manifest that is not one', async () => {
    const storage = memoryCacheStorage();
    await (await storage.open(MODELS_CACHE)).put(modelKey(REF), new Response('{"repo": 1}'));
    expect(await new ModelCache(storage).list()).toEqual([]);
    expect(await new ModelCache(storage).read(REF)).toBeNull();
  });
});
