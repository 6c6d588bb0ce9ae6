/**
 * Pretrains an embedded default model from scratch. Seeded, prints progress, resumes from its
 * last checkpoint in .cache/pretrain/<name>/ when run again with the same arguments.
 *
 *   npm run pretrain -- --family bert --out public/models/studio-bert-tiny
 *   npm run pretrain -- --family gpt2 --out public/models/studio-gpt2-tiny
 *
 * To continue training a finished checkpoint with a new schedule (a fresh Adam), copy its
 * model.safetensors aside and pass --init-from <that file>.
 *
 * The tokenizer (tokenizer.json + tokenizer_config.json) must already be in --out: it is made by
 * `npx tsx src/cli/build-tokenizers.ts` from the same corpus.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useNodeBackend } from '../node/model';
import { bytesSource, readSafetensorsHeader, readTensorData, writeSafetensors } from '../model/safetensors';
import type { TransformerConfig } from '../model/types';
import { CACHE_DIR, loadTokenStreams } from '../pretrain/corpus';
import {
  buildModel,
  causalLoss,
  clipByGlobalNorm,
  hfConfigFile,
  hfName,
  initialWeights,
  joinParagraphs,
  learningRate,
  maskBatch,
  mlmLoss,
  seededRandom,
  toSafetensors,
  weightSpecs,
  type Specials,
} from '../pretrain/pretrain';
import { startCommand } from './args';
import { PRETRAIN, PRETRAIN_OPTIONS, parsePretrainArgs } from './commands';

const args = startCommand(PRETRAIN, parsePretrainArgs);
/** Option defaults: a checkpoint written before an option existed ran with its default. */
const DEFAULTS = Object.fromEntries(
  Object.entries(PRETRAIN_OPTIONS).flatMap(([k, o]) => ('default' in o ? [[k, o.default]] : [])),
) as Record<string, string | boolean>;

const family = args.family;
const outDir = args.out ?? `public/models/studio-${family}-tiny`;
const steps = Number(args.steps);
const B = Number(args.batch);
const T = Number(args.seq);
const peakLr = Number(args.lr);
const warmup = Number(args.warmup);
const maskRate = Number(args['mask-rate']);
const offsetLayers = Number(args['offset-layers']);
const seed = Number(args.seed);
const ckptEvery = Number(args['checkpoint-every']);
const logEvery = Number(args['log-every']);

const tokenizerConfig = JSON.parse(readFileSync(join(outDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
const tokenizerJson = JSON.parse(readFileSync(join(outDir, 'tokenizer.json'), 'utf8')) as {
  model: { vocab: Record<string, number> | [string, number][] };
  added_tokens: { id: number; content: string }[];
};
const vocab = tokenizerJson.model.vocab;
const vocabSize = Math.max(
  ...(Array.isArray(vocab) ? vocab.map((_, i) => i) : Object.values(vocab)),
  ...tokenizerJson.added_tokens.map((t) => t.id),
) + 1;
const idOf = (tok: string): number => {
  const added = tokenizerJson.added_tokens.find((t) => t.content === tok);
  if (added) return added.id;
  throw new Error(`${outDir}/tokenizer.json has no special token ${tok}`);
};
const reserved = new Set(tokenizerJson.added_tokens.map((t) => t.id));

const cfg: TransformerConfig = {
  modelType: family,
  lmKind: family === 'bert' ? 'masked-lm' : 'causal-lm',
  vocabSize,
  hiddenSize: Number(args.hidden),
  numLayers: Number(args.layers),
  numHeads: Number(args.heads),
  intermediateSize: Number(args.inner),
  maxPositions: Number(args['max-positions'] ?? T),
  typeVocabSize: family === 'bert' ? 2 : 0,
  layerNormEps: family === 'bert' ? 1e-12 : 1e-5,
  hiddenAct: family === 'bert' ? 'gelu' : 'gelu_new',
  padTokenId: family === 'bert' ? idOf('[PAD]') : null,
  positionOffset: 0,
  ...(args['untied-decoder'] ? { tieWordEmbeddings: false } : {}),
};
const specials: Specials | null =
  family === 'bert' ? { cls: idOf('[CLS]'), sep: idOf('[SEP]'), mask: idOf('[MASK]'), reserved } : null;
const separator = family === 'bert' ? idOf('[SEP]') : idOf('<|endoftext|>');

// A BERT window leaves room for [CLS] and [SEP]; a GPT-2 window holds T inputs plus the last target.
const windowLen = family === 'bert' ? T - 2 : T + 1;
const stride = family === 'bert' ? windowLen : T;

function windowsOf(ids: Int32Array): number[] {
  const starts: number[] = [];
  for (let s = 0; s + windowLen <= ids.length; s += stride) starts.push(s);
  return starts;
}

function permutation(n: number, rand: () => number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

async function main(): Promise<void> {
  await useNodeBackend('wasm');
  const t0 = Date.now();
  const streams = loadTokenStreams(outDir);
  const train = joinParagraphs(streams.train, separator);
  const heldOut = joinParagraphs(streams.heldOut, separator);
  const trainStarts = windowsOf(train);
  const heldStarts = windowsOf(heldOut);
  console.log(
    `[pretrain] ${family} vocab ${vocabSize}, ${train.length} train / ${heldOut.length} held-out tokens, ` +
      `${trainStarts.length} windows of ${windowLen}; data ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );

  const vars = initialWeights(cfg, seed, {
    sinusoidalPositions: args.positions === 'sinusoidal',
    offsetLayers,
  });
  if (args['init-from']) {
    await restoreWeights(args['init-from'], vars);
    console.log(`[pretrain] weights from ${args['init-from']}`);
  }
  const model = buildModel(cfg, vars);
  const optimizer = tf.train.adam(peakLr, 0.9, 0.98, 1e-6);
  const nParams = [...vars.values()].reduce((n, v) => n + v.size, 0);
  console.log(`[pretrain] ${cfg.numLayers} layers, hidden ${cfg.hiddenSize}, ${nParams.toLocaleString('en')} parameters`);

  const ckptDir = join(CACHE_DIR, 'pretrain', basename(outDir));
  const statePath = join(ckptDir, 'state.json');
  let startStep = 0;
  let elapsedBefore = 0;
  const history: { step: number; loss: number; heldOutLoss?: number; lr: number; seconds: number }[] = [];
  if (!args.fresh && existsSync(statePath)) {
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    // Logging and checkpoint cadence may change between runs; everything that shapes training may not.
    const shaping = (a: Record<string, unknown>) =>
      JSON.stringify(Object.entries({ ...DEFAULTS, ...a, 'log-every': 0, 'checkpoint-every': 0, fresh: false }).sort());
    if (shaping(state.args) !== shaping(args)) {
      throw new Error(`${statePath} was written with other arguments; rerun with --fresh to start over`);
    }
    await restore(join(ckptDir, 'weights.safetensors'), vars, join(ckptDir, 'adam.safetensors'), optimizer);
    startStep = state.step;
    elapsedBefore = state.seconds;
    history.push(...state.history);
    console.log(`[pretrain] resumed at step ${startStep} from ${ckptDir}`);
  }

  const lossOf = (sampleStarts: number[], ids: Int32Array, rand: () => number, rate: number): tf.Scalar => {
    const windows = sampleStarts.map((s) => Array.from(ids.subarray(s, s + windowLen)));
    return specials ? mlmLoss(model, maskBatch(windows, specials, vocabSize, rand, rate)) : causalLoss(model, windows);
  };

  const heldOutLoss = async (): Promise<number> => {
    // Fixed masking at BERT's usual 15%, whatever --mask-rate trains with: comparable across checkpoints and runs.
    const rand = seededRandom(99);
    const n = Math.min(heldStarts.length, 8 * B);
    let total = 0;
    let batches = 0;
    for (let i = 0; i + B <= n; i += B) {
      const l = lossOf(heldStarts.slice(i, i + B), heldOut, rand, 0.15);
      total += (await l.data())[0];
      l.dispose();
      batches++;
    }
    return total / batches;
  };

  const varList = [...vars.values()];
  let perm: Int32Array | null = null;
  let permEpoch = -1;
  const runStart = Date.now();
  let windowLoss = 0;
  let windowCount = 0;
  for (let step = startStep; step < steps; step++) {
    // Sample k of the run: epoch k / windows, position in that epoch's seeded permutation.
    const starts: number[] = [];
    for (let i = 0; i < B; i++) {
      const k = step * B + i;
      const epoch = Math.floor(k / trainStarts.length);
      if (epoch !== permEpoch) {
        perm = permutation(trainStarts.length, seededRandom(seed * 1000 + epoch));
        permEpoch = epoch;
      }
      starts.push(trainStarts[(perm as Int32Array)[k % trainStarts.length]]);
    }
    const rand = seededRandom(seed * 7919 + step);
    const lr = learningRate(step, peakLr, warmup, steps);
    // The lr field is protected in the typings but read on every applyGradients: the documented way to schedule it.
    (optimizer as unknown as { learningRate: number }).learningRate = lr;
    const { value, grads } = tf.variableGrads(() => lossOf(starts, train, rand, maskRate), varList);
    const { grads: clipped, norm } = clipByGlobalNorm(grads, 1.0);
    optimizer.applyGradients(clipped as Parameters<typeof optimizer.applyGradients>[0]);
    const loss = (await value.data())[0];
    tf.dispose([value, norm, grads, clipped]);
    if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at step ${step}; lower --lr`);
    windowLoss += loss;
    windowCount++;

    const done = step + 1;
    if (done % logEvery === 0 || done === steps) {
      const seconds = elapsedBefore + (Date.now() - runStart) / 1000;
      const rate = ((done - startStep) * B * T) / ((Date.now() - runStart) / 1000);
      const eta = ((steps - done) * B * T) / rate;
      const entry = { step: done, loss: windowLoss / windowCount, lr, seconds };
      history.push(entry);
      console.log(
        `[pretrain] step ${done}/${steps} loss ${entry.loss.toFixed(4)} lr ${lr.toExponential(2)} ` +
          `${rate.toFixed(0)} tok/s, ${(seconds / 60).toFixed(1)} min, ETA ${(eta / 60).toFixed(1)} min, tensors ${tf.memory().numTensors}`,
      );
      windowLoss = 0;
      windowCount = 0;
    }
    if (done % ckptEvery === 0 || done === steps) {
      const h = await heldOutLoss();
      history[history.length - 1].heldOutLoss = h;
      const seconds = elapsedBefore + (Date.now() - runStart) / 1000;
      await checkpoint(ckptDir, vars, optimizer, { args, step: done, seconds, history });
      await writeModel(vars, nParams, done, seconds, train.length, history);
      console.log(`[pretrain] step ${done}: held-out loss ${h.toFixed(4)} (perplexity ${Math.exp(h).toFixed(1)}), checkpoint saved`);
    }
  }

  console.log(`[pretrain] done: ${outDir}/config.json, model.safetensors, training.json`);
  model.dispose();
}

/** Writes the HF-layout checkpoint (config.json, model.safetensors) and training.json into --out. */
async function writeModel(vars: Map<string, tf.Variable>, nParams: number, done: number, seconds: number, trainTokens: number, history: unknown[]): Promise<void> {
  const extra =
    family === 'bert'
      ? { pad_token_id: idOf('[PAD]') }
      : { bos_token_id: separator, eos_token_id: separator };
  writeFileSync(join(outDir, 'config.json'), hfConfigFile(cfg, extra));
  writeFileSync(join(outDir, 'model.safetensors'), await toSafetensors(cfg, vars));
  const training = {
    command: `npm run pretrain -- ${process.argv.slice(2).join(' ')}`,
    args,
    parameters: nParams,
    stepsDone: done,
    stepsPlanned: steps,
    batch: B,
    sequenceLength: T,
    tokensSeen: done * B * T,
    trainTokens,
    wallSeconds: Math.round(seconds),
    machine: '2-core x86-64 VM, Node 20, tfjs 4.22 wasm backend (single-threaded)',
    history,
    // A run that continues another (--init-from <dir>/model.safetensors) records that run's training.json.
    previous: previousTraining(),
  };
  writeFileSync(join(outDir, 'training.json'), JSON.stringify(training, null, 1) + '\n');
}

/** training.json beside the --init-from weights, when there is one. */
function previousTraining(): unknown {
  if (!args['init-from']) return undefined;
  const path = join(dirname(args['init-from']), 'training.json');
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : { initFrom: args['init-from'] };
}

async function checkpoint(dir: string, vars: Map<string, tf.Variable>, optimizer: tf.AdamOptimizer, state: unknown): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'weights.safetensors.tmp'), await toSafetensors(cfg, vars));
  const adam: Record<string, { data: Float32Array; shape: number[] }> = {};
  const weights = await optimizer.getWeights();
  for (const w of weights) adam[w.name] = { data: (await w.tensor.data()) as Float32Array, shape: w.tensor.shape };
  // The first entry is a fresh scalar holding the step count; the rest are the optimizer's own variables.
  weights[0].tensor.dispose();
  writeFileSync(join(dir, 'adam.safetensors.tmp'), writeSafetensors(adam));
  writeFileSync(join(dir, 'state.json.tmp'), JSON.stringify(state));
  // Rename last, so an interrupted save leaves the previous checkpoint intact.
  for (const f of ['weights.safetensors', 'adam.safetensors', 'state.json']) renameSync(join(dir, `${f}.tmp`), join(dir, f));
}

async function restore(weightsPath: string, vars: Map<string, tf.Variable>, adamPath: string, optimizer: tf.AdamOptimizer): Promise<void> {
  await restoreWeights(weightsPath, vars);
  const asrc = bytesSource(adamPath, new Uint8Array(readFileSync(adamPath)));
  const aheader = await readSafetensorsHeader(asrc);
  const weights: { name: string; tensor: tf.Tensor }[] = [];
  for (const info of aheader.tensors.values()) {
    weights.push({ name: info.name, tensor: tf.tensor(await readTensorData(asrc, info), info.shape) });
  }
  // getWeights() lists the iteration counter first, then the moments in variable order.
  weights.sort((a, b) => (a.name === 'iter' ? -1 : b.name === 'iter' ? 1 : 0));
  await optimizer.setWeights(weights);
}

/** Loads an HF-layout safetensors file (a checkpoint of this script) into the variables. */
async function restoreWeights(weightsPath: string, vars: Map<string, tf.Variable>): Promise<void> {
  const { specs, prefix } = weightSpecs(cfg);
  const src = bytesSource(weightsPath, new Uint8Array(readFileSync(weightsPath)));
  const header = await readSafetensorsHeader(src);
  for (const spec of specs) {
    const v = vars.get(spec.key);
    if (!v) continue;
    const info = header.tensors.get(hfName(spec, prefix));
    if (!info) throw new Error(`${weightsPath}: missing ${hfName(spec, prefix)}`);
    const t = tf.tensor(await readTensorData(src, info), spec.shape);
    const value = spec.transpose ? tf.transpose(t) : t;
    v.assign(value);
    tf.dispose([t, value]);
  }
}

void main();
