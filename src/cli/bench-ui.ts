/**
 * `npm run bench:ui`: main-thread long tasks while the studio page trains (issue 17: no task over
 * 50 ms during training). Chromium's PerformanceObserver reports every task over 50 ms as a
 * 'longtask' entry; the page's own observer collects them from its first script on, and the tasks
 * that start between the click on Start and the run's end are the training's.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { waitForPreview } from '../node/preview';
import { writeFile } from 'node:fs/promises';
import { chromium, type Page } from '@playwright/test';
import { CHROMIUM_BASE_ARGS, CHROMIUM_PATH, CHROMIUM_WEBGPU_ARGS } from '../../e2e/fixtures/chromium';
import { startCommand } from './args';
import { BENCH_UI, parseBenchUiArgs } from './commands';

const args = startCommand(BENCH_UI, parseBenchUiArgs);
/** The browser's threshold for a long task. */
const LONG_TASK_MS = 50;
const RUN_TIMEOUT_MS = 600_000;

interface LongTask {
  start: number;
  duration: number;
}

async function main(): Promise<void> {
  if (!args.skipBuild) execFileSync('npx', ['vite', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${args.port}`;
  const server: ChildProcess = spawn('npx', ['vite', 'preview', '--host', '127.0.0.1', '--port', String(args.port), '--strictPort'], { stdio: 'ignore' });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_BASE_ARGS, ...CHROMIUM_WEBGPU_ARGS] });
  try {
    await waitForPreview(base, 'run `vite build` first, or leave out --skip-build');
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // Runs in the page before its scripts (globalThis is its window; this file builds with Node's types only).
    await page.addInitScript(() => {
      const tasks: { start: number; duration: number }[] = [];
      (globalThis as unknown as { __longTasks: typeof tasks }).__longTasks = tasks;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) tasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask' as 'mark', buffered: true }); // Node's types do not list 'longtask'
    });
    await page.goto(`${base}/?backend=${args.backend}`);
    await page.locator('[data-testid="app"][data-state="ready"], [data-testid="app"][data-state="failed"]').waitFor({ timeout: 120_000 });
    if ((await page.getByTestId('app').getAttribute('data-state')) !== 'ready') throw new Error(`the studio did not start: ${await page.getByTestId('app.status').textContent()}`);
    await prepare(page);

    const start = page.locator('[data-testid="train.start"]:enabled');
    await start.waitFor({ timeout: 60_000 });
    if (args.trace) await browser.startTracing(page, { categories: ['devtools.timeline', 'v8', 'blink.user_timing', 'disabled-by-default-v8.cpu_profiler'] });
    const t0 = await page.evaluate(() => performance.now());
    await start.click();
    await page.getByTestId('train.state').filter({ hasText: /^(completed|stopped|failed)$/ }).waitFor({ timeout: RUN_TIMEOUT_MS });
    const t1 = await page.evaluate(() => performance.now());
    const state = await page.getByTestId('train.state').textContent();
    const steps = Number(await page.getByTestId('train.lossChart').getAttribute('data-points'));
    const tasks = (await page.evaluate(() => (globalThis as unknown as { __longTasks: LongTask[] }).__longTasks)).filter((t) => t.start >= t0 && t.start <= t1);

    const longest = tasks.reduce((m, t) => Math.max(m, t.duration), 0);
    const summary = {
      event: 'longtasks',
      backend: args.backend,
      state,
      steps,
      trainingSeconds: Number(((t1 - t0) / 1000).toFixed(1)),
      count: tasks.length,
      longestMs: Math.round(longest),
      totalMs: Math.round(tasks.reduce((s, t) => s + t.duration, 0)),
      over100Ms: tasks.filter((t) => t.duration > 100).length,
      slowest: [...tasks].sort((a, b) => b.duration - a.duration).slice(0, 5).map((t) => ({ atSeconds: Number(((t.start - t0) / 1000).toFixed(2)), ms: Math.round(t.duration) })),
    };
    console.log(JSON.stringify(summary));
    if (args.trace) {
      const trace = await browser.stopTracing();
      await writeFile(args.trace, trace);
      for (const line of longTaskBreakdown(JSON.parse(trace.toString('utf8')) as { traceEvents: TraceEvent[] })) console.log(line);
    }
    console.log(
      `${tasks.length} main-thread task(s) over ${LONG_TASK_MS} ms during ${summary.trainingSeconds} s of training (${steps} steps, ${state}); ` +
        (tasks.length ? `longest ${summary.longestMs} ms, ${summary.totalMs} ms in all.` : 'none.'),
    );
  } finally {
    await browser.close();
    server.kill();
  }
}

interface ProfileNode {
  id: number;
  parent?: number;
  callFrame: { functionName: string; url?: string; lineNumber?: number };
}
interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  id?: string;
  args?: {
    name?: string;
    data?: {
      functionName?: string;
      url?: string;
      type?: string;
      startTime?: number;
      cpuProfile?: { nodes?: ProfileNode[]; samples?: number[] };
      timeDeltas?: number[];
    };
  };
}

/**
 * The main thread's V8 samples in a trace (category disabled-by-default-v8.cpu_profiler): for each
 * sample, its time (trace clock, µs) and the function it was in ("name file:line").
 */
function mainThreadSamples(events: TraceEvent[], main: TraceEvent): { ts: number; fn: string }[] {
  const ids = new Set(events.filter((e) => e.name === 'Profile' && e.pid === main.pid && e.tid === main.tid).map((e) => e.id));
  const nodes = new Map<number, ProfileNode>();
  const out: { ts: number; fn: string }[] = [];
  let ts = 0;
  for (const e of events) {
    if (!ids.has(e.id) || e.pid !== main.pid) continue;
    if (e.name === 'Profile') ts = e.args?.data?.startTime ?? ts;
    if (e.name !== 'ProfileChunk') continue;
    for (const n of e.args?.data?.cpuProfile?.nodes ?? []) nodes.set(n.id, n);
    const samples = e.args?.data?.cpuProfile?.samples ?? [];
    const deltas = e.args?.data?.timeDeltas ?? [];
    samples.forEach((id, i) => {
      ts += deltas[i] ?? 0;
      const f = nodes.get(id)?.callFrame;
      out.push({ ts, fn: f ? `${f.functionName || '(anonymous)'} ${f.url?.split('/').pop() ?? ''}:${f.lineNumber ?? -1}` : '?' });
    });
  }
  return out;
}

/**
 * For each main-thread stretch of work over 50 ms in a Chromium trace (its outermost trace event:
 * a function call, an animation frame, a GC), what it spent its time on: the events inside it over
 * 3 ms, summed by name (a FunctionCall's function, minified, is named in brackets), then the functions
 * V8's sampler found it in most (self time; readable names need an unminified build).
 */
function longTaskBreakdown(trace: { traceEvents: TraceEvent[] }): string[] {
  const events = trace.traceEvents;
  const main = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
  if (!main) return ['trace: no renderer main thread'];
  const onMain = events.filter((e) => e.pid === main.pid && e.tid === main.tid && e.ph === 'X' && e.dur !== undefined).sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  const contains = (p: TraceEvent, e: TraceEvent) => p !== e && p.ts <= e.ts && p.ts + p.dur! >= e.ts + e.dur!;
  const long = onMain.filter((e) => e.dur! > LONG_TASK_MS * 1000);
  const outermost = long.filter((e) => !long.some((p) => contains(p, e) && p.dur! > e.dur!));
  const label = (e: TraceEvent) => (e.args?.data?.functionName ? `${e.name}(${e.args.data.functionName})` : e.name);
  const samples = mainThreadSamples(events, main);
  const lines = outermost.map((task) => {
    const byName = new Map<string, number>();
    for (const e of onMain) if (contains(task, e) && e.dur! > 3000) byName.set(label(e), (byName.get(label(e)) ?? 0) + e.dur!);
    const top = [...byName.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([n, us]) => `${n} ${Math.round(us / 1000)}`);
    const inTask = samples.filter((x) => x.ts >= task.ts && x.ts <= task.ts + task.dur!);
    const bySelf = new Map<string, number>();
    for (const x of inTask) bySelf.set(x.fn, (bySelf.get(x.fn) ?? 0) + 1);
    const hot = [...bySelf.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([fn, n]) => `${fn} ${Math.round((100 * n) / inTask.length)}%`);
    return `${label(task)} ${Math.round(task.dur! / 1000)} ms: ${top.join(', ')}` + (hot.length ? `\n  sampled (self): ${hot.join(', ')}` : '');
  });
  return lines.length ? lines : ['trace: no main-thread work over 50 ms'];
}

/** studio-bert-tiny, the sentiment sample (its template and label words), a short run. */
async function prepare(page: Page): Promise<void> {
  await page.getByTestId('model.select').selectOption('studio-bert-tiny');
  await page.getByTestId('model.load').click();
  await page.getByTestId('model.summary').filter({ hasText: 'studio-bert-tiny' }).waitFor({ timeout: 60_000 });
  await page.getByTestId('data.sample').selectOption('sentiment.csv');
  await page.getByTestId('data.sample.load').click();
  await page.getByTestId('data.summary').filter({ hasText: 'sentiment.csv: 300 rows' }).waitFor({ timeout: 60_000 });
  await page.getByTestId('train.advanced').click();
  await page.getByTestId('train.epochs').fill(String(args.epochs));
  await page.getByTestId('train.batchSize').fill(String(args.batchSize));
  await page.getByTestId('train.seed').fill('1');
}

await main();
