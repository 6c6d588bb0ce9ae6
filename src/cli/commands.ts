/**
 * Each CLI's usage and option checks, kept apart from the tools themselves so that tests call them
 * without running anything. Every parse function checks every option (numbers and their ranges,
 * choices, files and folders) and throws a UsageError naming the first bad one; nothing here loads
 * a model or reads a dataset.
 */
import { readdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { NODE_BACKENDS, parseNodeBackends, type NodeBackendName } from '../node/model';
import { checkTrainingConfig, DEFAULT_TRAINING_CONFIG, defaultTrainingConfig, MAX_ENSEMBLE_SIZE, type TrainingConfig } from '../engine/train';
import { PROMPT_ENCODER_TYPES, PROMPT_INITS, PROMPT_METHODS, type PromptInit } from '../engine/types';
import { MAX_SOFT_SLOT, parseTemplate } from '../engine/template';
import { SAMPLES } from '../shared/samples';
import { checkSweepPlan, DEFAULT_TEST_FRACTION, MAX_SWEEP_FOLDS, labelWordSetName, parseLabelWordSet, parseSweepAxes, SweepError, type LabelWordSet, type SweepPlan } from '../shared/sweep';
import {
  choiceOption,
  existingFolder,
  modelSource,
  numberOption,
  parseOptions,
  readableFile,
  requireOption,
  UsageError,
  writableFolder,
  type Command,
} from './args';

const BACKENDS = NODE_BACKENDS.join('|');
const COMMON_HELP = '  --debug prints the stack trace of a failure (or DEBUG=1); -h, --help prints this.';

function backendsOption(value: string): NodeBackendName[] {
  try {
    return parseNodeBackends(value);
  } catch (e) {
    throw new UsageError(`--backend: ${(e as Error).message}`);
  }
}

/** A folder that does not exist yet (and can be created) or is empty: nothing in it is overwritten. */
export function emptyFolder(path: string, name: string): string {
  if (path.trim() === '') throw new UsageError(`--${name} needs a folder`);
  writableFolder(path, name);
  let exists = false;
  try {
    exists = statSync(path).isDirectory();
  } catch {
    exists = false;
  }
  if (exists && readdirSync(path).length > 0) throw new UsageError(`--${name} ${path} is not empty; give a new or empty folder (nothing is overwritten)`);
  return path;
}

// -------------------------------------------------------------------------------------------
// tune

export const TUNE: Command = {
  name: 'tune',
  usage: `usage: npm run tune -- --model <folder|url> --csv <file> (--out <dir> | --export-project <dir>)
  (--label <column> --label-words "<class>=<word>,<word>" ... | --target <column>)
  [--text <column>] [--template "<template>"] [--mode verbalizer|head] [--prompt-length N]
  [--init ${PROMPT_INITS.join('|')}] [--init-text T] [--epochs E] [--lr LR] [--batch B] [--seed S]
  [--val-split F] [--patience P] [--method ${PROMPT_METHODS.join('|')}] [--encoder ${PROMPT_ENCODER_TYPES.join('|')}] [--encoder-hidden E] [--prefix-projection] [--ensemble K]
  [--backend ${BACKENDS}[,...]] [--force] [--debug]
  [--sweep "<setting>=<value>,<value>;..."] [--label-word-set "<class>=<word>,<word>;<class>=..." ...]
  [--sweep-random N] [--sweep-steps N] [--sweep-minutes M] [--test-split F] [--folds K] [--resume-sweep]

  Classification: --label names the class column; --label-words (repeatable) gives each class its
  words, required in verbalizer mode (the default). --mode head trains a linear head on [CLS]
  (encoders) or the last token: label words are optional there (zero-shot baseline, 'labels' init),
  an encoder's template needs no [MASK], and a checkpoint without an LM head works; the 'labels'
  init then starts from the label words or the class names, or from frequent tokens ('vocab'),
  and says so. Generation (decoder models): --target names the column to generate.
  --template defaults to "{<text>} It was [MASK]." (encoders) or "{<text>} It was".
  --prompt-length: soft tokens, a whole number from 1 to ${MAX_SOFT_SLOT} (default ${DEFAULT_TRAINING_CONFIG.promptLength}).
  --epochs >= 1 (${DEFAULT_TRAINING_CONFIG.epochs}), --lr > 0 (${DEFAULT_TRAINING_CONFIG.learningRate}; head mode ${defaultTrainingConfig('head').learningRate}), --batch >= 1 (${DEFAULT_TRAINING_CONFIG.batchSize}),
  --val-split from 0 to below 1 (${DEFAULT_TRAINING_CONFIG.valFraction}), --patience >= 0 epochs (${DEFAULT_TRAINING_CONFIG.patience}, 0 = no early stop), --seed >= 0 (${DEFAULT_TRAINING_CONFIG.seed}).
  --method: prompt tuning (default), P-tuning (the vectors come from a trained MLP) or prefix tuning
  (keys and values at every layer); --encoder-hidden >= 1: the MLP's / projection's width (default the
  model's hidden size); --encoder lstm: P-tuning's encoder is a bidirectional LSTM (2 layers, E per
  direction) followed by an MLP (PEFT's LSTM reparameterisation; default mlp);
  --prefix-projection: prefix tuning through PEFT's projection MLP.
  --ensemble K (1-${MAX_ENSEMBLE_SIZE}): train K prompts from different inits and score classes by their mean
  probability; every member is exported under members/<k>/.
  --backend takes a list tried in order (e.g. webgpu,wasm: the GPU if Dawn finds one, else wasm,
  saying why); webgpu uses the Vulkan driver VK_ICD_FILENAMES names, or the system's. Default wasm.
  Every option, the CSV and its columns are checked before the model loads. Data that would train
  nonsense (one class, no validation rows, classes with fewer than 5 examples, no text left after
  the template) stops here with exit 2; --force trains anyway.
  Prints one JSON line per event (progress, start, zeroShot, metrics, epoch, done), then writes
  prompt.json, prompt.safetensors, prompt.npy, peft/ and metrics.json to --out.
  Sweeps: --sweep "lr=0.01,0.03,0.1;prompt-length=5,20" runs one trial per combination
  (settings: lr, prompt-length, batch, epochs, init, method), the other options being the trials' base;
  --label-word-set (repeatable) adds alternative label words (with --label-words, if given, as the first).
  --sweep-random N: N combinations drawn at random (seeded by --seed) instead of all. Budget:
  --sweep-steps N (a trial that no longer fits is skipped) and --sweep-minutes M (no trial starts after).
  --test-split F (above 0, below 0.5; default ${DEFAULT_TEST_FRACTION}) of each class is held out before any trial; the winner,
  picked on validation, is scored on it. --folds K (2-${MAX_SWEEP_FOLDS}, classification; for small datasets): k-fold
  cross-validation instead: each trial trains K times, validating on each stratified fold once, and is
  scored by the folds' mean and spread; nothing is held out unless --test-split is given as well. Prints one JSON line per trial and a final "sweep" line with
  the table, then writes the winner's exports and sweep.json to --out. Classification trials are
  compared on validation accuracy, generation trials (--target) on validation loss per target token. While it runs, --out holds
  sweep-state.json (the ended trials, the running one's last checkpoint): after Ctrl-C (or a kill),
  the same command with --resume-sweep continues where it stopped.
  --export-project DIR (classification, instead of training and --out): writes the run as a
  "Train at scale" project to DIR, a new or empty folder: train.py (transformers + PEFT + Accelerate,
  the same objective), studio_config.json, data/train.csv and data/validation.csv (the studio's split),
  accelerate/*.yaml, requirements.txt and README.md. Its output/ imports back into the studio.
${COMMON_HELP}`,
};

export interface TuneArgs {
  model: string;
  csv: string;
  /** Where the exports go; with `exportProject`, the project's folder (--export-project). */
  out: string;
  /** --export-project: write the "Train at scale" project to `out` instead of training. */
  exportProject: boolean;
  spec: { task: 'classification'; labelColumn: string; labelWords?: Record<string, string[]> } | { task: 'generation'; targetColumn: string };
  /** The --text column, for the default template. */
  textColumn: string;
  template?: string;
  config: TrainingConfig;
  backends: NodeBackendName[];
  force: boolean;
  /** --sweep / --label-word-set: the trials to run instead of one run. */
  sweep?: SweepPlan;
  /** --resume-sweep: continue the stopped sweep whose state is in --out (src/cli/sweepState.ts). */
  resumeSweep: boolean;
}

/** "positive=good,great" (repeatable) -> { positive: ['good', 'great'] }. */
export function parseLabelWords(specs: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const label = spec.slice(0, eq).trim();
    const words = spec.slice(eq + 1).split(',').map((w) => w.trim()).filter(Boolean);
    if (eq <= 0 || label === '') throw new UsageError(`--label-words "${spec}" is not <class>=<word>,<word>`);
    if (words.length === 0) throw new UsageError(`--label-words "${spec}" gives class "${label}" no words`);
    out[label] = [...(out[label] ?? []), ...words];
  }
  return out;
}

/** --label-word-set (repeatable): each an alternative set of label words for a sweep. */
function parseLabelWordSets(specs: string[] | undefined, generation: boolean): LabelWordSet[] | undefined {
  if (!specs) return undefined;
  if (generation) throw new UsageError('--label-word-set is for classification (--label), not --target');
  return specs.map((spec) => {
    try {
      return parseLabelWordSet(spec);
    } catch (e) {
      throw new UsageError(`--label-word-set: ${(e as Error).message}`);
    }
  });
}

/** The sweep options as a plan (undefined without --sweep or --label-word-set); each checked. */
function parseSweepOptions(
  v: { sweep?: string; 'sweep-random'?: string; 'sweep-steps'?: string; 'sweep-minutes'?: string; 'test-split'?: string; folds?: string },
  config: TrainingConfig,
  generation: boolean,
  wordSets: LabelWordSet[] | undefined,
): SweepPlan | undefined {
  if (v.sweep === undefined && !wordSets) {
    for (const flag of ['sweep-random', 'sweep-steps', 'sweep-minutes', 'test-split', 'folds'] as const) {
      if (v[flag] !== undefined) throw new UsageError(`--${flag} is for sweeps: give --sweep (or --label-word-set)`);
    }
    return undefined;
  }
  if (config.valFraction === 0) throw new UsageError('a sweep compares its trials on validation: --val-split must be above 0');
  const randomTrials = numberOption(v['sweep-random'], 'sweep-random', { integer: true, min: 1 });
  const folds = numberOption(v.folds, 'folds', { integer: true, min: 2, max: MAX_SWEEP_FOLDS });
  if (folds !== undefined && generation) throw new UsageError('--folds is for classification sweeps (--label); a generation sweep holds out --test-split');
  const plan: SweepPlan = {
    axes: {},
    search: randomTrials === undefined ? 'grid' : 'random',
    ...(randomTrials === undefined ? {} : { randomTrials }),
    seed: config.seed,
    budget: {
      ...(v['sweep-steps'] === undefined ? {} : { steps: numberOption(v['sweep-steps'], 'sweep-steps', { integer: true, min: 1 }) }),
      ...(v['sweep-minutes'] === undefined ? {} : { minutes: numberOption(v['sweep-minutes'], 'sweep-minutes', { min: 0, minExclusive: true }) }),
    },
    // With --folds nothing is held out unless --test-split asks for it too.
    testFraction: numberOption(v['test-split'], 'test-split', { min: 0, minExclusive: true, max: 0.5, maxExclusive: true }, folds === undefined ? DEFAULT_TEST_FRACTION : 0),
    ...(folds === undefined ? {} : { folds }),
  };
  try {
    if (v.sweep !== undefined) plan.axes = parseSweepAxes(v.sweep);
    if (wordSets) plan.axes.labelWords = wordSets;
    if (plan.axes.promptLength?.some((n) => n > MAX_SOFT_SLOT)) throw new SweepError(`prompt-length: at most ${MAX_SOFT_SLOT}`);
    // The whole plan (its size, the budget, the test share), as the session will check it.
    checkSweepPlan(plan);
  } catch (e) {
    throw new UsageError(`--sweep: ${(e as Error).message}`);
  }
  return plan;
}

export function parseTuneArgs(argv: string[]): TuneArgs {
  const v = parseOptions(argv, {
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
    method: { type: 'string' },
    'encoder-hidden': { type: 'string' },
    encoder: { type: 'string' },
    'prefix-projection': { type: 'boolean', default: false },
    ensemble: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    out: { type: 'string' },
    'export-project': { type: 'string' },
    force: { type: 'boolean', default: false },
    sweep: { type: 'string' },
    'label-word-set': { type: 'string', multiple: true },
    'sweep-random': { type: 'string' },
    'sweep-steps': { type: 'string' },
    'sweep-minutes': { type: 'string' },
    'test-split': { type: 'string' },
    'resume-sweep': { type: 'boolean', default: false },
    folds: { type: 'string' },
  });
  const model = modelSource(requireOption(v.model, 'model'));
  const csv = readableFile(requireOption(v.csv, 'csv'), 'csv');
  const exportProject = v['export-project'] !== undefined;
  if (exportProject && v.out !== undefined) throw new UsageError('--export-project writes a project instead of training: give it or --out, not both');
  const out = exportProject ? emptyFolder(v['export-project'] as string, 'export-project') : writableFolder(requireOption(v.out, 'out'), 'out');
  if (exportProject && v.target !== undefined) throw new UsageError('--export-project is for classification (--label); generation is not exported as a project yet');
  if (exportProject && (v.sweep !== undefined || v['label-word-set'] !== undefined)) throw new UsageError('--export-project exports one run: not with --sweep or --label-word-set');
  if (v.label !== undefined && v.target !== undefined) throw new UsageError('give --label (classification) or --target (generation), not both');
  if (v.label === undefined && v.target === undefined) throw new UsageError('give --label (classification) or --target (generation)');
  const generation = v.target !== undefined;
  if (generation && v['label-words']) throw new UsageError('--label-words is for classification (--label), not --target');
  if (generation && v.mode !== undefined && v.mode !== 'verbalizer') throw new UsageError(`--mode ${v.mode} is for classification (--label); generation has no modes`);
  const mode = v.mode === undefined ? (generation ? 'verbalizer' : DEFAULT_TRAINING_CONFIG.mode) : choiceOption(v.mode, 'mode', ['verbalizer', 'head'] as const);
  const wordSets = parseLabelWordSets(v['label-word-set'], generation);
  const labelWords = v['label-words'] ? parseLabelWords(v['label-words']) : wordSets?.[0]?.words;
  if (!generation && mode === 'verbalizer' && !labelWords) throw new UsageError('verbalizer mode needs --label-words for each class (or --mode head)');
  const defaults = defaultTrainingConfig(mode);
  const init = v.init === undefined ? DEFAULT_TRAINING_CONFIG.init : (choiceOption(v.init, 'init', PROMPT_INITS) as PromptInit);
  if (init === 'text' && !v['init-text']?.trim()) throw new UsageError('--init text needs --init-text "<text>"');
  if (init !== 'text' && v['init-text'] !== undefined) throw new UsageError('--init-text is used only with --init text');
  const method = v.method === undefined ? undefined : choiceOption(v.method, 'method', PROMPT_METHODS);
  if (v['encoder-hidden'] !== undefined && method !== 'p-tuning' && method !== 'prefix') throw new UsageError('--encoder-hidden is for --method p-tuning or prefix');
  if (v['prefix-projection'] && method !== 'prefix') throw new UsageError('--prefix-projection is for --method prefix');
  const encoderType = v.encoder === undefined ? undefined : choiceOption(v.encoder, 'encoder', PROMPT_ENCODER_TYPES);
  if (encoderType !== undefined && method !== 'p-tuning') throw new UsageError('--encoder is for --method p-tuning');
  const encoderHiddenSize = numberOption(v['encoder-hidden'], 'encoder-hidden', { integer: true, min: 1 });
  if (v.template !== undefined) {
    try {
      parseTemplate(v.template);
    } catch (e) {
      throw new UsageError(`--template: ${(e as Error).message}`);
    }
  }
  const config: TrainingConfig = {
    ...defaults,
    init,
    initText: v['init-text'],
    promptLength: numberOption(v['prompt-length'], 'prompt-length', { integer: true, min: 1, max: MAX_SOFT_SLOT }, DEFAULT_TRAINING_CONFIG.promptLength),
    epochs: numberOption(v.epochs, 'epochs', { integer: true, min: 1 }, DEFAULT_TRAINING_CONFIG.epochs),
    learningRate: numberOption(v.lr, 'lr', { min: 0, minExclusive: true }, defaultTrainingConfig(mode, method).learningRate),
    batchSize: numberOption(v.batch, 'batch', { integer: true, min: 1 }, DEFAULT_TRAINING_CONFIG.batchSize),
    seed: numberOption(v.seed, 'seed', { integer: true, min: 0 }, DEFAULT_TRAINING_CONFIG.seed),
    valFraction: numberOption(v['val-split'], 'val-split', { min: 0, max: 1, maxExclusive: true }, DEFAULT_TRAINING_CONFIG.valFraction),
    patience: numberOption(v.patience, 'patience', { integer: true, min: 0 }, DEFAULT_TRAINING_CONFIG.patience),
    ...(method ? { method } : {}),
    ...(encoderHiddenSize !== undefined ? { encoderHiddenSize } : {}),
    ...(encoderType === 'lstm' ? { encoderType } : {}),
    ...(v['prefix-projection'] ? { prefixProjection: true } : {}),
    ensembleSize: numberOption(v.ensemble, 'ensemble', { integer: true, min: 1, max: MAX_ENSEMBLE_SIZE }, 1),
  };
  if (generation && config.ensembleSize! > 1) throw new UsageError('--ensemble averages class probabilities: it is for classification (--label), not --target');
  try {
    checkTrainingConfig(config);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const sweep = parseSweepOptions(v, config, generation, wordSets && v['label-words'] ? [{ name: labelWordSetName(labelWords!), words: labelWords! }, ...wordSets] : wordSets);
  if (v['resume-sweep'] && !sweep) throw new UsageError('--resume-sweep continues a stopped sweep: give the sweep\'s own --sweep (or --label-word-set) options with it');
  return {
    model,
    csv,
    out,
    exportProject,
    ...(sweep ? { sweep } : {}),
    resumeSweep: v['resume-sweep'],
    spec: generation ? { task: 'generation', targetColumn: v.target as string } : { task: 'classification', labelColumn: v.label as string, labelWords },
    textColumn: v.text ?? (generation ? 'input' : 'text'),
    template: v.template,
    config,
    backends: backendsOption(v.backend),
    force: v.force,
  };
}

// -------------------------------------------------------------------------------------------
// pretrain

export const PRETRAIN: Command = {
  name: 'pretrain',
  usage: `usage: npm run pretrain -- [--family bert|gpt2] [--out <model folder>] [--steps N] [--batch B] [--seq T]
  [--max-positions P] [--positions random|sinusoidal] [--offset-layers K] [--untied-decoder] [--lr LR]
  [--warmup W] [--mask-rate R] [--seed S] [--hidden H] [--layers L] [--heads A] [--inner I]
  [--checkpoint-every N] [--log-every N] [--fresh] [--init-from <model.safetensors>] [--debug]

  Pretrains an embedded model from scratch into --out (default public/models/studio-<family>-tiny),
  which must already hold tokenizer.json and tokenizer_config.json (npx tsx src/cli/build-tokenizers.ts).
  Resumes from .cache/pretrain/<name>/ when run again with the same arguments (--fresh starts over).
  Whole numbers >= 1: --steps (4000) --batch (16) --hidden (128) --layers (4) --heads (4, dividing
  --hidden) --inner (512) --checkpoint-every (200) --log-every (20); --seq >= 8 (128); --max-positions
  >= --seq; --warmup >= 0 (200); --offset-layers 0..--layers (BERT with --positions sinusoidal);
  --lr > 0 (1e-3); --mask-rate between 0 and 1 (0.15, BERT); --untied-decoder: BERT only.
${COMMON_HELP}`,
};

export const PRETRAIN_OPTIONS = {
  family: { type: 'string', default: 'bert' },
  out: { type: 'string' },
  steps: { type: 'string', default: '4000' },
  batch: { type: 'string', default: '16' },
  seq: { type: 'string', default: '128' },
  /** Rows of the position table (default: --seq). Train short windows first with room for long ones later. */
  'max-positions': { type: 'string' },
  /** Position table init: random N(0, 0.02) rows, or sinusoids at that scale (see sinusoidalPositions). */
  positions: { type: 'string', default: 'random' },
  /** BERT, with --positions sinusoidal: this many first layers start with offset heads (see offsetHeadWeights). */
  'offset-layers': { type: 'string', default: '0' },
  /** BERT: the MLM decoder is its own [V, H] matrix instead of the word-embedding table (config tie_word_embeddings: false). */
  'untied-decoder': { type: 'boolean', default: false },
  lr: { type: 'string', default: '1e-3' },
  warmup: { type: 'string', default: '200' },
  /** BERT only: the share of tokens chosen for prediction (80% [MASK], 10% random, 10% kept). */
  'mask-rate': { type: 'string', default: '0.15' },
  seed: { type: 'string', default: '1234' },
  hidden: { type: 'string', default: '128' },
  layers: { type: 'string', default: '4' },
  heads: { type: 'string', default: '4' },
  inner: { type: 'string', default: '512' },
  'checkpoint-every': { type: 'string', default: '200' },
  'log-every': { type: 'string', default: '20' },
  fresh: { type: 'boolean', default: false },
  /** Start from this checkpoint's weights (an earlier run's model.safetensors) with a new optimizer and schedule. */
  'init-from': { type: 'string' },
} as const;

/** pretrain's options as strings (as its checkpoints record them), each checked. */
export function parsePretrainArgs(argv: string[]) {
  const v = parseOptions(argv, PRETRAIN_OPTIONS);
  const family = choiceOption(v.family, 'family', ['bert', 'gpt2'] as const);
  const whole = (name: keyof typeof v & string, min: number) => numberOption(v[name] as string, name, { integer: true, min }) as number;
  for (const name of ['steps', 'batch', 'hidden', 'layers', 'heads', 'inner', 'checkpoint-every', 'log-every'] as const) whole(name, 1);
  const seq = whole('seq', 8);
  whole('warmup', 0);
  whole('seed', 0);
  if (v['max-positions'] !== undefined && whole('max-positions', 1) < seq) throw new UsageError(`--max-positions ${v['max-positions']} is shorter than --seq ${seq}`);
  numberOption(v.lr, 'lr', { min: 0, minExclusive: true });
  numberOption(v['mask-rate'], 'mask-rate', { min: 0, minExclusive: true, max: 1, maxExclusive: true });
  choiceOption(v.positions, 'positions', ['random', 'sinusoidal'] as const);
  const layers = Number(v.layers);
  numberOption(v['offset-layers'], 'offset-layers', { integer: true, min: 0, max: layers });
  if (Number(v['offset-layers']) > 0 && (family !== 'bert' || v.positions !== 'sinusoidal')) throw new UsageError('--offset-layers needs --family bert and --positions sinusoidal');
  if (Number(v.hidden) % Number(v.heads) !== 0) throw new UsageError(`--hidden ${v.hidden} is not divisible by --heads ${v.heads}`);
  if (family === 'gpt2' && v['untied-decoder']) throw new UsageError('--untied-decoder is for --family bert (GPT-2 checkpoints here tie lm_head to wte)');
  const out = v.out ?? `public/models/studio-${family}-tiny`;
  existingFolder(out, 'out', ['tokenizer.json', 'tokenizer_config.json']);
  writableFolder(out, 'out');
  if (v['init-from'] !== undefined) readableFile(v['init-from'], 'init-from');
  // --out stays as given (absent when defaulted): checkpoints compare these values to resume.
  return { ...v, family };
}

// -------------------------------------------------------------------------------------------
// bench

export const BENCH: Command = {
  name: 'bench',
  usage: `usage: npm run bench -- [--node-only | --browser-only] [--steps N] [--browser-steps N] [--skip-bert-base]
  [--port P] [--backend ${BACKENDS}[,...]] [--debug]

  Prompt-tuning steps/s and tokens/s on every backend this machine reaches (Node wasm and cpu; Chromium
  webgpu, webgl and wasm on the built bench.html, which it builds first) on the embedded models and a
  BERT-base-shaped random one; writes bench-results/bench.json.
  --steps >= 1 (5) Node steps per row; --browser-steps >= 1 (2); --port 1..65535 (4180) for vite preview;
  --backend: the Node backends to measure (default wasm,cpu).
${COMMON_HELP}`,
};

export function parseBenchArgs(argv: string[]) {
  const v = parseOptions(argv, {
    'node-only': { type: 'boolean', default: false },
    'browser-only': { type: 'boolean', default: false },
    steps: { type: 'string', default: '5' },
    'browser-steps': { type: 'string', default: '2' },
    /** The BERT-base-shaped row takes a few minutes. */
    'skip-bert-base': { type: 'boolean', default: false },
    port: { type: 'string', default: '4180' },
    backend: { type: 'string', default: 'wasm,cpu' },
  });
  if (v['node-only'] && v['browser-only']) throw new UsageError('give --node-only or --browser-only, not both');
  return {
    nodeOnly: v['node-only'],
    browserOnly: v['browser-only'],
    steps: numberOption(v.steps, 'steps', { integer: true, min: 1 }, 5),
    browserSteps: numberOption(v['browser-steps'], 'browser-steps', { integer: true, min: 1 }, 2),
    skipBertBase: v['skip-bert-base'],
    port: numberOption(v.port, 'port', { integer: true, min: 1, max: 65535 }, 4180),
    backends: backendsOption(v.backend),
  };
}

export const BENCH_UI: Command = {
  name: 'bench:ui',
  usage: `usage: npm run bench:ui -- [--epochs N] [--batch-size N] [--backend wasm|webgpu] [--port P] [--skip-build] [--trace FILE] [--debug]

  Main-thread long tasks (over 50 ms, the browser's PerformanceObserver 'longtask') while the studio page
  trains: builds the page, serves it with vite preview, opens it in Chromium, loads studio-bert-tiny and the
  sentiment sample, trains, and prints how many long tasks there were during training and the longest.
  A measurement, not a test: figures depend on the machine and its load.
  --epochs >= 1 (3); --batch-size >= 1 (8); --backend (wasm); --port 1..65535 (4181); --skip-build uses dist/ as it is;
  --trace FILE writes a Chromium trace of the training and prints what each long task spent its time on
  (its trace events, and the functions V8's sampler found it in: readable from an unminified build).
${COMMON_HELP}`,
};

export function parseBenchUiArgs(argv: string[]) {
  const v = parseOptions(argv, {
    epochs: { type: 'string', default: '3' },
    'batch-size': { type: 'string', default: '8' },
    backend: { type: 'string', default: 'wasm' },
    port: { type: 'string', default: '4181' },
    'skip-build': { type: 'boolean', default: false },
    trace: { type: 'string' },
  });
  if (v.backend !== 'wasm' && v.backend !== 'webgpu') throw new UsageError(`--backend must be wasm or webgpu, not "${v.backend}"`);
  return {
    epochs: numberOption(v.epochs, 'epochs', { integer: true, min: 1 }, 3),
    batchSize: numberOption(v['batch-size'], 'batch-size', { integer: true, min: 1 }, 8),
    backend: v.backend as 'wasm' | 'webgpu',
    port: numberOption(v.port, 'port', { integer: true, min: 1, max: 65535 }, 4181),
    skipBuild: v['skip-build'],
    /** Where to write a Chromium trace of the training; each long task's breakdown is printed. */
    trace: v.trace ? (existingFolder(dirname(resolve(v.trace)), 'trace'), v.trace) : null,
  };
}

// -------------------------------------------------------------------------------------------
// evaluate-model, measure-samples, model-card: one embedded model folder each

export const EVALUATE_MODEL: Command = {
  name: 'evaluate-model',
  usage: `usage: npm run evaluate-model -- [--model <folder>] [--backend ${BACKENDS}[,...]] [--debug]

  Held-out quality of an embedded checkpoint (default public/models/studio-bert-tiny, which needs
  config.json, tokenizer.json and tokenizer_config.json) beside a unigram baseline on the same
  tokens; writes <model>/evaluation.json. --backend defaults to wasm.
${COMMON_HELP}`,
};

export function parseEvaluateModelArgs(argv: string[]) {
  const v = parseOptions(argv, { model: { type: 'string', default: 'public/models/studio-bert-tiny' }, backend: { type: 'string', default: 'wasm' } });
  const model = existingFolder(v.model, 'model', ['config.json', 'tokenizer.json', 'tokenizer_config.json']);
  writableFolder(model, 'model');
  return { model, backends: backendsOption(v.backend) };
}

const SAMPLE_NAMES = SAMPLES.map((s) => s.file.replace(/\.csv$/, ''));

export const MEASURE_SAMPLES: Command = {
  name: 'measure-samples',
  usage: `usage: npm run measure-samples -- [--model <folder>] [--only ${SAMPLE_NAMES.join('|')}] [--method ${PROMPT_METHODS.join('|')}] [--debug]

  Tuning in the studio's default settings of a method (default prompt) on each sample set
  (public/samples/), both classification modes, with the zero-shot and majority baselines; writes
  <model>/tuning.json (tuning-<sample>.json with --only; tuning[-<sample>].<method>.json for another
  method than prompt) for the model card. --model defaults to public/models/studio-bert-tiny.
${COMMON_HELP}`,
};

export function parseMeasureSamplesArgs(argv: string[]) {
  const v = parseOptions(argv, { model: { type: 'string', default: 'public/models/studio-bert-tiny' }, only: { type: 'string' }, method: { type: 'string', default: 'prompt' } });
  const model = existingFolder(v.model, 'model', ['config.json']);
  writableFolder(model, 'model');
  return {
    model,
    only: v.only === undefined ? undefined : choiceOption(v.only, 'only', SAMPLE_NAMES),
    method: choiceOption(v.method, 'method', PROMPT_METHODS),
  };
}

export const MODEL_CARD: Command = {
  name: 'model-card',
  usage: `usage: npm run model-card -- [--model <folder>] [--debug]

  Writes an embedded model's card (<model>/README.md, default public/models/studio-bert-tiny) from the
  records its commands left there: corpus.json, training.json, evaluation.json, config.json (needed)
  and tuning*.json (optional).
${COMMON_HELP}`,
};

export function parseModelCardArgs(argv: string[]) {
  const v = parseOptions(argv, { model: { type: 'string', default: 'public/models/studio-bert-tiny' } });
  const model = existingFolder(v.model, 'model', ['config.json', 'corpus.json', 'training.json', 'evaluation.json', 'model.safetensors']);
  writableFolder(model, 'model');
  return { model };
}

// -------------------------------------------------------------------------------------------
// gpu-kit

export const GPU_KIT: Command = {
  name: 'bench:gpu-kit',
  usage: `usage: npm run bench:gpu-kit -- [--out <dir>] [--node <linux-x64 node binary>] [--no-debs] [--debug]

  Builds the GPU benchmark kit (default folder gpu-kit/): the bundled benchmark, Dawn for Node, a Node
  binary (default: the one running this; it must be a standalone build), Debian's Vulkan loader
  (skipped with --no-debs), the PyTorch anchor and run.sh. Linux x64 only.
${COMMON_HELP}`,
};

export function parseGpuKitArgs(argv: string[]) {
  const v = parseOptions(argv, {
    out: { type: 'string', default: 'gpu-kit' },
    /** A Node binary for linux-x64 to carry (default: the one running this). */
    node: { type: 'string', default: process.execPath },
    'no-debs': { type: 'boolean', default: false },
  });
  return { out: writableFolder(v.out, 'out'), node: readableFile(v.node, 'node'), noDebs: v['no-debs'] };
}
