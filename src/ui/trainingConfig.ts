/**
 * The training settings as the form holds them (text, so "0." can be typed), their checks, and
 * the short help shown beside each. Defaults come from the engine (engineInfo), not from here.
 */
import type { PromptEncoderType, PromptInit, PromptMethod, TrainingConfig } from '../shared/tasks';

export type NumericSetting = 'promptLength' | 'learningRate' | 'batchSize' | 'epochs' | 'valFraction' | 'seed' | 'warmupFraction' | 'maxGradNorm' | 'patience' | 'ensembleSize';

export type ConfigDraft = Record<NumericSetting, string> & {
  init: PromptInit;
  mode: TrainingConfig['mode'];
  method: PromptMethod;
  initText: string;
  /** P-tuning's encoder; absent: 'mlp'. */
  encoderType?: PromptEncoderType;
};

interface NumericField {
  key: NumericSetting;
  label: string;
  help: string;
  /** The help for a method where it differs (prefix tuning has no input vectors; the rates measured differ). */
  methodHelp?: Partial<Record<PromptMethod, string>>;
  integer: boolean;
  /** Inclusive lower bound, exclusive upper bound when given. */
  min: number;
  max?: number;
  minExclusive?: boolean;
  advanced?: boolean;
  /** For a setting configs may lack (saved before it existed). */
  fallback?: number;
}

export const NUMERIC_FIELDS: readonly NumericField[] = [
  {
    key: 'promptLength',
    label: 'Prompt length',
    help: 'Soft tokens N, the trained vectors. [SOFT*N] slots in the template fix N themselves.',
    methodHelp: {
      'p-tuning': 'Soft tokens N, computed by the prompt encoder from N trained embeddings. [SOFT*N] slots in the template fix N themselves.',
      prefix: 'Virtual tokens N: N trained keys and values in front of the text at every layer. The template takes no [SOFT].',
    },
    integer: true,
    min: 1,
    max: 1001,
  },
  {
    key: 'learningRate',
    label: 'Learning rate',
    help: 'Adam peak rate. Prompt vectors need far more than fine-tuning: 0.1 (the label-word default; the head’s is 0.01) and 0.03–0.3 worked in the engine’s measurements.',
    methodHelp: {
      'p-tuning': 'Adam peak rate. The encoder’s weights train too, so it needs less than prompt tuning: 0.003 did best of 0.001–0.01 in the engine’s measurements.',
      prefix: 'Adam peak rate. Keys and values at every layer move the model more per step: 0.01 did best of 0.003–0.03 in the engine’s measurements.',
    },
    integer: false,
    min: 0,
    minExclusive: true,
    max: 100,
  },
  { key: 'batchSize', label: 'Batch size', help: 'Examples per step. Smaller is faster per step on slow backends.', integer: true, min: 1, max: 4097 },
  { key: 'epochs', label: 'Epochs', help: 'Passes over the training split. Early stopping may end sooner.', integer: true, min: 1, max: 100001 },
  { key: 'valFraction', label: 'Validation split', help: 'Share of each class held out for validation, zero-shot and the results.', integer: false, min: 0, max: 1 },
  { key: 'seed', label: 'Seed', help: 'Same seed, data and backend: same split, init, order and losses.', integer: true, min: -2147483648, max: 2147483648 },
  { key: 'warmupFraction', label: 'Warmup', help: 'Share of the steps spent raising the rate from 0 (then it decays linearly).', integer: false, min: 0, max: 1, advanced: true },
  { key: 'maxGradNorm', label: 'Gradient clip', help: 'Global gradient-norm limit; 0 turns clipping off.', integer: false, min: 0, advanced: true },
  { key: 'patience', label: 'Early-stopping patience', help: 'Epochs without a better validation loss before stopping; 0 never stops early.', integer: true, min: 0, max: 100001, advanced: true },
  {
    key: 'ensembleSize',
    label: 'Ensemble',
    help: 'Prompts trained together from different inits; classes are scored by their mean probability (classification). 1: one prompt. Each member costs a step’s time.',
    integer: true,
    min: 1,
    max: 9,
    advanced: true,
    fallback: 1,
  },
];

/** A field's help for the chosen method. */
export const fieldHelp = (f: NumericField, method: PromptMethod): string => f.methodHelp?.[method] ?? f.help;

export const INIT_HELP: Record<PromptInit, string> = {
  labels: 'the label words’ embeddings, then frequent tokens (Lester et al.’s best)',
  vocab: 'embeddings of frequent tokens from the training texts',
  text: 'the embeddings of a text you give, repeated or cut to N',
  random: 'random normal at the scale of the embedding table',
};

export const MODE_HELP: Record<TrainingConfig['mode'], string> = {
  verbalizer: 'Label words: classes are scored by their words at the mask (or next token).',
  head: 'Linear head: a small trainable classifier on the first position’s hidden state, trained with the prompt.',
};

export const METHOD_HELP: Record<PromptMethod, string> = {
  prompt: 'Prompt tuning: N trained vectors in the input (Lester et al.).',
  'p-tuning': 'P-tuning: the N input vectors come from a small trained encoder, an MLP or an LSTM + MLP (Liu et al.).',
  prefix: 'Prefix tuning: N trained keys and values at every layer (Li & Liang; P-tuning v2): strongest on small models, more parameters.',
};

export const ENCODER_HELP: Record<PromptEncoderType, string> = {
  mlp: 'MLP: H → E → E → H with ReLU (PEFT’s default).',
  lstm: 'LSTM + MLP: a bidirectional 2-layer LSTM reads the N vectors as a sequence, then an MLP (Liu et al.’s encoder).',
};

export function draftFrom(config: TrainingConfig): ConfigDraft {
  const draft = { init: config.init, mode: config.mode, method: config.method ?? 'prompt', initText: config.initText ?? '', ...(config.encoderType ? { encoderType: config.encoderType } : {}) } as ConfigDraft;
  for (const f of NUMERIC_FIELDS) draft[f.key] = String(config[f.key] ?? f.fallback ?? '');
  return draft;
}

/** The config when every field is valid, and a message per invalid field. */
export function parseDraft(draft: ConfigDraft): { config: TrainingConfig | null; errors: Partial<Record<NumericSetting | 'initText', string>> } {
  const errors: Partial<Record<NumericSetting | 'initText', string>> = {};
  const values = {} as Record<NumericSetting, number>;
  for (const f of NUMERIC_FIELDS) {
    const text = draft[f.key].trim();
    const value = Number(text);
    if (text === '' || !Number.isFinite(value)) errors[f.key] = `${f.label}: enter a number`;
    else if (f.integer && !Number.isInteger(value)) errors[f.key] = `${f.label}: enter a whole number`;
    else if (f.minExclusive ? value <= f.min : value < f.min) errors[f.key] = `${f.label}: must be ${f.minExclusive ? 'more than' : 'at least'} ${f.min}`;
    else if (f.max !== undefined && value >= f.max) errors[f.key] = `${f.label}: must be below ${f.max}`;
    values[f.key] = value;
  }
  if (draft.init === 'text' && draft.initText.trim() === '') errors.initText = 'Init text: the text init needs a text';
  if (Object.keys(errors).length > 0) return { config: null, errors };
  return {
    config: {
      ...values,
      init: draft.init,
      mode: draft.mode,
      method: draft.method,
      ...(draft.method === 'p-tuning' && draft.encoderType === 'lstm' ? { encoderType: 'lstm' as const } : {}),
      ...(draft.init === 'text' ? { initText: draft.initText.trim() } : {}),
    },
    errors,
  };
}
