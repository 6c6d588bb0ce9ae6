import * as tf from '@tensorflow/tfjs';
import type { WorkerApi } from './handler';
import { describeFailures, selectTfjsBackend, webGpuAdapter, webGpuAdapterLine } from './backend';
import type { LoadedModel } from '../model/loader';
import { loadFromSource } from '../model/hubLoad';
import { deviceLimits } from '../model/hubInspect';
import { topTokens } from '../model/predict';
import type { ModelSummary } from '../shared/protocol';
import { createStudioTasks } from './studioTasks';

/** The worker's side of every request kind. Engine work is delegated to src/engine as it lands. */
export function createWorkerApi(): WorkerApi {
  let loaded: { model: LoadedModel; id: string } | null = null;
  const requireModel = (): LoadedModel => {
    if (!loaded) throw new Error('no model is loaded: load one first');
    return loaded.model;
  };
  return {
    async init({ preferredBackends }, { progress }) {
      progress({ stage: 'choosing backend' });
      const { backend, failures } = await selectTfjsBackend(preferredBackends);
      return {
        backend,
        ...(failures.length > 0 ? { fallbackReason: describeFailures(failures) } : {}),
        tfjsVersion: tf.version.tfjs,
        ...(backend === 'webgpu' && webGpuAdapter ? { gpu: webGpuAdapterLine(), softwareGpu: webGpuAdapter.software } : {}),
      };
    },
    ping() {
      return { pong: true };
    },
    async loadModel({ source }, { progress }) {
      // Hub downloads, caching, checks and cancellation live in src/model/hubLoad.ts.
      const { model, id } = await loadFromSource(source, { progress, limits: deviceLimits() });
      loaded?.model.model.dispose();
      loaded = { model, id };
      return summarize(id, model);
    },
    topTokens({ text, k }) {
      return topTokens(requireModel(), text, k);
    },
    ...createStudioTasks(() => (loaded ? { ...loaded.model, id: loaded.id } : null)),
  };
}

function summarize(id: string, { config, tokenizer, model, checkpointHash, weightBytes, parameters }: LoadedModel): ModelSummary {
  return {
    id,
    modelType: config.modelType,
    lmKind: config.lmKind,
    hiddenSize: config.hiddenSize,
    numLayers: config.numLayers,
    numHeads: config.numHeads,
    vocabSize: config.vocabSize,
    maxPositions: config.maxPositions,
    parameters,
    weightBytes,
    hasLmHead: model.hasLmHead,
    checkpointHash,
    maskToken: tokenizer.maskToken,
  };
}
