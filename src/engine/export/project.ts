/**
 * "Train at scale": the studio's run as a ready transformers + PEFT + Accelerate project, so a run
 * outgrowing the tab moves to GPUs and clusters unchanged, and its output comes back through the
 * ordinary import. Pure: settings, split and model facts in, the project's files (path -> bytes) out.
 *
 *   train.py                 the objective, ported (project/train.py, embedded through trainPy.ts)
 *   studio_config.json       template, columns, classes, label words, settings, init, model facts
 *   data/train.csv           the studio's training split, row for row (RFC 4180, UTF-8)
 *   data/validation.csv      the studio's validation split
 *   initial_prompt/          the current prompt to start from (optional; members/<k>/ for an ensemble)
 *   accelerate/*.yaml        one machine several GPUs (DDP), several machines, FSDP
 *   requirements.txt         versions
 *   README.md                the two commands and what to change for a bigger model or dataset
 *
 * train.py writes output/prompt.json, output/peft/ and output/metrics.json (PROJECT_METRICS_FORMAT),
 * which `importPrompt` reads back (a zip of that folder, or its files).
 */
import { strToU8 } from 'fflate';
import { prefixWidth, type TransformerConfig } from '../../model/types';
import type { SpecialTokenIds } from '../../model/tokenizer';
import type { Row } from '../data';
import type { PromptValues } from '../softPrompt';
import { ENSEMBLE_SEED_STEP, plannedSteps, type TrainingConfig } from '../train';
import type { PromptInit, PromptPlacement } from '../types';
import { peftAdapterConfig } from './peft';
import { promptJsonText } from './promptJson';
import { exportedModel, isObject, PromptExportError, PromptImportError, type Json, type ProjectMetrics, type PromptExportMetadata } from './schema';
import { TRAIN_PY } from './project/trainPy';

export const PROJECT_FORMAT = 'prompt-tuning-studio/project';
export const PROJECT_FORMAT_VERSION = 1;
/** metrics.json as train.py writes it (its METRICS_FORMAT); `importPrompt` recognises it by this. */
export const PROJECT_METRICS_FORMAT = 'prompt-tuning-studio/project-metrics';

/** tfjs's Adam as the studio runs it (tf.train.adam defaults; epsilon is the float32 backends' 1e-7). */
export const STUDIO_ADAM = Object.freeze({ name: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });

/**
 * Versions the project was written for: torch, transformers and PEFT as on the GPU machine the
 * studio's PEFT exports are checked on (../shared/GPU.md: torch 2.11, transformers 5.17; PEFT 0.21 in
 * peft.ts's checks); accelerate from its 1.x line.
 */
export const PROJECT_REQUIREMENTS = ['torch==2.11.0', 'transformers==5.17.0', 'peft==0.21.0', 'accelerate>=1.10,<2', 'safetensors>=0.4'] as const;

/** What train.py needs to know about the checkpoint beyond its id (the studio's view of it). */
export interface ProjectModelInfo {
  /** Hub id or folder train.py loads (a setting: `--model` overrides it). */
  id: string;
  checkpointHash: string | null;
  config: Pick<TransformerConfig, 'modelType' | 'lmKind' | 'hiddenSize' | 'numLayers' | 'numHeads' | 'vocabSize' | 'maxPositions' | 'positionOffset' | 'typeVocabSize' | 'numKeyValueHeads' | 'headDim'>;
  special: SpecialTokenIds;
  /** Whether a decoder's input starts with BOS (TextTokenizer.addBos). */
  addBos: boolean;
  /** The tokenizer's own vocabulary size (added tokens included); the vocab init samples below min(this, vocabSize). */
  tokenizerVocabSize: number;
  hasLmHead: boolean;
}

/** The studio_config.json "model" object; also what train.py's Template takes. */
export function projectModelJson(model: ProjectModelInfo) {
  const c = model.config;
  return {
    id: model.id,
    checkpointHash: model.checkpointHash,
    modelType: c.modelType,
    lmKind: c.lmKind,
    hiddenSize: c.hiddenSize,
    numLayers: c.numLayers,
    numHeads: c.numHeads,
    // Grouped-query families: a prefix holds numKeyValueHeads x headDim per layer's key and value.
    ...(c.numKeyValueHeads !== undefined && c.headDim !== undefined ? { numKeyValueHeads: c.numKeyValueHeads, headDim: c.headDim } : {}),
    vocabSize: c.vocabSize,
    tokenizerVocabSize: model.tokenizerVocabSize,
    maxPositions: c.maxPositions,
    positionOffset: c.positionOffset,
    typeVocabSize: c.typeVocabSize,
    hasLmHead: model.hasLmHead,
    addBos: model.addBos,
    special: { ...model.special },
  };
}

/** The init as the run would take it (classification.ts's initPlan: its fallback and its label-word ids). */
export interface ProjectInit {
  kind: PromptInit;
  text?: string;
  labelWordIds?: number[][];
}

export interface ProjectInput {
  template: string;
  /** The dataset's columns, in its order (the CSVs' header). */
  columns: string[];
  labelColumn: string;
  textColumns: string[];
  /** In the order of the head's columns and the metrics. */
  classes: string[];
  labelWords: Record<string, string[]>;
  /** The studio's split, exactly as it made it. */
  train: readonly Row[];
  validation: readonly Row[];
  config: TrainingConfig;
  model: ProjectModelInfo;
  /** Where the soft tokens sit (Template.placement) and how many there are (the template's slots or the prompt length). */
  placement: PromptPlacement;
  promptLength: number;
  init: ProjectInit;
  /** The current prompt, to start from instead of the init (optional). */
  initialPrompt?: PromptValues | null;
  createdAt: string;
}

const CSV_NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

/** One RFC 4180 field: quoted (quotes doubled) when it holds a delimiter, a quote, a line break or edge spaces. */
function csvField(value: string): string {
  return value === '' || !CSV_NEEDS_QUOTES.test(value) ? value : `"${value.replace(/"/g, '""')}"`;
}

/** Rows as RFC 4180 CSV (CRLF between records), header first; every row has every column (missing cells empty). */
export function csvText(columns: readonly string[], rows: readonly Row[]): string {
  const lines = [columns.map(csvField).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvField(row[c] ?? '')).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** What the project's prompt.json files record (train.py fills in metrics and date). */
export function projectPromptMetadata(input: ProjectInput): PromptExportMetadata {
  const { config, model } = input;
  const method = config.method ?? 'prompt';
  const projected = method === 'p-tuning' || (method === 'prefix' && config.prefixProjection);
  return {
    model: exportedModel(model),
    task: 'classification',
    template: input.template,
    placement: input.placement,
    mode: config.mode,
    classNames: [...input.classes],
    labelWords: input.labelWords,
    ...(method !== 'prompt' ? { method } : {}),
    ...(method !== 'prompt' && projected ? { encoderHiddenSize: config.encoderHiddenSize ?? model.config.hiddenSize } : {}),
    ...(method === 'p-tuning' && config.encoderType === 'lstm' ? { encoderType: 'lstm' as const } : {}),
    init: input.init.kind === 'text' ? { kind: 'text', text: input.init.text } : { kind: input.init.kind },
    hyperparameters: {
      promptLength: input.promptLength,
      learningRate: config.learningRate,
      batchSize: config.batchSize,
      epochs: config.epochs,
      warmupSteps: Math.round(config.warmupFraction * plannedSteps(input.train.length, config)),
      clipNorm: config.maxGradNorm > 0 ? config.maxGradNorm : null,
      valSplit: config.valFraction,
      earlyStoppingPatience: config.patience > 0 ? config.patience : null,
    },
    seed: config.seed,
    metrics: null,
    createdAt: input.createdAt,
  };
}

/** studio_config.json: everything train.py reads besides the data. */
export function projectConfig(input: ProjectInput): Record<string, Json> {
  const { config, model } = input;
  const meta = projectPromptMetadata(input);
  const width = config.method === 'prefix' ? prefixWidth(model.config) : model.config.hiddenSize;
  const shape = { vectors: new Float32Array(input.promptLength * width), numTokens: input.promptLength, dim: width };
  return {
    format: PROJECT_FORMAT,
    formatVersion: PROJECT_FORMAT_VERSION,
    task: 'classification',
    template: input.template,
    columns: [...input.columns],
    labelColumn: input.labelColumn,
    textColumns: [...input.textColumns],
    classes: [...input.classes],
    labelWords: input.labelWords,
    mode: config.mode,
    method: config.method ?? 'prompt',
    placement: input.placement,
    promptLength: input.promptLength,
    settings: { ...config, method: config.method ?? 'prompt', ensembleSize: config.ensembleSize ?? 1 },
    optimizer: { ...STUDIO_ADAM },
    ensembleSeedStep: ENSEMBLE_SEED_STEP,
    init: { ...input.init },
    model: projectModelJson(model),
    split: { seed: config.seed, valFraction: config.valFraction, train: input.train.length, validation: input.validation.length },
    promptMetadata: meta as unknown as Json,
    // What the studio's own export writes as adapter_config.json: train.py's fallback when PEFT cannot save.
    peftConfig: peftAdapterConfig(shape, meta) as unknown as Json,
    createdAt: input.createdAt,
  };
}

const DDP_YAML = `# One machine, several GPUs: one process per GPU (DistributedDataParallel).
# Set num_processes to the number of GPUs. Each process takes its share of every batch of the
# studio's batch size, and the gradients are averaged: the same steps as one process.
compute_environment: LOCAL_MACHINE
distributed_type: MULTI_GPU
num_machines: 1
num_processes: 2
machine_rank: 0
gpu_ids: all
mixed_precision: 'no'
main_training_function: main
rdzv_backend: static
same_network: true
use_cpu: false
`;

const MULTI_NODE_YAML = `# Several machines (here 2 with 8 GPUs each): run the same command on each machine with its own
# machine_rank (0 on the main one); main_process_ip is the main machine's address, reachable from all.
compute_environment: LOCAL_MACHINE
distributed_type: MULTI_GPU
num_machines: 2
num_processes: 16
machine_rank: 0
main_process_ip: 10.0.0.1
main_process_port: 29500
gpu_ids: all
mixed_precision: 'no'
main_training_function: main
rdzv_backend: static
same_network: true
use_cpu: false
`;

/** The transformer block class FSDP wraps one by one, by family. */
const FSDP_LAYER_CLASS: Record<string, string> = { bert: 'BertLayer', roberta: 'RobertaLayer', distilbert: 'TransformerBlock', gpt2: 'GPT2Block' };

function fsdpYaml(modelType: string): string {
  return `# A model that does not fit one GPU: its weights sharded over the GPUs (FSDP, full shard).
# fsdp_use_orig_params keeps the frozen weights and the trainable prompt apart (only the prompt trains).
# Set fsdp_transformer_layer_cls_to_wrap to the checkpoint's block class (e.g. LlamaDecoderLayer).
compute_environment: LOCAL_MACHINE
distributed_type: FSDP
num_machines: 1
num_processes: 2
machine_rank: 0
mixed_precision: 'no'
fsdp_config:
  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP
  fsdp_transformer_layer_cls_to_wrap: ${FSDP_LAYER_CLASS[modelType] ?? 'BertLayer'}
  fsdp_sharding_strategy: FULL_SHARD
  fsdp_backward_prefetch: BACKWARD_PRE
  fsdp_state_dict_type: FULL_STATE_DICT
  fsdp_offload_params: false
  fsdp_sync_module_states: true
  fsdp_cpu_ram_efficient_loading: true
  fsdp_use_orig_params: true
main_training_function: main
rdzv_backend: static
same_network: true
use_cpu: false
`;
}

function projectReadme(input: ProjectInput): string {
  const c = input.config;
  const method = c.method ?? 'prompt';
  return `# Train at scale: ${input.model.id}

A Prompt Tuning Studio run as a transformers + PEFT + Accelerate project. \`train.py\` trains what the
studio trains, the same way: the template \`${input.template}\` rendered and truncated as the studio
renders it, ${method === 'prefix' ? `${input.promptLength} virtual tokens' keys and values at every layer (prefix tuning)` : `${input.promptLength} soft tokens where the template puts them (${input.placement})`},
${c.mode === 'head' ? 'a linear head on [CLS] / the last token' : 'the classes scored by their label words (every piece of a word counted)'},
cross-entropy, Adam (lr ${c.learningRate}, betas 0.9 / 0.999, eps 1e-7), ${Math.round(c.warmupFraction * 100)}% linear warmup then linear decay,
gradient clipping at ${c.maxGradNorm || 'none'}, batch ${c.batchSize}, ${c.epochs} epochs, early stopping after ${c.patience || 'no'} epochs without a better
validation loss, seed ${c.seed}${(c.ensembleSize ?? 1) > 1 ? `, an ensemble of ${c.ensembleSize} prompts` : ''}. The data are the studio's own split: ${input.train.length} training and ${input.validation.length} validation rows.

## Run

\`\`\`sh
pip install -r requirements.txt
accelerate launch --config_file accelerate/ddp.yaml train.py
\`\`\`

(Set \`num_processes\` in \`accelerate/ddp.yaml\` to your number of GPUs; \`python train.py\` runs one process.)
It prints one JSON line per epoch and writes \`output/\`:

| file | what |
| --- | --- |
| \`output/prompt.json\` | the prompt in the studio's own format (and the head, in head mode) |
| \`output/peft/adapter_config.json\`, \`adapter_model.safetensors\` | the PEFT adapter (PEFT's \`save_pretrained\`) |
| \`output/metrics.json\` | \`format\` "${PROJECT_METRICS_FORMAT}": zero-shot and best validation loss / accuracy / macro-F1, per-epoch losses, steps, stop reason, per-row validation predictions |
| \`output/members/<k>/\` | an ensemble's other members |

Bring it back: zip \`output/\` (or pick \`output/prompt.json\`) in the studio's Export panel, *Import a
prompt*; the studio checks it against the loaded model, evaluates it on the current data and shows the
project's own validation accuracy from metrics.json beside its evaluation.

## Bigger model, bigger data

- **Model**: \`python train.py --model <hub id or folder>\` (or \`model.id\` in \`studio_config.json\`). The
  template, label words and settings stay; the special token ids and sizes in \`studio_config.json\`'s
  \`model\` are the studio's checkpoint's: export again from the studio with the new model loaded when its
  tokenizer differs. \`--dtype bfloat16\` halves the frozen weights' memory (the prompt stays float32).
- **Several GPUs**: \`accelerate/ddp.yaml\` (one process per GPU). **Several machines**:
  \`accelerate/multi_node.yaml\` (set \`machine_rank\`, \`main_process_ip\`, \`num_processes\` = all GPUs).
  **A model larger than one GPU**: \`accelerate/fsdp.yaml\` (weights sharded; set the block class).
- **Data**: replace \`data/train.csv\` and \`data/validation.csv\` (same columns: ${input.columns.map((x) => `\`${x}\``).join(', ')}). Batches are the
  studio's global batch size (\`--batch-size\`), split over the processes; validation is split too.
  \`--epochs\` overrides the epochs.
- \`--zero-shot-only\` scores the validation split with the template and label words alone (no training).

## How train.py is kept honest

\`train.py\` is \`src/engine/export/project/train.py\` in the studio's repository; its template rendering,
label-word scoring plan and seeded random numbers are checked there against the studio's own code on a
shared golden file (\`src/engine/export/testdata/template-golden.json\`), without torch.
${input.initialPrompt ? '\n`initial_prompt/prompt.json` is the studio\'s prompt when the project was exported: training starts from it\n(`--no-initial-prompt` starts from the init instead).\n' : ''}`;
}

/** The project's files by path. */
export function projectFiles(input: ProjectInput): Record<string, Uint8Array> {
  if (input.classes.length < 2) throw new PromptExportError(`a project needs at least two classes, got ${input.classes.length}`);
  for (const c of [input.labelColumn, ...input.textColumns]) {
    if (!input.columns.includes(c)) throw new PromptExportError(`column "${c}" is not among the data's columns (${input.columns.join(', ')})`);
  }
  const json = (v: unknown) => strToU8(`${JSON.stringify(v, null, 2)}\n`);
  const files: Record<string, Uint8Array> = {
    'train.py': strToU8(TRAIN_PY),
    'studio_config.json': json(projectConfig(input)),
    'data/train.csv': strToU8(csvText(input.columns, input.train)),
    'data/validation.csv': strToU8(csvText(input.columns, input.validation)),
    'accelerate/ddp.yaml': strToU8(DDP_YAML),
    'accelerate/multi_node.yaml': strToU8(MULTI_NODE_YAML),
    'accelerate/fsdp.yaml': strToU8(fsdpYaml(input.model.config.modelType)),
    'requirements.txt': strToU8(`${PROJECT_REQUIREMENTS.join('\n')}\n`),
    'README.md': strToU8(projectReadme(input)),
  };
  const initial = input.initialPrompt;
  if (initial) {
    const meta = projectPromptMetadata(input);
    const members = initial.members?.length ? initial.members : [initial];
    members.forEach((m, k) => {
      const { head: _, ...rest } = meta;
      const memberMeta: PromptExportMetadata = { ...rest, seed: meta.seed + k * ENSEMBLE_SEED_STEP, ...(m.head ? { head: m.head } : {}) };
      const text = promptJsonText({ vectors: m.vectors, numTokens: m.numTokens, dim: m.dim }, memberMeta);
      files[k === 0 ? 'initial_prompt/prompt.json' : `initial_prompt/members/${k + 1}/prompt.json`] = strToU8(text);
    });
  }
  return files;
}

/** Largest metrics.json read from an import (it lists every validation row's probabilities). */
export const MAX_PROJECT_METRICS_BYTES = 32 * 1024 * 1024;

/**
 * A project's metrics.json (train.py's METRICS_FORMAT) -> what the studio shows beside its own
 * evaluation; null for another metrics.json (the studio's own export writes one without `format`).
 */
export function parseProjectMetrics(text: string, fileName = 'metrics.json'): ProjectMetrics | null {
  const fail = (m: string): never => {
    throw new PromptImportError(`${fileName}: ${m}`);
  };
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch (e) {
    return fail(`not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(doc) || doc.format !== PROJECT_METRICS_FORMAT) return null;
  if (doc.formatVersion !== 1) fail(`formatVersion ${JSON.stringify(doc.formatVersion)} is not supported (this version reads 1)`);
  const num = (v: Json, what: string): number => (typeof v === 'number' && Number.isFinite(v) ? v : fail(`${what} ${JSON.stringify(v)} is not a number`));
  const scores = (v: Json, what: string) => {
    if (v === null) return null;
    if (!isObject(v)) return fail(`${what} is not an object with loss, accuracy and macroF1`);
    const accuracy = num(v.accuracy, `${what}.accuracy`);
    if (accuracy < 0 || accuracy > 1) fail(`${what}.accuracy ${accuracy} is not a fraction`);
    return { loss: num(v.loss, `${what}.loss`), accuracy, macroF1: num(v.macroF1, `${what}.macroF1`) };
  };
  const model = isObject(doc.model) ? doc.model : fail('has no "model" object');
  const classes = Array.isArray(doc.classes) && doc.classes.every((c) => typeof c === 'string') ? (doc.classes as string[]) : fail('"classes" is not a list of strings');
  return {
    modelId: typeof model.id === 'string' ? model.id : fail('model.id is missing'),
    method: typeof doc.method === 'string' ? doc.method : fail('"method" is missing'),
    mode: typeof doc.mode === 'string' ? doc.mode : fail('"mode" is missing'),
    classes,
    trainSize: num(doc.trainSize, 'trainSize'),
    valSize: num(doc.valSize, 'valSize'),
    processes: num(doc.processes, 'processes'),
    validation: scores(doc.validation ?? null, 'validation'),
    zeroShot: scores(doc.zeroShot ?? null, 'zeroShot'),
    bestEpoch: doc.bestEpoch === null || doc.bestEpoch === undefined ? null : num(doc.bestEpoch, 'bestEpoch'),
    steps: num(doc.steps, 'steps'),
    totalSteps: num(doc.totalSteps, 'totalSteps'),
    stopReason: typeof doc.stopReason === 'string' ? doc.stopReason : fail('"stopReason" is missing'),
    seconds: num(doc.seconds, 'seconds'),
  };
}
