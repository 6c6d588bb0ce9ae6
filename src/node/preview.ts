/** Waiting for the `vite preview` server a benchmark script started (bench's browser rows, bench:ui). */

/** Resolves once `url` answers 200 (polled every 300 ms, 30 s at most); `hint` ends the error otherwise. */
export async function waitForPreview(url: string, hint = 'run `vite build` first'): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`vite preview did not come up at ${url} (${hint})`);
}
