/**
 * Finds a worker that died without a word: killed by the browser (out of memory), or stuck in a
 * call that never returns (a hung WASM or GPU call). Neither fires an `error` event, so without
 * this the page would wait forever. While a request is in flight the client pings the worker;
 * anything the worker sends (a pong, a progress or metrics event, a result) counts as an answer.
 *
 * Why the limit is generous: the worker answers only between synchronous steps (the session
 * awaits between batches, phases and files), and one step can be long: the first WebGPU step
 * compiles its shaders, a BERT-base step on the pure-JS cpu backend takes tens of seconds, a large
 * checkpoint is converted in one go. A false alarm costs a worker restart and a resume from the
 * last checkpoint, and one that repeats stops the run (recovery.ts), so the limit is two minutes,
 * and grows to WORKER_SILENCE_FACTOR times the longest silence this worker has already ended by
 * answering (a machine whose steps take a minute gets four).
 */

/** How often a ping is sent while a request is in flight. */
export const PING_INTERVAL_MS = 5_000;
/** Silence after which the worker is taken for dead (at least; see WORKER_SILENCE_FACTOR). */
export const WORKER_SILENCE_MS = 120_000;
/** The limit is at least this many times the longest silence the worker has already come back from. */
export const WORKER_SILENCE_FACTOR = 4;
/**
 * One tick counts for at most this long: when the page itself was asleep (a frozen or throttled
 * background tab, a laptop lid), the worker had no chance to be heard either.
 */
const MAX_TICK_CREDIT_MS = 2 * PING_INTERVAL_MS;

/** Time as the heartbeat sees it; tests pass a fake one. */
export interface HeartbeatClock {
  now(): number;
  setInterval(tick: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const realClock: HeartbeatClock = {
  now: () => Date.now(),
  setInterval: (tick, ms) => setInterval(tick, ms),
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

export interface HeartbeatOptions {
  pingIntervalMs: number;
  silenceMs: number;
  clock: HeartbeatClock;
}

export const DEFAULT_HEARTBEAT: HeartbeatOptions = { pingIntervalMs: PING_INTERVAL_MS, silenceMs: WORKER_SILENCE_MS, clock: realClock };

/**
 * The heartbeat of one worker. `busy(true)` while requests are in flight; `heard()` on every event
 * from the worker. Calls `ping()` each interval without an answer, and `dead(silentMs)` once.
 */
export class WorkerHeartbeat {
  private timer: unknown = null;
  private lastTick = 0;
  /** Silence so far, counted in the page's own waking time (see MAX_TICK_CREDIT_MS). */
  private silentMs = 0;
  /** The longest silence this worker has ended by answering. */
  private longestAnsweredMs = 0;
  private pingAnswered = true;
  private stopped = false;

  constructor(
    private readonly options: HeartbeatOptions,
    private readonly ping: () => void,
    private readonly dead: (silentMs: number) => void,
  ) {}

  /** The silence after which this worker is taken for dead. */
  limitMs(): number {
    return Math.max(this.options.silenceMs, WORKER_SILENCE_FACTOR * this.longestAnsweredMs);
  }

  busy(inFlight: boolean): void {
    if (this.stopped) return;
    if (inFlight && this.timer === null) {
      this.silentMs = 0;
      this.pingAnswered = true;
      this.lastTick = this.options.clock.now();
      this.timer = this.options.clock.setInterval(() => this.tick(), this.options.pingIntervalMs);
    } else if (!inFlight && this.timer !== null) {
      this.options.clock.clearInterval(this.timer);
      this.timer = null;
    }
  }

  heard(): void {
    if (this.timer !== null) this.longestAnsweredMs = Math.max(this.longestAnsweredMs, this.silentMs + this.sinceLastTick());
    this.silentMs = 0;
    this.pingAnswered = true;
    this.lastTick = this.options.clock.now();
  }

  /** This worker is gone (replaced or closed): no more pings, no verdict. */
  stop(): void {
    this.busy(false);
    this.stopped = true;
  }

  private sinceLastTick(): number {
    return Math.min(Math.max(0, this.options.clock.now() - this.lastTick), MAX_TICK_CREDIT_MS);
  }

  private tick(): void {
    this.silentMs += this.sinceLastTick();
    this.lastTick = this.options.clock.now();
    if (this.silentMs >= this.limitMs()) {
      const silent = this.silentMs;
      this.stop();
      this.dead(silent);
      return;
    }
    // One ping at a time: a worker deep in a long step would only queue them.
    if (this.pingAnswered) {
      this.pingAnswered = false;
      this.ping();
    }
  }
}
