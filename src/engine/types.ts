/**
 * The engine's vocabulary: the string unions that the tuning code, the export schema and the
 * worker protocol all speak. Types and constant tables only (no tfjs), so the export formats and
 * `src/shared` can use them without loading the engine.
 */

export type TaskKind = 'classification' | 'generation';

/**
 * How classes are scored. 'verbalizer': by their label words at the mask (encoders) or the next
 * token (decoders); 'head': a linear head on [CLS] (encoders) or the last token (decoders).
 */
export type ClassifierMode = 'verbalizer' | 'head';

/** How the soft prompt's rows start; softPrompt.ts describes each. */
export const PROMPT_INITS = ['random', 'vocab', 'text', 'labels'] as const;
export type PromptInit = (typeof PROMPT_INITS)[number];

/**
 * Where the soft tokens sat in the input during tuning. PEFT always prepends them before every
 * token, so only 'prefix' is reproduced exactly by the PEFT adapter (see peftExportNotes).
 * - 'prefix': before all tokens, [CLS]/BOS included.
 * - 'after-first-token': right after [CLS]/BOS (the engine's default for a template without slots).
 * - 'template': at the template's [SOFT] slots.
 */
export const PROMPT_PLACEMENTS = ['prefix', 'after-first-token', 'template'] as const;
export type PromptPlacement = (typeof PROMPT_PLACEMENTS)[number];

/**
 * What is trained (Liu et al.'s P-tuning v2 paper compares them):
 * - 'prompt': prompt tuning (Lester et al.): N vectors in the input embeddings.
 * - 'p-tuning': P-tuning (Liu et al.): the N input vectors come from a small trainable encoder (an
 *   MLP or LSTM + MLP, PEFT's P_TUNING; see PromptEncoderType) over N trainable embeddings.
 * - 'prefix': prefix tuning / P-tuning v2 (Li & Liang; PEFT's PREFIX_TUNING): N trainable keys and
 *   values at every layer's attention; nothing is added to the input.
 */
export const PROMPT_METHODS = ['prompt', 'p-tuning', 'prefix'] as const;
export type PromptMethod = (typeof PROMPT_METHODS)[number];

/**
 * P-tuning's prompt encoder (PEFT's encoder_reparameterization_type):
 * - 'mlp': H -> E -> E -> H with ReLU between;
 * - 'lstm': a bidirectional LSTM (2 layers, E per direction) over the N embeddings as a sequence,
 *   then an MLP 2E -> 2E -> H with ReLU between (Liu et al.'s original encoder).
 */
export const PROMPT_ENCODER_TYPES = ['mlp', 'lstm'] as const;
export type PromptEncoderType = (typeof PROMPT_ENCODER_TYPES)[number];
