/**
 * "Train at scale" through the session and the worker's handler: the project holds the studio's
 * own split (row for row, as its CSV reader reads it back), the run's settings and the model facts;
 * a project's output (prompt.json or the PEFT adapter, with metrics.json) comes back through the
 * ordinary import and is evaluated on the current data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { useNodeBackend } from '../node/model';
import { loadFixture } from '../engine/testing/fixtures';
import type { LanguageModel } from '../engine/languageModel';
import { stratifiedSplit, type Row } from '../engine/data';
import { DEFAULT_TRAINING_CONFIG, type TrainingConfig } from '../engine/train';
import { parsePromptJson, peftAdapterConfigJson, peftAdapterSafetensors, promptJsonText, PROJECT_METRICS_FORMAT, type PromptExportMetadata } from '../engine/export';
import { fixtureStudio } from '../worker/testing/studioCall';
import { parseCsvText } from './csv';
import type { ClassificationOutcome, TaskSpec } from '../shared/tasks';

const studio = (lm: LanguageModel) => fixtureStudio(lm, 'org/fixture-bert');

// Texts that CSV writers get wrong: delimiters, quotes, line breaks, edge spaces, unicode.
const TEXTS = ['the movie, was good', 'a "quoted" film', 'line one\nline two', 'naïve café 日本 🙂', 'tabs\there', 'the film was bad'];
const ROWS: Row[] = Array.from({ length: 24 }, (_, i) => ({ text: `${TEXTS[i % TEXTS.length]} ${i}`, label: i % 2 ? 'pos' : 'neg', id: String(i) }));
const csvIn = (rows: Row[]) => ['text,label,id', ...rows.map((r) => [r.text, r.label, r.id].map((v) => `"${v.replace(/"/g, '""')}"`).join(','))].join('\r\n');

const config: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, promptLength: 2, init: 'labels', epochs: 2, batchSize: 4, valFraction: 0.25, patience: 0, seed: 5 };
const spec: TaskSpec = { task: 'classification', template: '{text} it was [MASK].', labelColumn: 'label', textColumns: ['text'], labelWords: { neg: ['bad', 'terrible'], pos: ['good', 'great'] } };

const readCsv = (bytes: Uint8Array, name: string): Row[] => {
  const parsed = parseCsvText(new TextDecoder().decode(bytes), name);
  return parsed.rows.map((cells) => Object.fromEntries(parsed.columns.map((c, i) => [c, cells[i]])));
};

let bert: LanguageModel;
beforeAll(async () => {
  await useNodeBackend('wasm');
  bert = await loadFixture('bert', { positions: 32 });
});
afterAll(() => bert.model.dispose());

describe('exportProject', () => {
  it("writes the project's files: the studio's split row for row, the settings, the model facts", async () => {
    const call = await studio(bert);
    await call('loadDataset', { source: { kind: 'text', name: 'tricky.csv', text: csvIn(ROWS) } });
    const result = await call('exportProject', { spec, config });
    const files = unzipSync(result.zip);
    expect(Object.keys(files).sort()).toEqual(
      ['README.md', 'accelerate/ddp.yaml', 'accelerate/fsdp.yaml', 'accelerate/multi_node.yaml', 'data/train.csv', 'data/validation.csv', 'requirements.txt', 'studio_config.json', 'train.py'].sort(),
    );
    expect(result.files.map((f) => f.path).sort()).toEqual(Object.keys(files).sort());

    const split = stratifiedSplit(ROWS, (r) => r.label, config.valFraction, config.seed);
    expect(readCsv(files['data/train.csv'], 'train.csv')).toEqual(split.train);
    expect(readCsv(files['data/validation.csv'], 'validation.csv')).toEqual(split.val);
    expect(split.val.length).toBe(6);

    const cfg = JSON.parse(new TextDecoder().decode(files['studio_config.json'])) as Record<string, any>;
    expect(cfg).toMatchObject({
      format: 'prompt-tuning-studio/project',
      template: spec.template,
      columns: ['text', 'label', 'id'],
      labelColumn: 'label',
      classes: ['neg', 'pos'],
      labelWords: spec.labelWords,
      mode: 'verbalizer',
      method: 'prompt',
      placement: 'after-first-token',
      promptLength: 2,
      optimizer: { name: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
      split: { seed: 5, valFraction: 0.25, train: 18, validation: 6 },
      model: { id: 'org/fixture-bert', modelType: 'bert', lmKind: 'masked-lm', hiddenSize: bert.model.config.hiddenSize, special: bert.tokenizer.special, hasLmHead: true },
    });
    expect(cfg.settings).toMatchObject({ learningRate: config.learningRate, batchSize: 4, epochs: 2, warmupFraction: config.warmupFraction, maxGradNorm: 1, patience: 0, seed: 5 });
    // The 'labels' init as the run takes it: each class's words' first tokens.
    expect(cfg.init.kind).toBe('labels');
    expect(cfg.init.labelWordIds).toEqual([['bad', 'terrible'], ['good', 'great']].map((ws) => ws.map((w) => bert.tokenizer.encode(w)[0])));
    expect(cfg.peftConfig).toMatchObject({ peft_type: 'PROMPT_TUNING', num_virtual_tokens: 2, task_type: 'FEATURE_EXTRACTION' });
    expect(result.notes[0]).toBe('18 training and 6 validation rows, split as the studio splits them (seed 5).');
  });

  it('starts from the current prompt when given one, and refuses one of the wrong size', async () => {
    const call = await studio(bert);
    await call('loadDataset', { source: { kind: 'text', name: 'tricky.csv', text: csvIn(ROWS) } });
    const H = bert.model.config.hiddenSize;
    const vectors = Float32Array.from({ length: 2 * H }, (_, i) => Math.sin(i));
    const result = await call('exportProject', { spec, config, prompt: { vectors, numTokens: 2, dim: H } });
    const files = unzipSync(result.zip);
    const { prompt, metadata } = parsePromptJson(new TextDecoder().decode(files['initial_prompt/prompt.json']));
    expect(Array.from(prompt.vectors)).toEqual(Array.from(vectors));
    expect(metadata).toMatchObject({ template: spec.template, mode: 'verbalizer', metrics: null });
    await expect(call('exportProject', { spec, config, prompt: { vectors: vectors.slice(0, H), numTokens: 1, dim: H } })).rejects.toThrow(
      `the current prompt is [1, ${H}] but these settings train [2, ${H}]`,
    );
    await expect(call('exportProject', { spec: { task: 'generation', template: '{text}', targetColumn: 'label', textColumns: ['text'] }, config })).rejects.toThrow(
      'generation is not exported as a project yet',
    );
    // P-tuning with the LSTM encoder: train.py builds it (check_train_py.py encoder-forward) and PEFT's config says LSTM.
    const lstm = unzipSync((await call('exportProject', { spec, config: { ...config, method: 'p-tuning', encoderType: 'lstm', encoderHiddenSize: 8 } })).zip);
    const lstmConfig = JSON.parse(new TextDecoder().decode(lstm['studio_config.json'])) as { settings: { encoderType: string }; promptMetadata: { encoderType: string }; peftConfig: { encoder_reparameterization_type: string } };
    expect(lstmConfig.settings.encoderType).toBe('lstm');
    expect(lstmConfig.promptMetadata.encoderType).toBe('lstm');
    expect(lstmConfig.peftConfig.encoder_reparameterization_type).toBe('LSTM');
  });

  it("imports the project's output (prompt.json or the adapter, with metrics.json) and evaluates it on the current data", async () => {
    const call = await studio(bert);
    await call('loadDataset', { source: { kind: 'text', name: 'tricky.csv', text: csvIn(ROWS) } });
    const files = unzipSync((await call('exportProject', { spec, config })).zip);
    const cfg = JSON.parse(new TextDecoder().decode(files['studio_config.json'])) as { promptMetadata: PromptExportMetadata };
    // What train.py writes (its prompt.json writer is checked against parsePromptJson in golden.test.ts).
    const H = bert.model.config.hiddenSize;
    const prompt = { vectors: Float32Array.from({ length: 2 * H }, (_, i) => Math.cos(i) / 4), numTokens: 2, dim: H };
    const meta: PromptExportMetadata = { ...cfg.promptMetadata, metrics: { kind: 'classification', zeroShotAccuracy: 0.5, accuracy: 0.8333, zeroShotMacroF1: 0.33, macroF1: 0.83 } };
    const metrics = {
      format: PROJECT_METRICS_FORMAT,
      formatVersion: 1,
      model: { id: 'org/fixture-bert', modelType: 'bert' },
      task: 'classification',
      method: 'prompt',
      mode: 'verbalizer',
      classes: ['neg', 'pos'],
      trainSize: 18,
      valSize: 6,
      processes: 2,
      zeroShot: { loss: 0.7, accuracy: 0.5, macroF1: 0.33 },
      validation: { loss: 0.41, accuracy: 0.8333, macroF1: 0.83 },
      bestEpoch: 2,
      epochs: [],
      steps: 10,
      totalSteps: 10,
      stopReason: 'completed',
      seconds: 3.5,
      predictions: { zeroShot: null, validation: null },
    };
    const output = {
      'prompt.json': strToU8(promptJsonText(prompt, meta)),
      'peft/adapter_config.json': strToU8(peftAdapterConfigJson(prompt, meta)),
      'peft/adapter_model.safetensors': peftAdapterSafetensors(prompt),
      'metrics.json': strToU8(JSON.stringify(metrics)),
    };
    const imported = await call('importPrompt', { fileName: 'output.zip', bytes: zipSync(output) });
    expect(imported.projectMetrics).toMatchObject({ modelId: 'org/fixture-bert', processes: 2, bestEpoch: 2, validation: { accuracy: 0.8333 }, zeroShot: { accuracy: 0.5 } });
    expect(imported.compatibility?.errors).toEqual([]);
    expect(Array.from(imported.prompt.vectors)).toEqual(Array.from(prompt.vectors));
    const evaluated = (await call('evaluatePrompt', { spec, config, prompt: imported.prompt })) as ClassificationOutcome;
    expect(evaluated.valSize).toBe(6);
    expect(evaluated.tuned?.accuracy).toBeGreaterThanOrEqual(0);

    // The adapter alone (PEFT's save_pretrained output, no prompt.json), zipped inside the project folder
    // next to initial_prompt/: the output's adapter is taken, not the starting prompt.
    const other = { vectors: new Float32Array(2 * H).fill(0.5), numTokens: 2, dim: H };
    const project = {
      ...files,
      'initial_prompt/prompt.json': strToU8(promptJsonText(other, cfg.promptMetadata)),
      'output/peft/adapter_config.json': output['peft/adapter_config.json'],
      'output/peft/adapter_model.safetensors': output['peft/adapter_model.safetensors'],
      'output/metrics.json': output['metrics.json'],
    };
    const fromProject = await call('importPrompt', { fileName: 'project.zip', bytes: zipSync(project) });
    expect(Array.from(fromProject.prompt.vectors)).toEqual(Array.from(prompt.vectors));
    expect(fromProject.projectMetrics?.validation?.accuracy).toBe(0.8333);
  });
});
