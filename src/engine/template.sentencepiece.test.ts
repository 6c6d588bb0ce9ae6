import { describe, expect, it } from 'vitest';
import { compileTemplate } from './template';
import { fixtureConfig } from './testing/fixtures';
import { loadTokenizer } from '../model/tokenizer';
import type { ModelType } from '../model/types';
import { byteLevelTokenizerJson, BYTE_LEVEL_SPECIALS, sentencePieceTokenizerJson, spByte, spId as p } from '../model/testing/tokenizerJson';

// Templates on the tokenizers of the Llama family: the ids are the ones `tokenizer(full text)`
// gives for the rendered example, so the pieces must join without extra "▁" (SentencePiece) and
// BOS must appear exactly when the checkpoint's tokenizer adds it.
const decoder = (type: ModelType) => ({ ...fixtureConfig('gpt2'), modelType: type });

describe('decoder templates on SentencePiece-style tokenizers', () => {
  const forms = ['normalizer', 'metaspace'] as const;
  for (const form of forms) {
    const tokenizer = loadTokenizer(
      { tokenizerJson: sentencePieceTokenizerJson(form), tokenizerConfig: { bos_token: '<s>', eos_token: '</s>', add_bos_token: true } },
      'llama',
      form,
    );
    const compile = (source: string) => compileTemplate(source, { tokenizer, config: decoder('llama'), columns: ['text'], promptLength: 0 });
    const cases: { source: string; text: string; ids: number[]; spaceBeforePrediction: boolean }[] = [
      // "the world" as one text: <s> ▁the ▁world; the column continues after a space.
      { source: 'the {text}', text: 'world', ids: [1, p('▁the'), p('▁world')], spaceBeforePrediction: true },
      // The column opens the text: it gets the word-start "▁"; " the" continues it.
      { source: '{text} the', text: 'café', ids: [1, p('▁caf'), p('é'), p('▁the')], spaceBeforePrediction: true },
      // After a newline nothing is prepended, and the label follows without a space.
      { source: 'the\n{text}\n', text: 'ü', ids: [1, p('▁the'), spByte(0x0a), spByte(0xc3), spByte(0xbc), spByte(0x0a)], spaceBeforePrediction: false },
    ];
    for (const c of cases) {
      it(`${form}: ${JSON.stringify(c.source)} with ${JSON.stringify(c.text)}`, () => {
        const t = compile(c.source);
        expect(t.encode({ text: c.text }).ids).toEqual(c.ids);
        expect(t.spaceBeforePrediction).toBe(c.spaceBeforePrediction);
        // The same ids as the whole rendered text through the tokenizer, BOS first.
        expect([1, ...tokenizer.encodeStart(c.source.replace('{text}', c.text))]).toEqual(c.ids);
      });
    }
  }
});

describe('BOS as the checkpoint adds it', () => {
  it('Llama-3 (post-processor): <|begin_of_text|> first; Qwen2 (bos_token null): nothing before the text', () => {
    const llama3 = loadTokenizer({ tokenizerJson: byteLevelTokenizerJson('llama3'), tokenizerConfig: { bos_token: '<|begin_of_text|>', eos_token: '<|end_of_text|>' } }, 'llama', 'l3');
    const qwen = loadTokenizer({ tokenizerJson: byteLevelTokenizerJson('qwen2'), tokenizerConfig: { bos_token: null, eos_token: '<|im_end|>' } }, 'qwen2', 'q');
    const smol = loadTokenizer({ tokenizerJson: byteLevelTokenizerJson('qwen2'), tokenizerConfig: { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', tokenizer_class: 'GPT2Tokenizer' } }, 'llama', 's');
    const ids = (tokenizer: typeof qwen, type: ModelType) =>
      compileTemplate('the {text}', { tokenizer, config: decoder(type), columns: ['text'], promptLength: 2 }).encode({ text: 'hello' });
    // Soft positions hold the pad id (never read): EOS when there is no pad token, Qwen's default <|endoftext|>.
    const E = BYTE_LEVEL_SPECIALS;
    expect(ids(llama3, 'llama').ids).toEqual([E.beginOfText, E.endOfText, E.endOfText, 116, 257, 259]);
    expect(ids(llama3, 'llama').softIndex).toEqual([-1, 0, 1, -1, -1, -1]);
    expect(ids(qwen, 'qwen2').ids).toEqual([E.endoftext, E.endoftext, 116, 257, 259]);
    expect(ids(smol, 'llama').ids).toEqual([E.endoftext, E.endoftext, 116, 257, 259]);
  });
});
