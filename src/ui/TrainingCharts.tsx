import { CartesianGrid, Line, type BaseTickContentProps, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { memo, useEffect, useMemo, useRef, useState } from 'react';
import type { EpochMetrics } from '../shared/tasks';
import type { RunRecord, StepPoint } from './runStore';
import { CHART_UPDATE_INTERVAL_MS, VALIDATION_CHART_LAG_MS, chartUpdateDelay, smooth, thin } from './chartData';

/** Colours for overlaid earlier runs: none is the accent (the selected run) or the validation loss/accuracy colours. */
const OVERLAY_COLOURS = ['#862e9c', '#0b7285', '#a61e4d', '#5c940d', '#e67700', '#495057'];
const MAIN = '#3b5bdb';
const RAW = '#a5b4fc';
const VAL_LOSS = '#e8590c';
const VAL_ACCURACY = '#2b8a3e';
const CHART_HEIGHT = 240;

const fmt = (v: unknown): string => (typeof v === 'number' ? String(Number(v.toPrecision(4))) : String(v));
/** Axis ticks: 3 decimals below 10, so close losses stay apart. */
const tick = (v: number): string => (Math.abs(v) < 10 ? v.toFixed(3).replace(/\.?0+$/, '') || '0' : String(Math.round(v)));
/** Pads a loss axis so a flat series still gets readable ticks (0 to 1 while there is no data yet). */
const LOSS_DOMAIN: [(min: number) => number, (max: number) => number] = [
  (min) => (Number.isFinite(min) ? Math.max(0, Math.floor((min - 0.05) * 20) / 20) : 0),
  (max) => (Number.isFinite(max) ? Math.ceil((max + 0.05) * 20) / 20 : 1),
];

/** dy that puts a one-line label where recharts' <Text> would for each vertical anchor. */
const TICK_DY: Record<BaseTickContentProps['verticalAnchor'], string> = { start: '0.71em', middle: '0.355em', end: '0' };

/**
 * An axis tick label as one plain <text>: recharts' default tick is a <Text> that measures its words in
 * the DOM to wrap them, on every redraw (a forced layout per tick while training; issue 17). Tick
 * labels here are short numbers, which never wrap.
 */
function plainTick(format: (value: number) => string) {
  return function PlainTick({ x, y, textAnchor, verticalAnchor, fill, className, payload }: BaseTickContentProps) {
    return (
      <text x={x} y={y} dy={TICK_DY[verticalAnchor]} textAnchor={textAnchor} fill={fill ?? '#666'} className={className}>
        {format(Number(payload.value))}
      </text>
    );
  };
}
const STEP_TICK = plainTick(fmt);
const LOSS_TICK = plainTick(tick);
const EPOCH_TICK = plainTick(String);
const PERCENT_TICK = plainTick((v) => `${Math.round(v * 100)}%`);
/** An empty chart's ticks: laid out like real ones (see PLACEHOLDER), labelled with nothing. */
const BLANK_TICK = plainTick(() => '');

/**
 * The charts of `run` (empty axes before any run: the charts are mounted with the panel, so that a run's
 * first step or epoch redraws them instead of mounting them, which costs recharts several times a
 * redraw); while it trains (`live`), redrawn at most every CHART_UPDATE_INTERVAL_MS with what it has by
 * then (the last update is always drawn), and not at all when nothing they show changed.
 */
export function TrainingCharts({ run, overlays, live = false }: { run: RunRecord | null; overlays: RunRecord[]; live?: boolean }) {
  const interval = live ? CHART_UPDATE_INTERVAL_MS : 0;
  // Each chart has its own throttle, the validation chart's lagged, so that an epoch's end redraws them in two
  // tasks. The validation chart throttles only what it draws: the record changes on every metrics batch, and a
  // lag restarted by each of them would hold the chart back until the run ends.
  const forLoss = useThrottled(run, interval);
  const validation = useMemo(
    () => (run ? { id: run.id, epochs: run.epochs, zeroShotAccuracy: run.zeroShotAccuracy, task: run.spec.task } : null),
    [run?.id, run?.epochs, run?.zeroShotAccuracy, run?.spec.task],
  );
  const forValidation = useThrottled(validation, interval, VALIDATION_CHART_LAG_MS);
  return (
    <div className="charts">
      <LossChart steps={forLoss?.steps ?? NO_STEPS} overlays={overlays} />
      <ValidationChart
        epochs={forValidation?.epochs ?? NO_EPOCHS}
        zeroShotAccuracy={forValidation?.zeroShotAccuracy ?? null}
        classification={forValidation?.task !== 'generation'}
        overlays={overlays}
      />
    </div>
  );
}

/**
 * A run's `value`, changing at most once per `interval` ms and at least `lag` ms after it changed (the latest
 * value shown once the interval has passed). Another run's value (a new run at Start, or one the user picked)
 * is taken at once, as it is then: only a run's own updates wait.
 */
function useThrottled<T extends { id: string } | null>(value: T, interval: number, lag = 0): T {
  const [shown, setShown] = useState(value);
  const shownAt = useRef(0);
  const otherRun = shown?.id !== value?.id;
  // React's derived-state update: rendered again at once with the other run, before anything is drawn.
  if (otherRun) setShown(value);
  useEffect(() => {
    if (value === shown) return;
    const delay = chartUpdateDelay(shownAt.current, performance.now(), interval, lag);
    const show = () => {
      shownAt.current = performance.now();
      setShown(value);
    };
    if (interval <= 0) return show();
    // Even when due at once, in a task of its own: shown from this effect, the chart's redraw would run in
    // the task that rendered the rest of the page's update (one long task at a run's first step).
    const timer = setTimeout(show, delay);
    return () => clearTimeout(timer);
  }, [value, shown, interval, lag]);
  return interval <= 0 || otherRun ? value : shown;
}

const NO_STEPS: StepPoint[] = [];
/**
 * What an empty chart draws, invisibly: a line through the axes' range. Drawn with no series at all, a chart
 * first runs recharts' line, scale and tick code when a run's first step (or epoch) arrives, and that first run
 * (V8 compiling it) made the redraw a long task; drawn at mount, before any run, it is already warm then.
 */
const PLACEHOLDER: StepPoint[] = [
  { step: 1, loss: 0.5 },
  { step: 2, loss: 0.5 },
];
const EPOCH_PLACEHOLDER: EpochMetrics[] = [1, 2].map((epoch) => ({ epoch, trainLoss: 0.5, valLoss: 0.5, valAccuracy: 0.5, valMacroF1: 0.5 }));
const NO_EPOCHS: EpochMetrics[] = [];
/** Overlays draw the same when they are the same runs with the same series (a record changes on every metrics batch; its series only when they grow). */
const sameOverlays = (a: RunRecord[], b: RunRecord[]) =>
  a.length === b.length && a.every((o, i) => b[i].id === o.id && o.name === b[i].name && o.steps === b[i].steps && o.epochs === b[i].epochs);

interface LegendItem {
  name: string;
  colour: string;
  dashed?: boolean;
}

/**
 * The series' names as plain HTML under a chart. recharts' own <Legend> and axis tick layout measure
 * the DOM (getBoundingClientRect, text width probes) on every redraw, which forced a layout inside
 * each redraw; these never need measuring, and the axes show every tick they compute (interval 0).
 */
function ChartLegend({ items }: { items: LegendItem[] }) {
  return (
    <ul className="chart-legend" data-testid="chart.legend">
      {items.map((item, i) => (
        <li key={i} className="chart-legend-item">
          <svg width="18" height="8" aria-hidden="true">
            <line x1="1" y1="4" x2="17" y2="4" stroke={item.colour} strokeWidth="2" strokeDasharray={item.dashed ? '5 3' : undefined} />
          </svg>
          {item.name}
        </li>
      ))}
    </ul>
  );
}

interface LossChartProps {
  steps: StepPoint[];
  overlays: RunRecord[];
}
/**
 * Training loss per step (raw and smoothed), with other runs' smoothed losses overlaid. Each chart is
 * redrawn only when its own series changed: a metrics batch changes this one, an epoch the validation
 * chart, so a redraw while training is one chart's work (recharts redraws a chart in one piece).
 */
const LossChart = memo(LossChartNow, (a: LossChartProps, b: LossChartProps) => a.steps === b.steps && sameOverlays(a.overlays, b.overlays));
function LossChartNow({ steps, overlays }: LossChartProps) {
  const empty = steps.length === 0;
  const raw = empty ? PLACEHOLDER : thin(steps);
  const smoothed = empty ? PLACEHOLDER : thin(smooth(steps));
  const legend: LegendItem[] = [
    { name: 'loss', colour: RAW },
    { name: 'smoothed', colour: MAIN },
    ...overlays.map((o, i) => ({ name: o.name, colour: OVERLAY_COLOURS[i % OVERLAY_COLOURS.length], dashed: true })),
  ];
  return (
    <figure className="chart" data-testid="train.lossChart" data-points={steps.length}>
      <figcaption>Training loss per step</figcaption>
      {steps.length === 0 && <p className="muted chart-empty-note">Appears when training starts.</p>}
      <ResponsiveContainer width="100%" height={CHART_HEIGHT}>
        <LineChart margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
          <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} allowDecimals={false} interval={0} tick={empty ? BLANK_TICK : STEP_TICK} label={{ value: 'step', position: 'insideBottomRight', offset: -4 }} />
          <YAxis type="number" domain={LOSS_DOMAIN} interval={0} tick={empty ? BLANK_TICK : LOSS_TICK} width={52} />
          {/* The placeholder is not data: blank tick labels (laid out all the same) and no tooltip for it. */}
          <Tooltip formatter={fmt} labelFormatter={(s) => `step ${s}`} active={empty ? false : undefined} />
          <Line data={raw} dataKey="loss" name="loss" stroke={empty ? 'transparent' : RAW} dot={!empty && raw.length < 3} strokeWidth={1} isAnimationActive={false} />
          <Line data={smoothed} dataKey="loss" name="smoothed" stroke={empty ? 'transparent' : MAIN} dot={false} strokeWidth={2} isAnimationActive={false} />
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
      <ChartLegend items={legend} />
    </figure>
  );
}

interface ValidationChartProps {
  epochs: EpochMetrics[];
  zeroShotAccuracy: number | null;
  classification: boolean;
  overlays: RunRecord[];
}
/** Validation loss (and accuracy, with the zero-shot line and other runs' accuracies) per epoch. */
const ValidationChart = memo(
  ValidationChartNow,
  (a: ValidationChartProps, b: ValidationChartProps) => a.epochs === b.epochs && a.zeroShotAccuracy === b.zeroShotAccuracy && a.classification === b.classification && sameOverlays(a.overlays, b.overlays),
);
function ValidationChartNow({ epochs, zeroShotAccuracy, classification: isClassification, overlays }: ValidationChartProps) {
  const empty = epochs.length === 0;
  const data = empty ? EPOCH_PLACEHOLDER : epochs;
  const legend: LegendItem[] = [
    { name: 'validation loss', colour: VAL_LOSS },
    ...(isClassification
      ? [{ name: 'validation accuracy', colour: VAL_ACCURACY }, ...overlays.map((o, i) => ({ name: `${o.name} accuracy`, colour: OVERLAY_COLOURS[i % OVERLAY_COLOURS.length], dashed: true }))]
      : []),
  ];
  return (
    <figure className="chart" data-testid="train.valChart" data-points={epochs.length}>
      <figcaption>Validation per epoch{isClassification ? ': loss and accuracy' : ': loss'}</figcaption>
      {epochs.length === 0 && <p className="muted chart-empty-note">Appears after the first epoch.</p>}
      <ResponsiveContainer width="100%" height={CHART_HEIGHT}>
        <LineChart margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
          <XAxis dataKey="epoch" type="number" domain={[1, 'dataMax']} allowDecimals={false} interval={0} tick={empty ? BLANK_TICK : EPOCH_TICK} label={{ value: 'epoch', position: 'insideBottomRight', offset: -4 }} />
          <YAxis yAxisId="loss" type="number" domain={LOSS_DOMAIN} interval={0} tick={empty ? BLANK_TICK : LOSS_TICK} width={52} />
          {isClassification && <YAxis yAxisId="acc" orientation="right" type="number" domain={[0, 1]} interval={0} tick={empty ? BLANK_TICK : PERCENT_TICK} width={44} />}
          <Tooltip formatter={fmt} labelFormatter={(e) => `epoch ${e}`} active={empty ? false : undefined} />
          <Line yAxisId="loss" data={data} dataKey="valLoss" name="validation loss" stroke={empty ? 'transparent' : VAL_LOSS} dot={!empty} isAnimationActive={false} />
          {isClassification && (
            <Line yAxisId="acc" data={data} dataKey="valAccuracy" name="validation accuracy" stroke={empty ? 'transparent' : VAL_ACCURACY} dot={!empty} isAnimationActive={false} />
          )}
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
          {isClassification && zeroShotAccuracy !== null && (
            <ReferenceLine yAxisId="acc" y={zeroShotAccuracy} stroke="#868e96" strokeDasharray="2 4" label={{ value: 'zero-shot', position: 'insideTopLeft', fontSize: 12 }} />
          )}
        </LineChart>
      </ResponsiveContainer>
      <ChartLegend items={legend} />
    </figure>
  );
}
