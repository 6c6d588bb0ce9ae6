import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { zipOutputFolder } from './outputFolder';

/** A File as a folder pick gives it: its path below the picked folder's parent in webkitRelativePath. */
const picked = (path: string, text: string) => Object.defineProperty(new File([text], path.split('/').pop()!), 'webkitRelativePath', { value: path });

describe('zipOutputFolder (a "Train at scale" output folder picked for import)', () => {
  it("zips the output folder's known files under their paths, nothing else", async () => {
    const { name, bytes } = await zipOutputFolder([
      picked('output/prompt.json', 'P'),
      picked('output/metrics.json', 'M'),
      picked('output/peft/adapter_model.safetensors', 'W'),
      picked('output/peft/adapter_config.json', 'C'),
      picked('output/members/2/prompt.json', 'P2'),
      picked('output/notes.txt', 'x'),
    ]);
    expect(name).toBe('output.zip');
    const files = unzipSync(bytes);
    expect(Object.keys(files).sort()).toEqual(['metrics.json', 'peft/adapter_config.json', 'peft/adapter_model.safetensors', 'prompt.json']);
    expect(new TextDecoder().decode(files['prompt.json'])).toBe('P');
  });

  it("takes the project folder's output/, never its initial_prompt/", async () => {
    const { name, bytes } = await zipOutputFolder([
      picked('run7/initial_prompt/prompt.json', 'start'),
      picked('run7/train.py', 'code'),
      picked('run7/output/prompt.json', 'trained'),
      picked('run7/output/metrics.json', 'M'),
    ]);
    expect(name).toBe('run7.zip');
    const files = unzipSync(bytes);
    expect(Object.keys(files).sort()).toEqual(['metrics.json', 'prompt.json']);
    expect(new TextDecoder().decode(files['prompt.json'])).toBe('trained');
  });

  it('says what it looked for in a folder without output files', async () => {
    await expect(zipOutputFolder([picked('data/train.csv', 'a,b')])).rejects.toThrow("data: none of prompt.json, metrics.json, peft/adapter_config.json, peft/adapter_model.safetensors, adapter_config.json, adapter_model.safetensors in it (pick the project's output folder)");
  });
});
