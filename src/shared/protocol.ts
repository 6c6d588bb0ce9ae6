/**
 * The messages between the UI (StudioClient) and the worker. Data only: types and
 * constant tables, nothing that runs on import.
 *
 * A request is `{kind, id, payload}`. The worker answers each request with exactly one
 * `result` or `error` event carrying the same id, and may send any number of `progress`,
 * `metrics` and `checkpoint` events with that id before it. The studio's payload and result
 * types live in `tasks.ts`.
 *
 * To add a request kind, add one entry to `RequestMap`: its payload type and its result
 * type. The union types, the worker's handler and the client's `call()` follow from it.
 */

import type { LmKind, ModelType, RopeScaling } from '../model/types';
import type {
  CheckLabelWordsPayload,
  CheckTrainingPayload,
  TrainingCheck,
  Checkpoint,
  DatasetInfo,
  DatasetStats,
  DatasetStatsPayload,
  EngineInfo,
  EvaluatePromptPayload,
  ExportPromptPayload,
  ExportPromptResult,
  ExportProjectPayload,
  ExportProjectResult,
  GeneratePayload,
  GenerateResult,
  ImportPromptPayload,
  ImportPromptResult,
  LabelWordsCheck,
  LabelWordSuggestions,
  LoadDatasetPayload,
  TrainingEvent,
  PredictPayload,
  PredictResult,
  PreviewTemplatePayload,
  SuggestLabelWordsPayload,
  TemplatePreview,
  TrainControlPayload,
  TrainControlResult,
  TrainingWarning,
  TrainingWarningsPayload,
  TrainOutcome,
  TrainPayload,
} from './tasks';
import type { StopSweepPayload, StopSweepResult, SweepOutcome, SweepPayload } from './sweep';

export type * from './tasks';

/** tfjs backends the worker can run on, fastest first (the default trial order). */
export const BACKEND_NAMES = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface InitPayload {
  /** Backends to try, in order. Omitted: every one of `BACKEND_NAMES`, in that order. */
  preferredBackends?: BackendName[];
}

export interface InitResult {
  backend: BackendName;
  /** Set when `backend` is not the first one tried: why each earlier one was skipped. */
  fallbackReason?: string;
  /** `tf.version.tfjs` inside the worker. */
  tfjsVersion: string;
  /** On WebGPU: the adapter, e.g. "nvidia / ampere (NVIDIA RTX 3060)" or "google / swiftshader (…), software". */
  gpu?: string;
  /** On WebGPU: true when the adapter is a software rasteriser (correct, but slower than wasm). */
  softwareGpu?: boolean;
  /**
   * Set when the page named no backend and WebGPU's adapter is a software rasteriser, so wasm was
   * tried first and runs: that adapter, e.g. "google / swiftshader (…), software". `?backend=webgpu` forces WebGPU.
   */
  skippedSoftwareGpu?: string;
  /** On wasm: the threads its kernels run on (tfjs's threaded SIMD build; 1 when single-threaded). */
  wasmThreads?: number;
  /** On wasm, when it runs single-threaded: why, e.g. "the page is not cross-origin isolated (no COOP/COEP headers)". */
  wasmSingleThreaded?: string;
}

export type EmptyPayload = Record<string, never>;
export type PingPayload = EmptyPayload;

export interface PingResult {
  pong: true;
}

/** Where a checkpoint folder (HF layout) comes from. */
export type ModelSource =
  | { kind: 'url'; url: string; /** Shown to the user and recorded in exports. */ id: string }
  | { kind: 'files'; label: string; files: File[] }
  | {
      /** A Hugging Face Hub repo, read from the browser cache when it is there. */
      kind: 'hub';
      /** "org/name" (or a legacy id like "gpt2"). */
      repo: string;
      /** Branch, tag or commit; "main" when omitted. */
      revision?: string;
      /** The Hub or a mirror; https://huggingface.co when omitted. */
      endpoint?: string;
      /** Access token for gated or private repos: used for this load only, sent only to the endpoint. */
      token?: string;
    };

export interface LoadModelPayload {
  source: ModelSource;
}

/** What the UI shows about a loaded model. */
export interface ModelSummary {
  id: string;
  modelType: ModelType;
  lmKind: LmKind;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  vocabSize: number;
  maxPositions: number;
  parameters: number;
  weightBytes: number;
  /** False for a checkpoint without its LM head: only the linear-head mode works. */
  hasLmHead: boolean;
  checkpointHash: string;
  /** "[MASK]" / "<mask>" for encoders, null for decoders. */
  maskToken: string | null;
  /** Instruct checkpoints: their chat template rendered around one user message; absent or null when the checkpoint has none. */
  chatTemplate?: ChatTemplateOption | null;
  /** The safetensors dtypes the weights are stored in, most tensors first ("BF16"); on the device they are float32. */
  weightDtypes?: string[];
  /** Llama-family decoders (llama, mistral, qwen2, qwen3): what differs between them; absent for BERT-style encoders and GPT-2. */
  decoder?: DecoderSummary;
}

export interface DecoderSummary {
  /** Key/value heads: numHeads / numKeyValueHeads query heads share each (grouped-query attention; 1 = multi-query). */
  numKeyValueHeads: number;
  headDim: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  /** True when the LM head is the token embedding matrix (tie_word_embeddings). */
  tiedHead: boolean;
  /** Tokens each position attends back over; null when attention is full. */
  slidingWindow: number | null;
  attentionBias: 'none' | 'qkv' | 'qkvo';
  qkNorm: boolean;
}

/**
 * A checkpoint's chat template (tokenizer_config.json `chat_template`, Jinja) rendered by the session
 * for one user turn and the assistant's reply to come: the studio template goes between `before`
 * and `after` as the user's message, and the label (or generated text) is what follows `after`.
 */
export type ChatTemplateOption =
  | { ok: true; before: string; after: string }
  /** The template could not be rendered, or its text would be read as studio template syntax. */
  | { ok: false; error: string };

export interface TopTokensPayload {
  /** Encoders: a text with one mask token. Decoders: the text to continue. */
  text: string;
  k: number;
}

export interface TopTokensResult {
  position: number;
  tokens: { id: number; token: string; prob: number }[];
}

/** Every request kind: what it sends and what its `result` event carries. */
export interface RequestMap {
  init: { payload: InitPayload; result: InitResult };
  ping: { payload: PingPayload; result: PingResult };
  loadModel: { payload: LoadModelPayload; result: ModelSummary };
  /** Aborts the model load in flight (which then fails as cancelled). */
  cancelModelLoad: { payload: EmptyPayload; result: { cancelled: boolean } };
  topTokens: { payload: TopTokensPayload; result: TopTokensResult };
  engineInfo: { payload: EmptyPayload; result: EngineInfo };
  /** Parses a CSV in the worker (progress events while it reads); the rows stay there. */
  loadDataset: { payload: LoadDatasetPayload; result: DatasetInfo };
  datasetStats: { payload: DatasetStatsPayload; result: DatasetStats };
  /** What would make a run on the loaded data meaningless (one class, no validation rows, ...): the page asks before Start. */
  trainingWarnings: { payload: TrainingWarningsPayload; result: TrainingWarning[] };
  previewTemplate: { payload: PreviewTemplatePayload; result: TemplatePreview };
  checkLabelWords: { payload: CheckLabelWordsPayload; result: LabelWordsCheck };
  /** Everything the run would refuse with these settings, and the init it would fall back to, before Start. */
  checkTraining: { payload: CheckTrainingPayload; result: TrainingCheck };
  suggestLabelWords: { payload: SuggestLabelWordsPayload; result: LabelWordSuggestions };
  /** Metrics events (a `TrainingEvent`: step, epoch, zeroShot) and checkpoint events until it answers. */
  train: { payload: TrainPayload; result: TrainOutcome };
  pauseTraining: { payload: TrainControlPayload; result: TrainControlResult };
  resumeTraining: { payload: TrainControlPayload; result: TrainControlResult };
  stopTraining: { payload: TrainControlPayload; result: TrainControlResult };
  /** Zero-shot vs a given prompt on the validation split, without training (an import). */
  evaluatePrompt: { payload: EvaluatePromptPayload; result: TrainOutcome };
  predict: { payload: PredictPayload; result: PredictResult };
  generate: { payload: GeneratePayload; result: GenerateResult };
  exportPrompt: { payload: ExportPromptPayload; result: ExportPromptResult };
  importPrompt: { payload: ImportPromptPayload; result: ImportPromptResult };
  /** "Train at scale": the run as a transformers + PEFT + Accelerate project (src/engine/export/project.ts), on the loaded data and model. */
  exportProject: { payload: ExportProjectPayload; result: ExportProjectResult };
  /**
   * Trials one after another (src/shared/sweep.ts), each an ordinary run: per trial a `trialStart`
   * metrics event, the run's own metrics and checkpoint events, a `trialEnd`; then the winner's
   * held-out test (`heldOut`).
   */
  sweep: { payload: SweepPayload; result: SweepOutcome };
  /** Stops the sweep's running trial (it checkpoints) and starts no more. */
  stopSweep: { payload: StopSweepPayload; result: StopSweepResult };
}

export type RequestKind = keyof RequestMap;

/** Every request kind at run time; the type makes it list exactly the keys of `RequestMap`. */
export const REQUEST_KINDS: { readonly [K in RequestKind]: true } = {
  init: true,
  ping: true,
  loadModel: true,
  cancelModelLoad: true,
  topTokens: true,
  engineInfo: true,
  loadDataset: true,
  datasetStats: true,
  trainingWarnings: true,
  previewTemplate: true,
  checkLabelWords: true,
  checkTraining: true,
  suggestLabelWords: true,
  train: true,
  pauseTraining: true,
  resumeTraining: true,
  stopTraining: true,
  evaluatePrompt: true,
  predict: true,
  generate: true,
  exportPrompt: true,
  importPrompt: true,
  exportProject: true,
  sweep: true,
  stopSweep: true,
};
export type RequestPayload<K extends RequestKind> = RequestMap[K]['payload'];
export type RequestResult<K extends RequestKind> = RequestMap[K]['result'];

/** Unique per client; an event's id says which request it belongs to. */
export type RequestId = number;

/** `Request<'init'>` is one request; plain `Request` is the union of all of them. */
export type Request<K extends RequestKind = RequestKind> = {
  [P in K]: { kind: P; id: RequestId; payload: RequestPayload<P> };
}[K];

export type ResultEvent<K extends RequestKind = RequestKind> = {
  [P in K]: { type: 'result'; id: RequestId; kind: P; payload: RequestResult<P> };
}[K];

/**
 * - `bad-request`: the message is not `{kind, id, payload}`.
 * - `unknown-kind`: no request of that kind exists (a newer UI than worker, or a typo).
 * - `task-failed`: the task itself threw.
 */
export type ErrorCode = 'bad-request' | 'unknown-kind' | 'task-failed';

export interface ProtocolError {
  code: ErrorCode;
  message: string;
  /** The thrown error's `name` (`Error`, `TypeError`, ...), when there was one. */
  name?: string;
  stack?: string;
}

export interface ErrorEvent {
  type: 'error';
  /** The request's id; -1 when the message was too malformed to carry one. */
  id: RequestId;
  /** The request's kind as sent (it may not be a known kind). */
  kind?: string;
  error: ProtocolError;
}

export interface Progress {
  /** What is happening, for a status line: "downloading weights", "tokenising". */
  stage: string;
  /** 0..1 when known. */
  fraction?: number;
  message?: string;
}

export interface ProgressEvent {
  type: 'progress';
  id: RequestId;
  progress: Progress;
}

export interface MetricsEvent {
  type: 'metrics';
  id: RequestId;
  metrics: TrainingEvent;
}

/** Training: the prompt's values after some steps, for the UI to persist. */
export interface CheckpointEvent {
  type: 'checkpoint';
  id: RequestId;
  checkpoint: Checkpoint;
}

/**
 * The worker cannot go on (its WebGPU device was lost): it answers nothing more, and the client
 * starts a new worker. Belongs to no request.
 */
export interface FatalEvent {
  type: 'fatal';
  /** Always -1: no request's. */
  id: RequestId;
  reason: string;
}

/**
 * Test only: the page's `panel` throws while rendering, as a bug would, so the page's error
 * boundary can be tested. Sent only by the worker's fault hook (src/worker/faults.ts), which page
 * scripts cannot reach. Belongs to no request.
 */
export interface TestFaultEvent {
  type: 'testFault';
  /** Always -1: no request's. */
  id: RequestId;
  panel: FaultPanel;
}

/** The panels a test fault can break (each calls useInjectedFault). */
export type FaultPanel = 'results';

export type WorkerEvent = ResultEvent | ErrorEvent | ProgressEvent | MetricsEvent | CheckpointEvent | FatalEvent | TestFaultEvent;

/** What a request may send besides its result: the events of its own id. */
export interface RequestEvents {
  progress(progress: Progress): void;
  metrics(event: TrainingEvent): void;
  /** Training: a resumable state for the UI to persist. */
  checkpoint(checkpoint: Checkpoint): void;
}

/** One method per request kind: what the worker serves (the studio session, plus the worker's own init and ping). */
export type StudioApi = {
  [K in RequestKind]: (payload: RequestPayload<K>, events: RequestEvents) => Promise<RequestResult<K>> | RequestResult<K>;
};
