import { useEffect, useId, useState } from 'react';
import type { DatasetState } from './useDataset';
import { mappingProblems, type Mapping } from './mapping';
import { percent, plural, rowList } from './format';
import { SAMPLES } from '../shared/samples';

const delimiterName = (d: string) => (d === '\t' ? 'tab' : d === ';' ? 'semicolon' : d === ',' ? 'comma' : d);

/** Step 1: a CSV by file picker, drag and drop or sample; its preview; which columns the task reads. */
export function DataPanel({ data, disabled }: { data: DatasetState; disabled: boolean }) {
  const ids = useId();
  const [sample, setSample] = useState<string>(SAMPLES[0].file);
  const [dragging, setDragging] = useState(false);
  const { info, loading, error, mapping, stats, statsError } = data;
  // The list names the sample that is loaded, also when a restored session loaded it.
  const source = data.source;
  const loadedSample = source?.kind === 'url' && SAMPLES.some((s) => s.file === source.name) ? source.name : null;
  useEffect(() => {
    if (loadedSample) setSample(loadedSample);
  }, [loadedSample]);

  const loadFile = (file: File | undefined) => {
    // While a run trains on the current dataset, a new one is not loaded.
    if (file && !disabled) void data.load({ kind: 'file', file });
  };

  return (
    <section className="panel" aria-labelledby={`${ids}-h`} data-testid="data.panel">
      <h2 id={`${ids}-h`}>1. Data</h2>
      <div
        className={`dropzone${dragging ? ' dropzone-active' : ''}`}
        data-testid="data.drop"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          loadFile(e.dataTransfer.files[0]);
        }}
      >
        <span>CSV file (comma, semicolon or tab separated, with a header row)</span>
        {/* The native input is hidden because it says "No file chosen" once its value is cleared
            (so that picking the same file again reloads it); the line beside the button names the
            dataset actually loaded, whether it came from a file, a sample or a restored session. */}
        <div className="row file-picker">
          <input
            id={`${ids}-file`}
            className="visually-hidden"
            type="file"
            accept=".csv,.tsv,.txt,text/csv,text/tab-separated-values"
            data-testid="data.file"
            disabled={disabled}
            aria-describedby={`${ids}-file-current`}
            onChange={(e) => {
              loadFile(e.target.files?.[0]);
              e.target.value = ''; // picking the same file again reloads it
            }}
          />
          <label htmlFor={`${ids}-file`} className={`file-button${disabled ? ' file-button-disabled' : ''}`}>
            Choose a CSV file…
          </label>
          <span id={`${ids}-file-current`} className="muted" data-testid="data.file.current">
            {info ? (
              <>
                Loaded: <strong>{info.name}</strong>
              </>
            ) : (
              'No dataset loaded yet'
            )}
          </span>
        </div>
        <span className="muted">or drop a file here. It is read in the page's worker; nothing is uploaded.</span>
      </div>
      <div className="row">
        <label htmlFor={`${ids}-sample`}>Or a sample</label>
        <select id={`${ids}-sample`} data-testid="data.sample" value={sample} onChange={(e) => setSample(e.target.value)}>
          {SAMPLES.map((s) => (
            <option key={s.file} value={s.file}>
              {s.title}
            </option>
          ))}
        </select>
        <button
          type="button"
          data-testid="data.sample.load"
          disabled={disabled || loading !== null}
          onClick={() => void data.load({ kind: 'url', name: sample, url: new URL(`samples/${sample}`, document.baseURI).href })}
        >
          Load sample
        </button>
      </div>
      {loading && (
        <div className="row" data-testid="data.progress">
          <progress max={1} value={loading.fraction ?? undefined} aria-label="Reading the CSV" />
          <span className="muted">{loading.stage}…</span>
        </div>
      )}
      {error && (
        <p className="note note-error" role="alert" data-testid="data.error">
          {error}
          {info && (
            <span data-testid="data.error.kept">
              {' '}
              Nothing changed: {info.name} is still the loaded dataset.
            </span>
          )}
        </p>
      )}
      {info && (
        <>
          <p className="muted" data-testid="data.summary">
            <strong>{info.name}</strong>: {plural(info.rowCount, 'row')}, {plural(info.columns.length, 'column')}, {delimiterName(info.delimiter)}-separated,{' '}
            {info.encoding.toUpperCase()}, {info.bytes >= 1e6 ? `${(info.bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(info.bytes / 1e3))} kB`}
          </p>
          {info.notices.map((n) => (
            <p key={n} className="note note-warn" data-testid="data.notice">
              {n}
            </p>
          ))}
          {info.malformedRows.count > 0 && (
            <p className="note note-warn" data-testid="data.malformed">
              {plural(info.malformedRows.count, 'row')} left out because their number of fields differs from the header: rows{' '}
              {rowList(info.malformedRows.rows, info.malformedRows.count)} (row numbers as in a spreadsheet: the header is row 1).
            </p>
          )}
          <div className="table-scroll">
            <table className="data-table" data-testid="data.preview">
              <caption className="muted">First rows</caption>
              <thead>
                <tr>
                  <th scope="col">Row</th>
                  {info.columns.map((c) => (
                    <th key={c} scope="col">
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {info.preview.map((r) => (
                  <tr key={r.row}>
                    <td>{r.row}</td>
                    {r.cells.map((cell, i) => (
                      <td key={i}>{cell.length > 160 ? `${cell.slice(0, 160)}…` : cell}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <MappingEditor columns={info.columns} mapping={mapping} onChange={data.setMapping} />
          {statsError && (
            <p className="note note-error" role="alert" data-testid="data.stats.error">
              {statsError}
            </p>
          )}
          {stats && (
            <div data-testid="data.stats">
              {stats.emptyLabel.count > 0 && (
                <p className="note note-warn" data-testid="data.emptyLabel">
                  {plural(stats.emptyLabel.count, 'row')} with an empty {mapping.task === 'classification' ? 'label' : 'target'} left out: rows{' '}
                  {rowList(stats.emptyLabel.rows, stats.emptyLabel.count)}.
                </p>
              )}
              {stats.emptyText.count > 0 && (
                <p className="note note-warn" data-testid="data.emptyText">
                  {plural(stats.emptyText.count, 'row')} with no input text left out: rows {rowList(stats.emptyText.rows, stats.emptyText.count)}.
                </p>
              )}
              <p data-testid="data.split">
                {plural(stats.kept, 'row')} used: <strong>{stats.train.toLocaleString('en')}</strong> for training,{' '}
                <strong>{stats.val.toLocaleString('en')}</strong> for validation ({mapping.task === 'classification' ? 'stratified by label' : 'at random'}, seeded by the training seed).
              </p>
              {mapping.task === 'classification' && <LabelDistribution stats={stats} />}
            </div>
          )}
        </>
      )}
    </section>
  );
}

function MappingEditor({ columns, mapping, onChange }: { columns: string[]; mapping: Mapping; onChange(m: Mapping): void }) {
  const ids = useId();
  const problems = mappingProblems(mapping, columns);
  const answerKey = mapping.task === 'classification' ? 'labelColumn' : 'targetColumn';
  return (
    <fieldset className="mapping" data-testid="data.mapping">
      <legend>Columns</legend>
      <div className="row" role="radiogroup" aria-label="Task">
        <span>Task:</span>
        {(['classification', 'generation'] as const).map((task) => (
          <label key={task} className="inline">
            <input
              type="radio"
              name={`${ids}-task`}
              data-testid={`data.task.${task}`}
              checked={mapping.task === task}
              onChange={() => onChange({ ...mapping, task })}
            />
            {task === 'classification' ? 'Classification (text → label)' : 'Generation (input → target text)'}
          </label>
        ))}
      </div>
      <div className="row">
        <span>{mapping.task === 'classification' ? 'Text column(s):' : 'Input column(s):'}</span>
        {columns.map((c) => (
          <label key={c} className="inline">
            <input
              type="checkbox"
              data-testid={`data.textColumn.${c}`}
              checked={mapping.textColumns.includes(c)}
              onChange={(e) =>
                onChange({ ...mapping, textColumns: e.target.checked ? columns.filter((x) => x === c || mapping.textColumns.includes(x)) : mapping.textColumns.filter((x) => x !== c) })
              }
            />
            {c}
          </label>
        ))}
      </div>
      <div className="row">
        <label htmlFor={`${ids}-answer`}>{mapping.task === 'classification' ? 'Label column' : 'Target column'}</label>
        <select
          id={`${ids}-answer`}
          data-testid={mapping.task === 'classification' ? 'data.labelColumn' : 'data.targetColumn'}
          value={mapping[answerKey]}
          onChange={(e) => onChange({ ...mapping, [answerKey]: e.target.value, textColumns: mapping.textColumns.filter((c) => c !== e.target.value) })}
        >
          {columns.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </div>
      {problems.length > 0 && (
        <p className="note note-error" role="alert" data-testid="data.mapping.error">
          {problems.join('; ')}.
        </p>
      )}
    </fieldset>
  );
}

function LabelDistribution({ stats }: { stats: NonNullable<DatasetState['stats']> }) {
  const max = Math.max(1, ...stats.classes.map((c) => c.count));
  return (
    <>
      {stats.distinctLabels > 20 && (
        <p className="note note-warn" data-testid="data.manyLabels">
          The label column has {stats.distinctLabels.toLocaleString('en')} distinct values. Is it really the label column?
        </p>
      )}
      {stats.distinctLabels < 2 && (
        <p className="note note-error" role="alert" data-testid="data.oneLabel">
          Classification needs at least two classes; the label column has {stats.distinctLabels}.
        </p>
      )}
      <div className="table-scroll">
      <table className="data-table distribution" data-testid="data.distribution">
        <caption className="muted">Label distribution</caption>
        <thead>
          <tr>
            <th scope="col">Label</th>
            <th scope="col">Rows</th>
            <th scope="col">Train</th>
            <th scope="col">Validation</th>
            <th scope="col" aria-label="Share" />
          </tr>
        </thead>
        <tbody>
          {stats.classes.map((c) => (
            <tr key={c.name} data-testid={`data.class.${c.name}`}>
              <th scope="row">{c.name}</th>
              <td>{c.count.toLocaleString('en')}</td>
              <td>{c.train.toLocaleString('en')}</td>
              <td>{c.val.toLocaleString('en')}</td>
              <td className="bar-cell">
                <span className="bar" style={{ width: `${(8 * c.count) / max}em` }} />
                <span className="muted">{percent(c.count / Math.max(1, stats.kept), 0)}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      {stats.distinctLabels > stats.classes.length && (
        <p className="muted">…and {stats.distinctLabels - stats.classes.length} more labels.</p>
      )}
    </>
  );
}
