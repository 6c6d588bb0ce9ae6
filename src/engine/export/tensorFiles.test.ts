import { describe, expect, it } from 'vitest';
import { importPrompt } from './bundle';
import { PROMPT_EMBEDDINGS_KEY, SAFETENSORS_METADATA_KEY } from './schema';
import { promptNpy, promptSafetensors } from './tensorFiles';
import { baseMeta, bits, f32, H, HASH_A, headMeta, makePrompt, N, rawSafetensors, safetensorsContents, text } from './testing';

describe('prompt.safetensors and prompt.npy', () => {
  it('prompt.safetensors holds prompt_embeddings F32 [N, H] and string metadata', async () => {
    const prompt = makePrompt();
    const file = promptSafetensors(prompt, baseMeta());
    const { header, info, data } = await safetensorsContents(file);
    expect([...header.tensors.keys()]).toEqual([PROMPT_EMBEDDINGS_KEY]);
    expect(info.dtype).toBe('F32');
    expect(info.shape).toEqual([N, H]);
    expect(bits(data!)).toEqual(bits(prompt.vectors));
    expect(header.metadata).toMatchObject({
      format: 'pt',
      model_id: 'embedded/tiny-bert',
      model_type: 'bert',
      checkpoint_hash: HASH_A,
      num_virtual_tokens: String(N),
      token_dim: String(H),
    });
    expect(Object.values(header.metadata).every((v) => typeof v === 'string')).toBe(true);
    const headerLen = Number(new DataView(file.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0);
  });

  it.each([
    { name: 'verbalizer', meta: baseMeta },
    { name: 'head', meta: headMeta },
  ])('importing prompt.safetensors ($name) restores the vectors and the metadata', async ({ meta }) => {
    const prompt = makePrompt();
    const m = meta();
    const imported = await importPrompt('prompt.safetensors', promptSafetensors(prompt, m));
    expect(imported.format).toBe('safetensors');
    expect(bits(imported.vectors)).toEqual(bits(prompt.vectors));
    expect(imported.metadata?.labelWords).toEqual(m.labelWords);
    expect(imported.metadata?.hyperparameters).toEqual(m.hyperparameters);
    if (m.head) expect(bits(imported.metadata!.head!.weights)).toEqual(bits(m.head.weights));
    expect(imported.checkpointHash).toBe(HASH_A);
    expect(imported.warnings).toEqual([]);
  });

  it('prompt.npy is float32 (N, H) and imports bit-exactly, without metadata', async () => {
    const prompt = makePrompt();
    const file = promptNpy(prompt);
    expect(text(file.subarray(10, 70))).toContain("'shape': (3, 4)");
    const imported = await importPrompt('prompt.npy', file);
    expect([imported.format, imported.numTokens, imported.dim]).toEqual(['npy', N, H]);
    expect(bits(imported.vectors)).toEqual(bits(prompt.vectors));
    expect([imported.metadata, imported.modelId, imported.checkpointHash]).toEqual([null, null, null]);
  });

  it('warns instead of failing when converting F16 embeddings', async () => {
    // 1.0 and -2.0 as IEEE half: 0x3c00, 0xc000.
    const half = new Uint8Array([0x00, 0x3c, 0x00, 0xc0]);
    const imported = await importPrompt('a.safetensors', rawSafetensors({ prompt_embeddings: { dtype: 'F16', shape: [1, 2], data_offsets: [0, 4] } }, half));
    expect(Array.from(imported.vectors)).toEqual([1, -2]);
    expect(imported.warnings.join(' ')).toMatch(/was F16; converted to F32/);
  });

  it('keeps the vectors but warns when embedded metadata is broken', async () => {
    const file = rawSafetensors(
      { __metadata__: { format: 'pt', [SAFETENSORS_METADATA_KEY]: '{"model": 3' }, prompt_embeddings: { dtype: 'F32', shape: [1, 2], data_offsets: [0, 8] } },
      f32([1, 2]),
    );
    const imported = await importPrompt('x.safetensors', file);
    expect(imported.metadata).toBeNull();
    expect(imported.warnings.join(' ')).toMatch(/x\.safetensors: its "prompt_tuning_studio" metadata is unreadable/);
  });
});
