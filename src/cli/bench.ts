/**
 * `npm run bench`: prompt-tuning steps/s and tokens/s for every backend this machine can reach —
 * Node wasm and cpu, and Chromium webgpu, webgl and wasm (the built bench.html, driven by
 * Playwright) — on the embedded models and on a BERT-base-shaped random model. Prints a table and
 * writes bench-results/bench.json. Each row also gives the backend's own matmul rate and the share
 * of it the step achieves.
 *
 *   npm run bench                  # everything
 *   npm run bench -- --node-only   # skip Chromium (software WebGPU/WebGL take minutes a step here)
 *   npm run bench -- --skip-bert-base   # leave out the BERT-base-shaped model (12 x 768, sequence 128)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { chromium } from '@playwright/test';
import { loadPretrained } from '../model/loader';
import { dirFolder, useNodeBackend } from '../model/node';
import { BERT_BASE_CONFIG, BERT_BASE_SHAPE, benchStep, EMBEDDED_SHAPE, matmulPeak, type BenchResult } from '../bench/measure';
import { randomModel } from '../bench/randomModel';
import { CHROMIUM_BASE_ARGS, CHROMIUM_PATH, CHROMIUM_WEBGPU_ARGS } from '../../e2e/fixtures/chromium';

const { values: args } = parseArgs({
  options: {
    'node-only': { type: 'boolean', default: false },
    'browser-only': { type: 'boolean', default: false },
    steps: { type: 'string', default: '5' },
    'browser-steps': { type: 'string', default: '2' },
    /** The BERT-base-shaped row takes a few minutes. */
    'skip-bert-base': { type: 'boolean', default: false },
    port: { type: 'string', default: '4180' },
  },
});
const STEPS = Number(args.steps);
const EMBEDDED = ['studio-bert-tiny', 'studio-gpt2-tiny'];

type Row = BenchResult & { where: string } | { where: string; backend: string; model: string; skipped: string };

async function nodeRows(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const backend of ['wasm', 'cpu'] as const) {
    await useNodeBackend(backend);
    const peak = await matmulPeak();
    for (const name of EMBEDDED) {
      const loaded = await loadPretrained(await dirFolder(join('public', 'models', name)));
      const r = await benchStep(loaded.model, name, EMBEDDED_SHAPE, { steps: backend === 'cpu' ? 2 : STEPS, warmup: 1, peak });
      loaded.model.dispose();
      rows.push({ where: 'node', ...r });
      report(rows.at(-1)!);
    }
    if (args['skip-bert-base']) {
      rows.push({ where: 'node', backend, model: 'bert-base (random)', skipped: '--skip-bert-base' });
      report(rows.at(-1)!);
      continue;
    }
    if (backend === 'cpu') {
      // ~0.7 TFLOP per step at ~1 GFLOP/s: over ten minutes a step.
      rows.push({ where: 'node', backend, model: 'bert-base (random)', skipped: `a step would take about ${Math.round(700 / peak / 60)} min at ${peak.toFixed(1)} GFLOP/s` });
      report(rows.at(-1)!);
      continue;
    }
    try {
      const model = randomModel(BERT_BASE_CONFIG);
      const r = await benchStep(model, 'bert-base (random)', BERT_BASE_SHAPE, { steps: 2, warmup: 1, peak });
      model.dispose();
      rows.push({ where: 'node', ...r });
    } catch (e) {
      rows.push({ where: 'node', backend, model: 'bert-base (random)', skipped: `failed: ${(e as Error).message}` });
    }
    report(rows.at(-1)!);
  }
  return rows;
}

async function browserRows(): Promise<Row[]> {
  const port = Number(args.port);
  const server: ChildProcess = spawn('npx', ['vite', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { stdio: 'ignore' });
  const rows: Row[] = [];
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_BASE_ARGS, ...CHROMIUM_WEBGPU_ARGS] });
  try {
    await waitForServer(`http://127.0.0.1:${port}/bench.html`);
    for (const backend of ['webgpu', 'webgl', 'wasm']) {
      for (const model of EMBEDDED) {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${port}/bench.html?backend=${backend}&model=${model}&steps=${args['browser-steps']}`);
        await page.waitForFunction(() => 'benchResult' in window || 'benchError' in window, undefined, { timeout: 600_000 });
        const { result, error } = await page.evaluate(() => ({
          result: (window as unknown as { benchResult?: BenchResult }).benchResult,
          error: (window as unknown as { benchError?: string }).benchError,
        }));
        rows.push(result ? { where: 'chromium', ...result } : { where: 'chromium', backend, model, skipped: `error: ${error}` });
        report(rows.at(-1)!);
        await page.close();
      }
    }
  } finally {
    await browser.close();
    server.kill();
  }
  return rows;
}

async function waitForServer(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`vite preview did not come up at ${url} (run \`vite build\` first)`);
}

function report(row: Row): void {
  if ('skipped' in row) {
    console.log(`${row.where.padEnd(8)} ${row.backend.padEnd(7)} ${row.model.padEnd(20)} skipped: ${row.skipped}`);
    return;
  }
  const s = row.shape;
  console.log(
    `${row.where.padEnd(8)} ${row.backend.padEnd(7)} ${row.model.padEnd(20)} B${s.batchSize} T${s.sequenceLength} N${s.promptLength}  ` +
      `${row.msPerStep.toFixed(0).padStart(7)} ms/step  ${row.tokensPerSecond.toFixed(0).padStart(6)} tok/s  ` +
      `${row.achievedGflops.toFixed(1)} of ${row.matmulPeakGflops.toFixed(1)} GFLOP/s matmul peak (${(100 * row.peakRatio).toFixed(0)}%)  ` +
      `tensors ${row.numTensorsBefore}->${row.numTensorsAfter}`,
  );
}

async function main(): Promise<void> {
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, tfjs ${tf.version.tfjs}`;
  console.log(`bench on ${machine}`);
  const rows = [...(args['browser-only'] ? [] : await nodeRows()), ...(args['node-only'] ? [] : await browserRows())];
  await mkdir('bench-results', { recursive: true });
  await writeFile(join('bench-results', 'bench.json'), JSON.stringify({ machine, date: new Date().toISOString(), rows }, null, 2) + '\n');
  console.log('wrote bench-results/bench.json');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
