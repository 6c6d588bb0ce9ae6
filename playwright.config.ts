import { defineConfig } from '@playwright/test';
import { CHROMIUM_BASE_ARGS, CHROMIUM_PATH, CHROMIUM_WEBGPU_ARGS } from './e2e/fixtures/chromium';

/** `vite preview` of the build; 127.0.0.1 is a secure context, so navigator.gpu exists. */
const PREVIEW_PORT = Number(process.env.E2E_PORT ?? 4173);
const BASE_URL = `http://127.0.0.1:${PREVIEW_PORT}`;

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'e2e-artifacts/test-results',
  // Software WebGPU (SwiftShader) is slow and the machines are small: one test at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 180_000,
  expect: { timeout: 60_000 },
  reporter: [['list'], ['html', { outputFolder: 'e2e-artifacts/report', open: 'never' }]],
  use: {
    baseURL: BASE_URL,
    headless: true,
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    actionTimeout: 30_000,
    navigationTimeout: 60_000,
    launchOptions: {
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_BASE_ARGS, ...CHROMIUM_WEBGPU_ARGS],
    },
  },
  projects: [{ name: 'chromium' }],
  webServer: {
    command: `npx vite preview --host 127.0.0.1 --port ${PREVIEW_PORT} --strictPort`,
    url: BASE_URL,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
