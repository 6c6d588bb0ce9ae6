/**
 * An instruct checkpoint's chat template as a studio template: the Jinja template of
 * tokenizer_config.json rendered (with @huggingface/jinja, the engine transformers.js uses) for one
 * user message and `add_generation_prompt`, split where the user's text goes. The studio template
 * then sits in the user's turn, and the label word (or generated text) is the assistant's first
 * token: the next token after the rendered prompt, as for any decoder template.
 */
import { Template as JinjaTemplate } from '@huggingface/jinja';
import { parseTemplate } from '../engine/template';
import type { TextTokenizer } from '../model/tokenizer';
import type { ChatTemplateOption } from '../shared/protocol';

/** Stands for the user's message while rendering; no template writes it. */
const USER_TEXT = '\u0000studio-user-text\u0000';

/** Renders `tokenizer.chatTemplate`, or null when the checkpoint has none. */
export function chatTemplateOption(tokenizer: Pick<TextTokenizer, 'chatTemplate' | 'bosToken' | 'eosToken' | 'addBos'>): ChatTemplateOption | null {
  const source = tokenizer.chatTemplate;
  if (source === null) return null;
  let rendered: string;
  try {
    rendered = new JinjaTemplate(source).render({
      messages: [{ role: 'user', content: USER_TEXT }],
      add_generation_prompt: true,
      // Qwen3: answer directly, without a <think> block first (the label must be the next token).
      enable_thinking: false,
      bos_token: tokenizer.bosToken ?? '',
      eos_token: tokenizer.eosToken ?? '',
      // raise_exception(message) is built into the Jinja engine: it throws, and the error says why.
    });
  } catch (e) {
    return { ok: false, error: `the chat template could not be rendered: ${(e as Error).message}` };
  }
  const parts = rendered.split(USER_TEXT);
  if (parts.length !== 2) {
    return { ok: false, error: `the chat template shows the user's message ${parts.length - 1} times, not once` };
  }
  let [before, after] = parts;
  // The engine places BOS itself when the tokenizer adds it; templates that write {{ bos_token }} would double it.
  if (tokenizer.addBos && tokenizer.bosToken && before.startsWith(tokenizer.bosToken)) before = before.slice(tokenizer.bosToken.length);
  const syntax = parseTemplate(before + after).find((p) => p.kind !== 'text');
  if (syntax) {
    return { ok: false, error: `the rendered chat template contains ${describe(syntax.kind)}, which a studio template would read as its own syntax` };
  }
  return { ok: true, before, after };
}

function describe(kind: string): string {
  return kind === 'column' ? 'a {…} placeholder' : kind === 'soft' ? 'a [SOFT] slot' : kind === 'sep' ? '[SEP]' : 'a mask token';
}

