import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from './fixtures/hub';
import { recordRequests, requestsOutside } from './fixtures/network';
import { FIXTURE_TOKEN, fixtureRepos } from '../src/node/hubTestServer';
import { hfCheckpointFiles } from '../src/model/testing/hfCheckpoint';

// wasm starts fastest; the GPU-limit test below needs WebGPU.
const WASM = '?backend=wasm';

test('loads a model by id with per-file progress, then from the browser cache after a reload without any request', async ({ studio, hub, page }) => {
  await studio.setup(WASM);
  await hub.loadById('studio-test/tiny-bert');
  await expect(hub.summary).toHaveAttribute('data-model-type', 'bert');

  // One bar per file, each complete, and an overall one.
  const names = ['config.json', 'tokenizer_config.json', 'vocab.txt', 'model.safetensors'];
  for (const name of names) {
    const row = hub.file(name);
    await expect(row).toHaveAttribute('data-state', 'done');
    expect(Number(await row.getAttribute('data-total'))).toBeGreaterThan(0);
    expect(await row.getAttribute('data-loaded')).toBe(await row.getAttribute('data-total'));
  }
  await expect(page.getByTestId('hub.progress.file')).toHaveCount(names.length);
  const total = Number(await hub.progress.getAttribute('data-total'));
  await expect(hub.progress).toHaveAttribute('data-loaded', String(total));
  await expect(hub.overall).toContainText('Overall');
  // Parameters read from the safetensors header before the download match the loaded model's.
  const parameters = await page.getByTestId('model.parameters').textContent();
  await expect(page.getByTestId('model.inspection.parameters')).toHaveText(parameters!);
  // The header was read with Range requests before the weights were downloaded whole.
  const weights = hub.server.requests.filter((r) => r.server === 'cdn' && r.url.includes('model.safetensors')).map((r) => r.range ?? 'whole');
  expect(weights.slice(-3)).toEqual(['bytes=0-7', expect.stringMatching(/^bytes=8-\d+$/), 'whole']);

  await expect(hub.cachedItems).toHaveCount(1);
  await expect(hub.cachedItems.first()).toHaveAttribute('data-repo', 'studio-test/tiny-bert');
  await expect(hub.cachedItems.first()).toHaveAttribute('data-bytes', String(total));
  await expect(hub.cachedItems.first()).toContainText(/studio-test\/tiny-bert · \d+(\.\d)? KiB/);

  const before = hub.server.requests.length;
  await page.reload();
  await studio.setup(WASM);
  await hub.loadById('studio-test/tiny-bert');
  await expect(hub.summary).toHaveAttribute('data-model-type', 'bert');
  await expect(hub.progress).toHaveAttribute('data-from-cache', 'true');
  await expect(page.getByTestId('model.parameters')).toHaveText(parameters!);
  expect(hub.requestsSince(before)).toEqual([]);

  // Deleting it empties the cache.
  await page.getByTestId('hub.cached.delete').click();
  await expect(hub.cachedItems).toHaveCount(0);
  expect(await hub.cacheEntries()).toEqual([]);
  await page.screenshot({ path: 'e2e-artifacts/hub-load.png', fullPage: true });
});

test('a checkpoint folder loads from local files, picked as several files or as a folder', async ({ studio, page }) => {
  const dir = await mkdtemp(join(tmpdir(), 'studio-local-'));
  const gpt2 = join(dir, 'tiny-gpt2');
  await mkdir(gpt2);
  const paths: string[] = [];
  for (const [name, bytes] of hfCheckpointFiles('gpt2', { seed: 5 })) {
    await writeFile(join(gpt2, name), bytes);
    paths.push(join(gpt2, name));
  }
  await studio.setup(WASM);
  await page.getByTestId('model.tab.local').click();
  await page.getByTestId('local.files').setInputFiles(paths);
  await expect(page.getByTestId('model.summary')).toHaveAttribute('data-model-type', 'gpt2');
  await expect(page.getByTestId('model.inspection')).toContainText('(gpt2)');
  await expect(page.getByTestId('model.summary')).toContainText('4 local files');

  const bert = join(dir, 'my-bert');
  await mkdir(bert);
  for (const [name, bytes] of hfCheckpointFiles('bert', { seed: 6 })) await writeFile(join(bert, name), bytes);
  await page.getByTestId('local.folder').setInputFiles(bert);
  await expect(page.getByTestId('model.summary')).toHaveAttribute('data-model-type', 'bert');
  await expect(page.getByTestId('model.summary')).toContainText('my-bert');
  await expect(page.getByTestId('model.error')).toHaveCount(0);
});

test('unknown ids, repos without safetensors and unsupported model types fail clearly, before any weights download', async ({ studio, hub }) => {
  await studio.setup(WASM);
  const cases = [
    { repo: 'studio-test/no-such-model', error: /No model "studio-test\/no-such-model" on http:\/\/127\.0\.0\.1:\d+ \(HTTP 404\)\. Check the id/ },
    {
      repo: 'studio-test/pytorch-only',
      error: /has no model\.safetensors or model\.safetensors\.index\.json \(files: config\.json, vocab\.txt, pytorch_model\.bin\)\. Only safetensors weights are read: PyTorch \.bin/,
    },
    { repo: 'studio-test/t5-like', error: /unsupported model_type "t5"; supported model types: bert, distilbert, roberta, gpt2/ },
  ];
  for (const { repo, error } of cases) {
    await hub.loadById(repo);
    await expect(hub.error).toContainText(error);
    await hub.settled();
  }
  expect(hub.server.requests.filter((r) => r.server === 'cdn' && !r.range)).toEqual([]);
  await expect(hub.cachedItems).toHaveCount(0);
});

test('a download whose connection keeps dropping gives a clean error and leaves no cache entry', async ({ studio, hub }) => {
  await studio.setup(WASM);
  await hub.loadById('studio-test/broken');
  await expect(hub.error).toContainText(/studio-test\/broken\/model\.safetensors: download interrupted at [\d,]+ of [\d,]+ bytes after 3 attempts .*Nothing was cached/);
  await hub.settled();
  // It resumed with Range requests before giving up.
  const ranges = hub.server.requests.filter((r) => r.server === 'cdn' && r.url.includes('model.safetensors')).map((r) => r.range ?? 'whole');
  const last = (fixtureRepos()['studio-test/broken'].files.get('model.safetensors') as Uint8Array).byteLength - 1;
  // Probe, header length, header, then the body: cut at 6000 bytes, resumed twice, cut each time.
  expect(ranges).toEqual(['bytes=0-0', 'bytes=0-7', expect.stringMatching(/^bytes=8-\d+$/), 'whole', `bytes=6000-${last}`, `bytes=12000-${last}`]);
  await expect(hub.summary).toHaveCount(0);
  await expect(hub.cachedItems).toHaveCount(0);
  expect(await hub.cacheEntries()).toEqual([]);
});

test('a gated model needs the token, which goes to the Hub and never to the CDN', async ({ studio, hub }) => {
  await studio.setup(WASM);
  await hub.loadById('studio-test/gated-roberta');
  await expect(hub.error).toContainText('is gated or private (HTTP 401): add an access token');
  await hub.settled();
  const from = hub.server.requests.length;
  await hub.loadById('studio-test/gated-roberta', { token: FIXTURE_TOKEN });
  await expect(hub.summary).toHaveAttribute('data-model-type', 'roberta');
  const requests = hub.requestsSince(from).filter((r) => r.method !== 'OPTIONS');
  expect(requests.filter((r) => r.server === 'hub').every((r) => r.authorization === `Bearer ${FIXTURE_TOKEN}`)).toBe(true);
  expect(requests.filter((r) => r.server === 'cdn').length).toBeGreaterThan(0);
  expect(requests.filter((r) => r.server === 'cdn' && r.authorization)).toEqual([]);
});

test('a Hub load contacts only the page’s origin and the chosen endpoint (whose redirects lead to its CDN)', async ({ studio, hub, page }) => {
  const seen = recordRequests(page);
  await studio.setup(WASM);
  await hub.loadById('studio-test/gated-roberta', { token: FIXTURE_TOKEN });
  await expect(hub.summary).toHaveAttribute('data-model-type', 'roberta');
  await studio.byId('data.sample').selectOption('sentiment.csv');
  await studio.byId('data.sample.load').click();
  await studio.expectDataset('sentiment.csv', 300);
  const origin = new URL(page.url()).origin;
  const endpoint = new URL(hub.server.endpoint).origin;
  expect(requestsOutside(seen, [origin, endpoint], [endpoint])).toEqual([]);
  // Both were contacted, and the CDN only through the endpoint's redirects.
  const origins = new Set(seen.map((r) => new URL(r.url).origin));
  expect(origins).toContain(endpoint);
  expect(origins).toContain(new URL(hub.server.cdn).origin);
  expect(requestsOutside(seen, [origin, endpoint])).not.toEqual([]);
});

test('cancel stops a download in flight, with live per-file progress until then', async ({ studio, hub, page }) => {
  await studio.setup(WASM);
  await hub.loadById('studio-test/huge');
  // Checked from the headers first: half a billion parameters, without downloading them.
  await expect(page.getByTestId('model.inspection.parameters')).toHaveText((131072 * 4096).toLocaleString('en'));
  const weights = hub.file('model.safetensors');
  await expect(weights).toHaveAttribute('data-state', 'downloading');
  await expect.poll(async () => Number(await weights.getAttribute('data-loaded'))).toBeGreaterThan(100_000);
  await expect(weights).toContainText(/\/s/);
  await hub.cancel.click();
  await expect(hub.error).toHaveText('Loading was cancelled');
  await hub.settled();
  await expect(hub.cachedItems).toHaveCount(0);
  expect(await hub.cacheEntries()).toEqual([]);
});

test('a model whose weights cannot fit in one WebGPU buffer is refused before they download', async ({ studio, hub, page }) => {
  await studio.setup('?backend=webgpu');
  await expect(studio.backendBadge).toHaveAttribute('data-backend', 'webgpu');
  await hub.loadById('studio-test/wide-mlp');
  await expect(hub.error).toContainText(/bert\.encoder\.layer\.0\.intermediate\.dense\.weight needs 4\.0 GiB in one GPU buffer, more than this GPU adapter allows \((maxStorageBufferBindingSize|maxBufferSize) [\d.]+ [MG]iB\)/);
  await expect(page.getByTestId('model.inspection.warning')).toHaveCount(1);
  expect(hub.server.requests.filter((r) => r.server === 'cdn' && !r.range)).toEqual([]);
});
