/**
 * The Node half of the GPU benchmark kit (`npm run bench:gpu-kit` bundles it; gpu-kit/run.sh runs
 * it on the GPU machine): the engine's real prompt-tuning step (`syntheticStep`) on Node WebGPU
 * (Dawn), on random checkpoints it writes in the exact HF layout, and on the embedded models. For
 * each row it leaves, in --work, the checkpoint, the batch and the initial prompt, and the loss
 * of the first step, so that the PyTorch anchor (src/bench/gpu_anchor.py) loads the same files,
 * checks it computes the same loss, and times the same step. Rows go to <work>/webgpu.json.
 *
 *   node gpu-bench.mjs --work DIR [--quick] [--allow-software] [--steps N] [--models-dir public/models]
 *   npx tsx src/cli/gpu-bench.ts --work .cache/gpu-kit --quick --allow-software   # here, on SwiftShader
 *
 * --quick: tiny shapes, for a check of the whole kit on software WebGPU. Without it, a software
 * adapter is refused (its times are no GPU figures) unless --allow-software.
 */
import { cpus } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { nodeWebGpuAdapter, useNodeBackend } from '../node/model';
import { describeAdapter } from '../model/webgpu';
import { FULL_ROWS, measureRow, QUICK_ROWS, type KitRow } from '../bench/gpuKit';

const { values: args } = parseArgs({
  options: {
    work: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'allow-software': { type: 'boolean', default: false },
    steps: { type: 'string' },
    'models-dir': { type: 'string', default: join('public', 'models') },
    only: { type: 'string' },
  },
});

async function main(): Promise<void> {
  if (!args.work) throw new Error('--work DIR is required (checkpoints, batches and webgpu.json go there)');
  const work = args.work;
  await useNodeBackend('webgpu');
  const adapter = nodeWebGpuAdapter!;
  console.log(`webgpu adapter: ${describeAdapter(adapter)}; maxBufferSize ${adapter.maxBufferSize}, maxStorageBufferBindingSize ${adapter.maxStorageBufferBindingSize}`);
  if (adapter.software && !args.quick && !args['allow-software']) {
    throw new Error('the adapter is software (no GPU seen by Vulkan): its times are no GPU figures. Check the Vulkan driver (VK_ICD_FILENAMES / VK_DRIVER_FILES), or pass --allow-software');
  }
  const steps = Number(args.steps ?? (args.quick ? 2 : 10));
  const specs = (args.quick ? QUICK_ROWS : FULL_ROWS).filter((r) => !args.only || args.only.split(',').includes(r.name));
  const rows: KitRow[] = [];
  for (const spec of specs) {
    try {
      const row = await measureRow(spec, work, steps, args['models-dir'] as string);
      rows.push(row);
      const w = row.webgpu;
      console.log(
        `${spec.name.padEnd(24)} B${spec.shape.batchSize} T${spec.shape.sequenceLength} N${spec.shape.promptLength}  loss ${row.initialLoss.toFixed(5)}  ` +
          `${w.msPerStep.toFixed(1)} ms/step  ${w.tokensPerSecond.toFixed(0)} tok/s  ${w.achievedGflops.toFixed(0)} GFLOP/s  ` +
          `${w.work.kernels} kernels, ${w.work.gpu?.dispatches ?? '?'} dispatches per step`,
      );
    } catch (e) {
      console.log(`${spec.name}: failed: ${(e as Error).message}`);
    }
    await writeFile(join(work, 'webgpu.json'), JSON.stringify(kitJson(rows), null, 1) + '\n');
  }
  if (rows.length === 0) throw new Error('no row ran');
}

function kitJson(rows: KitRow[]) {
  return {
    date: new Date().toISOString(),
    adapter: nodeWebGpuAdapter,
    machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, tfjs ${tf.version.tfjs}`,
    quick: args.quick,
    rows,
  };
}

main().catch((e: unknown) => {
  console.error(process.env.DEBUG ? e : `error: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
