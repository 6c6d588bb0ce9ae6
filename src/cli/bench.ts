/**
 * `npm run bench`: prompt-tuning steps/s and tokens/s for every backend this machine can reach —
 * Node wasm and cpu, and Chromium webgpu, webgl and wasm (the built bench.html, driven by
 * Playwright) — on the embedded models and on a BERT-base-shaped random model. Prints a table and
 * writes bench-results/bench.json. Each row also gives the backend's own matmul rate and the share
 * of it the step achieves.
 *
 *   npm run bench                  # everything (builds the page for the Chromium rows)
 *   npm run bench -- --node-only   # skip Chromium (software WebGPU/WebGL take minutes a step here)
 *   npm run bench -- --skip-bert-base   # leave out the BERT-base-shaped model (12 x 768, sequence 128)
 *   npm run bench -- --node-only --backend wasm,webgpu   # Node backends to measure (default wasm,cpu);
 *                                  # webgpu is Dawn on the Vulkan driver VK_ICD_FILENAMES names, or the system's
 *
 * Every row also counts what one step asks of the backend (tfjs kernels; on WebGPU dispatches,
 * submits, buffers created, bytes uploaded and read back), which does not depend on the machine,
 * and the step's peak tensor bytes (on wasm also the heap's size). Node's BERT-base row runs at
 * batch 8 with per-layer recomputation (src/model/checkpointing.ts); the plain tape outgrows the wasm heap.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { waitForPreview } from '../node/preview';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { chromium } from '@playwright/test';
import { loadPretrained } from '../model/loader';
import { dirFolder, nodeWebGpuAdapter, useNodeBackend } from '../node/model';
import { describeAdapter } from '../model/webgpu';
import { BERT_BASE_CONFIG, BERT_BASE_GPU_SHAPE, BERT_BASE_RECOMPUTE, BERT_BASE_SHAPE, benchStep, EMBEDDED_SHAPE, matmulPeak, type BenchResult } from '../bench/measure';
import { randomModel } from '../bench/randomModel';
import { CHROMIUM_BASE_ARGS, CHROMIUM_PATH, CHROMIUM_WEBGPU_ARGS } from '../../e2e/fixtures/chromium';
import { startCommand } from './args';
import { BENCH, parseBenchArgs } from './commands';

const args = startCommand(BENCH, parseBenchArgs);
const STEPS = args.steps;
const EMBEDDED = ['studio-bert-tiny', 'studio-gpt2-tiny'];

type Row = BenchResult & { where: string } | { where: string; backend: string; model: string; skipped: string };

async function nodeRows(): Promise<Row[]> {
  const rows: Row[] = [];
  const skip = (backend: string, model: string, skipped: string) => {
    rows.push({ where: 'node', backend, model, skipped });
    report(rows.at(-1)!);
  };
  for (const backend of args.backends) {
    try {
      await useNodeBackend(backend);
    } catch (e) {
      skip(backend, '(all)', (e as Error).message);
      continue;
    }
    if (backend === 'webgpu' && nodeWebGpuAdapter) console.log(`webgpu on ${describeAdapter(nodeWebGpuAdapter)}`);
    const software = backend === 'webgpu' && !!nodeWebGpuAdapter?.software;
    const peak = await matmulPeak();
    for (const name of EMBEDDED) {
      const loaded = await loadPretrained(await dirFolder(join('public', 'models', name)));
      const steps = backend === 'cpu' || software ? 2 : STEPS;
      const r = await benchStep(loaded.model, name, EMBEDDED_SHAPE, { steps, warmup: 1, peak });
      loaded.model.dispose();
      rows.push({ where: 'node', ...r });
      report(rows.at(-1)!);
    }
    if (args.skipBertBase) {
      skip(backend, 'bert-base (random)', '--skip-bert-base');
      continue;
    }
    if (backend === 'cpu' || software) {
      // ~0.7 TFLOP per step at a few GFLOP/s: over ten minutes a step.
      skip(backend, 'bert-base (random)', `a step would take about ${Math.round(700 / peak / 60)} min at ${peak.toFixed(1)} GFLOP/s`);
      continue;
    }
    try {
      const model = randomModel(BERT_BASE_CONFIG);
      const shape = backend === 'webgpu' ? BERT_BASE_GPU_SHAPE : BERT_BASE_SHAPE;
      const recomputeLayers = backend === 'webgpu' ? false : BERT_BASE_RECOMPUTE;
      const r = await benchStep(model, 'bert-base (random)', shape, { steps: 2, warmup: 1, peak, recomputeLayers });
      model.dispose();
      rows.push({ where: 'node', ...r });
      report(rows.at(-1)!);
    } catch (e) {
      skip(backend, 'bert-base (random)', `failed: ${(e as Error).message}`);
    }
  }
  return rows;
}

async function browserRows(): Promise<Row[]> {
  const port = args.port;
  // The page half is the built bench.html: built here, so that --node-only runs need no build.
  execFileSync('npx', ['vite', 'build'], { stdio: 'inherit' });
  const server: ChildProcess = spawn('npx', ['vite', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { stdio: 'ignore' });
  const rows: Row[] = [];
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_BASE_ARGS, ...CHROMIUM_WEBGPU_ARGS] });
  try {
    await waitForPreview(`http://127.0.0.1:${port}/bench.html`);
    for (const backend of ['webgpu', 'webgl', 'wasm']) {
      for (const model of EMBEDDED) {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${port}/bench.html?backend=${backend}&model=${model}&steps=${args.browserSteps}`);
        // These functions run in the page (globalThis is its window); this file builds with Node's types only.
        await page.waitForFunction(() => 'benchResult' in globalThis || 'benchError' in globalThis, undefined, { timeout: 600_000 });
        const { result, error } = await page.evaluate(() => ({
          result: (globalThis as unknown as { benchResult?: BenchResult }).benchResult,
          error: (globalThis as unknown as { benchError?: string }).benchError,
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

function report(row: Row): void {
  if ('skipped' in row) {
    console.log(`${row.where.padEnd(8)} ${row.backend.padEnd(7)} ${row.model.padEnd(20)} skipped: ${row.skipped}`);
    return;
  }
  const s = row.shape;
  console.log(
    `${row.where.padEnd(8)} ${row.backend.padEnd(7)} ${row.model.padEnd(20)} B${s.batchSize} T${s.sequenceLength} N${s.promptLength}${row.recomputeLayers ? ' recompute' : ''}  ` +
      `${row.msPerStep.toFixed(0).padStart(7)} ms/step  ${row.tokensPerSecond.toFixed(0).padStart(6)} tok/s  ` +
      `${row.achievedGflops.toFixed(1)} of ${row.matmulPeakGflops.toFixed(1)} GFLOP/s matmul peak (${(100 * row.peakRatio).toFixed(0)}%)  ` +
      `tensors ${row.numTensorsBefore}->${row.numTensorsAfter}  ${memoryLine(row.work)}  ${workLine(row.work)}`,
  );
}

function bytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`;
}

/** "peak 312.4 MB (+180.2 MB in the step), wasm heap 640.0 MB": tfjs's tensor bytes at the step's peak. */
export function memoryLine(w: BenchResult['work']): string {
  return `peak ${bytes(w.peakBytes)} (+${bytes(w.stepPeakBytes)} in the step)${w.wasmHeapBytes !== undefined ? `, wasm heap ${bytes(w.wasmHeapBytes)}` : ''}`;
}

/** "412 kernels, 398 dispatches, 27 submits, 0 buffers, 5.1 kB up, 4 B down" per step. */
export function workLine(w: BenchResult['work']): string {
  const kb = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`);
  const gpu = w.gpu ? `, ${w.gpu.dispatches} dispatches, ${w.gpu.submits} submits, ${w.gpu.buffersCreated} buffers, ${kb(w.gpu.bytesUploaded)} up, ${kb(w.gpu.bytesReadBack)} down` : '';
  return `${w.kernels} kernels${gpu} per step`;
}

async function main(): Promise<void> {
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, tfjs ${tf.version.tfjs}`;
  console.log(`bench on ${machine}`);
  const rows = [...(args.browserOnly ? [] : await nodeRows()), ...(args.nodeOnly ? [] : await browserRows())];
  await mkdir('bench-results', { recursive: true });
  await writeFile(join('bench-results', 'bench.json'), JSON.stringify({ machine, date: new Date().toISOString(), rows }, null, 2) + '\n');
  console.log('wrote bench-results/bench.json');
}

void main();
