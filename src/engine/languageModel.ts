import type { TextTokenizer } from '../model/tokenizer';
import type { FrozenLM } from '../model/types';

/** A loaded checkpoint as the engine uses it: the frozen model and its tokenizer. */
export interface LanguageModel {
  model: FrozenLM;
  tokenizer: TextTokenizer;
}
