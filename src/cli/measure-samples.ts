/**
 * Tuning in the studio's default settings of one method on each sample set: the sample's preset
 * template and label words (src/shared/samples.ts, what the studio fills in when the sample is loaded)
 * and defaultTrainingConfig(mode, method), in both classification modes, with the zero-shot and
 * majority baselines; for decoders also the generation sample. Writes <model>/tuning.json (see
 * tuningFileName) for the model card, which tabulates every method it finds.
 *
 *   npm run measure-samples -- --model public/models/studio-bert-tiny [--only sentiment|spam|antonyms] [--method prefix]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { loadPretrained } from '../model/loader';
import { dirFolder, useNodeBackend } from '../node/model';
import { defaultTrainingConfig, trainClassifier, trainGenerator, type Row } from '../engine';
import { SAMPLES } from '../shared/samples';
import { decodeCsvBytes, parseCsvText } from '../session/csv';
import { Dataset } from '../session/dataset';
import { startCommand } from './args';
import { MEASURE_SAMPLES, parseMeasureSamplesArgs } from './commands';
import { tuningFileName } from './tuningFiles';

const values = startCommand(MEASURE_SAMPLES, parseMeasureSamplesArgs);

/** A sample's rows, read as the page and `npm run tune` read a CSV (src/session/csv.ts). */
async function rows(path: string): Promise<Row[]> {
  const name = basename(path);
  return Dataset.fromParsed(name, parseCsvText(decodeCsvBytes(new Uint8Array(await readFile(path)), name).text, name)).rows;
}

async function main(): Promise<void> {
  const dir = values.model;
  await useNodeBackend('wasm');
  const loaded = await loadPretrained(await dirFolder(dir));
  const lm = { model: loaded.model, tokenizer: loaded.tokenizer };
  const kind = loaded.config.lmKind;
  const results: Record<string, unknown>[] = [];
  const method = values.method;
  const config = defaultTrainingConfig('verbalizer', method);
  /** Adds how the run ended, prints and keeps the row, frees the run. */
  const keep = (row: Record<string, unknown>, r: { steps: number; stopReason: string; seconds: number; dispose(): void }) => {
    const full = { ...row, steps: r.steps, stopReason: r.stopReason, seconds: Math.round(r.seconds) };
    console.log(JSON.stringify(full));
    results.push(full);
    r.dispose();
  };
  for (const sample of SAMPLES) {
    const name = sample.file.replace(/\.csv$/, '');
    const template = sample.templates[kind];
    if ((values.only && values.only !== name) || !template) continue;
    const csv = join('public', 'samples', sample.file);
    if (sample.task === 'generation') {
      const data = { rows: await rows(csv), targetColumn: 'target', template };
      const r = await trainGenerator(lm, data, config);
      const row = {
        sample: name,
        mode: 'generation',
        method,
        learningRate: config.learningRate,
        template,
        trainSize: r.trainSize,
        valSize: r.valSize,
        before: r.before,
        after: r.after,
        samples: r.samples.slice(0, 8),
      };
      keep(row, r);
      continue;
    }
    for (const mode of ['verbalizer', 'head'] as const) {
      const labelWords = Object.fromEntries(Object.entries(sample.labelWords ?? {}).map(([c, w]) => [c, [...w]]));
      const data = { rows: await rows(csv), labelColumn: 'label', template, labelWords };
      const modeConfig = defaultTrainingConfig(mode, method);
      const r = await trainClassifier(lm, data, modeConfig);
      const row = {
        sample: name,
        mode,
        method,
        learningRate: modeConfig.learningRate,
        template,
        labelWords,
        trainSize: r.trainSize,
        valSize: r.valSize,
        majority: r.majority.accuracy,
        zeroShot: r.zeroShot?.accuracy ?? null,
        accuracy: r.validation?.accuracy ?? null,
        macroF1: r.validation?.macroF1 ?? null,
        robustness: r.robustness,
      };
      keep(row, r);
    }
  }
  const out = {
    command: `npm run measure-samples -- --model ${dir}${values.only ? ` --only ${values.only}` : ''}${method === 'prompt' ? '' : ` --method ${method}`}`,
    checkpointHash: loaded.checkpointHash,
    config,
    backend: 'Node wasm',
    results,
  };
  await writeFile(join(dir, tuningFileName(values.only, method)), JSON.stringify(out, null, 2) + '\n');
  loaded.model.dispose();
}

void main();
