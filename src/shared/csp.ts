/**
 * The built page's Content-Security-Policy. vite.config.ts puts it in every built page as a
 * `<meta http-equiv>` tag and sends it as a header from `vite preview` (which the e2e suite runs
 * against); a server that hosts the build should send the header too, because a worker takes its
 * policy from its own script's response, not from the page's meta tag.
 */
export const CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'self'"],
  // The page's and the worker's modules come from this origin. 'wasm-unsafe-eval' lets tfjs's wasm
  // backend compile its WebAssembly, and nothing else: no eval, no inline scripts. blob: is the
  // threaded wasm build's: it starts its threads from a blob: worker that loads the build's own
  // script from another blob: URL (both made by tfjs-backend-wasm, which ships them as strings).
  'script-src': ["'self'", "'wasm-unsafe-eval'", 'blob:'],
  // The studio's worker is a module of this origin; the threaded wasm build's threads are blob: workers
  // (the page is cross-origin isolated for them: vite.config.ts sends COOP and COEP).
  'worker-src': ["'self'", 'blob:'],
  // Model files come from this origin (embedded models, samples) or from the Hub endpoint the
  // user types in, which may be any https origin (huggingface.co, its CDN, a mirror) or a mirror
  // on this machine. Which of these a run contacts is checked by e2e/security.spec.ts.
  'connect-src': ["'self'", 'https:', 'http://localhost:*', 'http://127.0.0.1:*'],
  'img-src': ["'self'", 'data:'],
  // React sets styles through the DOM (element.style), which CSP does not restrict; stylesheets come from this origin.
  'style-src': ["'self'"],
  'font-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'none'"],
};

/** Directives a `<meta>` policy may not carry (browsers ignore them there, with a console error); sent as a header only. */
export const CSP_HEADER_ONLY_DIRECTIVES: Readonly<Record<string, readonly string[]>> = {
  'frame-ancestors': ["'none'"],
};

const serialize = (directives: Readonly<Record<string, readonly string[]>>) =>
  Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join('; ');

/** The policy as the meta tag carries it. */
export const CONTENT_SECURITY_POLICY = serialize(CSP_DIRECTIVES);

/** The policy as a server sends it. */
export const CONTENT_SECURITY_POLICY_HEADER = serialize({ ...CSP_DIRECTIVES, ...CSP_HEADER_ONLY_DIRECTIVES });
