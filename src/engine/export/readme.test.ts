import { describe, expect, it } from 'vitest';
import { exportFiles } from './bundle';
import { peftExportNotes } from './peft';
import { exportReadme } from './readme';
import { EXPORT_FILE_NAMES } from './schema';
import { baseMeta, generationMeta, headMeta, makePrompt, text } from './testing';

describe('the export README', () => {
  it.each([
    {
      name: 'masked LM, label words',
      meta: baseMeta(),
      says: [
        'from transformers import AutoModelForMaskedLM, AutoTokenizer',
        'base_id = "embedded/tiny-bert"',
        'PeftModel.from_pretrained(AutoModelForMaskedLM.from_pretrained(base_id), "peft")',
        'text = "Some text to classify. It was [MASK]."',
        'logits[0, 3 + (inputs["input_ids"][0] == tokenizer.mask_token_id).nonzero()[0, 0]]',
        'label_words = {"negative":["bad","terrible"],"positive":["good","great"]}',
        'peft_type `PROMPT_TUNING`, task_type `FEATURE_EXTRACTION`, 3 virtual tokens',
        '- Classes (label words): negative (bad, terrible); positive (good, great)',
        '- Validation accuracy: 71.0% tuned, 53.0% zero-shot (macro-F1 0.700)',
        'weights SHA-256 `aaaa',
      ],
    },
    {
      name: 'linear head',
      meta: headMeta(),
      says: ['head = json.load(open("prompt.json"))["head"]', 'h = hidden[0, 3]  # encoders: [CLS], right after the 3 virtual tokens', 'print(["negative","positive"][logits.argmax()])', 'linear-head mode'],
    },
    {
      name: 'causal LM, generation',
      meta: generationMeta(),
      says: ['from transformers import AutoModelForCausalLM, AutoTokenizer', 'task_type `CAUSAL_LM`', 'model.generate(**inputs, max_new_tokens=12, do_sample=False)', '- Validation exact match: 40.0% tuned, not measured before tuning'],
    },
  ])('$name: names every file and says how to load the adapter', ({ meta, says }) => {
    const prompt = makePrompt();
    const files = exportFiles(prompt, meta, { metrics: { accuracy: 0.7 } });
    const readme = text(files[EXPORT_FILE_NAMES.readme]);
    for (const path of Object.values(EXPORT_FILE_NAMES)) expect(readme).toMatch(new RegExp(`^- \`${path.replace('.', '\\.')}\`.*: \\S`, 'm'));
    expect(readme).toContain(`- \`prompt.npy\` (${files['prompt.npy'].length.toLocaleString('en')} bytes): The vectors alone, a NumPy float32 array [3, 4]`);
    for (const s of says) expect(readme).toContain(s);
    // PEFT's differences from the studio are spelled out, as beside the export buttons.
    for (const note of peftExportNotes(meta)) expect(readme).toContain(note);
  });

  it('reads a prefix adapter at the input positions (its virtual tokens are not positions)', () => {
    const config = { peft_type: 'PREFIX_TUNING', task_type: 'FEATURE_EXTRACTION', num_virtual_tokens: 3, base_model_name_or_path: 'bert-base-uncased' };
    const readme = exportReadme(makePrompt(), baseMeta(), { [EXPORT_FILE_NAMES.peftConfig]: new TextEncoder().encode(JSON.stringify(config)) });
    expect(readme).toContain('log_probs = logits[0, (inputs["input_ids"][0] == tokenizer.mask_token_id).nonzero()[0, 0]]');
    expect(readme).toContain('[1, T, V]: the 3 virtual tokens are keys and values in every layer');
    expect(readme).toContain('base_id = "bert-base-uncased"');
  });

  it('without metrics.json lists only the files there are', () => {
    const readme = exportReadme(makePrompt(), baseMeta({ metrics: null }), exportFiles(makePrompt(), baseMeta({ metrics: null })));
    expect(readme).not.toContain('metrics.json');
    expect(readme).not.toContain('Validation accuracy');
  });
});
