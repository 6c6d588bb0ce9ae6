import { defineConfig } from 'vitest/config';
import type { Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_HEADER } from './src/shared/csp.ts';

/**
 * The Content-Security-Policy (src/shared/csp.ts) as a meta tag in every built page. Not in the
 * dev server, whose hot reload needs inline scripts and a websocket.
 */
function contentSecurityPolicy(): Plugin {
  return {
    name: 'studio-content-security-policy',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY }, injectTo: 'head-prepend' }],
  };
}

/**
 * tfjs-backend-wasm's threaded build starts each thread from the text of its module factory
 * (`factory.toString()` in a blob: script), so that function must not refer to anything outside
 * itself. It reads `_scriptDir` of its enclosing closure behind a `typeof` guard; minified, the
 * variable is renamed and, being declared, loses its guard, and every thread dies with
 * "e is not defined". A global property (never set: tfjs locates its files itself) keeps the read
 * harmless in both places.
 */
function threadedWasmFactory(): Plugin {
  const guarded = 'if(typeof _scriptDir !== "undefined" && _scriptDir){scriptDirectory=_scriptDir}';
  return {
    name: 'studio-threaded-wasm-factory',
    transform(code, id) {
      if (!id.includes('tfjs-backend-wasm-threaded-simd.js') || id.includes('.worker.')) return null;
      if (!code.includes(guarded)) {
        this.error(`${id}: the _scriptDir read this plugin makes minifier-safe is gone (a new tfjs-backend-wasm?); check that e2e/threads.spec.ts still passes and update vite.config.ts`);
      }
      return { code: code.replace(guarded, 'if(globalThis.__tfjsWasmScriptDir){scriptDirectory=globalThis.__tfjsWasmScriptDir}'), map: null };
    },
  };
}

/**
 * Cross-origin isolation (`crossOriginIsolated` in the page and its worker): SharedArrayBuffer, so
 * tfjs's threaded SIMD wasm build, whose kernels run on every core. Under require-corp, cross-origin
 * loads need CORS (the Hub's API and CDN send it; fetch() asks for it) or a
 * Cross-Origin-Resource-Policy header; everything else the studio loads is same-origin.
 */
const CROSS_ORIGIN_ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  plugins: [react(), contentSecurityPolicy(), threadedWasmFactory()],
  // config.plugins reach workers only in dev; the build's worker bundle needs its own.
  worker: { format: 'es', plugins: () => [threadedWasmFactory()] },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    // bench.html is the browser half of `npm run bench`.
    rollupOptions: { input: { main: 'index.html', bench: 'bench.html' } },
  },
  server: { host: '127.0.0.1', port: 5173, strictPort: true, headers: CROSS_ORIGIN_ISOLATION },
  // The CSP header as well: the worker takes its policy from its own script's response, not from the page.
  preview: { host: '127.0.0.1', port: 4173, strictPort: true, headers: { 'Content-Security-Policy': CONTENT_SECURITY_POLICY_HEADER, ...CROSS_ORIGIN_ISOLATION } },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
