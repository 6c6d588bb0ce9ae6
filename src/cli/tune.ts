/**
 * Prompt tuning from the command line, with the same engine the studio's worker runs.
 *
 *   npm run tune -- --model public/models/studio-bert-tiny --csv public/samples/sentiment.csv \
 *     --text text --label label --template "{text} It was [MASK]." \
 *     --label-words "positive=good,great" --label-words "negative=bad,terrible" --out runs/sentiment
 *
 * Generation (decoder models): --target <column> instead of --label/--label-words.
 * Prints one JSON line per event (start, zeroShot, metrics, epoch, done), then writes the exports
 * (prompt.json, prompt.safetensors, prompt.npy, peft/) and metrics.json to --out.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Papa from 'papaparse';
import { loadPretrained, urlFolder } from '../model/loader';
import { dirFolder, nodeWebGpuAdapter, parseNodeBackends, selectNodeBackend, type NodeBackendName } from '../model/node';
import { describeAdapter } from '../model/webgpu';
import {
  classificationExport,
  DEFAULT_TRAINING_CONFIG,
  defaultTrainingConfig,
  generationExport,
  PROMPT_INITS,
  trainClassifier,
  trainGenerator,
  type PromptInit,
  type Row,
  type TrainingConfig,
} from '../engine';
import { exportFiles } from '../engine/exports';

const USAGE = `usage: npm run tune -- --model <folder|url> --csv <file> --text <column> --label <column>
  --template "<template>" --label-words "<label>=<word>,<word>" (repeatable) [--target <column>]
  [--prompt-length N] [--init random|vocab|text|labels] [--init-text T] [--epochs E] [--lr LR] [--batch B]
  [--seed S] [--val-split F] [--mode verbalizer|head] [--backend wasm|webgpu|cpu[,...]] --out <dir>
  --backend takes a list tried in order (e.g. webgpu,wasm: the GPU if Dawn finds one, else wasm, saying why).
  webgpu uses the Vulkan driver VK_ICD_FILENAMES names, or the system's.`;

class UsageError extends Error {}

function parse() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      csv: { type: 'string' },
      text: { type: 'string' },
      label: { type: 'string' },
      target: { type: 'string' },
      template: { type: 'string' },
      'label-words': { type: 'string', multiple: true },
      'prompt-length': { type: 'string' },
      init: { type: 'string' },
      'init-text': { type: 'string' },
      epochs: { type: 'string' },
      lr: { type: 'string' },
      batch: { type: 'string' },
      seed: { type: 'string' },
      'val-split': { type: 'string' },
      mode: { type: 'string' },
      patience: { type: 'string' },
      backend: { type: 'string', default: 'wasm' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  for (const k of ['model', 'csv', 'out'] as const) if (!values[k]) throw new UsageError(`--${k} is required`);
  if (!values.target && !values.label) throw new UsageError('give --label (classification) or --target (generation)');
  return values;
}

function num(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, not "${value}"`);
  return n;
}

/** "positive=good,great" -> ['positive', ['good', 'great']]. */
function parseLabelWords(specs: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new UsageError(`--label-words "${spec}" is not <label>=<word>,<word>`);
    const words = spec.slice(eq + 1).split(',').map((w) => w.trim()).filter(Boolean);
    out[spec.slice(0, eq).trim()] = [...(out[spec.slice(0, eq).trim()] ?? []), ...words];
  }
  return out;
}

async function readCsv(path: string): Promise<Row[]> {
  const text = (await readFile(path, 'utf8')).replace(/^\uFEFF/, '');
  const parsed = Papa.parse<Row>(text, { header: true, skipEmptyLines: true });
  if (parsed.errors.length > 0) {
    const e = parsed.errors[0];
    throw new UsageError(`${path}: row ${(e.row ?? 0) + 2}: ${e.message}`);
  }
  return parsed.data;
}

async function main(): Promise<void> {
  const args = parse();
  let backends: NodeBackendName[];
  try {
    backends = parseNodeBackends(args.backend as string);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { backend } = await selectNodeBackend(backends);
  const modelArg = args.model as string;
  const folder = /^https?:\/\//.test(modelArg) ? urlFolder(modelArg) : await dirFolder(resolve(modelArg));
  const loaded = await loadPretrained(folder);
  const lm = { model: loaded.model, tokenizer: loaded.tokenizer };
  const rows = await readCsv(args.csv as string);
  const init = (args.init ?? DEFAULT_TRAINING_CONFIG.init) as PromptInit;
  if (!(PROMPT_INITS as readonly string[]).includes(init)) throw new UsageError(`--init must be one of ${PROMPT_INITS.join(', ')}`);
  const mode = (args.mode ?? (args.target ? 'verbalizer' : DEFAULT_TRAINING_CONFIG.mode)) as TrainingConfig['mode'];
  const defaults = defaultTrainingConfig(mode);
  const config: TrainingConfig = {
    ...defaults,
    init,
    initText: args['init-text'],
    promptLength: num(args['prompt-length'], 'prompt-length', DEFAULT_TRAINING_CONFIG.promptLength),
    epochs: num(args.epochs, 'epochs', DEFAULT_TRAINING_CONFIG.epochs),
    learningRate: num(args.lr, 'lr', defaults.learningRate),
    batchSize: num(args.batch, 'batch', DEFAULT_TRAINING_CONFIG.batchSize),
    seed: num(args.seed, 'seed', DEFAULT_TRAINING_CONFIG.seed),
    valFraction: num(args['val-split'], 'val-split', DEFAULT_TRAINING_CONFIG.valFraction),
    patience: num(args.patience, 'patience', DEFAULT_TRAINING_CONFIG.patience),
  };
  const textColumn = args.text ?? (args.target ? 'input' : 'text');
  const template = args.template ?? (loaded.config.lmKind === 'masked-lm' ? `{${textColumn}} It was [MASK].` : `{${textColumn}} It was`);
  const source = { id: modelArg, checkpointHash: loaded.checkpointHash, config: loaded.config };
  const line = (event: string, data: object) => console.log(JSON.stringify({ event, ...data }));
  const hooks = { onMetrics: (m: object) => line('metrics', m), onEpoch: (e: object) => line('epoch', e) };
  const gpu = backend === 'webgpu' && nodeWebGpuAdapter ? { gpu: describeAdapter(nodeWebGpuAdapter) } : {};
  line('start', { backend, ...gpu, model: modelArg, rows: rows.length, template, config });

  let files: Record<string, Uint8Array>;
  let metrics: Record<string, unknown>;
  if (args.target) {
    const data = { rows, targetColumn: args.target, template };
    const result = await trainGenerator(lm, data, config, hooks);
    const { prompt, meta } = await generationExport(result, data, config, source);
    metrics = {
      task: 'generation',
      ...runSummary(result),
      zeroShotExactMatch: result.before?.exactMatch ?? null,
      exactMatch: result.after?.exactMatch ?? null,
      zeroShotTokenF1: result.before?.tokenF1 ?? null,
      tokenF1: result.after?.tokenF1 ?? null,
      samples: result.samples.slice(0, 20),
      epochs: result.epochs,
    };
    files = exportFiles(prompt, meta, { metrics });
    result.dispose();
  } else {
    const labelWords = args['label-words'] ? parseLabelWords(args['label-words']) : undefined;
    const data = { rows, labelColumn: args.label as string, template, labelWords };
    const result = await trainClassifier(lm, data, config, { ...hooks, onZeroShot: (r) => line('zeroShot', { accuracy: r?.accuracy ?? null }) });
    const { prompt, meta } = await classificationExport(result, data, config, source);
    metrics = {
      task: 'classification',
      ...runSummary(result),
      truncated: result.truncatedCount,
      classes: result.classes,
      majority: result.majority,
      zeroShotAccuracy: result.zeroShot?.accuracy ?? null,
      zeroShotMacroF1: result.zeroShot?.macroF1 ?? null,
      accuracy: result.validation?.accuracy ?? null,
      macroF1: result.validation?.macroF1 ?? null,
      confusionMatrix: result.validation?.confusionMatrix ?? null,
      robustness: result.robustness,
      epochs: result.epochs,
    };
    files = exportFiles(prompt, meta, { metrics });
    result.dispose();
  }
  const out = resolve(args.out as string);
  for (const [path, bytes] of Object.entries(files)) {
    await mkdir(dirname(join(out, path)), { recursive: true });
    await writeFile(join(out, path), bytes);
  }
  line('done', { out, files: Object.keys(files), ...pick(metrics) });
  loaded.model.dispose();
}

/** What every run reports, classification or generation. */
function runSummary(r: { stopReason: string; message?: string; steps: number; seconds: number; trainSize: number; valSize: number }) {
  return { stopReason: r.stopReason, message: r.message, steps: r.steps, seconds: r.seconds, trainSize: r.trainSize, valSize: r.valSize };
}

function pick(m: Record<string, unknown>) {
  const keys = ['stopReason', 'message', 'accuracy', 'zeroShotAccuracy', 'macroF1', 'exactMatch', 'zeroShotExactMatch', 'tokenF1'];
  return Object.fromEntries(keys.filter((k) => m[k] !== undefined).map((k) => [k, m[k]]));
}

main().catch((e: unknown) => {
  // One line for the person running it; the stack only when asked for (DEBUG=1).
  console.error(e instanceof UsageError ? `${e.message}\n${USAGE}` : process.env.DEBUG ? e : `error: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
