/**
 * The browser half of `npm run bench` (bench.html): ?backend=webgpu|webgl|wasm picks the backend,
 * the page times the embedded model's prompt-tuning step and publishes the result as
 * `window.benchResult` (or `window.benchError`) for the Playwright runner to read.
 */
import * as tf from '@tensorflow/tfjs';
import { selectTfjsBackend } from '../worker/backend';
import { loadPretrained, urlFolder } from '../model/loader';
import type { BackendName } from '../shared/protocol';
import { benchStep, EMBEDDED_SHAPE, matmulPeak } from './measure';

const out = document.getElementById('out') as HTMLElement;
const w = window as unknown as { benchResult?: unknown; benchError?: string };

async function run(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const backend = (params.get('backend') ?? 'webgpu') as BackendName;
  const steps = Number(params.get('steps') ?? 2);
  const { backend: got } = await selectTfjsBackend([backend]);
  if (got !== backend) throw new Error(`asked for ${backend}, got ${got}`);
  const model = params.get('model') ?? 'studio-bert-tiny';
  const loaded = await loadPretrained(urlFolder(new URL(`models/${model}/`, document.baseURI).href));
  const peak = await matmulPeak();
  // Software WebGPU/WebGL take about a minute a step here: one warm-up step, then `steps` timed.
  w.benchResult = await benchStep(loaded.model, model, EMBEDDED_SHAPE, { steps, warmup: 1, peak });
  loaded.model.dispose();
  out.textContent = JSON.stringify(w.benchResult, null, 2) + `\ntfjs ${tf.version.tfjs}`;
}

run().catch((e: unknown) => {
  w.benchError = e instanceof Error ? e.message : String(e);
  out.textContent = `error: ${w.benchError}`;
});
