/**
 * The linear-head mode on a checkpoint without an LM head (a plain BertModel), through the worker's
 * real handler as the page drives it: an encoder template without [MASK], no label words, the
 * default 'labels' init (which falls back and says so), and the check before Start, which must
 * refuse exactly what the run would refuse, with the run's own words.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../node/model';
import { loadPretrained } from '../model/loader';
import { hfCheckpointFiles, memFolder } from '../model/testing/hfCheckpoint';
import { fixtureDims, loadFixture } from '../engine/testing/fixtures';
import type { LanguageModel } from '../engine/languageModel';
import { DEFAULT_TRAINING_CONFIG, type TrainingConfig } from '../engine/train';
import { fixtureStudio } from '../worker/testing/studioCall';
import type { ClassificationOutcome, TaskSpec } from '../shared/tasks';

/** A session behind the real handler, with `lm` loaded and `csv` read. */
async function studio(lm: LanguageModel, csv: string) {
  const call = await fixtureStudio(lm, 'fixture');
  await call('loadDataset', { source: { kind: 'text', name: 'data.csv', text: csv } });
  return call;
}

const csv = (labels: [string, string]) =>
  ['text,label', ...Array.from({ length: 24 }, (_, i) => (i % 2 ? `the movie was very good,${labels[0]}` : `the film was bad,${labels[1]}`))].join('\n');

const head: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, mode: 'head', learningRate: 0.01, promptLength: 2, epochs: 1, batchSize: 6, valFraction: 0.25, patience: 0, seed: 5 };
const noMask = (labelWords?: Record<string, string[]>): TaskSpec => ({ task: 'classification', template: '{text}', labelColumn: 'label', textColumns: ['text'], ...(labelWords ? { labelWords } : {}) });

let headless: LanguageModel;
let bert: LanguageModel;
beforeAll(async () => {
  await useNodeBackend('wasm');
  headless = await loadPretrained(memFolder(hfCheckpointFiles('bert', { seed: 2, withHead: false, d: fixtureDims(32) })));
  bert = await loadFixture('bert', { positions: 32 });
});
afterAll(() => {
  headless.model.dispose();
  bert.model.dispose();
});

describe('head mode on a checkpoint without an LM head', () => {
  it('takes an encoder template without [MASK] in head mode, and says the head mode needs none otherwise', async () => {
    expect(headless.model.hasLmHead).toBe(false);
    const call = await studio(headless, csv(['pos', 'neg']));
    const preview = await call('previewTemplate', { task: 'classification', template: '{text}', promptLength: 2, count: 1, mode: 'head' });
    expect(preview.examples[0].tokens.map((t) => t.kind)).not.toContain('mask');
    await expect(call('previewTemplate', { task: 'classification', template: '{text}', promptLength: 2, count: 1 })).rejects.toThrow(
      'has no [MASK]: an encoder (bert) predicts the label word at [MASK], e.g. "{text} It was [MASK]." (the linear-head mode reads [CLS] and needs none)',
    );
  });

  it('label words are optional and, when given, no error: they only seed the init', async () => {
    const call = await studio(headless, csv(['pos', 'neg']));
    const words = { pos: ['good'], neg: ['bad'] };
    const inHead = await call('checkLabelWords', { template: '{text}', promptLength: 2, labelWords: words, mode: 'head' });
    expect(inHead.problems).toEqual([]);
    expect(inHead.warnings).toEqual([
      { className: null, message: "These label words are not scored (this checkpoint has no LM head): in head mode they only seed the 'labels' init, with their first tokens." },
    ]);
    const inVerbalizer = await call('checkLabelWords', { template: '{text} [MASK]', promptLength: 2, labelWords: words });
    expect(inVerbalizer.problems.map((p) => p.message)).toEqual(['this checkpoint has no LM head, so label words cannot be scored: use the linear-head mode']);
  });

  it.each([
    {
      name: 'no label words, class names the tokenizer lacks: frequent tokens instead, said',
      labels: ['pos', 'neg'] as [string, string],
      labelWords: undefined,
      note: "Without label words, and with class names this tokenizer does not know (neg, pos), the prompt starts from frequent tokens of the training texts (the 'vocab' init) instead of 'labels'.",
    },
    {
      name: 'no label words, class names it knows: the class names',
      labels: ['good', 'bad'] as [string, string],
      labelWords: undefined,
      note: "Without label words, the 'labels' init starts from the class names (bad, good).",
    },
    {
      name: 'label words, not scored: their first tokens',
      labels: ['pos', 'neg'] as [string, string],
      labelWords: { pos: ['great'], neg: ['terrible'] },
      note: "The 'labels' init starts from the label words' first tokens (this checkpoint has no LM head to score them).",
    },
  ])('the default init: $name; Start is allowed and the run trains', async ({ labels, labelWords, note }) => {
    const call = await studio(headless, csv(labels));
    expect(head.init).toBe('labels');
    const spec = noMask(labelWords);
    expect(await call('checkTraining', { spec, config: head })).toEqual({ problems: [], notes: [note] });
    const outcome = (await call('train', { runId: 'r', spec, config: head })) as ClassificationOutcome;
    expect(outcome.stopReason).toBe('completed');
    expect(outcome.steps).toBe(3); // 18 training rows, batch 6
    expect(outcome.zeroShot).toBeNull(); // nothing to score label words with
    expect(outcome.tuned?.accuracy).toBeGreaterThanOrEqual(0);
    expect(outcome.prompt.head?.bias).toHaveLength(2);
  });
});

describe('the check before Start refuses what the run refuses, in the run\'s words', () => {
  const withMask: TaskSpec = { task: 'classification', template: '{text} it was [MASK].', labelColumn: 'label', textColumns: ['text'], labelWords: { neg: ['bad'], pos: ['good'] } };
  const words: TrainingConfig = { ...head, mode: 'verbalizer', learningRate: 0.1 };
  it.each([
    { name: 'label words on a checkpoint without an LM head', model: 'headless', spec: withMask, config: words },
    { name: 'an encoder template without [MASK] in label-word mode', model: 'bert', spec: { ...withMask, template: '{text} it was' }, config: words },
    { name: 'a label word the tokenizer cannot write', model: 'bert', spec: { ...withMask, labelWords: { neg: ['bad'], pos: ['zebra'] } }, config: words },
    { name: 'a class without label words', model: 'bert', spec: { ...withMask, labelWords: { pos: ['good'] } }, config: words },
    { name: 'a [SOFT] slot with prefix tuning', model: 'bert', spec: { ...withMask, template: '[SOFT*2] {text} it was [MASK].' }, config: { ...words, method: 'prefix' as const } },
    { name: 'the text init without a text', model: 'bert', spec: withMask, config: { ...words, init: 'text' as const, initText: '  ' } },
    { name: 'no soft token at all', model: 'bert', spec: withMask, config: { ...words, promptLength: 0 } },
  ])('$name', async ({ model, spec, config }) => {
    const call = await studio(model === 'headless' ? headless : bert, csv(['pos', 'neg']));
    const refusal = await call('train', { runId: 'r', spec, config }).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(refusal).not.toBeNull();
    const check = await call('checkTraining', { spec, config });
    expect(check.problems).toEqual([refusal]);
  });

  it('and lets through what the run accepts', async () => {
    const call = await studio(bert, csv(['pos', 'neg']));
    expect(await call('checkTraining', { spec: withMask, config: words })).toEqual({ problems: [], notes: [] });
    expect(await call('checkTraining', { spec: noMask(), config: head })).toEqual({
      problems: [],
      notes: ["Without label words, and with class names this tokenizer does not know (neg, pos), the prompt starts from frequent tokens of the training texts (the 'vocab' init) instead of 'labels'."],
    });
  });
});
