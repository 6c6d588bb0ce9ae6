/**
 * The embedded checkpoints: each loads through the same loader as any Hub checkpoint, is the one its
 * model card's evaluation.json measured (same SHA-256), reproduces that file's held-out metric on a
 * fixed slice, and clearly beats the unigram baseline on the full held-out split (at most half its
 * perplexity; the masked LM also at least twice its accuracy).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained } from '../model/loader';
import { dirFolder, useNodeBackend } from '../node/model';
import { EMBEDDED_MODELS } from '../shared/models';
import { loadTokenStreams } from './corpus';
import { evaluateHeldOut, unigramLogProbs, type HeldOutReport } from './evaluate';
import { joinParagraphs } from './pretrain';

interface Evaluation {
  checkpointHash: string;
  heldOut: HeldOutReport;
  testSlice: HeldOutReport & { maxTokens: number };
}

describe.each(EMBEDDED_MODELS.map((m) => [m.id, join('public', m.path)]))('embedded model %s', (id, dir) => {
  const evaluation = JSON.parse(readFileSync(join(dir, 'evaluation.json'), 'utf8')) as Evaluation;

  beforeAll(async () => {
    await useNodeBackend('wasm');
  });

  it('clearly beats the unigram baseline on the held-out split (as its card reports)', () => {
    const h = evaluation.heldOut;
    expect(h.predictions).toBeGreaterThan(10_000);
    expect(h.perplexity).toBeLessThan(0.5 * h.unigramPerplexity);
    if (h.kind === 'masked-lm') expect(h.accuracy!).toBeGreaterThan(2 * h.unigramAccuracy!);
  });

  it('loads, is the measured checkpoint, and reproduces the fixed-slice metric', async () => {
    const loaded = await loadPretrained(await dirFolder(dir));
    expect(loaded.checkpointHash).toBe(evaluation.checkpointHash);
    const streams = loadTokenStreams(dir);
    const sp = loaded.tokenizer.special;
    const separator = (loaded.config.lmKind === 'masked-lm' ? sp.sep : sp.eos) as number;
    const unigram = unigramLogProbs(joinParagraphs(streams.train, separator), loaded.config.vocabSize);
    const slice = await evaluateHeldOut(loaded, joinParagraphs(streams.heldOut, separator), unigram, {
      maxTokens: evaluation.testSlice.maxTokens,
    });
    loaded.model.dispose();
    expect(slice.predictions).toBe(evaluation.testSlice.predictions);
    expect(slice.perplexity).toBeCloseTo(evaluation.testSlice.perplexity, 1);
    expect(Math.abs(slice.perplexity / evaluation.testSlice.perplexity - 1)).toBeLessThan(1e-3);
    if (slice.kind === 'masked-lm') expect(Math.abs(slice.accuracy! - evaluation.testSlice.accuracy!)).toBeLessThanOrEqual(2 / slice.predictions);
  }, 600_000);
});
