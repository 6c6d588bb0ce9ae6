import { describe, expect, it } from 'vitest';
import { chatTemplateOption } from './chatTemplate';
import { compileTemplate } from '../engine/template';
import { fixtureConfig } from '../engine/testing/fixtures';
import { loadTokenizer } from '../model/tokenizer';
import { byteLevelTokenizerJson } from '../model/testing/tokenizerJson';

// Chat templates written for these tests from the documented formats (ChatML for Qwen, the
// Llama-3 header format, Zephyr's for TinyLlama); each exercises what real ones do: a default system
// turn, bos_token, `| trim`, add_generation_prompt, Qwen3's enable_thinking, raise_exception.
const CHATML = [
  '{%- for message in messages %}',
  "{%- if loop.first and message['role'] != 'system' %}{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}",
  "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}",
  '{%- endfor %}',
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}",
  "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}",
  '{%- endif %}',
].join('\n');

const LLAMA3 = [
  '{{- bos_token }}',
  '{%- if not date_string is defined %}{%- set date_string = "26 Jul 2024" %}{%- endif %}',
  '{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}',
  '{{- "Cutting Knowledge Date: December 2023\\nToday Date: " + date_string + "\\n\\n<|eot_id|>" }}',
  '{%- for message in messages %}',
  "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}",
  '{%- endfor %}',
  "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}",
].join('\n');

const ZEPHYR =
  "{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] + eos_token }}" +
  "{% elif message['role'] == 'assistant' %}{{ '<|assistant|>\\n' + message['content'] + eos_token }}{% endif %}" +
  "{% if loop.last and add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}{% endfor %}";

const tok = (chatTemplate: string | null, addBos = false, bosToken: string | null = '<|begin_of_text|>', eosToken = '</s>') => ({ chatTemplate, addBos, bosToken, eosToken });

describe('chatTemplateOption', () => {
  const cases: { name: string; tokenizer: ReturnType<typeof tok>; before: string; after: string }[] = [
    {
      name: 'ChatML (Qwen2.5): default system turn, then the user turn, then the assistant opening',
      tokenizer: tok(CHATML),
      before: '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n',
      after: '<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n', // enable_thinking false: Qwen3 answers at once
    },
    {
      name: 'Llama-3: the tokenizer adds BOS, so the rendered bos_token is dropped',
      tokenizer: tok(LLAMA3, true),
      before: '<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n',
      after: '<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    },
    {
      name: 'Llama-3 with a tokenizer that adds no BOS keeps it in the text',
      tokenizer: tok(LLAMA3, false),
      before: '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n',
      after: '<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    },
    { name: 'Zephyr (TinyLlama-Chat): eos_token closes the user turn', tokenizer: tok(ZEPHYR, true, '<s>'), before: '<|user|>\n', after: '</s><|assistant|>' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(chatTemplateOption(c.tokenizer)).toEqual({ ok: true, before: c.before, after: c.after });
    });
  }

  it('null without a chat template', () => {
    expect(chatTemplateOption(tok(null))).toBeNull();
  });

  const errors: { name: string; template: string; error: RegExp }[] = [
    { name: 'raise_exception', template: "{{ raise_exception('Only user and assistant roles are supported!') }}", error: /could not be rendered: .*Only user and assistant roles are supported!/ },
    { name: 'a Jinja syntax error', template: '{% for m in messages %}{{ m.content }}', error: /could not be rendered/ },
    { name: 'no user message', template: 'hello', error: /shows the user's message 0 times/ },
    { name: 'studio syntax in the text', template: "{{ '{system}' }}{% for m in messages %}{{ m.content }}{% endfor %}", error: /contains a \{…\} placeholder/ },
  ];
  for (const c of errors) {
    it(`refuses ${c.name}`, () => {
      const option = chatTemplateOption(tok(c.template));
      expect(option?.ok).toBe(false);
      expect(option && !option.ok && option.error).toMatch(c.error);
    });
  }

  it('wrapped around a studio template, it encodes as the whole rendered chat prompt does', () => {
    const tokenizer = loadTokenizer(
      { tokenizerJson: byteLevelTokenizerJson('qwen2'), tokenizerConfig: { bos_token: null, eos_token: '<|im_end|>', pad_token: '<|endoftext|>', chat_template: CHATML } },
      'qwen2',
      'fixture',
    );
    const option = chatTemplateOption(tokenizer);
    if (!option?.ok) throw new Error('expected a rendered chat template');
    const source = option.before + 'Is {text} positive?' + option.after;
    const template = compileTemplate(source, { tokenizer, config: { ...fixtureConfig('gpt2'), modelType: 'qwen2', maxPositions: 512 }, columns: ['text'], promptLength: 0 });
    const encoded = template.encode({ text: 'the hello' });
    expect(encoded.ids).toEqual(tokenizer.encodeStart(source.replace('{text}', 'the hello')));
    expect(encoded.ids[0]).toBe(tokenizer.tokenToId('<|im_start|>'));
    // The label is the assistant's first token: read after the last template token, with no space before it.
    expect(encoded.maskPosition).toBe(encoded.ids.length - 1);
    expect(template.spaceBeforePrediction).toBe(false);
  });
});
