/**
 * Generation tasks for decoder models (GPT-2): a CSV with an input and a target column, a template
 * that frames the input ("Question: {question} Answer:"), a loss on the target tokens only
 * (teacher forcing), greedy or top-k/temperature sampling with the tuned prompt, and exact match /
 * token F1 on the validation split before (template alone, no soft prompt) and after tuning.
 *
 * Sequence: BOS, template (soft slots included), target tokens, EOS (when the tokenizer has one,
 * so the model learns to stop). The target follows the template's prediction point with the same
 * space rule as label words (a space after "Answer:").
 *
 * Decoding has no KV cache: each new token re-runs the forward pass over the whole sequence. At the
 * sizes this studio trains (a few layers, sequences under ~128 tokens, short targets) that costs
 * milliseconds per token, and it keeps the frozen model's interface to a single `forward`.
 */
import * as tf from '@tensorflow/tfjs';
import { forwardWithPrompt, makeBatch, padSideFor, readHidden, type BatchInput, type TokenBatch } from './batch';
import type { LanguageModel } from './languageModel';
import type { TransformerConfig } from '../model/types';
import { DataError, requireColumns, stratifiedSplit, type Row } from './data';
import { exactMatch, mean, tokenF1 } from './metrics';
import { betweenBatches, encodeRows, unlessStopped, type Phase, type PhaseProgress } from './phase';
import { seededRandom } from './random';
import { createSoftPrompt, tokenFrequencies, type SoftPrompt } from './softPrompt';
import { compileTemplate, TemplateError, type EncodedExample, type Template } from './template';
import { promptLayout, type TrainingConfig } from './train';
import { tune, type PreparedTask, type TuneHooks, type TuneOptions, type TuneResult, type TuningTask } from './tune';

export interface GenerationData {
  rows: Row[];
  targetColumn: string;
  /** Frames the input columns; the target is generated after it (or at a final [MASK]). */
  template: string;
}

export interface GenerationExample {
  /** The template part (what generation starts from). */
  prompt: EncodedExample;
  /** Target tokens, EOS included when the tokenizer has one. */
  targetIds: number[];
  target: string;
  /** The target was cut to fit the model's positions. */
  targetTruncated: boolean;
}

export type PreparedGeneration = PreparedTask<GenerationExample>;

/** Cap on generated tokens when the caller gives none. */
export const DEFAULT_MAX_NEW_TOKENS = 32;

/** Generation needs a causal LM: the one place that says so (preparation, preview, the playground). */
export function requireDecoder(config: Pick<TransformerConfig, 'lmKind' | 'modelType'>): void {
  if (config.lmKind !== 'causal-lm') throw new DataError(`generation needs a decoder model (gpt2, llama, mistral, qwen2, qwen3); the loaded ${config.modelType} is an encoder`);
}

/** The model must not see the answer: the target column may not be one of the template's. */
export function requireTargetOutside(template: Template, targetColumn: string): void {
  if (template.columns.includes(targetColumn)) {
    throw new TemplateError(`the template contains the target column {${targetColumn}}: the model would see the answer`);
  }
}

/**
 * A row's target as the model learns it: after the template's prediction point (with its space
 * rule), EOS appended when the tokenizer has one, cut to the positions the template leaves.
 */
export function encodeTarget(lm: LanguageModel, template: Template, target: string): { ids: number[]; truncated: boolean } {
  const { tokenizer } = lm;
  const text = target.trim();
  const ids = text.length ? tokenizer.encode((template.spaceBeforePrediction ? ' ' : '') + text) : [];
  if (tokenizer.special.eos !== null) ids.push(tokenizer.special.eos);
  const room = Math.max(0, template.maxLength - template.fixedLength);
  return ids.length > room ? { ids: ids.slice(0, room), truncated: true } : { ids, truncated: false };
}

/** Compiles the template, splits and encodes (`onProgress` hears the encoding, as the phase "encoding examples"). */
export function prepareGeneration(lm: LanguageModel, data: GenerationData, config: TrainingConfig, onProgress?: (progress: PhaseProgress) => void): PreparedGeneration {
  const { model, tokenizer } = lm;
  requireDecoder(model.config);
  const columns = data.rows.length ? Object.keys(data.rows[0]) : [];
  requireColumns(columns, [data.targetColumn], 'target column');
  const template = compileTemplate(data.template, { tokenizer, config: model.config, columns, ...promptLayout(config), maxLength: config.maxLength });
  requireTargetOutside(template, data.targetColumn);
  const encode = (row: Row): GenerationExample => {
    const target = (row[data.targetColumn] ?? '').trim();
    const { ids: targetIds, truncated: targetTruncated } = encodeTarget(lm, template, target);
    if (targetIds.length === 0) throw new DataError(`a row has an empty target (column "${data.targetColumn}") and the tokenizer has no EOS`);
    return { prompt: template.encode(row, { reserve: targetIds.length }), targetIds, target, targetTruncated };
  };
  const { train: trainRows, val: valRows } = stratifiedSplit(data.rows, () => '', config.valFraction, config.seed);
  const encoded = encodeRows([...trainRows, ...valRows], encode, 'encoding examples', onProgress);
  const train = encoded.slice(0, trainRows.length);
  const val = encoded.slice(trainRows.length);
  return {
    template,
    trainRows,
    valRows,
    train,
    val,
    truncatedCount: [...train, ...val].filter((e) => e.prompt.truncated || e.targetTruncated).length,
    promptLength: config.method === 'prefix' ? config.promptLength : template.softCount,
  };
}

export interface GenerationBatch extends TokenBatch {
  /**
   * [B * K] int32: where each read's target token sits in the read logits flattened to
   * [B * K * V], i.e. (b * K + k) * V + id (padding reads: id 0, weight 0). Scoring gathers these
   * B * K logits; no [B, K, V] one-hot is built (~100 MB a batch with a 50k vocabulary).
   */
  targetIndex: tf.Tensor1D;
}

/** Template + target as one sequence; reads are the positions that predict each target token. */
export function makeGenerationBatch(examples: readonly GenerationExample[], lm: LanguageModel, promptLength: number): GenerationBatch {
  const inputs: BatchInput[] = examples.map((e) => ({
    ids: [...e.prompt.ids, ...e.targetIds],
    softIndex: [...e.prompt.softIndex, ...e.targetIds.map(() => -1)],
    tokenTypes: [...e.prompt.tokenTypes, ...e.targetIds.map(() => 0)],
  }));
  const reads = examples.map((e) => e.targetIds.map((_, j) => e.prompt.ids.length - 1 + j));
  const batch = makeBatch(inputs, { side: padSideFor('causal-lm'), padId: lm.tokenizer.special.pad ?? 0, promptLength, reads });
  const K = batch.readsPerExample;
  const V = lm.model.config.vocabSize;
  if (examples.length * K * V > 2 ** 31 - 1) throw new RangeError(`generation batch of ${examples.length} x ${K} targets over ${V} tokens overflows int32 indices: use a smaller batch`);
  const flat = Int32Array.from({ length: examples.length * K }, (_, r) => r * V); // padding reads: token 0
  examples.forEach((e, b) => e.targetIds.forEach((id, j) => (flat[b * K + j] += id)));
  const targetIndex = tf.tensor1d(flat, 'int32');
  const dispose = batch.dispose;
  return { ...batch, targetIndex, dispose: () => (dispose(), targetIndex.dispose()) };
}

/** Mean negative log-likelihood of the target tokens (teacher forcing; template tokens carry no loss). */
export function generationLoss(lm: LanguageModel, prompt: SoftPrompt | null, batch: GenerationBatch): tf.Scalar {
  return tf.tidy(() => {
    const hidden = forwardWithPrompt(lm.model, batch, prompt);
    const h = readHidden(hidden, batch); // [B, K, H]: only the positions that predict targets
    const logits = lm.model.lmLogits(h.reshape([-1, h.shape[2]])) as tf.Tensor2D; // [B*K, H] -> [B*K, V]
    // log p(target) = its logit - logsumexp over the vocabulary: [B*K] - [B*K] -> [B, K]
    const targetLogits = tf.gather(logits.reshape([-1]), batch.targetIndex);
    const tokenLogp = tf.sub(targetLogits, tf.logSumExp(logits, -1)).reshape([batch.size, batch.readsPerExample]);
    return tf.neg(tf.div(tf.sum(tf.mul(tokenLogp, batch.readWeights)), tf.sum(batch.readWeights))) as tf.Scalar;
  });
}

export interface DecodeOptions {
  /** 'greedy' (argmax) or 'sample' (top-k with temperature, seeded). */
  strategy?: 'greedy' | 'sample';
  topK?: number;
  temperature?: number;
  maxNewTokens?: number;
  seed?: number;
  batchSize?: number;
}

/**
 * Continues each row's template (with the prompt's soft tokens, or without when `prompt` is
 * null) until EOS, `maxNewTokens`, or the model's last position. Returns the decoded text.
 */
export async function generate(
  lm: LanguageModel,
  template: Template,
  prompt: SoftPrompt | null,
  rows: readonly Row[],
  options: DecodeOptions = {},
  /** Reported after each batch of rows; a stop ends the generation (StoppedError, see phase.ts). */
  phase?: Phase,
): Promise<string[]> {
  const strategy = options.strategy ?? 'greedy';
  const maxNew = options.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
  const topK = Math.max(1, options.topK ?? 40);
  const temperature = options.temperature ?? 1;
  if (strategy === 'sample' && !(temperature > 0)) throw new RangeError(`temperature must be > 0, got ${temperature}`);
  const batchSize = options.batchSize ?? 8;
  const rng = seededRandom(options.seed ?? 0, 'sample');
  // Every id the checkpoint ends a turn with (generation_config.json may list several: Llama-3's <|eot_id|>).
  const stopIds = new Set(lm.tokenizer.eosIds);
  const reserve = Math.max(0, Math.min(maxNew, template.maxLength - template.fixedLength - 1));
  const out: string[] = [];
  await betweenBatches(phase, 0, rows.length);
  for (let i = 0; i < rows.length; i += batchSize) {
    const seqs = rows.slice(i, i + batchSize).map((r) => {
      const e = template.encode(r, { withSoft: prompt !== null, reserve });
      return { ids: e.ids, softIndex: e.softIndex, tokenTypes: e.tokenTypes, generated: [] as number[], done: false };
    });
    for (let step = 0; step < maxNew && seqs.some((s) => !s.done); step++) {
      const active = seqs.filter((s) => !s.done);
      const batch = makeBatch(active, {
        side: 'left',
        padId: lm.tokenizer.special.pad ?? 0,
        promptLength: prompt?.length ?? 0,
        reads: active.map((s) => [s.ids.length - 1]),
      });
      const logits = tf.tidy(() => {
        const h = readHidden(forwardWithPrompt(lm.model, batch, prompt), batch).reshape([active.length, -1]);
        return lm.model.lmLogits(h) as tf.Tensor2D; // [B, V], last position only
      });
      batch.dispose();
      let next: number[];
      if (strategy === 'greedy') {
        const arg = tf.argMax(logits, -1);
        next = Array.from(await arg.data());
        arg.dispose();
      } else {
        const { values, indices } = tf.tidy(() => tf.topk(tf.div(logits, temperature), Math.min(topK, logits.shape[1])));
        const [v, ix] = [await values.data(), await indices.data()];
        tf.dispose([values, indices]);
        const k = values.shape[1] as number;
        next = active.map((_, b) => {
          const row = Array.from(v.slice(b * k, (b + 1) * k));
          const m = Math.max(...row);
          const w = row.map((x) => Math.exp(x - m));
          let u = rng.uniform() * w.reduce((a, c) => a + c, 0);
          let j = 0;
          while (j < k - 1 && u >= w[j]) u -= w[j++];
          return ix[b * k + j];
        });
      }
      logits.dispose();
      active.forEach((s, b) => {
        const id = next[b];
        if (stopIds.has(id)) {
          s.done = true;
          return;
        }
        s.generated.push(id);
        s.ids = [...s.ids, id];
        s.softIndex = [...s.softIndex, -1];
        s.tokenTypes = [...s.tokenTypes, 0];
        if (s.ids.length >= template.maxLength) s.done = true;
      });
    }
    for (const s of seqs) out.push(s.generated.length ? lm.tokenizer.decode(s.generated).trim() : ''); // decode([]) throws
    await betweenBatches(phase, out.length, rows.length);
  }
  return out;
}

export interface GenerationScores {
  exactMatch: number;
  tokenF1: number;
}

export function scoreGenerations(predictions: readonly string[], targets: readonly string[]): GenerationScores {
  return {
    exactMatch: mean(predictions.map((p, i) => exactMatch(p, targets[i]))),
    tokenF1: mean(predictions.map((p, i) => tokenF1(p, targets[i]))),
  };
}

export interface GenerationSample {
  index: number;
  target: string;
  before: string;
  after: string;
}

/** What generation reports after tuning: greedy generations on the validation split, before and after. */
export interface GenerationEvaluation {
  /** Template alone (no soft prompt), greedy, on the validation split. Null without one. */
  before: GenerationScores | null;
  /** Tuned prompt, greedy, same split. */
  after: GenerationScores | null;
  samples: GenerationSample[];
}

export type GenerationResult = TuneResult<GenerationExample, { loss: number }, GenerationEvaluation> & { prepared: PreparedGeneration };

/** Mean target-token NLL over `examples` (no gradients). */
export async function generationValidationLoss(lm: LanguageModel, prompt: SoftPrompt | null, examples: readonly GenerationExample[], batchSize = 16, phase?: Phase): Promise<number> {
  let sum = 0;
  let tokens = 0;
  await betweenBatches(phase, 0, examples.length);
  for (let i = 0; i < examples.length; i += batchSize) {
    const chunk = examples.slice(i, i + batchSize);
    const batch = makeGenerationBatch(chunk, lm, prompt?.length ?? 0);
    const loss = generationLoss(lm, prompt, batch);
    const n = chunk.reduce((a, e) => a + e.targetIds.length, 0);
    batch.dispose();
    sum += (await loss.data())[0] * n;
    loss.dispose();
    tokens += n;
    await betweenBatches(phase, i + chunk.length, examples.length);
  }
  return tokens ? sum / tokens : NaN;
}

export type GenerationHooks = TuneHooks<{ loss: number }, string[] | null> & { decode?: DecodeOptions };

/** Generation as a tuning task: teacher-forced NLL of the target tokens; greedy decoding before and after. */
export function generationTask(
  lm: LanguageModel,
  data: GenerationData,
  config: TrainingConfig,
  decodeOptions: DecodeOptions = {},
  onProgress?: (progress: PhaseProgress) => void,
): TuningTask<GenerationExample, { loss: number }, string[] | null, GenerationEvaluation> & { prepared: PreparedGeneration } {
  if (config.mode !== 'verbalizer') throw new DataError('generation trains the soft prompt only (no label head): use the label-words mode');
  if ((config.ensembleSize ?? 1) > 1) throw new DataError('prompt ensembles average class probabilities: they are for classification, not generation');
  const prepared = prepareGeneration(lm, data, config, onProgress);
  const decode = { maxNewTokens: Math.max(1, ...prepared.val.map((e) => e.targetIds.length)) + 2, ...decodeOptions };
  const targets = prepared.val.map((e) => e.target);
  // Null when a stop cut them short.
  const generations = (prompt: SoftPrompt | null, phase?: Phase) =>
    prepared.val.length ? unlessStopped(() => generate(lm, prepared.template, prompt, prepared.valRows, decode, phase)) : Promise.resolve([]);
  return {
    prepared,
    baseline: (phase) => generations(null, phase),
    newPrompt: (seed) =>
      createSoftPrompt(lm.model, {
        length: prepared.promptLength,
        init: config.init === 'labels' ? 'vocab' : config.init, // no label words here
        seed,
        text: config.initText,
        tokenizer: lm.tokenizer,
        frequentTokenIds: tokenFrequencies(prepared.train.map((e) => [...e.prompt.ids, ...e.targetIds]), lm.tokenizer),
        method: config.method,
        encoderHiddenSize: config.encoderHiddenSize,
        prefixProjection: config.prefixProjection,
        encoderType: config.encoderType,
      }),
    objective: ([prompt]) => ({
      batch(examples) {
        const batch = makeGenerationBatch(examples, lm, prompt.length);
        return { loss: () => generationLoss(lm, prompt, batch), tokens: batch.realTokens, dispose: batch.dispose };
      },
      validate: prepared.val.length ? async (phase) => ({ loss: await generationValidationLoss(lm, prompt, prepared.val, 16, phase) }) : undefined,
    }),
    async evaluate([prompt], beforeTexts, phase) {
      const afterTexts = await generations(prompt, phase);
      return {
        before: prepared.val.length && beforeTexts ? scoreGenerations(beforeTexts, targets) : null,
        after: prepared.val.length && afterTexts ? scoreGenerations(afterTexts, targets) : null,
        samples: afterTexts ? targets.map((target, index) => ({ index, target, before: beforeTexts?.[index] ?? '', after: afterTexts[index] })) : [],
      };
    },
    dispose: () => {},
  };
}

/**
 * Trains a soft prompt on input -> target pairs and compares greedy generations before and after.
 * With `options.initial` it starts from those values, with `options.resume` it continues a
 * checkpoint; with `options.train === false` it only evaluates the starting prompt.
 */
export async function trainGenerator(
  lm: LanguageModel,
  data: GenerationData,
  config: TrainingConfig,
  hooks: GenerationHooks = {},
  options: TuneOptions<{ loss: number }> = {},
): Promise<GenerationResult> {
  const { decode, ...tuneHooks } = hooks;
  const task = generationTask(lm, data, config, decode, hooks.onPhase);
  const result = await tune(task, lm.model.config, config, tuneHooks, options);
  return { ...result, prepared: task.prepared };
}
