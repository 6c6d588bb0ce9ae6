/**
 * The globals that src/model/, src/engine/ and src/shared/ may use: those a Web Worker and Node
 * (20+) both provide, and only the members the code uses.
 *
 * Why by hand: those layers run in the worker, in Node tests and in the CLI, so they build with lib
 * ES2022 and neither the DOM, WebWorker nor Node types (their tsconfig.json). `document`, `self`,
 * `process` or `node:fs` there is then a compile error, not a crash in the one place that lacks it.
 * A member missing here is a compile error too: add it once you know Node and a worker both have
 * it. Code that imports these layers sees its own lib's full types under the same names.
 */

// Timers and scheduling. The handle is opaque: a number in a worker, an object in Node.
declare function setTimeout(callback: () => void, ms?: number): unknown;
declare function clearTimeout(timer: unknown): void;

interface Performance {
  now(): number;
}
declare var performance: Performance;

/** A macrotask between training steps (engine/train.ts yieldToEventLoop). */
interface MessagePort {
  onmessage: ((event: unknown) => void) | null;
  postMessage(message: unknown): void;
}
interface MessageChannel {
  readonly port1: MessagePort;
  readonly port2: MessagePort;
}
declare var MessageChannel: { new (): MessageChannel; prototype: MessageChannel };

// Cancellation.
interface AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
declare var AbortSignal: { prototype: AbortSignal };
interface AbortController {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
}
declare var AbortController: { new (): AbortController; prototype: AbortController };

// Text and hashing.
interface TextEncoder {
  encode(input?: string): Uint8Array<ArrayBuffer>;
}
declare var TextEncoder: { new (): TextEncoder; prototype: TextEncoder };
interface TextDecoder {
  decode(input?: ArrayBuffer | ArrayBufferView): string;
}
/** `label`: 'utf-8' (the default) or 'latin1'; `fatal`: invalid input throws instead of becoming U+FFFD. */
declare var TextDecoder: { new (label?: string, options?: { fatal?: boolean }): TextDecoder; prototype: TextDecoder };

interface SubtleCrypto {
  digest(algorithm: 'SHA-256', data: ArrayBuffer | ArrayBufferView<ArrayBuffer>): Promise<ArrayBuffer>;
}
interface Crypto {
  readonly subtle: SubtleCrypto;
}
declare var crypto: Crypto;

// Bytes: weights and tokenizer files arrive as Blobs (Hub downloads, Cache Storage) or Files (a picked folder).
type BlobPart = ArrayBuffer | ArrayBufferView<ArrayBuffer> | Blob | string;
interface Blob {
  readonly size: number;
  readonly type: string;
  slice(start?: number, end?: number): Blob;
  arrayBuffer(): Promise<ArrayBuffer>;
  stream(): ReadableStream<Uint8Array<ArrayBuffer>>;
}
declare var Blob: { new (parts?: BlobPart[], options?: { type?: string }): Blob; prototype: Blob };
interface File extends Blob {
  readonly name: string;
}
declare var File: { prototype: File };

type ReadableStreamReadResult<T> = { done: false; value: T } | { done: true; value?: undefined };
interface ReadableStreamDefaultReader<R> {
  read(): Promise<ReadableStreamReadResult<R>>;
  releaseLock(): void;
}
interface ReadableStream<R> {
  getReader(): ReadableStreamDefaultReader<R>;
}

// HTTP: model folders served by URL, the Hub client.
interface URL {
  readonly href: string;
  readonly origin: string;
  readonly protocol: string;
}
declare var URL: { new (url: string, base?: string): URL; prototype: URL };

type HeadersInit = Headers | Record<string, string> | [string, string][];
interface Headers {
  get(name: string): string | null;
  set(name: string, value: string): void;
  delete(name: string): void;
}
declare var Headers: { new (init?: HeadersInit): Headers; prototype: Headers };

interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  signal?: AbortSignal | null;
}
interface Request {
  readonly url: string;
}
declare var Request: { new (input: string | URL, init?: RequestInit): Request; prototype: Request };

interface ResponseInit {
  status?: number;
  headers?: HeadersInit;
}
interface Response {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  arrayBuffer(): Promise<ArrayBuffer>;
  blob(): Promise<Blob>;
  json(): Promise<unknown>;
}
declare var Response: { new (body?: Blob | string | null, init?: ResponseInit): Response; prototype: Response };

declare function fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;

// Present in only one of the two: typed so that code must look before it uses them.
/** Node only: the cheapest macrotask. */
declare var setImmediate: ((callback: () => void) => unknown) | undefined;
/** Cache Storage: a worker on a secure origin only. */
declare var caches: unknown;
/** A worker's navigator (and Node 21+'s): what differs is checked where read. */
declare var navigator: unknown;
/** The worker script's address; none in Node. */
declare var location: { readonly href: string } | undefined;
