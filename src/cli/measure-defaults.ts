/**
 * Measures training settings on a real checkpoint and sample CSV, one JSON line per run: the
 * evidence behind DEFAULT_TRAINING_CONFIG. Not a test (minutes per run).
 *
 *   npx tsx src/cli/measure-defaults.ts --model public/models/studio-bert-tiny \
 *     --csv public/samples/sentiment.csv --template "{text} It was [MASK]." \
 *     --label-words "positive=good,great" --label-words "negative=bad,terrible" \
 *     --lr 0.003,0.03,0.1,0.3 [--mode verbalizer|head] [--epochs 20] [--batch 16] \
 *     [--prompt-length 20] [--init labels] [--seeds 1,2] [--max-rows 0] [--backend wasm]
 *     [--method prompt|p-tuning|prefix] [--encoder-hidden E] [--prefix-projection 1]
 *
 * Generation (decoder checkpoints): --target <column> instead of --label / --label-words.
 *
 * The numbers quoted at DEFAULT_TRAINING_CONFIG came from 16 such runs in parallel (one core each):
 * sentiment.csv on studio-bert-tiny, 20 epochs, verbalizer at lr 0.003 / 0.01 / 0.03 / 0.1 / 0.3 / 1,
 * head at 0.003 / 0.03 / 0.1, lr 0.1 with --init random and with --prompt-length 5; spam.csv
 * ("{text} This is [MASK]." spam=spam,money ham=work,personal), 4 epochs, lr 0.03 / 0.3;
 * studio-gpt2-tiny: sentiment ("{text} It was"), 15 epochs, lr 0.03 / 0.3, and antonyms.csv
 * ("The opposite of {input} is", --target target --prompt-length 10), lr 0.3. Raw lines:
 * src/engine/measurements/defaults-2026-11-28.jsonl.
 *
 * The methods' learning rates (DEFAULT_LEARNING_RATES), 2026-11-29, studio-bert-tiny, 20 epochs, label
 * words, one run at a time beside other work on 2 cores: sentiment ("{text} It was [MASK]." good,great /
 * bad,terrible) --method prefix --lr 0.003,0.01,0.03; --method p-tuning --lr 0.001,0.003,0.01;
 * --method prefix --prefix-projection 1 --lr 0.001,0.003,0.01; --method prompt --lr 0.1; then --seeds 2,3
 * for prompt at 0.1 and prefix at 0.01; spam ("{text} This message is [MASK]." free,money / list,code)
 * --method prompt --lr 0.1, --method prefix --lr 0.01,0.03, --method p-tuning --lr 0.003. Raw lines:
 * src/engine/measurements/methods-2026-11-29.jsonl (runs cut short by a restart are not in it).
 *
 * Prefix against prompt tuning over more seeds, 2026-11-30, the same model and templates, --patience 5 (the
 * studio's early stopping; the 11-29 runs had none), niced beside other work: sentiment --method prompt
 * --lr 0.1 and --method prefix --lr 0.01, --seeds 4,5,6 each; spam, the same two at --seeds 2. Raw lines:
 * src/engine/measurements/methods-2026-11-30.jsonl (the script: /bin/bash, one run after another).
 */
import { readFile } from 'node:fs/promises';
import Papa from 'papaparse';
import { loadPretrained } from '../model/loader';
import { dirFolder, useNodeBackend } from '../node/model';
import { trainClassifier } from '../engine/classification';
import type { Row } from '../engine/data';
import { trainGenerator } from '../engine/generation';
import type { PromptInit, PromptMethod } from '../engine/types';
import { DEFAULT_TRAINING_CONFIG, type TrainingConfig } from '../engine/train';
import type { LabelWords } from '../engine/verbalizer';

function parseArgs(argv: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (!key.startsWith('--')) throw new Error(`unexpected argument ${key}`);
    const value = argv[i + 1] ?? '';
    out.set(key.slice(2), [...(out.get(key.slice(2)) ?? []), value]);
    i++;
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const one = (k: string, fallback?: string): string => {
    const v = args.get(k)?.[0] ?? fallback;
    if (v === undefined) throw new Error(`--${k} is required`);
    return v;
  };
  const list = (k: string, fallback: string) => one(k, fallback).split(',').map(Number);
  const backend = await useNodeBackend(one('backend', 'wasm') as 'wasm' | 'cpu');
  const { model, tokenizer, checkpointHash } = await loadPretrained(await dirFolder(one('model')));
  const parsed = Papa.parse<Row>(await readFile(one('csv'), 'utf8'), { header: true, skipEmptyLines: true });
  let rows = parsed.data;
  const maxRows = Number(one('max-rows', '0'));
  if (maxRows > 0) rows = rows.slice(0, maxRows);
  const target = args.get('target')?.[0];
  const labelWords: LabelWords = {};
  for (const spec of args.get('label-words') ?? []) {
    const [label, words] = spec.split('=');
    labelWords[label] = words.split(',');
  }
  for (const seed of list('seeds', '1')) {
    for (const lr of list('lr', String(DEFAULT_TRAINING_CONFIG.learningRate))) {
      const config: TrainingConfig = {
        ...DEFAULT_TRAINING_CONFIG,
        mode: one('mode', DEFAULT_TRAINING_CONFIG.mode) as TrainingConfig['mode'],
        learningRate: lr,
        epochs: Number(one('epochs', String(DEFAULT_TRAINING_CONFIG.epochs))),
        batchSize: Number(one('batch', String(DEFAULT_TRAINING_CONFIG.batchSize))),
        promptLength: Number(one('prompt-length', String(DEFAULT_TRAINING_CONFIG.promptLength))),
        init: one('init', target ? 'vocab' : DEFAULT_TRAINING_CONFIG.init) as PromptInit,
        patience: Number(one('patience', '0')),
        maxLength: Number(one('max-length', '128')),
        seed,
        method: one('method', 'prompt') as PromptMethod,
        ...(args.has('encoder-hidden') ? { encoderHiddenSize: Number(one('encoder-hidden')) } : {}),
        ...(one('prefix-projection', '0') === '1' ? { prefixProjection: true } : {}),
      };
      const started = Date.now();
      const base = { model: one('model'), csv: one('csv'), backend, checkpointHash: checkpointHash.slice(0, 12), seed, lr, mode: config.mode, method: config.method, ...(config.prefixProjection ? { prefixProjection: true } : {}), epochs: config.epochs, batch: config.batchSize, promptLength: config.promptLength, init: config.init };
      if (target) {
        const onEpoch = (e: { epoch: number; trainLoss: number; validation: { loss: number } | null }) =>
          console.log(JSON.stringify({ ...base, epochReport: e.epoch, trainLoss: +e.trainLoss.toFixed(4), valLoss: e.validation?.loss }));
        const r = await trainGenerator({ model, tokenizer }, { rows, targetColumn: target, template: one('template') }, config, { onEpoch });
        console.log(JSON.stringify({ ...base, task: 'generation', steps: r.steps, seconds: Math.round((Date.now() - started) / 1000), before: r.before, after: r.after, valLoss: r.epochs.map((e) => +(e.validation?.loss ?? NaN).toFixed(4)), samples: r.samples.slice(0, 5) }));
        r.dispose();
      } else {
        // One line per epoch too, so a run cut short still leaves its curve.
        const onEpoch = (e: { epoch: number; trainLoss: number; validation: { loss: number; accuracy: number } | null }) =>
          console.log(JSON.stringify({ ...base, epochReport: e.epoch, trainLoss: +e.trainLoss.toFixed(4), valLoss: e.validation?.loss, valAccuracy: e.validation?.accuracy }));
        const r = await trainClassifier({ model, tokenizer }, { rows, labelColumn: one('label'), template: one('template'), labelWords }, config, { onEpoch });
        console.log(
          JSON.stringify({
            ...base,
            task: 'classification',
            train: r.trainSize,
            val: r.valSize,
            steps: r.steps,
            seconds: Math.round((Date.now() - started) / 1000),
            stopReason: r.stopReason,
            zeroShot: r.zeroShot?.accuracy ?? null,
            majority: r.majority.accuracy,
            accuracy: r.validation?.accuracy,
            macroF1: r.validation?.macroF1,
            bestEpoch: r.bestEpoch,
            valAccuracy: r.epochs.map((e) => e.validation?.accuracy),
            valLoss: r.epochs.map((e) => +(e.validation?.loss ?? NaN).toFixed(4)),
            robustness: r.robustness,
          }),
        );
        r.dispose();
      }
    }
  }
  model.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
