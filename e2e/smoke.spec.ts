import { expect, test } from './fixtures/studio';

test('on a software WebGPU adapter the studio runs on wasm by default and says why in the badge', async ({ studio, page }) => {
  await studio.setup();

  await expect(page).toHaveTitle('Prompt Tuning Studio');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Prompt Tuning Studio');
  // This machine's WebGPU is SwiftShader (--use-webgpu-adapter=swiftshader): software, tens of times
  // slower than wasm per step, so the default is wasm and the badge says why.
  await expect(studio.backendBadge).toHaveAttribute('data-backend', 'wasm');
  await expect(studio.backendBadge).toHaveText(/^WASM · \d+ threads? · WebGPU here is software$/);
  await expect(studio.backendBadge).toHaveAttribute('data-reason', 'software-gpu');
  await expect(studio.backendBadge).toHaveAttribute('title', /^WebGPU here is a software renderer \(google \/ swiftshader.*, software\), slower than WASM; add \?backend=webgpu/);
  await expect(studio.backendReason).toHaveCount(0);
  await expect(studio.status).toHaveText(/^Ready: TensorFlow\.js 4\.\d+\.\d+ on WASM$/);
  const note = page.getByTestId('backend.software');
  await expect(note).toContainText(/this browser's WebGPU adapter is a software renderer \(google \/ swiftshader/);
  await expect(page.getByTestId('backend.forceWebgpu')).toHaveAttribute('href', '?backend=webgpu');
  expect(studio.errors).toEqual([]);
  await page.screenshot({ path: 'e2e-artifacts/smoke.png', fullPage: true });

  // The link forces WebGPU: it runs (the adapter named and recognised as software), and the page
  // suggests wasm instead.
  await page.getByTestId('backend.forceWebgpu').click();
  await expect(page).toHaveURL(/\?backend=webgpu$/);
  await expect(studio.app).toHaveAttribute('data-state', 'ready', { timeout: 120_000 });
  await expect(studio.backendBadge).toHaveText('WebGPU');
  await expect(studio.backendBadge).toHaveAttribute('data-backend', 'webgpu');
  await expect(studio.status).toHaveText(/^Ready: TensorFlow\.js 4\.\d+\.\d+ on WebGPU \(google \/ swiftshader.*, software\)$/);
  await expect(page.getByTestId('backend.software')).toContainText('?backend=wasm');
  expect(studio.errors).toEqual([]);
});

test('the wasm backend loads its .wasm binaries from the build', async ({ studio, page }) => {
  await studio.setup('?backend=wasm');

  await expect(studio.backendBadge).toHaveText(/^WASM · /); // its threads: e2e/threads.spec.ts
  await expect(studio.status).toHaveText(/on WASM$/);
  await expect(page.getByTestId('backend.software')).toHaveCount(0);
  expect(studio.errors).toEqual([]);
});
