/**
 * Writes the cases of the PEFT parity check: for each embedded model and each prompt method, a short
 * tuning run's export (prompt.json, peft/) and expected.json: the studio's own logits for a few
 * inputs laid out as PEFT feeds them (the virtual tokens before every input token, or the prefix at
 * every layer). `src/engine/testdata/verify_peft_parity.py` loads each adapter with real PEFT on the
 * same HF checkpoint and compares. The GPU kit runs both (npm run bench:gpu-kit); here it needs no GPU.
 *
 *   npx tsx src/cli/peft-parity.ts --out gpu-kit/peft [--models public/models]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadPretrained } from '../model/loader';
import { dirFolder, useNodeBackend } from '../node/model';
import { classificationExport, trainClassifier, DEFAULT_TRAINING_CONFIG, type Row } from '../engine';
import { exportFiles } from '../engine/export';
import { PROMPT_METHODS } from '../engine/types';
import { SAMPLES } from '../shared/samples';
import { parseCsvText, decodeCsvBytes } from '../session/csv';
import { COMMON_OPTIONS, parseOptions, startCommand, UsageError, type Command } from './args';

const PEFT_PARITY: Command = {
  name: 'peft-parity',
  usage: `usage: npx tsx src/cli/peft-parity.ts --out <dir> [--models public/models] [--debug]

  Writes one folder per embedded model and prompt method: a short run's export and expected.json (the
  studio's logits laid out as PEFT feeds them), for src/engine/testdata/verify_peft_parity.py.
  --debug prints the stack trace of a failure (or DEBUG=1); -h, --help prints this.`,
};

const args = startCommand(PEFT_PARITY, (argv) => {
  const v = parseOptions(argv, { ...COMMON_OPTIONS, out: { type: 'string' }, models: { type: 'string', default: 'public/models' } });
  if (!v.out) throw new UsageError('--out is required');
  return { out: v.out, models: v.models };
});

const MODELS = ['studio-bert-tiny', 'studio-gpt2-tiny'];
/** Inputs per case whose logits are compared. */
const INPUTS = 3;

async function main(): Promise<void> {
  const values = args;
  await useNodeBackend('cpu'); // the reference backend: plain float32 kernels
  const sample = SAMPLES.find((s) => s.file === 'sentiment.csv')!;
  const csv = parseCsvText(decodeCsvBytes(await readFile(join('public', 'samples', sample.file)), sample.file).text, sample.file);
  const rows: Row[] = csv.rows.slice(0, 48).map((cells) => Object.fromEntries(csv.columns.map((c, i) => [c, cells[i]])));
  for (const name of MODELS) {
    const modelDir = join(values.models as string, name);
    const loaded = await loadPretrained(await dirFolder(modelDir));
    const lm = { model: loaded.model, tokenizer: loaded.tokenizer };
    const template = sample.templates[loaded.config.lmKind]!;
    const data = { rows, labelColumn: 'label', template, labelWords: Object.fromEntries(Object.entries(sample.labelWords!).map(([c, w]) => [c, [...w]])) };
    for (const method of PROMPT_METHODS) {
      const config = { ...DEFAULT_TRAINING_CONFIG, method, promptLength: 4, epochs: 1, batchSize: 8, encoderHiddenSize: 32, seed: 7 };
      const result = await trainClassifier(lm, data, config);
      // The base model is the folder itself: PEFT loads it from base_model_name_or_path, run from the repository root.
      const { prompt, meta } = await classificationExport(result, data, config, { id: modelDir, checkpointHash: loaded.checkpointHash, config: loaded.config });
      const dir = join(values.out as string, `${name}-${method}`);
      for (const [path, bytes] of Object.entries(exportFiles(prompt, meta))) {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), bytes);
      }
      // PEFT's layout: the input ids alone (no soft tokens); the virtual tokens go before all of them,
      // or (prefix) into every layer's attention.
      const examples = result.prepared.valRows.slice(0, INPUTS).map((row) => result.prepared.template.encode(row, { withSoft: false }));
      const expected: { ids: number[]; position: number; logits: number[] }[] = [];
      for (const e of examples) {
        // One row per call: no padding to reproduce on the other side.
        const logits = tf.tidy(() => {
          const ids = tf.tensor2d([e.ids], [1, e.ids.length], 'int32');
          const words = lm.model.embed(ids);
          const prefix = result.prompt.prefix();
          const vectors = result.prompt.inputVectors();
          const inputsEmbeds = vectors ? (tf.concat([vectors.expandDims(0), words], 1) as tf.Tensor3D) : words;
          const hidden = lm.model.forward({ inputsEmbeds, attentionMask: tf.ones([1, inputsEmbeds.shape[1]], 'int32') as tf.Tensor2D, ...(prefix ? { prefix } : {}) });
          const at = (vectors ? vectors.shape[0] : 0) + e.maskPosition;
          return lm.model.lmLogits(hidden.slice([0, at, 0], [1, 1, -1]).reshape([1, -1])).reshape([-1]);
        });
        expected.push({ ids: e.ids, position: e.maskPosition, logits: Array.from(await logits.data()) });
        logits.dispose();
      }
      await writeFile(join(dir, 'expected.json'), JSON.stringify({ model: modelDir, method, modelType: loaded.config.modelType, numVirtualTokens: 4, inputs: expected }));
      console.log(JSON.stringify({ case: `${name}-${method}`, dir, dim: prompt.dim, inputs: expected.length }));
      result.dispose();
    }
    loaded.model.dispose();
  }
}

void main();
