import { useEffect, useMemo, useRef, useState } from 'react';
import type { ModelSource, ModelSummary } from '../shared/protocol';
import type { EngineInfo, ImportPromptResult } from '../shared/tasks';
import type { StudioClient } from './StudioClient';
import { ModelPanel, type ModelRequest } from './ModelPanel';
import { DataPanel } from './DataPanel';
import { TemplatePanel } from './TemplatePanel';
import { TrainingPanel } from './TrainingPanel';
import { ResultsPanel } from './ResultsPanel';
import { ExportPanel, type ImportActions } from './ExportPanel';
import { useDataset } from './useDataset';
import { useRuns } from './useRuns';
import { newRunId, useTrainer } from './useTrainer';
import { useSweep } from './useSweep';
import { SweepPanel } from './SweepPanel';
import type { SweepView } from './sweeps';
import type { SweepPlan } from '../shared/sweep';
import { useTemplateChecks } from './useTemplateChecks';
import { useTrainingCheck } from './useTrainingCheck';
import { useTrainingWarnings } from './useTrainingWarnings';
import { RestartNotice } from './RestartNotice';
import { datasetKey, type RunRecord } from './runStore';
import { answerColumn, defaultLabelWords, defaultTemplate, mappingProblems, taskSpec, templateColumns } from './mapping';
import { draftFrom, parseDraft, type ConfigDraft } from './trainingConfig';
import { errorText } from './format';
import { samplePreset } from '../shared/samples';
import { changedSettings, datasetName, modelName, modelSourceOf, sessionModel, SESSION_VERSION, type RestoreReport, type SessionModel, type SessionRecord } from './savedSession';
import { useSavedSession } from './useSavedSession';
import { DEFAULT_SWEEP_DRAFT, sweepDraftChanged, type SweepDraft } from './sweepDraft';
import { SessionBar } from './SessionBar';
import type { DatasetSource } from '../shared/tasks';
import type { ModelLoadOutcome } from './hub/useModelLoad';

/** The studio. "Start fresh" mounts its panels anew: empty editors, nothing restored; the runs stay. */
export function Studio({ client, engine }: { client: StudioClient; engine: EngineInfo }) {
  const [fresh, setFresh] = useState(0);
  return <StudioPanels key={fresh} client={client} engine={engine} onFresh={() => setFresh((n) => n + 1)} />;
}

/** The studio's panels, in the order a run is made: data, model, template, training, results, export. */
function StudioPanels({ client, engine, onFresh }: { client: StudioClient; engine: EngineInfo; onFresh(): void }) {
  const [model, setModel] = useState<ModelSummary | null>(null);
  // Where the loaded model came from, as the saved session keeps it; the load a restore asks for.
  const [modelSource, setModelSource] = useState<SessionModel | null>(null);
  const [modelRequest, setModelRequest] = useState<ModelRequest | null>(null);
  const [draft, setDraft] = useState<ConfigDraft>(() => draftFrom(engine.defaults));
  const { config, errors: configErrors } = parseDraft(draft);
  const [template, setTemplateText] = useState('');
  const [templateEdited, setTemplateEdited] = useState(false);
  const [labelWords, setLabelWords] = useState<Record<string, string>>({});
  const [sweepDraft, setSweepDraft] = useState<SweepDraft>(DEFAULT_SWEEP_DRAFT);
  const [selectedRunId, setSelectedRunId] = useState<string | null>(null);
  const [overlayIds, setOverlayIds] = useState<ReadonlySet<string>>(new Set());
  const [resumeErrors, setResumeErrors] = useState<Record<string, string>>({});

  const used = templateColumns(template);
  const data = useDataset(client, { valFraction: Number(draft.valFraction), seed: Number(draft.seed) }, used.length ? used : null);
  const runs = useRuns();
  const trainer = useTrainer(client, runs);
  const sweep = useSweep(client, runs);
  const { info, mapping, stats } = data;
  const task = mapping.task;

  // The classes of the label column, in name order (the order of the label words and the metrics).
  const classes = useMemo(() => (task === 'classification' && stats ? stats.classes.map((c) => c.name).sort() : []), [task, stats]);
  // A sample loaded from the list comes with its own template and label words (src/shared/samples.ts).
  const preset = data.source?.kind === 'url' ? samplePreset(data.source.name) : undefined;
  // The key of a dataset a restored session is loading: it keeps the session's template and words, not the sample's.
  const restoringDataset = useRef<string | null>(null);
  useEffect(() => {
    if (data.source && restoringDataset.current === datasetKey(data.source)) {
      restoringDataset.current = null;
      return;
    }
    if (!preset) return;
    setTemplateEdited(false);
    if (preset.labelWords) setLabelWords((current) => ({ ...current, ...Object.fromEntries(Object.entries(preset.labelWords!).map(([c, ws]) => [c, ws.join(', ')])) }));
  }, [preset?.file, info]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    setLabelWords((current) => {
      const missing = classes.filter((c) => !(c in current));
      return missing.length ? { ...current, ...Object.fromEntries(missing.map((c) => [c, defaultLabelWords(c, preset)])) } : current;
    });
  }, [classes]); // eslint-disable-line react-hooks/exhaustive-deps

  // A starting template for the model and columns (or the sample's own), until the user edits it.
  const mappingKey = `${model?.lmKind}|${task}|${mapping.textColumns.join(',')}|${preset?.file}`;
  useEffect(() => {
    if (!templateEdited && model && mapping.textColumns.length) setTemplateText(defaultTemplate(model.lmKind, mapping, preset));
  }, [mappingKey, templateEdited]); // eslint-disable-line react-hooks/exhaustive-deps

  const wordsForClasses = Object.fromEntries(classes.map((c) => [c, labelWords[c] ?? '']));
  const anyWords = Object.values(wordsForClasses).some((w) => w.trim() !== '');
  const usesWords = task === 'classification' && (draft.mode === 'verbalizer' || anyWords);
  const checks = useTemplateChecks(client, {
    key: model && info ? `${model.id}|${info.name}|${info.rowCount}|${info.bytes}` : null,
    task,
    template,
    // A prefix (prefix tuning) sits at every layer, not in the text: the template then has no soft tokens.
    promptLength: draft.method === 'prefix' ? 0 : Number(draft.promptLength) || 0,
    targetColumn: mapping.targetColumn,
    labelWords: usesWords && classes.length ? wordsForClasses : null,
    mode: draft.mode,
  });

  useEffect(() => {
    if (trainer.runId) setSelectedRunId(trainer.runId);
  }, [trainer.runId]);
  useEffect(() => {
    if (sweep.runId) setSelectedRunId(sweep.runId);
  }, [sweep.runId]);
  useEffect(() => {
    if (runs.ready && selectedRunId === null && runs.runs.length) setSelectedRunId(runs.runs[runs.runs.length - 1].id);
  }, [runs.ready]); // eslint-disable-line react-hooks/exhaustive-deps

  /** Puts a saved session back: editors first, then the dataset and the model (loaded again from where they came). */
  const restoreSession = async (record: SessionRecord, storedDataset: DatasetSource | null): Promise<RestoreReport> => {
    setDraft(record.draft);
    setLabelWords(record.labelWords);
    setTemplateText(record.template);
    setTemplateEdited(record.templateEdited);
    setSweepDraft(record.sweep);
    const source = record.model ? modelSourceOf(record.model, document.baseURI) : null;
    // The record's model as it was saved (a Hub model's note that it needed a token survives the load from the cache).
    setModelSource(record.model);
    const modelLoad = source ? new Promise<ModelLoadOutcome>((onDone) => setModelRequest({ source, onDone })) : null;
    let dataset: RestoreReport['dataset'] = null;
    if (record.dataset) {
      if (!storedDataset) dataset = { name: record.dataset.name, outcome: 'not-stored' };
      else {
        restoringDataset.current = datasetKey(storedDataset);
        const loaded = await data.load(storedDataset);
        if (loaded) {
          const m = record.mapping;
          if (m && [...m.textColumns, m.labelColumn, m.targetColumn].every((c) => c === '' || loaded.columns.includes(c))) data.setMapping(m);
          dataset = { name: loaded.name, outcome: 'restored' };
        } else {
          restoringDataset.current = null;
          dataset = { name: record.dataset.name, outcome: 'failed' };
        }
      }
    }
    let restoredModel: RestoreReport['model'] = null;
    if (record.model) {
      const name = modelName(record.model);
      const outcome = modelLoad ? await modelLoad : null;
      if (!outcome) restoredModel = { name, outcome: 'needs-files' };
      else if (outcome.summary) restoredModel = { name, outcome: 'restored' };
      else restoredModel = { name, outcome: record.model.kind === 'hub' && record.model.usedToken ? 'needs-token' : 'failed', error: outcome.error };
    }
    return {
      dataset,
      model: restoredModel,
      template: record.templateEdited,
      labelWords: Object.values(record.labelWords).some((w) => w.trim() !== ''),
      settings: changedSettings(record.draft, draftFrom(engine.defaults)),
      sweep: sweepDraftChanged(record.sweep),
    };
  };
  const onModelLoaded = (summary: ModelSummary, source: ModelSource) => {
    setModel(summary);
    // A Hub model loaded again from the cache keeps the note that it needed a token.
    const next = sessionModel(source);
    setModelSource((prev) => (next.kind === 'hub' && prev?.kind === 'hub' && prev.usedToken && prev.repo === next.repo && prev.endpoint === next.endpoint ? { ...next, usedToken: true } : next));
  };
  const session = useSavedSession({
    current: {
      record: {
        version: SESSION_VERSION,
        savedAt: '',
        dataset: data.source ? { key: datasetKey(data.source), name: datasetName(data.source) } : null,
        mapping: data.source ? mapping : null,
        model: modelSource,
        template,
        templateEdited,
        labelWords,
        draft,
        sweep: sweepDraft,
      },
      datasetSource: data.source,
    },
    defaults: draftFrom(engine.defaults),
    inits: engine.inits,
    restore: restoreSession,
    // Until the runs are read, every dataset counts as used (none is deleted).
    datasetInUse: (key) => !runs.ready || runs.runs.some((r) => r.datasetKey === key),
  });

  const selectedRun = runs.runs.find((r) => r.id === selectedRunId) ?? null;
  const overlays = runs.runs.filter((r) => overlayIds.has(r.id) && r.id !== selectedRunId);

  const blockers: string[] = [];
  if (!info) blockers.push('Load a dataset (step 1).');
  if (!model) blockers.push('Load a model (step 2).');
  if (info) blockers.push(...mappingProblems(mapping, info.columns).map((p) => `Data: ${p}.`));
  if (info && data.statsError) blockers.push(`Data: ${data.statsError}`);
  if (stats && stats.kept === 0) blockers.push('Data: no rows left to train on.');
  if (stats && task === 'classification' && stats.distinctLabels < 2) blockers.push('Data: classification needs at least two classes.');
  if (model && task === 'generation' && model.lmKind !== 'causal-lm') blockers.push('Generation needs a causal LM (GPT-2, Llama, Mistral, Qwen): load one in step 2.');
  if (model && !model.hasLmHead && draft.mode === 'verbalizer') blockers.push('This checkpoint has no LM head: choose the linear-head mode.');
  if (task === 'generation' && draft.mode === 'head') blockers.push('Generation trains the prompt only: choose the label-words mode.');
  if (checks.previewError) blockers.push(`Template: ${checks.previewError}`);
  if (usesWords) for (const [c, ps] of checks.wordProblems) blockers.push(...ps.map((p) => `Label words${c ? ` (${c})` : ''}: ${p}`));
  blockers.push(...Object.values(configErrors));
  // Last, whatever else the run itself would refuse: its own preparation, tried on a few rows, once the checks above pass.
  const trainingCheck = useTrainingCheck(
    client,
    blockers.length === 0 && !checks.pending && config && model && info
      ? { key: `${model.id}|${info.name}|${info.rowCount}|${info.bytes}`, spec: taskSpec(mapping, template, usesWords ? wordsForClasses : null), config }
      : null,
  );
  blockers.push(...trainingCheck.problems.map((p) => `Settings: ${p}`));
  // A sweep's trials are trainings too: one thing trains at a time.
  const sweepBlockers = [
    ...blockers,
    ...(trainer.state !== 'idle' ? ['Wait for the current training to end.'] : []),
    ...(config && config.valFraction === 0 ? ['Set the validation fraction above 0: the trials are compared on validation.'] : []),
  ];
  if (sweep.state !== 'idle') blockers.push('A sweep is running: stop it first, or wait for it.');
  if (blockers.length === 0 && checks.pending) blockers.push('Checking the template and label words…');
  if (blockers.length === 0 && trainingCheck.pending) blockers.push('Checking the settings…');

  // Data that would train nonsense: Start asks first (the CLI refuses it without --force). One class
  // is not among them here: the page cannot train a single class at all (a blocker above).
  const splitValid = Number(draft.valFraction) >= 0 && Number(draft.valFraction) < 1 && Number.isInteger(Number(draft.seed));
  const warningsPayload =
    info && stats && splitValid && !mappingProblems(mapping, info.columns).length && template.trim()
      ? { task, labelColumn: answerColumn(mapping), textColumns: used.length ? used : mapping.textColumns, valFraction: Number(draft.valFraction), seed: Number(draft.seed), template }
      : null;
  const trainingWarnings = useTrainingWarnings(client, warningsPayload, info ? `${info.name}|${info.rowCount}|${info.bytes}` : '').filter(
    (w) => w.kind !== 'one-class',
  );

  const specNow = () => taskSpec(mapping, template, usesWords ? wordsForClasses : null);
  const runName = (prefix = '') => `${prefix}${info?.name ?? 'data'} · ${model?.id ?? 'model'} · #${runs.runs.length + 1}`;

  const start = async () => {
    if (!config || !model || !info) return;
    const key = data.source ? await runs.storeDataset(data.source) : null;
    await trainer.start({ name: runName(), spec: specNow(), config, modelId: model.id, datasetName: info.name, datasetKey: key });
  };

  /** The editors take a run's template, label words, columns and settings (to repeat or vary it). */
  const applyRunSettings = (run: RunRecord, columns = data.info?.columns ?? []) => {
    const spec = run.spec;
    setTemplateText(spec.template);
    setTemplateEdited(true);
    if (spec.task === 'classification' && spec.labelWords) setLabelWords(Object.fromEntries(Object.entries(spec.labelWords).map(([c, ws]) => [c, ws.join(', ')])));
    setDraft(draftFrom(run.config));
    if (spec.textColumns.every((c) => columns.includes(c))) {
      data.setMapping(
        spec.task === 'classification'
          ? { ...mapping, task: 'classification', textColumns: spec.textColumns, labelColumn: spec.labelColumn }
          : { ...mapping, task: 'generation', textColumns: spec.textColumns, targetColumn: spec.targetColumn },
      );
    }
  };

  /** Checks that the run's model is loaded and loads its dataset again when another is; returns the columns. */
  const loadRunData = async (run: RunRecord): Promise<string[]> => {
    if (!model || model.id !== run.modelId) throw new Error(`Load the model “${run.modelId}” in step 2 first: this run was tuned on it.`);
    const current = data.source ? datasetKey(data.source) : null;
    let columns = data.info?.columns ?? [];
    if (current !== run.datasetKey) {
      const source = run.datasetKey ? await runs.storedDataset(run.datasetKey) : null;
      if (!source) throw new Error(`The dataset “${run.datasetName}” is not stored in this browser: load it in step 1 first.`);
      const loaded = await data.load(source);
      if (!loaded) throw new Error(`The dataset “${run.datasetName}” could not be loaded again.`);
      columns = loaded.columns;
    }
    return columns;
  };

  const startSweep = async (plan: SweepPlan) => {
    if (!config || !model || !info) return;
    const key = data.source ? await runs.storeDataset(data.source) : null;
    const count = new Set(runs.runs.flatMap((r) => (r.sweep ? [r.sweep.id] : []))).size;
    await sweep.start({ name: `Sweep ${count + 1}`, spec: specNow(), config, plan, modelId: model.id, datasetName: info.name, datasetKey: key });
  };

  /** Continues a stopped sweep on its own data, task and settings (kept with its trials). */
  const resumeSweep = async (view: SweepView) => {
    const first = view.rows.find((r) => r.run)?.run;
    if (!first) return;
    try {
      await loadRunData(first);
      await sweep.resume(view, { datasetKey: first.datasetKey });
    } catch (e) {
      sweep.report(errorText(e));
    }
  };

  const resumeRun = async (run: RunRecord) => {
    setResumeErrors((e) => ({ ...e, [run.id]: '' }));
    try {
      const columns = await loadRunData(run);
      setSelectedRunId(run.id);
      applyRunSettings(run, columns);
      await trainer.resumeRun(run);
    } catch (e) {
      setResumeErrors((errs) => ({ ...errs, [run.id]: errorText(e) }));
    }
  };

  const importActions: ImportActions = {
    blocked:
      trainer.state !== 'idle'
        ? 'Wait for the current training to end.'
        : blockers.filter((b) => !b.startsWith('Label words') || draft.mode === 'verbalizer').find((b) => !b.startsWith('Prompt length')) ?? null,
    async evaluate(imported: ImportPromptResult) {
      if (!config || !model || !info) return;
      // An imported prompt is input vectors (prompt tuning, or P-tuning's encoder output) or a prefix.
      const method = imported.prompt.method === 'prefix' ? ('prefix' as const) : ('prompt' as const);
      const evalConfig = { ...config, method, promptLength: imported.prompt.numTokens, mode: imported.prompt.head ? ('head' as const) : config.mode };
      const spec = specNow();
      const outcome = await client.call('evaluatePrompt', { spec, config: evalConfig, prompt: imported.prompt, ...(imported.metadata ? { meta: imported.metadata } : {}) });
      const now = new Date().toISOString();
      const id = newRunId();
      runs.create({
        id,
        name: runName(`${imported.fileName} evaluated on `),
        createdAt: now,
        updatedAt: now,
        status: 'completed',
        modelId: model.id,
        datasetName: info.name,
        datasetKey: data.source ? await runs.storeDataset(data.source) : null,
        spec,
        config: evalConfig,
        steps: [],
        epochs: [],
        zeroShotAccuracy: outcome.task === 'classification' ? (outcome.zeroShot?.accuracy ?? null) : null,
        progress: null,
        checkpoint: { step: 0, epochsDone: 0, values: imported.prompt },
        outcome,
        message: null,
        importedFrom: imported.fileName,
      });
      setSelectedRunId(id);
    },
    async continueTraining(imported: ImportPromptResult) {
      if (!config || !model || !info) return;
      const key = data.source ? await runs.storeDataset(data.source) : null;
      await trainer.start({
        name: runName(`${imported.fileName} continued on `),
        spec: specNow(),
        config: { ...config, method: imported.prompt.method === 'prefix' ? ('prefix' as const) : ('prompt' as const), promptLength: imported.prompt.numTokens },
        modelId: model.id,
        datasetName: info.name,
        datasetKey: key,
        initial: imported.prompt,
        importedFrom: imported.fileName,
      });
    },
    applySettings(imported: ImportPromptResult) {
      const meta = imported.metadata;
      if (!meta) return;
      setTemplateText(meta.template);
      setTemplateEdited(true);
      if (Object.keys(meta.labelWords).length) setLabelWords(Object.fromEntries(Object.entries(meta.labelWords).map(([c, ws]) => [c, ws.join(', ')])));
      setDraft((d) => ({ ...d, mode: meta.mode, promptLength: String(imported.prompt.numTokens), seed: String(meta.seed) }));
    },
  };

  return (
    <>
      <SessionBar session={session} busy={trainer.state !== 'idle'} onFresh={onFresh} />
      <RestartNotice client={client} trainer={trainer} />
      <DataPanel data={data} disabled={trainer.state !== 'idle'} />
      <ModelPanel client={client} onLoaded={onModelLoaded} request={modelRequest} />
      <TemplatePanel
        client={client}
        model={model}
        columns={info?.columns ?? null}
        answerColumn={answerColumn(mapping)}
        task={task}
        template={template}
        onTemplate={(t) => {
          setTemplateText(t);
          setTemplateEdited(true);
        }}
        promptLength={Number.isInteger(Number(draft.promptLength)) && Number(draft.promptLength) >= 1 ? Number(draft.promptLength) : engine.defaults.promptLength}
        prefix={draft.method === 'prefix'}
        classes={classes}
        labelWords={wordsForClasses}
        onLabelWords={(w) => setLabelWords((current) => ({ ...current, ...w }))}
        headMode={draft.mode === 'head'}
        checks={checks}
        suggestRequest={
          info && task === 'classification' && !mappingProblems(mapping, info.columns).length
            ? { labelColumn: answerColumn(mapping), textColumns: used.length ? used : mapping.textColumns, valFraction: Number(draft.valFraction), seed: Number(draft.seed) }
            : null
        }
      />
      <TrainingPanel
        draft={draft}
        onDraft={setDraft}
        onResetDefaults={() => setDraft(draftFrom(engine.defaults))}
        inits={engine.inits}
        methods={engine.methods}
        learningRates={engine.learningRates}
        task={task}
        blockers={blockers}
        notes={trainingCheck.notes}
        warnings={trainingWarnings}
        trainer={trainer}
        onStart={() => void start()}
        run={selectedRun}
        overlays={overlays}
        runsList={{
          runs: runs.runs,
          selectedId: selectedRunId,
          onSelect: setSelectedRunId,
          overlayIds,
          onToggleOverlay: (id) =>
            setOverlayIds((s) => {
              const next = new Set(s);
              if (!next.delete(id)) next.add(id);
              return next;
            }),
          onRename: runs.rename,
          onDelete: (id) => {
            // Its stored dataset goes too, unless another run or this session (the dataset loaded now) uses it.
            runs.remove(id, data.source ? datasetKey(data.source) : null);
            if (id === selectedRunId) setSelectedRunId(null);
          },
          onResume: (run) => void resumeRun(run),
          onUseSettings: applyRunSettings,
          activeId: trainer.state !== 'idle' ? trainer.runId : null,
          resumeErrors,
          storageError: runs.storageError,
          onDismissStorageError: runs.dismissStorageError,
          unsaved: runs.unsaved,
          onSaveAgain: runs.saveAgain,
        }}
      />
      <SweepPanel
        client={client}
        sweep={sweep}
        runs={runs.runs}
        config={config}
        classes={classes}
        task={task}
        blockers={sweepBlockers}
        trainingBusy={trainer.state !== 'idle'}
        onStart={(plan) => void startSweep(plan)}
        onResume={(view) => void resumeSweep(view)}
        selectedRunId={selectedRunId}
        onSelectRun={setSelectedRunId}
        onOverlay={(ids, selected) => {
          setSelectedRunId(selected);
          setOverlayIds(new Set(ids.filter((id) => id !== selected)));
        }}
        onUseSettings={(run) => applyRunSettings(run)}
        draft={sweepDraft}
        onDraftChange={setSweepDraft}
      />
      <ResultsPanel client={client} run={selectedRun} model={model} />
      <ExportPanel client={client} run={selectedRun} actions={importActions} />
    </>
  );
}
