/**
 * Every CLI's option checks, called directly: each bad value is refused with a UsageError naming the
 * option, before anything loads. (cli.test.ts runs the tools themselves for exit codes and output.)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFailure, InputError, UsageError } from './args';
import {
  parseBenchArgs,
  parseEvaluateModelArgs,
  parseGpuKitArgs,
  parseMeasureSamplesArgs,
  parseModelCardArgs,
  parsePretrainArgs,
  parseTuneArgs,
  TUNE,
} from './commands';

const tmp = mkdtempSync(join(tmpdir(), 'cli-args-'));
const aFile = join(tmp, 'a-file');
writeFileSync(aFile, 'x');

const BERT = 'public/models/studio-bert-tiny';
const tuneBase = ['--model', BERT, '--csv', 'public/samples/sentiment.csv', '--out', join(tmp, 'run', 'out'), '--label', 'label', '--label-words', 'positive=good,great', '--label-words', 'negative=bad'];
const tune = (...extra: string[]) => parseTuneArgs([...tuneBase, ...extra]);
const without = (...flags: string[]) => {
  const argv = [...tuneBase];
  for (const f of flags) argv.splice(argv.indexOf(f), 2);
  return argv;
};

describe('tune: every option checked before the model loads', () => {
  it.each([
    { argv: ['--bogus'], error: "Unknown option '--bogus'" },
    { argv: ['--lr'], error: "Option '--lr <value>' argument missing" },
    { argv: ['--lr', '-1'], error: '--lr must be a number > 0, not "-1"' },
    { argv: ['--lr', '0'], error: '--lr must be a number > 0, not "0"' },
    { argv: ['--lr', 'fast'], error: '--lr must be a number > 0, not "fast"' },
    { argv: ['--lr', ''], error: '--lr must be a number > 0, not ""' },
    { argv: ['--epochs', '2.5'], error: '--epochs must be a whole number >= 1, not "2.5"' },
    { argv: ['--epochs', '0'], error: '--epochs must be a whole number >= 1' },
    { argv: ['--batch', '-4'], error: '--batch must be a whole number >= 1, not "-4"' },
    { argv: ['--prompt-length', '0'], error: '--prompt-length must be a whole number >= 1 and <= 1000, not "0"' },
    { argv: ['--prompt-length', '5000'], error: '--prompt-length must be a whole number >= 1 and <= 1000' },
    { argv: ['--val-split', '1'], error: '--val-split must be a number >= 0 and < 1, not "1"' },
    { argv: ['--val-split', '-0.1'], error: '--val-split must be a number >= 0 and < 1' },
    { argv: ['--patience', '1.5'], error: '--patience must be a whole number >= 0' },
    { argv: ['--seed', 'abc'], error: '--seed must be a whole number >= 0, not "abc"' },
    { argv: ['--mode', 'xyz'], error: '--mode must be verbalizer or head, not "xyz"' },
    { argv: ['--init', 'zeros'], error: '--init must be one of random, vocab, text, labels, not "zeros"' },
    { argv: ['--init', 'text'], error: '--init text needs --init-text' },
    { argv: ['--init-text', 'hello'], error: '--init-text is used only with --init text' },
    { argv: ['--method', 'lora'], error: '--method must be one of prompt, p-tuning, prefix, not "lora"' },
    { argv: ['--encoder-hidden', '64'], error: '--encoder-hidden is for --method p-tuning or prefix' },
    { argv: ['--method', 'prefix', '--encoder-hidden', '0'], error: '--encoder-hidden must be a whole number >= 1' },
    { argv: ['--prefix-projection'], error: '--prefix-projection is for --method prefix' },
    { argv: ['--encoder', 'lstm'], error: '--encoder is for --method p-tuning' },
    { argv: ['--method', 'prefix', '--encoder', 'lstm'], error: '--encoder is for --method p-tuning' },
    { argv: ['--method', 'p-tuning', '--encoder', 'gru'], error: '--encoder must be mlp or lstm, not "gru"' },
    { argv: ['--ensemble', '9'], error: '--ensemble must be a whole number >= 1 and <= 8, not "9"' },
    { argv: ['--ensemble', '0'], error: '--ensemble must be a whole number >= 1 and <= 8' },
    { argv: ['--backend', 'gpu'], error: '--backend: unknown backend "gpu"' },
    { argv: ['--backend', ','], error: '--backend: --backend needs one of wasm, webgpu, cpu' },
    { argv: ['--template', '{} It was [MASK].'], error: '--template: template "{} It was [MASK]." : empty placeholder'.replace(' :', ':') },
    { argv: ['--target', 'label'], error: 'give --label (classification) or --target (generation), not both' },
    { argv: ['--label-words', 'good,great'], error: '--label-words "good,great" is not <class>=<word>,<word>' },
    { argv: ['--label-words', 'neutral='], error: '--label-words "neutral=" gives class "neutral" no words' },
    { argv: ['--out', aFile], error: `--out ${aFile} is a file, not a folder` },
    { argv: ['--out', join(aFile, 'sub')], error: `cannot be created: ${aFile} is a file` },
    { argv: ['--csv', join(tmp, 'missing.csv')], error: `--csv ${join(tmp, 'missing.csv')}: no such file` },
    { argv: ['--csv', tmp], error: `--csv ${tmp} is not a file` },
    { argv: ['--model', join(tmp, 'nope')], error: `--model ${join(tmp, 'nope')}: no such folder` },
    { argv: ['--model', tmp], error: `--model ${tmp} has no config.json` },
    { argv: ['stray'], error: "unexpected argument 'stray'" },
  ])('$argv -> $error', ({ argv, error }) => {
    expect(() => tune(...argv)).toThrow(UsageError);
    expect(() => tune(...argv)).toThrow(error);
  });

  it.each([
    { argv: without('--model'), error: '--model is required' },
    { argv: without('--out'), error: '--out is required' },
    { argv: without('--label', '--label-words', '--label-words'), error: 'give --label (classification) or --target (generation)' },
    { argv: without('--label-words', '--label-words'), error: 'verbalizer mode needs --label-words for each class (or --mode head)' },
    { argv: [...without('--label', '--label-words', '--label-words'), '--target', 'label', '--mode', 'head'], error: '--mode head is for classification' },
  ])('$error', ({ argv, error }) => {
    expect(() => parseTuneArgs(argv)).toThrow(error);
  });

  it('accepts a full command line, with defaults for what is left out, and a URL model', () => {
    const args = tune('--lr', '0.03', '--epochs', '3', '--val-split', '0', '--init', 'text', '--init-text', 'Is it good?', '--backend', 'webgpu,wasm', '--method', 'p-tuning', '--encoder-hidden', '32', '--force');
    expect(args.config).toMatchObject({ learningRate: 0.03, epochs: 3, valFraction: 0, init: 'text', initText: 'Is it good?', batchSize: 16, mode: 'verbalizer', method: 'p-tuning', encoderHiddenSize: 32 });
    expect(args.spec).toEqual({ task: 'classification', labelColumn: 'label', labelWords: { positive: ['good', 'great'], negative: ['bad'] } });
    expect(args.backends).toEqual(['webgpu', 'wasm']);
    expect(args.force).toBe(true);
    expect(parseTuneArgs([...without('--model'), '--model', 'https://example.invalid/m']).model).toBe('https://example.invalid/m');
    const head = parseTuneArgs([...without('--label-words', '--label-words'), '--mode', 'head']);
    expect(head.config.learningRate).toBe(0.01);
    expect(parseTuneArgs([...without(), '--ensemble', '3']).config.ensembleSize).toBe(3);
    expect(parseTuneArgs([...without(), '--method', 'p-tuning', '--encoder', 'lstm']).config).toMatchObject({ method: 'p-tuning', encoderType: 'lstm' });
    expect(args.config.encoderType).toBeUndefined();
  });

  it.each([
    { argv: ['--export-project', aFile], error: `--export-project ${aFile} is a file, not a folder` },
    { argv: ['--export-project', join(aFile, 'sub')], error: `cannot be created: ${aFile} is a file` },
    { argv: ['--export-project', tmp], error: `--export-project ${tmp} is not empty; give a new or empty folder (nothing is overwritten)` },
    { argv: ['--export-project', ''], error: '--export-project needs a folder' },
    { argv: ['--export-project', join(tmp, 'new'), '--out', join(tmp, 'o')], error: '--export-project writes a project instead of training: give it or --out, not both' },
    { argv: ['--export-project', join(tmp, 'new'), '--target', 'label'], error: '--export-project is for classification (--label)' },
    { argv: ['--export-project', join(tmp, 'new'), '--sweep', 'lr=0.1,0.3'], error: '--export-project exports one run: not with --sweep or --label-word-set' },
  ])('--export-project refuses $argv.1 ($error)', ({ argv, error }) => {
    const base = argv.includes('--target') ? without('--out', '--label', '--label-words', '--label-words') : without('--out');
    expect(() => parseTuneArgs([...base, ...argv])).toThrow(UsageError);
    expect(() => parseTuneArgs([...base, ...argv])).toThrow(error);
  });

  it('--export-project takes a new or empty folder instead of --out', () => {
    const empty = mkdtempSync(join(tmp, 'empty-'));
    expect(parseTuneArgs([...without('--out'), '--export-project', empty])).toMatchObject({ out: empty, exportProject: true });
    expect(parseTuneArgs([...without('--out'), '--export-project', join(tmp, 'a', 'b')])).toMatchObject({ exportProject: true });
    expect(tune().exportProject).toBe(false);
  });
});

describe('the other CLIs', () => {
  it.each([
    { name: 'pretrain --steps 0', run: () => parsePretrainArgs(['--steps', '0']), error: '--steps must be a whole number >= 1, not "0"' },
    { name: 'pretrain --family t5', run: () => parsePretrainArgs(['--family', 't5']), error: '--family must be bert or gpt2, not "t5"' },
    { name: 'pretrain --seq 4', run: () => parsePretrainArgs(['--seq', '4']), error: '--seq must be a whole number >= 8' },
    { name: 'pretrain --max-positions < --seq', run: () => parsePretrainArgs(['--max-positions', '64']), error: '--max-positions 64 is shorter than --seq 128' },
    { name: 'pretrain --lr -1', run: () => parsePretrainArgs(['--lr', '-1']), error: '--lr must be a number > 0' },
    { name: 'pretrain --mask-rate 1', run: () => parsePretrainArgs(['--mask-rate', '1']), error: '--mask-rate must be a number > 0 and < 1' },
    { name: 'pretrain --hidden 130', run: () => parsePretrainArgs(['--hidden', '130']), error: '--hidden 130 is not divisible by --heads 4' },
    { name: 'pretrain --offset-layers 9', run: () => parsePretrainArgs(['--offset-layers', '9']), error: '--offset-layers must be a whole number >= 0 and <= 4' },
    { name: 'pretrain --offset-layers without sinusoids', run: () => parsePretrainArgs(['--offset-layers', '2']), error: '--offset-layers needs --family bert and --positions sinusoidal' },
    { name: 'pretrain gpt2 --untied-decoder', run: () => parsePretrainArgs(['--family', 'gpt2', '--untied-decoder']), error: '--untied-decoder is for --family bert' },
    { name: 'pretrain --out without a tokenizer', run: () => parsePretrainArgs(['--out', tmp]), error: `--out ${tmp} has no tokenizer.json` },
    { name: 'pretrain --init-from missing', run: () => parsePretrainArgs(['--init-from', join(tmp, 'x.safetensors')]), error: 'no such file' },
    { name: 'bench --steps 0', run: () => parseBenchArgs(['--steps', '0']), error: '--steps must be a whole number >= 1' },
    { name: 'bench --port 70000', run: () => parseBenchArgs(['--port', '70000']), error: '--port must be a whole number >= 1 and <= 65535' },
    { name: 'bench --node-only --browser-only', run: () => parseBenchArgs(['--node-only', '--browser-only']), error: 'give --node-only or --browser-only, not both' },
    { name: 'bench --backend metal', run: () => parseBenchArgs(['--backend', 'wasm,metal']), error: 'unknown backend "metal"' },
    { name: 'evaluate-model --model missing', run: () => parseEvaluateModelArgs(['--model', join(tmp, 'm')]), error: 'no such folder' },
    { name: 'evaluate-model --model without a tokenizer', run: () => parseEvaluateModelArgs(['--model', tmp]), error: `--model ${tmp} has no config.json` },
    { name: 'evaluate-model --backend', run: () => parseEvaluateModelArgs(['--backend', 'tpu']), error: 'unknown backend "tpu"' },
    { name: 'measure-samples --only', run: () => parseMeasureSamplesArgs(['--only', 'imdb']), error: '--only must be one of spam, sentiment, antonyms, not "imdb"' },
    { name: 'measure-samples --method', run: () => parseMeasureSamplesArgs(['--method', 'lora']), error: '--method must be one of prompt, p-tuning, prefix, not "lora"' },
    { name: 'model-card --model without records', run: () => parseModelCardArgs(['--model', tmp]), error: `--model ${tmp} has no config.json` },
    { name: 'gpu-kit --node missing', run: () => parseGpuKitArgs(['--node', join(tmp, 'node')]), error: 'no such file' },
    { name: 'gpu-kit --out a file', run: () => parseGpuKitArgs(['--out', aFile]), error: 'is a file, not a folder' },
    { name: 'gpu-kit --unknown', run: () => parseGpuKitArgs(['--quick']), error: "Unknown option '--quick'" },
  ])('$name', ({ run, error }) => {
    expect(run).toThrow(UsageError);
    expect(run).toThrow(error);
  });

  it('accept their defaults', () => {
    expect(parsePretrainArgs([])).toMatchObject({ family: 'bert', steps: '4000' });
    expect(parseBenchArgs([])).toMatchObject({ steps: 5, port: 4180, backends: ['wasm', 'cpu'] });
    expect(parseEvaluateModelArgs([])).toEqual({ model: BERT, backends: ['wasm'] });
    expect(parseMeasureSamplesArgs(['--only', 'spam'])).toEqual({ model: BERT, only: 'spam', method: 'prompt' });
    expect(parseMeasureSamplesArgs(['--method', 'prefix'])).toEqual({ model: BERT, only: undefined, method: 'prefix' });
    expect(parseModelCardArgs([])).toEqual({ model: BERT });
  });
});

describe('how failures are reported', () => {
  it.each([
    { name: 'a usage error: one line, then the usage; exit 2', error: new UsageError('--lr must be a number > 0, not "-1"'), debug: false, text: `tune: --lr must be a number > 0, not "-1"\n${TUNE.usage}`, code: 2 },
    { name: 'a refused input: its lines, without the usage; exit 2', error: new InputError('warning: one class\ndata.csv: not training'), debug: false, text: 'tune: warning: one class\ntune: data.csv: not training', code: 2 },
    { name: 'a failure: one line, no stack; exit 1', error: new Error('model.safetensors: tensor "x" holds NaN\n  at somewhere'), debug: false, text: 'tune: error: model.safetensors: tensor "x" holds NaN at somewhere', code: 1 },
  ])('$name', ({ error, debug, text, code }) => {
    expect(describeFailure(error, TUNE, debug)).toEqual({ text, code });
  });

  it('the stack trace only with --debug', () => {
    const { text, code } = describeFailure(new Error('boom'), TUNE, true);
    expect(code).toBe(1);
    expect(text).toMatch(/^Error: boom\n\s+at /);
  });
});

describe('tune --sweep: the plan checked with the other options', () => {
  it.each([
    { argv: ['--sweep', 'lr=-1'], error: '--sweep: lr: "-1" is not a number > 0' },
    { argv: ['--sweep', 'warmup=0.1'], error: '--sweep: unknown setting "warmup" (sweepable: lr, prompt-length, batch, epochs, init, method)' },
    { argv: ['--sweep', 'prompt-length=5,2000'], error: '--sweep: prompt-length: at most 1000' },
    { argv: ['--sweep', 'lr=0.1', '--sweep-random', '0'], error: '--sweep-random must be a whole number >= 1, not "0"' },
    { argv: ['--sweep', 'lr=0.1', '--sweep-steps', '1.5'], error: '--sweep-steps must be a whole number >= 1' },
    { argv: ['--sweep', 'lr=0.1', '--sweep-minutes', '0'], error: '--sweep-minutes must be a number > 0' },
    { argv: ['--sweep', 'lr=0.1', '--test-split', '0.5'], error: '--test-split must be a number > 0 and < 0.5, not "0.5"' },
    { argv: ['--sweep', 'lr=0.1', '--val-split', '0'], error: 'a sweep compares its trials on validation: --val-split must be above 0' },
    { argv: ['--sweep-steps', '100'], error: '--sweep-steps is for sweeps: give --sweep (or --label-word-set)' },
    { argv: ['--test-split', '0.2'], error: '--test-split is for sweeps' },
    { argv: ['--resume-sweep'], error: '--resume-sweep continues a stopped sweep: give the sweep\'s own --sweep (or --label-word-set) options with it' },
    { argv: ['--label-word-set', 'positive'], error: '--label-word-set: label-word set "positive": "positive" is not <class>=<word>,<word>' },
  ])('$argv -> $error', ({ argv, error }) => {
    expect(() => tune(...argv)).toThrow(UsageError);
    expect(() => tune(...argv)).toThrow(error);
  });

  it('a generation run sweeps settings but not label words', () => {
    const generation = [...without('--label', '--label-words', '--label-words'), '--target', 'label'];
    expect(parseTuneArgs([...generation, '--sweep', 'lr=0.1,0.3']).sweep?.axes).toEqual({ learningRate: [0.1, 0.3] });
    expect(() => parseTuneArgs([...generation, '--label-word-set', 'a=b'])).toThrow('--label-word-set is for classification');
  });

  it('turns the sweep options into a plan: axes, label-word sets (--label-words first), search, budget, test share', () => {
    const args = tune('--sweep', 'lr=0.01,0.1;prompt-length=5,20', '--label-word-set', 'positive=nice;negative=awful', '--sweep-random', '3', '--sweep-steps', '500', '--sweep-minutes', '2.5', '--test-split', '0.25', '--seed', '9');
    expect(args.sweep).toEqual({
      axes: {
        learningRate: [0.01, 0.1],
        promptLength: [5, 20],
        labelWords: [
          { name: 'bad / good,great', words: { positive: ['good', 'great'], negative: ['bad'] } },
          { name: 'awful / nice', words: { positive: ['nice'], negative: ['awful'] } },
        ],
      },
      search: 'random',
      randomTrials: 3,
      seed: 9,
      budget: { steps: 500, minutes: 2.5 },
      testFraction: 0.25,
    });
    expect(tune().sweep).toBeUndefined();
    // Label-word sets alone: the first is the base run's words.
    const sets = parseTuneArgs([...without('--label-words', '--label-words'), '--label-word-set', 'positive=good;negative=bad', '--label-word-set', 'positive=great;negative=terrible']);
    expect(sets.spec).toMatchObject({ labelWords: { positive: ['good'], negative: ['bad'] } });
    expect(sets.sweep?.axes.labelWords?.map((s) => s.name)).toEqual(['bad / good', 'terrible / great']);
    expect(sets.sweep).toMatchObject({ search: 'grid', testFraction: 0.2, budget: {} });
  });
});
