/**
 * The CLIs as a person runs them (tsx, a child process each, four at a time): `--help` everywhere,
 * exit 2 with one line and the usage for a bad option, exit 2 before any model loads for a bad CSV
 * or data that would train nonsense, exit 1 with one line (the stack only with --debug) for a
 * failure during the work.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hfCheckpointFiles, TINY } from '../model/testing/hfCheckpoint';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const TSX = join('node_modules', '.bin', 'tsx');
const CLIS = [
  { file: 'tune', name: 'tune' },
  { file: 'pretrain', name: 'pretrain' },
  { file: 'bench', name: 'bench' },
  { file: 'evaluate-model', name: 'evaluate-model' },
  { file: 'measure-samples', name: 'measure-samples' },
  { file: 'model-card', name: 'model-card' },
  { file: 'gpu-kit', name: 'bench:gpu-kit' },
];

const tmp = mkdtempSync(join(tmpdir(), 'cli-run-'));
const csv = (name: string, text: string) => {
  writeFileSync(join(tmp, name), text);
  return join(tmp, name);
};
const badModel = join(tmp, 'bad-model');
mkdirSync(badModel);
const config = JSON.parse(readFileSync('public/models/studio-bert-tiny/config.json', 'utf8'));
writeFileSync(join(badModel, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: 2.5 }));
const goodCsv = csv('good.csv', 'text,label\n' + Array.from({ length: 20 }, (_, i) => `sentence ${i},${i % 2 ? 'pos' : 'neg'}`).join('\n') + '\n');
// A plain BertModel (no LM head) in a folder, and rows in its vocabulary whose class names it lacks.
const headless = join(tmp, 'headless-bert');
mkdirSync(headless);
for (const [name, bytes] of hfCheckpointFiles('bert', { seed: 2, withHead: false, d: { ...TINY, positions: 32 } })) writeFileSync(join(headless, name), bytes);
const headlessCsv = csv('headless.csv', 'text,label\n' + Array.from({ length: 20 }, (_, i) => (i % 2 ? 'the movie was good,pos' : 'the film was bad,neg')).join('\n') + '\n');
// A tiny random BERT with its MLM head, and 40 rows in its vocabulary, for a sweep.
const tinyBert = join(tmp, 'tiny-bert');
mkdirSync(tinyBert);
for (const [name, bytes] of hfCheckpointFiles('bert', { seed: 3, d: { ...TINY, positions: 32 } })) writeFileSync(join(tinyBert, name), bytes);
const sweepCsv = csv('sweep.csv', 'text,label\n' + Array.from({ length: 40 }, (_, i) => (i % 2 ? 'the movie was very good,pos' : 'the film was not bad,neg')).join('\n') + '\n');
const sweepOut = join(tmp, 'sweep-out');
const tuneArgs = (model: string, data: string, ...extra: string[]) => ['--model', model, '--csv', data, '--label', 'label', '--mode', 'head', '--out', join(tmp, 'out'), ...extra];

const CASES: Record<string, { cli: string; argv: string[]; env?: Record<string, string> }> = {
  ...Object.fromEntries(CLIS.map(({ file }) => [`${file} --help`, { cli: file, argv: ['--help'] }])),
  // Every CLI fails through the same startCommand (its --help proves it is wired); these two cover
  // a tool that parses in main() and one whose work runs at module top level.
  'tune --bogus': { cli: 'tune', argv: ['--bogus', '1'] },
  'model-card --bogus': { cli: 'model-card', argv: ['--bogus', '1'] },
  'tune quote error': { cli: 'tune', argv: tuneArgs('public/models/studio-bert-tiny', csv('quote.csv', 'text,label\na,pos\n"quoted"tail,neg\nb,pos\n')) },
  'tune one class': { cli: 'tune', argv: tuneArgs('public/models/studio-bert-tiny', csv('one.csv', 'text,label\na,pos\nb,pos\nc,pos\nd,pos\ne,pos\n')) },
  'tune missing column': { cli: 'tune', argv: [...tuneArgs('public/models/studio-bert-tiny', goodCsv), '--text', 'body'] },
  'tune bad config': { cli: 'tune', argv: tuneArgs(badModel, goodCsv) },
  'tune bad config --debug': { cli: 'tune', argv: tuneArgs(badModel, goodCsv, '--debug') },
  'tune --sweep': {
    cli: 'tune',
    argv: ['--model', tinyBert, '--csv', sweepCsv, '--label', 'label', '--template', '{text} it was [MASK].', '--label-words', 'pos=good', '--label-words', 'neg=bad',
      '--epochs', '1', '--batch', '4', '--val-split', '0.25', '--sweep', 'lr=0.01,0.1;prompt-length=1,2', '--sweep-steps', '9', '--out', sweepOut],
  },
  'tune phases': {
    cli: 'tune',
    argv: ['--model', tinyBert, '--csv', sweepCsv, '--label', 'label', '--template', '{text} it was [MASK].', '--label-words', 'pos=good', '--label-words', 'neg=bad',
      '--epochs', '1', '--batch', '8', '--val-split', '0.25', '--prompt-length', '2', '--out', join(tmp, 'phases-out')],
  },
  'tune head mode, no LM head': {
    cli: 'tune',
    argv: ['--model', headless, '--csv', headlessCsv, '--label', 'label', '--mode', 'head', '--template', '{text}', '--epochs', '1', '--prompt-length', '2', '--out', join(tmp, 'headless-out')],
  },
  'tune label words, no LM head': {
    cli: 'tune',
    argv: ['--model', headless, '--csv', headlessCsv, '--label', 'label', '--template', '{text} [MASK]', '--label-words', 'pos=good', '--label-words', 'neg=bad', '--out', join(tmp, 'headless-out-2')],
  },
};

const results = new Map<string, Run>();

function run(cli: string, argv: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(TSX, [join('src', 'cli', `${cli}.ts`), ...argv], { env: { ...process.env, DEBUG: '', ...env }, timeout: 90_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  const queue = Object.entries(CASES);
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) results.set(next[0], await run(next[1].cli, next[1].argv, next[1].env));
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}, 300_000);

const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '');
const noStack = (s: string) => expect(s).not.toMatch(/^\s+at /m);

describe.each(CLIS)('npm run $name', ({ file, name }) => {
  it('--help prints the usage and exits 0', () => {
    const r = results.get(`${file} --help`)!;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: npm run ${name} -- `));
    expect(r.stdout).toContain('--help');
  });
});

describe.each([
  { file: 'tune', name: 'tune' },
  { file: 'model-card', name: 'model-card' },
])('npm run $name --bogus', ({ file, name }) => {
  it('one line, the usage, exit 2, no stack trace', () => {
    const r = results.get(`${file} --bogus`)!;
    expect(r.code).toBe(2);
    const [first, second] = lines(r.stderr);
    expect(first).toBe(`${name}: Unknown option '--bogus'`);
    expect(second).toMatch(/^usage: /);
    noStack(r.stderr);
  });
});

describe('npm run tune in head mode on a checkpoint without an LM head', () => {
  it('trains with a template without [MASK] and no label words, and says what the default init became', () => {
    const r = results.get('tune head mode, no LM head')!;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = lines(r.stdout).map((l) => JSON.parse(l) as { event: string; message?: string; stopReason?: string });
    expect(events.filter((e) => e.event === 'notice').map((e) => e.message)).toEqual([
      "Without label words, and with class names this tokenizer does not know (neg, pos), the prompt starts from frequent tokens of the training texts (the 'vocab' init) instead of 'labels'.",
    ]);
    expect(events.at(-1)).toMatchObject({ event: 'done', stopReason: 'completed' });
  });

  it('refuses label-word mode there before training, with the run\'s own words, exit 2', () => {
    const r = results.get('tune label words, no LM head')!;
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual(['tune: this checkpoint has no LM head, so label words cannot be scored: use the linear-head mode']);
    expect(r.stdout).not.toContain('"event":"metrics"');
  });
});

describe('npm run tune says how far the phases besides the steps are', () => {
  it('encoding, the zero-shot baseline, each validation and the final evaluation: a line at the start and the end of each, in order', () => {
    const r = results.get('tune phases')!;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = lines(r.stdout).map((l) => JSON.parse(l) as { event: string; stage?: string; done?: number; total?: number });
    const phases = events.filter((e) => e.event === 'phase');
    const stages = [...new Set(phases.map((p) => p.stage))];
    // 40 rows, a quarter for validation: 30 train, 10 validation.
    expect(stages.slice(0, 5)).toEqual(['encoding examples', 'encoding for the zero-shot baseline', 'zero-shot baseline', 'validation after epoch 1', 'final evaluation']);
    for (const [stage, total] of [['encoding examples', 40], ['encoding for the zero-shot baseline', 10], ['zero-shot baseline', 10], ['final evaluation', 10]] as const) {
      const own = phases.filter((p) => p.stage === stage);
      expect(own[0], stage).toMatchObject({ done: 0, total });
      expect(own.at(-1), stage).toMatchObject({ done: total, total });
    }
    // Before the first step: the model is not silent between "start" and the zero-shot result.
    const order = events.map((e) => (e.event === 'phase' ? `${e.stage}:${e.done === 0 ? 'start' : e.done === e.total ? 'end' : 'mid'}` : e.event));
    const at = (s: string) => order.indexOf(s);
    expect(at('start')).toBeLessThan(at('encoding examples:start'));
    expect(at('encoding examples:end')).toBeLessThan(at('zero-shot baseline:start'));
    expect(at('zero-shot baseline:end')).toBeLessThan(at('zeroShot'));
    expect(at('zeroShot')).toBeLessThan(at('metrics'));
    expect(at('final evaluation:end')).toBeLessThan(at('done'));
    // While the model loads: a line per stage, before the run starts.
    const loading = events.flatMap((e, i) => (e.event === 'progress' && e.stage !== 'reading file' && e.stage !== 'parsing CSV' ? [{ stage: e.stage, i }] : []));
    expect(loading.map((e) => e.stage)).toEqual(['reading config.json', 'reading tokenizer', 'reading weights']);
    expect(loading.at(-1)!.i).toBeLessThan(at('start'));
  });
});

describe('npm run tune refuses bad input before the model loads', () => {
  it('a quote error: the one line naming the row, exit 2', () => {
    const r = results.get('tune quote error')!;
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^tune: quote\.csv: row 3 opens a quoted field with text after its closing quote/)]);
    expect(r.stdout).not.toContain('"event":"start"');
  });

  it('one class: the warning and how to go on anyway, exit 2', () => {
    const r = results.get('tune one class')!;
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([
      'tune: warning: every row has the label "pos" (column "label"): a classifier of one class scores 100% and learns nothing; add rows of another class',
      'tune: one.csv: not training on this (--force trains anyway)',
    ]);
    expect(r.stdout).not.toContain('"event":"start"');
  });

  it('a column the CSV lacks: a usage error naming the columns', () => {
    const r = results.get('tune missing column')!;
    expect(r.code).toBe(2);
    expect(lines(r.stderr)[0]).toBe('tune: --text "body" is not a column of good.csv (columns: text, label)');
  });

  it('a config.json with 2.5 layers fails at load with one line, exit 1; --debug adds the stack', () => {
    const r = results.get('tune bad config')!;
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([`tune: error: ${badModel}/config.json: field "num_hidden_layers" must be a whole number >= 1, not 2.5 (model_type bert)`]);
    const d = results.get('tune bad config --debug')!;
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/ConfigError: .*num_hidden_layers[^\n]*\n\s+at /);
  });
});

describe('npm run tune --sweep', () => {
  it('prints one line per trial and a final table, and writes the winner\'s exports and sweep.json', () => {
    const r = results.get('tune --sweep')!;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown> & { event: string });
    // 40 rows: 8 held out; 32 left, 8 validate, 24 train: 6 steps a trial, so a 9-step budget runs one.
    const trials = events.filter((e) => e.event === 'trial');
    expect(trials.map((t) => [t.index, t.settings, t.status, t.steps])).toEqual([
      [0, { learningRate: 0.01, promptLength: 1 }, 'completed', 6],
      [1, { learningRate: 0.01, promptLength: 2 }, 'skipped', 0],
      [2, { learningRate: 0.1, promptLength: 1 }, 'skipped', 0],
      [3, { learningRate: 0.1, promptLength: 2 }, 'skipped', 0],
    ]);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ event: 'sweep', status: 'completed', planned: 4, compared: 1, winner: 0, split: { test: 8, pool: 32 }, test: { rows: 8 } });
    expect(last.table).toHaveLength(4);
    expect(events.filter((e) => e.event === 'heldOut')).toHaveLength(1);
    const metrics = JSON.parse(readFileSync(join(sweepOut, 'metrics.json'), 'utf8'));
    expect(metrics.sweep).toMatchObject({ compared: 1, test: { rows: 8 } });
    expect(JSON.parse(readFileSync(join(sweepOut, 'prompt.json'), 'utf8')).numTokens).toBe(1);
    expect(JSON.parse(readFileSync(join(sweepOut, 'sweep.json'), 'utf8'))).toMatchObject({ planned: 4, heldOutRows: expect.any(Array) });
    // The state a stopped sweep would resume from (src/cli/sweepState.ts), marked completed.
    expect(JSON.parse(readFileSync(join(sweepOut, 'sweep-state.json'), 'utf8'))).toMatchObject({ status: 'completed', resume: null, trials: expect.any(Array) });
  });
});
