import { describe, expect, it } from 'vitest';
import { csvText, parseProjectMetrics, PROJECT_METRICS_FORMAT, PROJECT_REQUIREMENTS } from './project';
import { PromptImportError } from './schema';

describe('project files', () => {
  it.each([
    { value: 'plain', field: 'plain' },
    { value: '', field: '' },
    { value: 'a,b', field: '"a,b"' },
    { value: 'say "hi"', field: '"say ""hi"""' },
    { value: 'two\nlines', field: '"two\nlines"' },
    { value: 'cr\r\nlf', field: '"cr\r\nlf"' },
    { value: ' edge ', field: '" edge "' },
    { value: 'naïve 日本 🙂', field: 'naïve 日本 🙂' },
  ])('CSV field $value', ({ value, field }) => {
    expect(csvText(['x'], [{ x: value }])).toBe(`x\r\n${field}\r\n`);
  });

  it('writes every column of every row, missing cells empty', () => {
    expect(csvText(['a', 'b'], [{ a: '1' }, { b: '2', c: 'ignored' }])).toBe('a,b\r\n1,\r\n,2\r\n');
  });

  it('pins each requirement to a version', () => {
    for (const r of PROJECT_REQUIREMENTS) expect(r).toMatch(/^[a-z]+(==\d+\.\d+\.\d+|>=\d+(\.\d+)*,<\d+|>=\d+(\.\d+)*)$/);
    expect(PROJECT_REQUIREMENTS.map((r) => r.split(/[=<>]/)[0])).toEqual(['torch', 'transformers', 'peft', 'accelerate', 'safetensors']);
  });
});

describe('parseProjectMetrics', () => {
  const good = {
    format: PROJECT_METRICS_FORMAT,
    formatVersion: 1,
    model: { id: 'gpt2' },
    method: 'prefix',
    mode: 'verbalizer',
    classes: ['a', 'b'],
    trainSize: 8,
    valSize: 2,
    processes: 2,
    zeroShot: null,
    validation: { loss: 0.5, accuracy: 1, macroF1: 1 },
    bestEpoch: 3,
    steps: 6,
    totalSteps: 6,
    stopReason: 'completed',
    seconds: 1,
  };
  it("reads train.py's metrics.json and ignores the studio's own", () => {
    expect(parseProjectMetrics(JSON.stringify(good))).toMatchObject({ modelId: 'gpt2', processes: 2, validation: { accuracy: 1 }, zeroShot: null, bestEpoch: 3 });
    expect(parseProjectMetrics(JSON.stringify({ accuracy: 0.5, steps: 3 }))).toBeNull();
  });
  it.each([
    [{ ...good, formatVersion: 2 }, 'metrics.json: formatVersion 2 is not supported'],
    [{ ...good, validation: { loss: 0.5, accuracy: 1.5, macroF1: 1 } }, 'validation.accuracy 1.5 is not a fraction'],
    [{ ...good, steps: 'x' }, 'steps "x" is not a number'],
    [{ ...good, classes: [1] }, '"classes" is not a list of strings'],
  ])('refuses a damaged one, naming the field (%#)', (doc, message) => {
    expect(() => parseProjectMetrics(JSON.stringify(doc))).toThrow(PromptImportError);
    expect(() => parseProjectMetrics(JSON.stringify(doc))).toThrow(message);
  });
  it('refuses text that is not JSON', () => {
    expect(() => parseProjectMetrics('{', 'out.zip/metrics.json')).toThrow(/^out\.zip\/metrics\.json: not valid JSON/);
  });
});
