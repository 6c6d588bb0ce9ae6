/** Test support: Cache Storage in memory (Node has none), each cache a Map from URL to the stored body. */
import type { CacheLike, CacheStorageLike } from './cache';

export function memoryCacheStorage(): CacheStorageLike & { caches: Map<string, Map<string, Blob>> } {
  const all = new Map<string, Map<string, Blob>>();
  return {
    caches: all,
    async open(name) {
      let entries = all.get(name);
      if (!entries) all.set(name, (entries = new Map()));
      const store = entries;
      const cache: CacheLike = {
        match: async (key) => {
          const blob = store.get(key);
          return blob ? new Response(blob) : undefined;
        },
        put: async (key, response) => void store.set(key, await response.blob()),
        delete: async (key) => store.delete(key),
        keys: async () => [...store.keys()].map((url) => ({ url })),
      };
      return cache;
    },
  };
}
