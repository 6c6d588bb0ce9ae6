/** The embedded default models served with the page (public/models/<id>/, HF layout). */
export interface EmbeddedModel {
  id: string;
  /** Folder under public/. */
  path: string;
  title: string;
  description: string;
}

export const EMBEDDED_MODELS: readonly EmbeddedModel[] = [
  {
    id: 'studio-bert-tiny',
    path: 'models/studio-bert-tiny',
    title: 'Studio BERT tiny (masked LM)',
    description: 'A small BERT pretrained by this project on open English text: fills a [MASK]. For classification with label words.',
  },
  {
    id: 'studio-gpt2-tiny',
    path: 'models/studio-gpt2-tiny',
    title: 'Studio GPT-2 tiny (causal LM)',
    description: 'A small GPT-2 pretrained by this project on the same text: predicts the next token. For classification and generation.',
  },
];
