/**
 * Held-out quality of an embedded checkpoint, beside a unigram baseline on the same tokens; writes
 * <model>/evaluation.json, which the model card and a unit test read.
 *
 *   npm run evaluate-model -- --model public/models/studio-bert-tiny [--backend wasm|webgpu|cpu[,...]]
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadPretrained } from '../model/loader';
import { dirFolder, selectNodeBackend } from '../node/model';
import { loadTokenStreams } from '../pretrain/corpus';
import { evaluateHeldOut, unigramLogProbs } from '../pretrain/evaluate';
import { joinParagraphs } from '../pretrain/pretrain';
import { startCommand } from './args';
import { EVALUATE_MODEL, parseEvaluateModelArgs } from './commands';

/** The fixed slice the unit test re-measures (first tokens of the held-out stream). */
export const TEST_SLICE_TOKENS = 4096;

const args = startCommand(EVALUATE_MODEL, parseEvaluateModelArgs);

async function main(): Promise<void> {
  const dir = args.model;
  await selectNodeBackend(args.backends);
  const loaded = await loadPretrained(await dirFolder(dir));
  const streams = loadTokenStreams(dir);
  const sp = loaded.tokenizer.special;
  const separator = (loaded.config.lmKind === 'masked-lm' ? sp.sep : sp.eos) as number;
  const heldOut = joinParagraphs(streams.heldOut, separator);
  const unigram = unigramLogProbs(joinParagraphs(streams.train, separator), loaded.config.vocabSize);
  const t0 = Date.now();
  const full = await evaluateHeldOut(loaded, heldOut, unigram);
  const slice = await evaluateHeldOut(loaded, heldOut, unigram, { maxTokens: TEST_SLICE_TOKENS });
  const evaluation = {
    command: `npm run evaluate-model -- --model ${dir}`,
    checkpointHash: loaded.checkpointHash,
    heldOut: full,
    testSlice: { maxTokens: TEST_SLICE_TOKENS, ...slice },
    seconds: Math.round((Date.now() - t0) / 1000),
  };
  await writeFile(join(dir, 'evaluation.json'), JSON.stringify(evaluation, null, 2) + '\n');
  console.log(JSON.stringify(evaluation, null, 2));
  loaded.model.dispose();
}

void main();
