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
