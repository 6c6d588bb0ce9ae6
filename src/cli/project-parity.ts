/**
 * Writes the cases of the "Train at scale" parity check: for each embedded model and method (CASES), the
 * project the studio exports for the sentiment sample (its preset template and label words, the method's
 * default settings, a few epochs), plus what the studio itself gets on the same split:
 *
 *   projects/<case>/                  the project (train.py, studio_config.json, data/, accelerate/, ...);
 *                                     <case> is the model's name, then -<method> (and -lstm) for other methods than prompt
 *   projects/<case>/studio_predictions.json    zero-shot class probabilities per validation row (Node, cpu backend)
 *   projects/<case>/studio_run.json            the studio's own run with those settings: zero-shot and tuned accuracy
 *
 * `src/engine/export/project/project_parity.py` runs each project on the GPU machine (one process and
 * `accelerate launch --num_processes 2`) and compares. The GPU kit carries both (npm run bench:gpu-kit).
 *
 *   npx tsx src/cli/project-parity.ts --out gpu-kit/projects [--models public/models] [--epochs 5]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { loadPretrained } from '../model/loader';
import { dirFolder, useNodeBackend } from '../node/model';
import { prepareClassification, zeroShotReport } from '../engine/classification';
import { defaultTrainingConfig, type TrainingConfig } from '../engine/train';
import type { PromptEncoderType, PromptMethod } from '../engine/types';
import { SAMPLES } from '../shared/samples';
import { StudioSession } from '../session/StudioSession';
import { parseCsvText } from '../session/csv';
import type { Row } from '../engine/data';
import type { ClassificationOutcome, TaskSpec } from '../shared/tasks';
import { COMMON_OPTIONS, numberOption, parseOptions, startCommand, UsageError, writableFolder, type Command } from './args';

const PROJECT_PARITY: Command = {
  name: 'project-parity',
  usage: `usage: npx tsx src/cli/project-parity.ts --out <dir> [--models public/models] [--epochs E] [--debug]

  Writes one "Train at scale" project per embedded model (the sentiment sample) with the studio's own
  zero-shot probabilities on its validation split and the studio's run on the same settings, for
  src/engine/export/project/project_parity.py. --epochs >= 1 (default 5).
  --debug prints the stack trace of a failure (or DEBUG=1); -h, --help prints this.`,
};

const args = startCommand(PROJECT_PARITY, (argv) => {
  const v = parseOptions(argv, { ...COMMON_OPTIONS, out: { type: 'string' }, models: { type: 'string', default: 'public/models' }, epochs: { type: 'string' } });
  if (!v.out) throw new UsageError('--out is required');
  return { out: writableFolder(v.out, 'out'), models: v.models, epochs: numberOption(v.epochs, 'epochs', { integer: true, min: 1 }, 5) };
});

/** Every method's path through train.py (input vectors, an encoder's output, a key/value cache) on both families. */
const CASES: { model: string; method: PromptMethod; encoderType?: PromptEncoderType }[] = [
  { model: 'studio-bert-tiny', method: 'prompt' },
  { model: 'studio-bert-tiny', method: 'p-tuning' },
  { model: 'studio-bert-tiny', method: 'p-tuning', encoderType: 'lstm' },
  { model: 'studio-bert-tiny', method: 'prefix' },
  { model: 'studio-gpt2-tiny', method: 'prompt' },
  { model: 'studio-gpt2-tiny', method: 'prefix' },
];
const caseName = (c: (typeof CASES)[number]) => [c.model, ...(c.method === 'prompt' ? [] : [c.method]), ...(c.encoderType === 'lstm' ? ['lstm'] : [])].join('-');

async function main(): Promise<void> {
  await useNodeBackend('wasm'); // the CLI's backend (cpu is far too slow to train on)
  const sample = SAMPLES.find((s) => s.file === 'sentiment.csv')!;
  const csv = new Uint8Array(await readFile(join('public', 'samples', sample.file)));
  for (const name of [...new Set(CASES.map((c) => c.model))]) {
    const modelDir = join(args.models, name);
    const session = new StudioSession({ load: async () => ({ model: await loadPretrained(await dirFolder(resolve(modelDir))), id: modelDir }), cancel: () => false });
    const quiet = { progress: () => {}, metrics: () => {}, checkpoint: () => {} };
    const summary = await session.loadModel({ source: { kind: 'url', url: modelDir, id: modelDir } }, quiet);
    await session.loadDataset({ source: { kind: 'bytes', name: sample.file, bytes: csv } }, quiet);
    const template = sample.templates[summary.lmKind]!;
    const labelWords = Object.fromEntries(Object.entries(sample.labelWords!).map(([c, w]) => [c, [...w]]));
    const spec: TaskSpec = { task: 'classification', template, labelColumn: 'label', textColumns: ['text'], labelWords };
    for (const c of CASES.filter((c) => c.model === name)) {
      const config: TrainingConfig = { ...defaultTrainingConfig('verbalizer', c.method), epochs: args.epochs, ...(c.encoderType ? { encoderType: c.encoderType } : {}) };
      await writeCase(session, caseName(c), spec, config, template, labelWords, modelDir);
    }
    session.model!.model.dispose();
  }
}

/** One case's project, the studio's zero-shot predictions on its validation split, and the studio's run. */
async function writeCase(session: StudioSession, name: string, spec: TaskSpec, config: TrainingConfig, template: string, labelWords: Record<string, string[]>, modelDir: string): Promise<void> {
  const quiet = { progress: () => {}, metrics: () => {}, checkpoint: () => {} };
  const dir = join(args.out, name);
  const project = session.exportProject({ spec, config });
  for (const { path, bytes } of project.files) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), bytes);
  }
  // The studio's zero-shot on the project's validation split, row by row, read back from the
  // project's own data/validation.csv (so the CSV round trip is part of the check).
  const m = session.model!;
  const parsed = parseCsvText(await readFile(join(dir, 'data', 'validation.csv'), 'utf8'), 'validation.csv');
  const valRows: Row[] = parsed.rows.map((cells) => Object.fromEntries(parsed.columns.map((c, i) => [c, cells[i]])));
  const prepared = prepareClassification(m, { rows: valRows, labelColumn: 'label', template, labelWords }, config);
  try {
    const report = await zeroShotReport(m, prepared, valRows, 'label');
    await writeFile(
      join(dir, 'studio_predictions.json'),
      JSON.stringify({ model: modelDir, classes: prepared.classes, rows: valRows.length, accuracy: report?.accuracy ?? null, zeroShot: report?.predictions.map((p) => ({ index: p.index, predicted: p.predicted, probabilities: p.probabilities })) ?? null }),
    );
  } finally {
    prepared.verbalizer?.dispose();
  }
  const started = Date.now();
  const outcome = (await session.train({ runId: 'parity', spec, config }, quiet)) as ClassificationOutcome;
  await writeFile(
    join(dir, 'studio_run.json'),
    JSON.stringify({
      model: modelDir,
      config,
      zeroShotAccuracy: outcome.zeroShot?.accuracy ?? null,
      accuracy: outcome.tuned?.accuracy ?? null,
      macroF1: outcome.tuned?.macroF1 ?? null,
      bestEpoch: outcome.bestEpoch,
      stopReason: outcome.stopReason,
      valSize: outcome.valSize,
      epochs: outcome.epochs,
      seconds: (Date.now() - started) / 1000,
    }),
  );
  console.log(JSON.stringify({ case: name, dir, valSize: outcome.valSize, zeroShotAccuracy: outcome.zeroShot?.accuracy ?? null, accuracy: outcome.tuned?.accuracy ?? null }));
}

void main();
