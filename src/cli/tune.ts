/**
 * Prompt tuning from the command line through the studio's own session (src/session): the same CSV
 * reader, row filtering, training and export files as the page.
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
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPretrained, urlFolder } from '../model/loader';
import { dirFolder, nodeWebGpuAdapter, parseNodeBackends, selectNodeBackend, type NodeBackendName } from '../node/model';
import { describeAdapter } from '../model/webgpu';
import { DEFAULT_TRAINING_CONFIG, defaultTrainingConfig, parseTemplate, PROMPT_INITS, type PromptInit, type TrainingConfig } from '../engine';
import { StudioSession, type ModelLoader } from '../session/StudioSession';
import type { RequestEvents, TaskSpec } from '../shared/protocol';

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

/** Checkpoints from a folder or a URL, as the studio session loads them. */
function nodeModels(): ModelLoader {
  return {
    async load(source) {
      if (source.kind !== 'url') throw new Error(`the CLI loads folders and URLs, not ${source.kind} sources`);
      const folder = /^https?:\/\//.test(source.url) ? urlFolder(source.url) : await dirFolder(resolve(source.url));
      return { model: await loadPretrained(folder), id: source.id };
    },
    cancel: () => false,
  };
}

const templateColumns = (template: string) => [...new Set(parseTemplate(template).flatMap((p) => (p.kind === 'column' ? [p.column] : [])))];

async function main(): Promise<void> {
  const args = parse();
  let backends: NodeBackendName[];
  try {
    backends = parseNodeBackends(args.backend as string);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { backend } = await selectNodeBackend(backends);
  const line = (event: string, data: object) => console.log(JSON.stringify({ event, ...data }));
  const quiet: RequestEvents = { progress: () => {}, metrics: () => {}, checkpoint: () => {} };
  // The studio's own session, in-process: the same CSV reader, row filtering, training and exports as the page.
  const session = new StudioSession(nodeModels());
  const modelArg = args.model as string;
  const model = await session.loadModel({ source: { kind: 'url', url: modelArg, id: modelArg } }, quiet);
  const csvPath = args.csv as string;
  const dataset = await session.loadDataset({ source: { kind: 'bytes', name: basename(csvPath), bytes: new Uint8Array(await readFile(csvPath)) } }, quiet);
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
  const template = args.template ?? (model.lmKind === 'masked-lm' ? `{${textColumn}} It was [MASK].` : `{${textColumn}} It was`);
  const textColumns = templateColumns(template);
  const spec: TaskSpec = args.target
    ? { task: 'generation', template, targetColumn: args.target, textColumns }
    : { task: 'classification', template, labelColumn: args.label as string, textColumns, labelWords: args['label-words'] ? parseLabelWords(args['label-words']) : undefined };
  const gpu = backend === 'webgpu' && nodeWebGpuAdapter ? { gpu: describeAdapter(nodeWebGpuAdapter) } : {};
  const stats = await session.datasetStats({ task: spec.task, labelColumn: args.target ?? (args.label as string), textColumns, valFraction: config.valFraction, seed: config.seed });
  const leftOut = { emptyLabel: stats.emptyLabel, emptyText: stats.emptyText };
  line('start', { backend, ...gpu, model: modelArg, rows: dataset.rowCount, kept: stats.kept, ...leftOut, template, config });

  const outcome = await session.train(
    { runId: 'cli', spec, config },
    {
      progress: () => {},
      metrics(m) {
        const { series, ...values } = m;
        line(series === 'step' ? 'metrics' : series, values);
      },
      checkpoint: () => {},
    },
  );
  const metrics: Record<string, unknown> =
    outcome.task === 'generation'
      ? {
          task: 'generation',
          ...runSummary(outcome),
          zeroShotExactMatch: outcome.before?.exactMatch ?? null,
          exactMatch: outcome.after?.exactMatch ?? null,
          zeroShotTokenF1: outcome.before?.tokenF1 ?? null,
          tokenF1: outcome.after?.tokenF1 ?? null,
          samples: outcome.samples.slice(0, 20),
          epochs: outcome.epochs,
        }
      : {
          task: 'classification',
          ...runSummary(outcome),
          truncated: outcome.truncatedCount,
          classes: outcome.classes,
          majority: outcome.majority,
          zeroShotAccuracy: outcome.zeroShot?.accuracy ?? null,
          zeroShotMacroF1: outcome.zeroShot?.macroF1 ?? null,
          accuracy: outcome.tuned?.accuracy ?? null,
          macroF1: outcome.tuned?.macroF1 ?? null,
          confusionMatrix: outcome.tuned?.confusionMatrix ?? null,
          robustness: outcome.robustness,
          epochs: outcome.epochs,
        };
  const { files } = session.exportPrompt({ prompt: outcome.prompt, meta: outcome.meta, metrics });
  const out = resolve(args.out as string);
  for (const { path, bytes } of files) {
    await mkdir(dirname(join(out, path)), { recursive: true });
    await writeFile(join(out, path), bytes);
  }
  line('done', { out, files: files.map((f) => f.path), ...pick(metrics) });
  session.model?.model.dispose();
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
