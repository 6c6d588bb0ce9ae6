import { describe, expect, expectTypeOf, it } from 'vitest';
import { BACKEND_NAMES, REQUEST_KINDS } from './protocol';
import type {
  InitPayload,
  InitResult,
  PingResult,
  Request,
  RequestKind,
  RequestPayload,
  RequestResult,
  ResultEvent,
  WorkerEvent,
} from './protocol';

// The type assertions below fail `npm run typecheck` (tsc includes this file) if a kind
// stops fixing its payload and result types.
describe('protocol types', () => {
  it('fixes each kind payload and result', () => {
    expectTypeOf<RequestPayload<'init'>>().toEqualTypeOf<InitPayload>();
    expectTypeOf<RequestResult<'init'>>().toEqualTypeOf<InitResult>();
    expectTypeOf<RequestResult<'ping'>>().toEqualTypeOf<PingResult>();
    expectTypeOf<Request<'init'>['payload']>().toEqualTypeOf<InitPayload>();
  });

  it('narrows a request and a result event by kind', () => {
    const payloadOf = (request: Request) => (request.kind === 'init' ? request.payload.preferredBackends : undefined);
    expectTypeOf(payloadOf).returns.toEqualTypeOf<InitPayload['preferredBackends']>();

    const backendOf = (event: WorkerEvent) =>
      event.type === 'result' && event.kind === 'init' ? event.payload.backend : undefined;
    expectTypeOf(backendOf).returns.toEqualTypeOf<InitResult['backend'] | undefined>();
  });

  it('rejects a payload that belongs to another kind', () => {
    // @ts-expect-error ping's payload has no preferredBackends
    const wrong: Request = { kind: 'ping', id: 1, payload: { preferredBackends: ['cpu'] } };
    // @ts-expect-error an init result must name its backend
    const incomplete: ResultEvent<'init'> = { type: 'result', id: 1, kind: 'init', payload: { tfjsVersion: '4' } };
    expect([wrong, incomplete]).toHaveLength(2);
  });
});

describe('protocol values', () => {
  it('lists every request kind at run time', () => {
    expectTypeOf<keyof typeof REQUEST_KINDS>().toEqualTypeOf<RequestKind>();
    expect(Object.keys(REQUEST_KINDS).sort()).toEqual([
      'cancelModelLoad',
      'checkLabelWords',
      'checkTraining',
      'datasetStats',
      'engineInfo',
      'evaluatePrompt',
      'exportProject',
      'exportPrompt',
      'generate',
      'importPrompt',
      'init',
      'loadDataset',
      'loadModel',
      'pauseTraining',
      'ping',
      'predict',
      'previewTemplate',
      'resumeTraining',
      'stopSweep',
      'stopTraining',
      'suggestLabelWords',
      'sweep',
      'topTokens',
      'train',
      'trainingWarnings',
    ]);
  });

  it('tries WebGPU first and CPU last by default', () => {
    expect(BACKEND_NAMES).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
  });

  it.each<WorkerEvent>([
    { type: 'result', id: 1, kind: 'init', payload: { backend: 'wasm', fallbackReason: 'webgpu: no adapter', tfjsVersion: '4.22.0' } },
    { type: 'error', id: 2, kind: 'fineTune', error: { code: 'unknown-kind', message: 'Unknown request kind "fineTune".' } },
    { type: 'progress', id: 3, progress: { stage: 'downloading weights', fraction: 0.25 } },
    { type: 'fatal', id: -1, reason: 'WebGPU device lost (destroyed)' },
    {
      type: 'metrics',
      id: 4,
      metrics: { series: 'step', step: 10, totalSteps: 20, epoch: 1, loss: 0.5, losses: [0.6, 0.5], learningRate: 0.1, examplesPerSecond: 4, tokensPerSecond: 40, etaSeconds: Infinity, etaFromFirstStep: false, elapsedSeconds: 2 },
    },
    { type: 'metrics', id: 5, metrics: { series: 'epoch', step: 12, epoch: 1, trainLoss: 0.6, valLoss: 0.5, valAccuracy: 0.75, valMacroF1: null } },
    {
      type: 'checkpoint',
      id: 6,
      checkpoint: {
        step: 12,
        epochsDone: 1,
        values: { vectors: new Float32Array([0.5, -1]), numTokens: 1, dim: 2 },
        state: {
          step: 12, totalSteps: 20, epoch: 2, batchIndex: 0, shuffleState: 123456, variables: [new Float32Array([0.5, -1])],
          optimizer: { iterations: 12, firstMoments: [new Float32Array([0.1, 0.2])], secondMoments: [new Float32Array([0.01, 0.02])] },
          best: { loss: 0.5, epoch: 1, variables: [new Float32Array([0.5, -1])] }, epochsSinceBest: 0,
          trainLosses: [0.7, 0.6], epochs: [{ epoch: 1, step: 12, trainLoss: 0.6, validation: { loss: 0.5 } }], examplesSeen: 48, tokensSeen: 480, busySeconds: 2,
        },
      },
    },
  ])('a $type event survives postMessage (structured clone) unchanged', (event: WorkerEvent) => {
    expect(structuredClone(event)).toEqual(event);
  });
});
