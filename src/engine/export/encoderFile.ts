/**
 * encoder.safetensors: the studio's own copy of a prompt encoder (P-tuning's MLP or LSTM + MLP, a
 * projected prefix's MLP), so an imported export trains on through its encoder. PEFT's adapter
 * holds only the encoder's output (prompt_embeddings), as PEFT's own export does.
 * Tensors: `embeddings` [N, inputDim] and every EncoderValues tensor by its name (float32);
 * metadata `encoder_type` (mlp | lstm) and `activation` (relu | tanh).
 */
import { readTensorData, writeSafetensors } from '../../model/safetensors';
import { PROMPT_ENCODER_TYPES, type PromptEncoderType } from '../types';
import { PromptImportError, type EncoderValues } from './schema';
import { openImportedSafetensors } from './tensorFiles';

export const ENCODER_FILE_NAME = 'encoder.safetensors';
const EMBEDDINGS_KEY = 'embeddings';

export function encoderSafetensors(encoder: EncoderValues, numTokens: number): Uint8Array {
  const tensors: Record<string, { data: Float32Array; shape: number[] }> = {
    [EMBEDDINGS_KEY]: { data: encoder.embeddings, shape: [numTokens, encoder.inputDim] },
  };
  for (const t of encoder.tensors) tensors[t.name] = { data: t.values, shape: t.shape };
  return writeSafetensors(tensors, { format: 'pt', encoder_type: encoder.type, activation: encoder.activation });
}

/** The encoder in `bytes`, every problem a PromptImportError naming the file (shapes are checked when the prompt is rebuilt). */
export async function readEncoderSafetensors(fileName: string, bytes: Uint8Array): Promise<EncoderValues> {
  const fail = (m: string): never => {
    throw new PromptImportError(`${fileName}: ${m}`);
  };
  const { src, header } = await openImportedSafetensors(fileName, bytes);
  const type = header.metadata.encoder_type;
  if (!(PROMPT_ENCODER_TYPES as readonly string[]).includes(type)) fail(`metadata "encoder_type" is ${JSON.stringify(type)}, expected one of ${PROMPT_ENCODER_TYPES.join(', ')}`);
  const activation = header.metadata.activation;
  if (activation !== 'relu' && activation !== 'tanh') fail(`metadata "activation" is ${JSON.stringify(activation)}, expected relu or tanh`);
  const embeddings = header.tensors.get(EMBEDDINGS_KEY) ?? fail(`no "${EMBEDDINGS_KEY}" tensor`);
  if (embeddings.shape.length !== 2) fail(`"${EMBEDDINGS_KEY}" has shape [${embeddings.shape.join(', ')}]; expected [num_virtual_tokens, width]`);
  const tensors: EncoderValues['tensors'] = [];
  for (const [name, info] of header.tensors) {
    if (name === EMBEDDINGS_KEY) continue;
    if (info.dtype !== 'F32') fail(`"${name}" has dtype ${info.dtype}; expected F32`);
    const values = await readTensorData(src, info);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) fail(`"${name}": ${values[bad]} at flat index ${bad}; values must be finite`);
    tensors.push({ name, shape: [...info.shape], values });
  }
  // The variables' order: LSTM layers by index, forward before backward, then the MLP by index.
  const rank = (name: string) => {
    const lstm = /^lstm\.(\d+)\.(forward|backward)\.(input_weight|recurrent_weight|bias)$/.exec(name);
    if (lstm) return Number(lstm[1]) * 6 + (lstm[2] === 'forward' ? 0 : 3) + ['input_weight', 'recurrent_weight', 'bias'].indexOf(lstm[3]);
    const mlp = /^mlp\.(\d+)\.(weight|bias)$/.exec(name);
    if (mlp) return 1e6 + Number(mlp[1]) * 2 + (mlp[2] === 'weight' ? 0 : 1);
    return fail(`unexpected tensor "${name}" (an encoder holds lstm.<l>.<direction>.* and mlp.<i>.* tensors)`);
  };
  tensors.sort((a, b) => rank(a.name) - rank(b.name));
  const embeddingValues = await readTensorData(src, embeddings);
  const bad = embeddingValues.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) fail(`"${EMBEDDINGS_KEY}": ${embeddingValues[bad]} at flat index ${bad}; values must be finite`);
  return { type: type as PromptEncoderType, activation: activation as EncoderValues['activation'], embeddings: embeddingValues, inputDim: embeddings.shape[1], tensors };
}
