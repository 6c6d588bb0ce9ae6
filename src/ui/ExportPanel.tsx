import { useId, useState } from 'react';
import type { ExportProjectResult, ExportPromptResult, ImportPromptResult, TrainOutcome } from '../shared/tasks';
import type { StudioClient } from './StudioClient';
import type { RunRecord } from './runStore';
import { downloadBytes } from './download';
import { zipOutputFolder } from './outputFolder';
import { errorText } from './format';

/** The export files, by their path in the bundle, with the button and file name for each. */
export const EXPORT_BUTTONS = [
  { path: 'prompt.json', testId: 'export.json', label: 'prompt.json', fileName: 'prompt.json', type: 'application/json', what: 'vectors + everything to reproduce them' },
  { path: 'prompt.safetensors', testId: 'export.safetensors', label: 'prompt.safetensors', fileName: 'prompt.safetensors', type: 'application/octet-stream', what: 'prompt_embeddings [N, H], F32' },
  { path: 'prompt.npy', testId: 'export.npy', label: 'prompt.npy', fileName: 'prompt.npy', type: 'application/octet-stream', what: 'NumPy float32 (N, H)' },
  { path: 'peft/adapter_config.json', testId: 'export.peftConfig', label: 'adapter_config.json', fileName: 'adapter_config.json', type: 'application/json', what: 'PEFT prompt-tuning config' },
  { path: 'peft/adapter_model.safetensors', testId: 'export.peftWeights', label: 'adapter_model.safetensors', fileName: 'adapter_model.safetensors', type: 'application/octet-stream', what: 'PEFT adapter weights' },
] as const;

/** What metrics.json in the zip holds. */
export function metricsSummary(outcome: TrainOutcome): Record<string, unknown> {
  const common = { steps: outcome.steps, stopReason: outcome.stopReason, trainSize: outcome.trainSize, valSize: outcome.valSize, epochs: outcome.epochs };
  if (outcome.task === 'classification') {
    return {
      ...common,
      classes: outcome.classes,
      zeroShotAccuracy: outcome.zeroShot?.accuracy ?? null,
      accuracy: outcome.tuned?.accuracy ?? null,
      zeroShotMacroF1: outcome.zeroShot?.macroF1 ?? null,
      macroF1: outcome.tuned?.macroF1 ?? null,
      confusionMatrix: outcome.tuned?.confusionMatrix ?? null,
      majority: outcome.majority,
      robustness: outcome.robustness,
    };
  }
  return { ...common, before: outcome.before, after: outcome.after };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

const slug = (name: string) => name.replace(/[^\p{L}\p{N}._-]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'prompt';

export interface ImportActions {
  /** Evaluate the imported prompt on the current data and template (a run without training). */
  evaluate(imported: ImportPromptResult): Promise<void>;
  /** Train further from the imported values. */
  continueTraining(imported: ImportPromptResult): Promise<void>;
  /** Take the file's template, label words, mode and prompt length into the editors. */
  applySettings(imported: ImportPromptResult): void;
  /** Why evaluate/continue cannot run now (no data, no model, training busy), or null. */
  blocked: string | null;
}

/** Step 6: download each export file or the zip; import a prompt to evaluate it or continue training. */
export function ExportPanel({ client, run, actions }: { client: StudioClient; run: RunRecord | null; actions: ImportActions }) {
  const ids = useId();
  const [cache, setCache] = useState<{ runId: string; updatedAt: string; result: ExportPromptResult } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [imported, setImported] = useState<ImportPromptResult | null>(null);
  const [importError, setImportError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [acting, setActing] = useState(false);
  const [project, setProject] = useState<{ runId: string; result: ExportProjectResult } | null>(null);
  const [projectError, setProjectError] = useState<string | null>(null);
  const [projectBusy, setProjectBusy] = useState(false);
  const outcome = run?.outcome ?? null;

  const downloadProject = async () => {
    if (!run || !outcome) return;
    setProjectError(null);
    setProjectBusy(true);
    try {
      const result = await client.call('exportProject', { spec: run.spec, config: run.config, prompt: outcome.prompt });
      setProject({ runId: run.id, result });
      downloadBytes(result.zip, `${slug(run.name)}-project.zip`, 'application/zip');
    } catch (e) {
      setProjectError(errorText(e));
    } finally {
      setProjectBusy(false);
    }
  };

  const files = async (): Promise<ExportPromptResult | null> => {
    if (!run || !outcome) return null;
    if (cache && cache.runId === run.id && cache.updatedAt === run.updatedAt) return cache.result;
    const result = await client.call('exportPrompt', { prompt: outcome.prompt, meta: outcome.meta, metrics: metricsSummary(outcome) });
    setCache({ runId: run.id, updatedAt: run.updatedAt, result });
    return result;
  };
  const download = async (which: (typeof EXPORT_BUTTONS)[number] | 'zip') => {
    setError(null);
    try {
      const result = await files();
      if (!result || !run) return;
      if (which === 'zip') downloadBytes(result.zip, `${slug(run.name)}.zip`, 'application/zip');
      else downloadBytes(result.files.find((f) => f.path === which.path)!.bytes, which.fileName, which.type);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const importBytes = async (read: () => Promise<{ name: string; bytes: Uint8Array }>) => {
    setImportError(null);
    setActionError(null);
    setImported(null);
    try {
      const { name, bytes } = await read();
      setImported(await client.call('importPrompt', { fileName: name, bytes }));
    } catch (e) {
      setImportError(errorText(e));
    }
  };
  const importFile = async (file: File | undefined) => {
    if (!file) return;
    await importBytes(async () => ({ name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) }));
  };
  const importFolder = async (files: File[]) => {
    if (files.length === 0) return;
    await importBytes(() => zipOutputFolder(files));
  };
  const pm = imported?.projectMetrics ?? null;
  // The studio's own evaluation of this import, once it has run (the selected run made from it).
  const studioEval = imported && run?.importedFrom === imported.fileName && run.outcome?.task === 'classification' ? (run.outcome.tuned?.accuracy ?? null) : null;
  const act = async (action: (i: ImportPromptResult) => Promise<void>) => {
    if (!imported) return;
    setActing(true);
    setActionError(null);
    try {
      await action(imported);
    } catch (e) {
      setActionError(errorText(e));
    } finally {
      setActing(false);
    }
  };
  const compatErrors = imported?.compatibility?.errors ?? [];

  return (
    <section className="panel" aria-labelledby={`${ids}-h`} data-testid="export.panel">
      <h2 id={`${ids}-h`}>6. Export and import</h2>
      {!outcome ? (
        <p className="muted">Finish or stop a run to download its prompt.</p>
      ) : (
        <>
          <p className="muted">Prompt of “{run!.name}”: {outcome.prompt.numTokens} vectors × {outcome.prompt.dim}{outcome.prompt.head ? ' plus a linear head' : ''}.</p>
          <div className="export-buttons">
            {EXPORT_BUTTONS.map((b) => (
              <button key={b.path} type="button" className="secondary" data-testid={b.testId} title={b.what} onClick={() => void download(b)}>
                {b.label}
              </button>
            ))}
            <button type="button" data-testid="export.zip" title="every file above, metrics.json, and a README.md saying what each is and how to load the adapter with PEFT" onClick={() => void download('zip')}>
              All as .zip
            </button>
            <button
              type="button"
              className="secondary"
              data-testid="export.project"
              disabled={projectBusy || outcome.task !== 'classification'}
              title={
                outcome.task === 'classification'
                  ? "train.py (transformers + PEFT + Accelerate, the studio's objective), the data as the studio split it (the data loaded now), the settings, accelerate configs (DDP, several machines, FSDP), requirements.txt and a README: for GPUs and clusters"
                  : 'A project is made for classification runs; generation is not exported as a project yet'
              }
              onClick={() => void downloadProject()}
            >
              Train at scale (PEFT + Accelerate project)
            </button>
          </div>
          {projectError && (
            <p className="note note-error" role="alert" data-testid="export.project.error">
              {projectError}
            </p>
          )}
          {project?.runId === run!.id && (
            <ul className="muted notes" data-testid="export.project.notes">
              {project.result.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          )}
          {error && (
            <p className="note note-error" role="alert" data-testid="export.error">
              {error}
            </p>
          )}
          {cache?.runId === run!.id && cache.result.notes.length > 0 && (
            <ul className="muted notes" data-testid="export.notes">
              {cache.result.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          )}
        </>
      )}
      <div className="import">
        <label htmlFor={`${ids}-import`}>Import a prompt (prompt.json, .safetensors, .npy or an export .zip)</label>
        <input id={`${ids}-import`} type="file" accept=".json,.safetensors,.npy,.zip" data-testid="export.import" onChange={(e) => (void importFile(e.target.files?.[0]), (e.target.value = ''))} />
        <label htmlFor={`${ids}-import-folder`}>or a “Train at scale” project's output folder</label>
        <input
          id={`${ids}-import-folder`}
          type="file"
          data-testid="export.importFolder"
          {...{ webkitdirectory: '', directory: '' }}
          onChange={(e) => (void importFolder([...(e.target.files ?? [])]), (e.target.value = ''))}
        />
        {importError && (
          <p className="note note-error" role="alert" data-testid="export.import.error">
            {importError}
          </p>
        )}
        {imported && (
          <div data-testid="export.import.summary">
            <p>
              <strong>{imported.fileName}</strong> ({imported.format}): {imported.prompt.numTokens} vectors × {imported.prompt.dim}
              {imported.modelId ? `, tuned on “${imported.modelId}”` : ''}
              {imported.metadata ? `, template “${imported.metadata.template}”` : ''}.
            </p>
            {pm && (
              <p data-testid="export.import.projectMetrics">
                Project run ({pm.modelId}, {pm.processes} process{pm.processes === 1 ? '' : 'es'}, {pm.steps} steps, {pm.stopReason}): best validation accuracy{' '}
                <strong>{pm.validation ? pct(pm.validation.accuracy) : 'not measured'}</strong>
                {pm.bestEpoch !== null ? ` (epoch ${pm.bestEpoch})` : ''} on {pm.valSize} rows
                {pm.zeroShot ? `, zero-shot ${pct(pm.zeroShot.accuracy)}` : ''}
                {studioEval !== null ? (
                  <>
                    ; the studio's evaluation on the current data: <strong data-testid="export.import.studioAccuracy">{pct(studioEval)}</strong>
                  </>
                ) : (
                  '; Evaluate on the current data to compare.'
                )}
              </p>
            )}
            {compatErrors.map((m) => (
              <p key={m} className="note note-error" role="alert" data-testid="export.import.error">
                {m}
              </p>
            ))}
            {[...(imported.compatibility?.warnings ?? imported.warnings)].map((m) => (
              <p key={m} className="note note-warn" data-testid="export.import.warning">
                {m}
              </p>
            ))}
            {!imported.compatibility && <p className="muted">Load a model to check the prompt against it.</p>}
            <div className="row">
              {imported.metadata && (
                <button type="button" className="secondary" data-testid="export.import.apply" onClick={() => actions.applySettings(imported)}>
                  Use its template and settings
                </button>
              )}
              <button type="button" data-testid="export.import.evaluate" disabled={acting || actions.blocked !== null || compatErrors.length > 0} onClick={() => void act(actions.evaluate)}>
                Evaluate on the current data
              </button>
              <button type="button" data-testid="export.import.train" disabled={acting || actions.blocked !== null || compatErrors.length > 0} onClick={() => void act(actions.continueTraining)}>
                Continue training
              </button>
            </div>
            {actions.blocked && <p className="muted">{actions.blocked}</p>}
            {actionError && (
              <p className="note note-error" role="alert" data-testid="export.import.actionError">
                {actionError}
              </p>
            )}
          </div>
        )}
      </div>
    </section>
  );
}
