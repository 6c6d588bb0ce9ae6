/**
 * `npm run build:train-py`: embeds src/engine/export/project/train.py in the TypeScript bundle as
 * src/engine/export/project/trainPy.ts (a string constant), so the page (Vite), the CLI (tsx) and the
 * tests (Vitest) all get the same text without a loader: tsx has no `?raw` imports. The .py file is
 * the source (readable, compilable, checked by python); `trainPy.test.ts` fails when the two differ.
 *
 *   npx tsx src/cli/build-train-py.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TRAIN_PY_SOURCE = join('src', 'engine', 'export', 'project', 'train.py');
export const TRAIN_PY_MODULE = join('src', 'engine', 'export', 'project', 'trainPy.ts');

/** The generated module's text for the given train.py text. */
export function trainPyModule(python: string): string {
  return (
    '// Generated from train.py by `npm run build:train-py` (src/cli/build-train-py.ts); do not edit.\n' +
    '// trainPy.test.ts checks that it matches train.py.\n' +
    `export const TRAIN_PY: string = ${JSON.stringify(python)};\n`
  );
}

function main(): void {
  const expected = trainPyModule(readFileSync(TRAIN_PY_SOURCE, 'utf8'));
  if (process.argv.includes('--check')) {
    const actual = readFileSync(TRAIN_PY_MODULE, 'utf8');
    if (actual !== expected) {
      console.error(`${TRAIN_PY_MODULE} is out of date with ${TRAIN_PY_SOURCE}: run npm run build:train-py`);
      process.exit(1);
    }
    return;
  }
  writeFileSync(TRAIN_PY_MODULE, expected);
  console.log(`wrote ${TRAIN_PY_MODULE} (${expected.length} characters)`);
}

if (process.argv[1]?.endsWith('build-train-py.ts')) main();
