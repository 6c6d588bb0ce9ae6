/**
 * README.md of an export: what each file in it is, the run it holds, and how to load the PEFT
 * adapter in Python (with the base model's id or path), so a zip found later explains itself.
 */
import { ENCODER_FILE_NAME } from './encoderFile';
import { peftExportNotes } from './peft';
import { EXPORT_FILE_NAMES, type PromptExportMetadata, type PromptVectors } from './schema';

/** What the README says each export file is; N x D is the prompt's shape. */
function describeFile(path: string, shape: string, meta: PromptExportMetadata): string | null {
  switch (path) {
    case EXPORT_FILE_NAMES.promptJson:
      return (
        `The prompt's vectors (${shape}, nested arrays) and everything about the run: model, template, label words, mode` +
        `${meta.mode === 'head' ? ', the linear head ("head": weights [H, C], bias [C])' : ''}, hyperparameters and metrics. ` +
        'Prompt Tuning Studio imports it (Export and import, or `npm run tune`).'
      );
    case EXPORT_FILE_NAMES.promptSafetensors:
      return `The vectors as the tensor \`prompt_embeddings\` (float32, ${shape}), with prompt.json's metadata under the \`prompt_tuning_studio\` metadata key: \`safetensors.torch.load_file("prompt.safetensors")["prompt_embeddings"]\`.`;
    case EXPORT_FILE_NAMES.promptNpy:
      return `The vectors alone, a NumPy float32 array ${shape}: \`numpy.load("prompt.npy")\`.`;
    case EXPORT_FILE_NAMES.peftConfig:
      return "The PEFT adapter's configuration (`PeftModel.from_pretrained` reads it; see below).";
    case EXPORT_FILE_NAMES.peftWeights:
      return 'The PEFT adapter\'s weights, the same vectors as saved by PEFT (tensor `prompt_embeddings`).';
    case EXPORT_FILE_NAMES.metrics:
      return 'The metrics the studio showed for the run (zero-shot and tuned accuracy and macro-F1, the tuned confusion matrix, per-epoch losses; exact match and token F1 for generation).';
    case ENCODER_FILE_NAME:
      return `The prompt encoder (${meta.encoderType === 'lstm' ? 'bidirectional LSTM + MLP' : 'MLP'}) the vectors were computed with: its embeddings and weights, so the studio trains on through it after an import. PEFT's adapter holds only its output.`;
    case EXPORT_FILE_NAMES.readme:
      return 'This file.';
    default:
      return null;
  }
}

interface AdapterConfigFields {
  peft_type?: string;
  task_type?: string | null;
  base_model_name_or_path?: string;
  num_virtual_tokens?: number;
}

function readAdapterConfig(bytes: Uint8Array | undefined): AdapterConfigFields | null {
  if (!bytes) return null;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof parsed === 'object' && parsed !== null ? (parsed as AdapterConfigFields) : null;
  } catch {
    return null;
  }
}

const percent = (x: number | null) => (x === null ? 'not measured' : `${(100 * x).toFixed(1)}%`);

function metricsLine(meta: PromptExportMetadata): string | null {
  const m = meta.metrics;
  if (!m) return null;
  return m.kind === 'classification'
    ? `- Validation accuracy: ${percent(m.accuracy)} tuned, ${percent(m.zeroShotAccuracy)} zero-shot (macro-F1 ${m.macroF1.toFixed(3)})`
    : `- Validation exact match: ${percent(m.exactMatch)} tuned, ${percent(m.zeroShotExactMatch)} before tuning (token F1 ${m.tokenF1.toFixed(3)})`;
}

/** Python that loads the adapter and, for classification, scores the classes as the studio does. */
function pythonExample(meta: PromptExportMetadata, adapter: AdapterConfigFields, numTokens: number): string {
  const causal = adapter.task_type === 'CAUSAL_LM' || meta.model.modelType === 'gpt2';
  const autoClass = causal ? 'AutoModelForCausalLM' : 'AutoModelForMaskedLM';
  const base = adapter.base_model_name_or_path ?? meta.model.id;
  // Prompt tuning and P-tuning put N virtual tokens before the input, so outputs are N + T long;
  // a prefix sits in every layer's keys and values instead, and outputs keep the input's length.
  const prefix = adapter.peft_type === 'PREFIX_TUNING';
  const offset = prefix ? 0 : numTokens;
  const outputs = prefix ? `T, V]: the ${numTokens} virtual tokens are keys and values in every layer, not positions` : `${numTokens} + T, V]: PEFT puts the ${numTokens} virtual tokens first`;
  const lines = [
    '```python',
    '# pip install torch transformers peft',
    'import torch',
    'from peft import PeftModel',
    `from transformers import ${autoClass}, AutoTokenizer`,
    '',
    `base_id = ${JSON.stringify(base)}  # adapter_config.json's base_model_name_or_path: a Hub id or a checkpoint folder`,
    'tokenizer = AutoTokenizer.from_pretrained(base_id)',
    `model = PeftModel.from_pretrained(${autoClass}.from_pretrained(base_id), "peft").eval()  # "peft": the folder with adapter_config.json`,
  ];
  if (meta.task === 'classification' && meta.mode === 'verbalizer') {
    const words = Object.fromEntries(meta.classNames.map((c) => [c, meta.labelWords[c] ?? []]));
    const example = meta.template.replace(/\{[^}]+\}/g, 'Some text to classify.').replace(/\[SOFT(\*\d+)?\]/g, '').replace(/\s+/g, ' ').trim();
    lines.push(
      '',
      `text = ${JSON.stringify(example)}  # the template with a row's text in it`,
      causal ? 'inputs = tokenizer(text, return_tensors="pt")' : 'inputs = tokenizer(text.replace("[MASK]", tokenizer.mask_token), return_tensors="pt")',
      'with torch.no_grad():',
      `    logits = model(**inputs).logits  # [1, ${outputs}`,
      causal
        ? 'log_probs = logits[0, -1].log_softmax(-1)  # the next token after the template'
        : `log_probs = logits[0, ${offset ? `${offset} + ` : ''}(inputs["input_ids"][0] == tokenizer.mask_token_id).nonzero()[0, 0]].log_softmax(-1)  # at [MASK]`,
      `label_words = ${JSON.stringify(words)}`,
      '# A class scores the mean log-probability of its words (one-token words here; the studio scores a longer word by all its pieces).',
      causal
        ? 'word_id = lambda w: tokenizer.encode(" " + w)[0]  # byte-level BPE: the word after a space'
        : 'word_id = lambda w: tokenizer.convert_tokens_to_ids(w)',
      'scores = {c: torch.stack([log_probs[word_id(w)] for w in ws]).mean().item() for c, ws in label_words.items()}',
      'print(max(scores, key=scores.get))',
    );
  } else if (meta.task === 'classification') {
    const example = meta.template.replace(/\{[^}]+\}/g, 'Some text to classify.').replace(/\[SOFT(\*\d+)?\]/g, '').replace(/\s+/g, ' ').trim();
    lines.push(
      '',
      'import json',
      'head = json.load(open("prompt.json"))["head"]  # the linear head: weights [H, C], bias [C]; PEFT does not hold it',
      `text = ${JSON.stringify(example)}  # the template with a row's text in it`,
      causal ? 'inputs = tokenizer(text, return_tensors="pt")' : 'inputs = tokenizer(text.replace("[MASK]", tokenizer.mask_token), return_tensors="pt")',
      'with torch.no_grad():',
      `    hidden = model(**inputs, output_hidden_states=True).hidden_states[-1]  # [1, ${offset ? `${offset} + ` : ''}T, H]`,
      causal
        ? 'h = hidden[0, -1]  # decoders: the last token'
        : prefix
          ? 'h = hidden[0, 0]  # encoders: [CLS]'
          : `h = hidden[0, ${offset}]  # encoders: [CLS], right after the ${offset} virtual tokens PEFT puts first`,
      'logits = h @ torch.tensor(head["weights"]) + torch.tensor(head["bias"])',
      `print(${JSON.stringify(meta.classNames)}[logits.argmax()])`,
    );
  } else if (meta.task === 'generation') {
    lines.push(
      '',
      `inputs = tokenizer(${JSON.stringify(meta.template.replace(/\{[^}]+\}/g, 'some input').replace(/\[SOFT(\*\d+)?\]/g, '').trim())}, return_tensors="pt")`,
      'out = model.generate(**inputs, max_new_tokens=12, do_sample=False)',
      'print(tokenizer.decode(out[0], skip_special_tokens=True))',
    );
  }
  lines.push('```');
  return lines.join('\n');
}

/**
 * README.md for the files of one export (`files`: path -> bytes, as exportFiles makes them; its
 * own entry may be absent yet).
 */
export function exportReadme(prompt: PromptVectors, meta: PromptExportMetadata, files: Record<string, Uint8Array>): string {
  const shape = `[${prompt.numTokens}, ${prompt.dim}]`;
  const adapter = readAdapterConfig(files[EXPORT_FILE_NAMES.peftConfig]);
  const paths = [...new Set([...Object.keys(files), EXPORT_FILE_NAMES.readme])];
  const fileLines = paths.map((path) => {
    const what = describeFile(path, shape, meta) ?? '';
    const size = files[path] && path !== EXPORT_FILE_NAMES.readme ? ` (${files[path].length.toLocaleString('en')} bytes)` : '';
    return `- \`${path}\`${size}: ${what}`;
  });
  const classes =
    meta.task === 'classification'
      ? meta.classNames.map((c) => `${c}${meta.labelWords[c]?.length ? ` (${meta.labelWords[c].join(', ')})` : ''}`).join('; ')
      : null;
  const h = meta.hyperparameters;
  const run = [
    `- Model: \`${meta.model.id}\` (${meta.model.modelType}, ${meta.model.numLayers} layers, hidden size ${meta.model.hiddenSize})` +
      (meta.model.checkpointHash ? `, weights SHA-256 \`${meta.model.checkpointHash}\`` : ''),
    `- Task: ${meta.task}${meta.task === 'classification' ? `, ${meta.mode === 'head' ? 'linear-head' : 'label-word'} mode` : ''}`,
    `- Template: \`${meta.template}\``,
    ...(classes ? [`- Classes (label words): ${classes}`] : []),
    `- Soft prompt: ${prompt.numTokens} vectors of ${prompt.dim} values, placed ${meta.placement}`,
    `- Training: learning rate ${h.learningRate}, batch ${h.batchSize}, ${h.epochs} epochs, validation split ${h.valSplit}, seed ${meta.seed}`,
    ...(metricsLine(meta) ? [metricsLine(meta)!] : []),
    `- Exported: ${meta.createdAt}`,
  ];
  const sections = [
    '# Soft prompt exported by Prompt Tuning Studio',
    '',
    `A soft prompt tuned for the frozen model \`${meta.model.id}\`: the model's weights are unchanged; these files hold only the ${prompt.numTokens} learned vectors` +
      `${meta.mode === 'head' ? ' and a linear head' : ''} and what is needed to use them.`,
    '',
    '## Files',
    '',
    ...fileLines,
    '',
    '## The run',
    '',
    ...run,
  ];
  if (adapter) {
    const notes = peftExportNotes(meta);
    sections.push(
      '',
      '## Loading the adapter with PEFT',
      '',
      `\`peft/\` is a PEFT adapter (peft_type \`${adapter.peft_type ?? '?'}\`, task_type \`${adapter.task_type ?? 'null'}\`, ${adapter.num_virtual_tokens ?? prompt.numTokens} virtual tokens) ` +
        `for the base model \`${adapter.base_model_name_or_path ?? meta.model.id}\`. That is the id or folder the studio loaded the model from: if it is not a Hub id or a folder on your machine ` +
        '(the studio\'s embedded models are in its `public/models/<id>/`), put the path of the checkpoint folder there, or pass it as `base_id` below.',
      '',
      pythonExample(meta, adapter, adapter.num_virtual_tokens ?? prompt.numTokens),
      ...(notes.length ? ['', 'Where PEFT differs from the studio:', '', ...notes.map((n) => `- ${n}`)] : []),
    );
  }
  return `${sections.join('\n')}\n`;
}
