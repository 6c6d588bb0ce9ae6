import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { memo, useEffect, useRef, useState } from 'react';
import type { RunRecord } from './runStore';
import { CHART_UPDATE_INTERVAL_MS, chartUpdateDelay, smooth, thin } from './chartData';

/** Colours for overlaid earlier runs: none is the accent (the selected run) or the validation loss/accuracy colours. */
const OVERLAY_COLOURS = ['#862e9c', '#0b7285', '#a61e4d', '#5c940d', '#e67700', '#495057'];
const MAIN = '#3b5bdb';
const RAW = '#a5b4fc';
const CHART_HEIGHT = 240;

const fmt = (v: unknown): string => (typeof v === 'number' ? String(Number(v.toPrecision(4))) : String(v));
/** Axis ticks: 3 decimals below 10, so close losses stay apart. */
const tick = (v: number): string => (Math.abs(v) < 10 ? v.toFixed(3).replace(/\.?0+$/, '') || '0' : String(Math.round(v)));
/** Pads a loss axis so a flat series still gets readable ticks. */
const LOSS_DOMAIN: [(min: number) => number, (max: number) => number] = [
  (min) => Math.max(0, Math.floor((min - 0.05) * 20) / 20),
  (max) => Math.ceil((max + 0.05) * 20) / 20,
];

/**
 * The charts of `run`; while it trains (`live`), redrawn at most every CHART_UPDATE_INTERVAL_MS with
 * what it has by then (the last update is always drawn), and not at all when nothing they show changed.
 */
export function TrainingCharts({ run, overlays, live = false }: { run: RunRecord; overlays: RunRecord[]; live?: boolean }) {
  const shown = useThrottled(run, live ? CHART_UPDATE_INTERVAL_MS : 0);
  return <Charts run={shown.id === run.id ? shown : run} overlays={overlays} />;
}

/** `value`, changing at most once per `interval` ms (the latest value shown once the interval has passed). */
function useThrottled<T>(value: T, interval: number): T {
  const [shown, setShown] = useState(value);
  const shownAt = useRef(0);
  useEffect(() => {
    if (value === shown) return;
    const delay = chartUpdateDelay(shownAt.current, performance.now(), interval);
    const show = () => {
      shownAt.current = performance.now();
      setShown(value);
    };
    if (delay === 0) return show();
    const timer = setTimeout(show, delay);
    return () => clearTimeout(timer);
  }, [value, shown, interval]);
  return interval <= 0 ? value : shown;
}

/** Same drawing when the series it draws are the same arrays (a run record changes on every metrics batch). */
const sameSeries = (a: RunRecord, b: RunRecord) => a.steps === b.steps && a.epochs === b.epochs && a.zeroShotAccuracy === b.zeroShotAccuracy && a.spec.task === b.spec.task;
const Charts = memo(
  ChartsNow,
  (a, b) => sameSeries(a.run, b.run) && a.overlays.length === b.overlays.length && a.overlays.every((o, i) => b.overlays[i].id === o.id && sameSeries(o, b.overlays[i]) && o.name === b.overlays[i].name),
);

/** Training loss per step (raw and smoothed) and per-epoch validation, with other runs overlaid. */
function ChartsNow({ run, overlays }: { run: RunRecord; overlays: RunRecord[] }) {
  const raw = thin(run.steps);
  const smoothed = thin(smooth(run.steps));
  const isClassification = run.spec.task === 'classification';
  return (
    <div className="charts">
      <figure className="chart" data-testid="train.lossChart" data-points={run.steps.length}>
        <figcaption>Training loss per step</figcaption>
        <ResponsiveContainer width="100%" height={CHART_HEIGHT}>
          <LineChart margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
            <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} allowDecimals={false} tickFormatter={fmt} label={{ value: 'step', position: 'insideBottomRight', offset: -4 }} />
            <YAxis type="number" domain={LOSS_DOMAIN} tickFormatter={tick} width={52} />
            <Tooltip formatter={fmt} labelFormatter={(s) => `step ${s}`} />
            <Legend />
            <Line data={raw} dataKey="loss" name="loss" stroke={RAW} dot={raw.length < 3} strokeWidth={1} isAnimationActive={false} />
            <Line data={smoothed} dataKey="loss" name="smoothed" stroke={MAIN} dot={false} strokeWidth={2} isAnimationActive={false} />
            {overlays.map((o, i) => (
              <Line
                key={o.id}
                data={thin(smooth(o.steps))}
                dataKey="loss"
                name={o.name}
                stroke={OVERLAY_COLOURS[i % OVERLAY_COLOURS.length]}
                strokeDasharray="5 3"
                dot={false}
                isAnimationActive={false}
              />
            ))}
          </LineChart>
        </ResponsiveContainer>
      </figure>
      <figure className="chart" data-testid="train.valChart" data-points={run.epochs.length}>
        <figcaption>Validation per epoch{isClassification ? ': loss and accuracy' : ': loss'}</figcaption>
        {run.epochs.length === 0 ? (
          <p className="muted chart-empty">Appears after the first epoch.</p>
        ) : (
          <ResponsiveContainer width="100%" height={CHART_HEIGHT}>
            <LineChart margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
              <XAxis dataKey="epoch" type="number" domain={[1, 'dataMax']} allowDecimals={false} label={{ value: 'epoch', position: 'insideBottomRight', offset: -4 }} />
              <YAxis yAxisId="loss" type="number" domain={LOSS_DOMAIN} tickFormatter={tick} width={52} />
              {isClassification && <YAxis yAxisId="acc" orientation="right" type="number" domain={[0, 1]} tickFormatter={(v: number) => `${Math.round(v * 100)}%`} width={44} />}
              <Tooltip formatter={fmt} labelFormatter={(e) => `epoch ${e}`} />
              <Legend />
              <Line yAxisId="loss" data={run.epochs} dataKey="valLoss" name="validation loss" stroke="#e8590c" isAnimationActive={false} />
              {isClassification && <Line yAxisId="acc" data={run.epochs} dataKey="valAccuracy" name="validation accuracy" stroke="#2b8a3e" isAnimationActive={false} />}
              {isClassification &&
                overlays.map((o, i) => (
                  <Line
                    key={o.id}
                    yAxisId="acc"
                    data={o.epochs}
                    dataKey="valAccuracy"
                    name={`${o.name} accuracy`}
                    stroke={OVERLAY_COLOURS[i % OVERLAY_COLOURS.length]}
                    strokeDasharray="5 3"
                    isAnimationActive={false}
                  />
                ))}
              {isClassification && run.zeroShotAccuracy !== null && (
                <ReferenceLine yAxisId="acc" y={run.zeroShotAccuracy} stroke="#868e96" strokeDasharray="2 4" label={{ value: 'zero-shot', position: 'insideTopLeft', fontSize: 12 }} />
              )}
            </LineChart>
          </ResponsiveContainer>
        )}
      </figure>
    </div>
  );
}
