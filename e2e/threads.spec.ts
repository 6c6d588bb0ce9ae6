import { expect, test } from './fixtures/studio';

// The server sends COOP/COEP (vite.config.ts), so the page is cross-origin isolated and tfjs's
// threaded SIMD wasm build runs on every core; without those headers it runs on one and says so.

test('cross-origin isolated: wasm runs the threaded SIMD build, with the threads tfjs gives this machine', async ({ studio, page }) => {
  const binaries: string[] = [];
  page.context().on('request', (r) => {
    if (r.url().endsWith('.wasm')) binaries.push(new URL(r.url()).pathname);
  });
  await studio.setup('?backend=wasm');

  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  expect(binaries.some((p) => /tfjs-backend-wasm-threaded-simd-[\w-]+\.wasm$/.test(p))).toBe(true);
  // The studio's worker, and the threads' blob: workers the threaded build started.
  const studioWorker = page.workers().find((w) => /\/assets\/worker-[\w-]+\.js$/.test(w.url()));
  expect(studioWorker).toBeDefined();
  expect(await studioWorker!.evaluate(() => crossOriginIsolated)).toBe(true);
  expect(page.workers().filter((w) => w.url().startsWith('blob:')).length).toBeGreaterThan(0);
  // tfjs runs one thread per two logical cores of the worker's navigator, at most 8 (1 on a 2-core VM).
  const cores = await studioWorker!.evaluate(() => navigator.hardwareConcurrency);
  const threads = Math.min(8, Math.max(1, Math.floor(cores / 2)));
  await expect(studio.backendBadge).toHaveAttribute('data-backend', 'wasm');
  await expect(studio.byId('backend.badge.threads')).toHaveAttribute('data-threads', String(threads));
  await expect(studio.backendBadge).toHaveText(`WASM · ${threads} thread${threads === 1 ? '' : 's'}`);
  await expect(studio.backendBadge).toHaveAttribute('title', new RegExp(`threaded SIMD build on ${threads} threads? \\(`));
  // The threads are blob: workers under the page's CSP: a violation would be in studio.errors.
  expect(studio.errors).toEqual([]);
});

test('without COOP/COEP the page is not isolated: wasm runs single-threaded and the badge says why', async ({ studio, page }) => {
  // The document only: the worker's own response keeps its headers (it cannot be isolated without the page).
  await page.route(/\/(\?.*)?$/, async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers() };
    delete headers['cross-origin-opener-policy'];
    delete headers['cross-origin-embedder-policy'];
    await route.fulfill({ response, headers });
  });
  await studio.setup('?backend=wasm');

  expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
  await expect(studio.byId('backend.badge.threads')).toHaveAttribute('data-threads', '1');
  await expect(studio.backendBadge).toHaveText('WASM · single-threaded');
  await expect(studio.backendBadge).toHaveAttribute('title', /single-threaded: the page is not cross-origin isolated \(the server sends no COOP\/COEP headers\)/);
  expect(studio.errors).toEqual([]);
});
