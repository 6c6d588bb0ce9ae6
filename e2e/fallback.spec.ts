import { CHROMIUM_BASE_ARGS, CHROMIUM_PATH } from './fixtures/chromium';
import { expect, test } from './fixtures/studio';

// The same Chromium without the WebGPU flags, in a narrow window: WebGPU gives no adapter,
// so the worker must fall back and the page must say why.
test.use({
  launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_BASE_ARGS },
  viewport: { width: 400, height: 800 },
});

test('without WebGPU the studio falls back and says why', async ({ studio, page }) => {
  await studio.setup();

  await expect(studio.backendBadge).toHaveText(/^(WebGL|WASM · .+|CPU)$/);
  await expect(studio.backendReason).toBeVisible();
  await expect(studio.backendReason).toContainText('webgpu: ');
  await expect(studio.backendBadge).toHaveAttribute('title', /^Fell back: webgpu: /);
  await page.screenshot({ path: 'e2e-artifacts/fallback-narrow.png', fullPage: true });
});
