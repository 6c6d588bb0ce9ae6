import { expect, test } from './fixtures/studio';

test('the studio loads and the worker runs tfjs on WebGPU', async ({ studio, page }) => {
  await studio.setup();

  await expect(page).toHaveTitle('Prompt Tuning Studio');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Prompt Tuning Studio');
  // With --use-webgpu-adapter=swiftshader WebGPU must work; anything else means it broke.
  await expect(studio.backendBadge).toHaveText('WebGPU');
  await expect(studio.backendBadge).toHaveAttribute('data-backend', 'webgpu');
  await expect(studio.backendReason).toHaveCount(0);
  // The adapter is named, and SwiftShader is recognised as software (the page says wasm is faster).
  await expect(studio.status).toHaveText(/^Ready: TensorFlow\.js 4\.\d+\.\d+ on WebGPU \(google \/ swiftshader.*, software\)$/);
  await expect(page.getByTestId('backend.software')).toContainText('?backend=wasm');
  expect(studio.errors).toEqual([]);

  await page.screenshot({ path: 'e2e-artifacts/smoke.png', fullPage: true });
});

test('the wasm backend loads its .wasm binaries from the build', async ({ studio, page }) => {
  await studio.setup('?backend=wasm');

  await expect(studio.backendBadge).toHaveText('WASM');
  await expect(studio.status).toHaveText(/on WASM$/);
  await expect(page.getByTestId('backend.software')).toHaveCount(0);
  expect(studio.errors).toEqual([]);
});
