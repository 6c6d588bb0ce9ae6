/**
 * `npm run tune -- ... --export-project DIR` as a person runs it: the embedded BERT, the sentiment
 * sample; the project's files land in DIR, nothing is trained, and the train.py there compiles.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const TSX = join('node_modules', '.bin', 'tsx');
const HAS_PYTHON = spawnSync('python3', ['--version']).status === 0;

describe('npm run tune --export-project', () => {
  it('writes the project (no training) and its train.py compiles', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tune-project-')), 'project');
    const { stdout, stderr } = await promisify(execFile)(TSX, [
      'src/cli/tune.ts',
      '--model', 'public/models/studio-bert-tiny',
      '--csv', 'public/samples/sentiment.csv',
      '--label', 'label',
      '--label-words', 'positive=good,great',
      '--label-words', 'negative=bad,terrible',
      '--epochs', '3',
      '--seed', '7',
      '--export-project', dir,
    ]);
    expect(stderr).toBe('');
    const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; files?: string[]; notes?: string[] });
    expect(events.map((e) => e.event)).not.toContain('epoch');
    const project = events.find((e) => e.event === 'project')!;
    expect(project.files).toEqual(expect.arrayContaining(['train.py', 'studio_config.json', 'data/train.csv', 'data/validation.csv', 'accelerate/ddp.yaml', 'requirements.txt', 'README.md']));
    expect(readdirSync(dir).sort()).toEqual(['README.md', 'accelerate', 'data', 'requirements.txt', 'studio_config.json', 'train.py']);
    const config = JSON.parse(readFileSync(join(dir, 'studio_config.json'), 'utf8'));
    // sentiment.csv: 300 rows, 150 per class; 20% of each class held out.
    expect(config).toMatchObject({ template: '{text} It was [MASK].', split: { seed: 7, train: 240, validation: 60 }, settings: { epochs: 3, seed: 7 }, model: { id: 'public/models/studio-bert-tiny' } });
    expect(project.notes?.[0]).toBe('240 training and 60 validation rows, split as the studio splits them (seed 7).');
    if (!HAS_PYTHON) {
      console.warn('SKIPPED: py_compile of the exported train.py needs python3');
      return;
    }
    expect(spawnSync('python3', ['-m', 'py_compile', join(dir, 'train.py')], { encoding: 'utf8' }).status).toBe(0);
  }, 120_000);
});
