/**
 * The Hugging Face Hub client: file listing, file metadata and downloads, on top of
 * `@huggingface/hub` (`listFiles`, `fileDownloadInfo`, `downloadFile`). This module adds what the
 * studio needs around it: a configurable endpoint (mirrors), an access token sent only to that
 * endpoint's origin, cancellation through an AbortSignal, streamed downloads with per-file byte
 * counts, resumption with HTTP Range after a dropped connection, and errors that say what to do.
 *
 * URLs are the Hub's: `<endpoint>/<org>/<name>/resolve/<revision>/<file>` (LFS files answer with a
 * redirect to a CDN) and `<endpoint>/api/models/<org>/<name>/tree/<revision>` for the file list.
 */
import { downloadFile, fileDownloadInfo, HubApiError, listFiles, type FileDownloadInfoOutput } from '@huggingface/hub';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** Attempts for one file after the first try fails mid-body (each resumes with a Range request). */
export const MAX_RESUME_ATTEMPTS = 2;
/** Back-off before resume attempt n is n times this. */
export const RESUME_DELAY_MS = 250;

/** A model repository at one revision on one Hub endpoint: what a cache entry is keyed by. */
export interface HubRepoRef {
  /** Origin (and optional path prefix) of the Hub or a mirror, without a trailing slash. */
  endpoint: string;
  /** `org/name`, or a legacy un-namespaced id like `gpt2`. */
  repo: string;
  /** Branch, tag or commit hash. */
  revision: string;
}

export type HubErrorCode =
  | 'bad-input' // the id, revision, endpoint or token is malformed
  | 'not-found' // no such repository (or it is private and no token was given)
  | 'revision-not-found'
  | 'unauthorized' // gated or private: a token is missing or lacks access
  | 'no-weights' // the repo has no safetensors weights
  | 'http' // any other HTTP failure
  | 'network' // the request never got an answer
  | 'interrupted' // the connection dropped mid-body and resuming did not help
  | 'corrupt' // the bytes that arrived are not what the Hub announced
  | 'too-large' // the model cannot fit in this GPU's buffers
  | 'cancelled';

export class HubError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

const REPO_ID = /^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/;

/** Checks and normalises what the user typed; throws `HubError('bad-input')` with the reason. */
export function hubRepoRef(input: { endpoint?: string; repo: string; revision?: string }): HubRepoRef {
  const repo = input.repo.trim().replace(/^https?:\/\/[^/]+\//, '');
  if (!REPO_ID.test(repo) || repo.includes('..')) {
    throw new HubError('bad-input', `"${input.repo}" is not a model id: expected "org/name" (like "openai-community/gpt2") or "name"`);
  }
  const revision = (input.revision ?? '').trim() || 'main';
  if (/\s|\.\.|^\/|\/$/.test(revision)) throw new HubError('bad-input', `"${revision}" is not a revision (a branch, tag or commit hash)`);
  const endpoint = (input.endpoint ?? '').trim().replace(/\/+$/, '') || DEFAULT_HUB_ENDPOINT;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new HubError('bad-input', `"${endpoint}" is not a URL: the endpoint is the Hub's address, like ${DEFAULT_HUB_ENDPOINT}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new HubError('bad-input', `the endpoint must be an http(s) URL, got ${url.protocol}`);
  }
  return { endpoint, repo, revision };
}

/**
 * A fetch that carries `signal` on every request, asks for plain files rather than Xet metadata,
 * and sends the token only to the endpoint's origin (a redirect to a CDN on another origin is followed without it: browsers drop
 * Authorization on cross-origin redirects, and a request made to another origin directly is
 * stripped here).
 */
export function endpointFetch(endpoint: string, signal: AbortSignal | undefined, base: typeof fetch = fetch): typeof fetch {
  const origin = new URL(endpoint).origin;
  return (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init.headers);
    if (url.origin !== origin) headers.delete('Authorization');
    // The library asks for Xet file info (a JSON answer whose headers a cross-origin page may not be
    // allowed to read); files are read through `resolve` with plain HTTP, so ask for the plain answer.
    if (headers.get('Accept')?.includes('vnd.xet-fileinfo')) headers.set('Accept', '*/*');
    return base(input, { ...init, headers, signal });
  };
}

export interface HubFile {
  path: string;
  size: number;
}

export interface RemoteFile {
  name: string;
  size: number;
  /** The Hub's ETag: for LFS files the SHA-256 of the content. */
  etag: string;
  /** Random access by HTTP Range (slice().arrayBuffer()), or a whole-file stream. */
  blob: Blob;
}

/** Progress of one file's download, in bytes. */
export type OnBytes = (received: number) => void;

/** The Hub client for one repo, one token and one cancellable load. */
export class HubClient {
  private readonly fetch: typeof fetch;

  constructor(
    readonly ref: HubRepoRef,
    private readonly options: { token?: string; signal?: AbortSignal; fetch?: typeof fetch } = {},
  ) {
    if (options.token && !/^hf_\w+$/.test(options.token)) {
      throw new HubError('bad-input', 'an access token starts with "hf_" (create one at huggingface.co/settings/tokens)');
    }
    this.fetch = endpointFetch(ref.endpoint, options.signal, options.fetch);
  }

  private get common() {
    return { repo: this.ref.repo, revision: this.ref.revision, hubUrl: this.ref.endpoint, fetch: this.fetch, accessToken: this.options.token || undefined };
  }

  /**
   * Every file in the repo at this revision (the tree API), or undefined when the endpoint has no
   * such API (some mirrors serve only `resolve`): callers then probe files one by one.
   */
  async listFiles(): Promise<HubFile[] | undefined> {
    const files: HubFile[] = [];
    try {
      for await (const entry of listFiles({ ...this.common, recursive: true })) {
        if (entry.type === 'file') files.push({ path: entry.path, size: entry.lfs?.size ?? entry.size });
      }
    } catch (e) {
      const error = this.explain(e, 'listing files');
      // A plain 404 (no X-Error-Code) from a mirror without the API is not "no such repo".
      if (e instanceof HubApiError && e.statusCode === 404 && error.code === 'http') return undefined;
      if (e instanceof SyntaxError) return undefined;
      throw error;
    }
    return files;
  }

  /** Size, ETag and final URL of a file, or null when the repo has no such file. One `bytes=0-0` request. */
  async info(path: string): Promise<FileDownloadInfoOutput | null> {
    try {
      return await fileDownloadInfo({ ...this.common, path });
    } catch (e) {
      const error = this.explain(e, path);
      if (error.code === 'http' && e instanceof HubApiError && e.statusCode === 404) return null;
      throw error;
    }
  }

  /** A lazy handle on a file: nothing is downloaded until it is read. Null when there is no such file. */
  async open(path: string, known?: FileDownloadInfoOutput | null): Promise<RemoteFile | null> {
    const info = known === undefined ? await this.info(path) : known;
    if (!info) return null;
    try {
      // xet: false reads through `resolve` with plain HTTP (and its CDN redirect), which every
      // mirror serves; the Hub answers that for Xet-stored files too.
      const blob = await downloadFile({ ...this.common, path, downloadInfo: info, xet: false });
      if (!blob) return null;
      return { name: path, size: info.size, etag: info.etag, blob };
    } catch (e) {
      throw this.explain(e, path);
    }
  }

  /**
   * Downloads a whole file as a stream, reporting bytes as they arrive. When the connection drops
   * mid-body it resumes from the last byte received with a Range request, up to
   * MAX_RESUME_ATTEMPTS times, then fails with `interrupted`. Never returns a short file.
   */
  async download(file: RemoteFile, onBytes: OnBytes = () => {}, onResume: () => void = () => {}): Promise<Blob> {
    const chunks: Uint8Array[] = [];
    let received = 0;
    for (let attempt = 0; ; attempt++) {
      const part = received === 0 ? file.blob : file.blob.slice(received);
      try {
        const reader = part.stream().getReader();
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            if (received + value.byteLength > file.size) {
              throw new HubError('corrupt', `${file.name}: the server sent more than the ${file.size} bytes it announced`);
            }
            chunks.push(value);
            received += value.byteLength;
            onBytes(received);
          }
        } finally {
          reader.releaseLock();
        }
        if (received === file.size) return new Blob(chunks as BlobPart[]);
        throw new Error(`the connection closed after ${received} of ${file.size} bytes`);
      } catch (e) {
        this.throwIfCancelled();
        if (e instanceof HubError) throw e;
        if (e instanceof HubApiError && e.statusCode < 500) throw this.explain(e, file.name);
        if (attempt >= MAX_RESUME_ATTEMPTS) {
          throw new HubError(
            'interrupted',
            `${this.ref.repo}/${file.name}: download interrupted at ${received.toLocaleString('en')} of ${file.size.toLocaleString('en')} bytes ` +
              `after ${attempt + 1} attempts (${reasonOf(e)}). Nothing was cached; load again to retry.`,
          );
        }
        await sleep(RESUME_DELAY_MS * (attempt + 1), this.options.signal);
        onResume();
      }
    }
  }

  throwIfCancelled(): void {
    if (this.options.signal?.aborted) throw cancelledError(this.options.signal);
  }

  /** A HubError that says what happened to `what` and what the user can do. */
  explain(e: unknown, what: string): HubError {
    if (e instanceof HubError) return e;
    if (this.options.signal?.aborted) return cancelledError(this.options.signal);
    const repo = `"${this.ref.repo}"`;
    if (e instanceof HubApiError) {
      const code = errorCodeOf(e);
      const tokenHint = this.options.token ? 'check that your token has access to it' : 'add an access token';
      if (code === 'RepoNotFound' || (e.statusCode === 401 && !code)) {
        return new HubError('not-found', `No model ${repo} on ${this.ref.endpoint} (HTTP ${e.statusCode}). Check the id; if the model is private or gated, ${tokenHint}.`);
      }
      if (code === 'RevisionNotFound') return new HubError('revision-not-found', `Model ${repo} has no revision "${this.ref.revision}" (HTTP ${e.statusCode}).`);
      if (code === 'GatedRepo' || e.statusCode === 401 || e.statusCode === 403) {
        return new HubError('unauthorized', `Model ${repo} is gated or private (HTTP ${e.statusCode}): ${tokenHint}, and accept its terms on the model page.`);
      }
      return new HubError('http', `${repo} ${what}: HTTP ${e.statusCode} from ${e.url}`);
    }
    return new HubError('network', `${repo} ${what}: no answer from ${this.ref.endpoint} (${reasonOf(e)}). Check the endpoint and your connection.`);
  }
}

/**
 * The library keeps the response's JSON body but not its headers; the Hub's X-Error-Code is
 * recovered from the message it builds from the body when the body had none.
 */
function errorCodeOf(e: HubApiError): string | undefined {
  if (/repository not found/i.test(e.message)) return 'RepoNotFound';
  if (/revision not found|invalid rev/i.test(e.message)) return 'RevisionNotFound';
  if (/entry not found/i.test(e.message)) return 'EntryNotFound';
  if (/gated|restricted/i.test(e.message)) return 'GatedRepo';
  return undefined;
}

function reasonOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return typeof e === 'string' && e ? e : String(e);
}

export function cancelledError(signal: AbortSignal): HubError {
  return signal.reason instanceof HubError ? signal.reason : new HubError('cancelled', 'Loading was cancelled');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(cancelledError(signal));
      },
      { once: true },
    );
  });
}
