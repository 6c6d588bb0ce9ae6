import type { ModelInspection } from '../../model/hubInspect';
import { formatBytes, formatCount } from './format';

/** What config.json and the weight headers said, before the weights were read. */
export function InspectionView({ inspection: i }: { inspection: ModelInspection }) {
  const m = i.memory;
  const gpu = i.limits.maxStorageBufferBindingSize !== undefined;
  return (
    <div data-testid="model.inspection" data-parameters={i.parameters} data-training-bytes={m.totalBytes}>
      <dl className="facts">
        <dt>Checked</dt>
        <dd>
          {i.source} ({i.modelType}): <span data-testid="model.inspection.parameters">{formatCount(i.parameters)}</span> parameters in{' '}
          {i.weightFiles.length} weight file{i.weightFiles.length === 1 ? '' : 's'} of {formatBytes(i.weightFileBytes)}
        </dd>
        <dt>Training memory</dt>
        <dd data-testid="model.inspection.memory">
          about {formatBytes(m.totalBytes)}: weights {formatBytes(m.weightBytes)} as float32
          {i.storedDtypes.some((d) => d !== 'F32') && ` (stored as ${i.storedDtypes.join(', ')})`}, activations {formatBytes(m.activationBytes)}, logits{' '}
          {formatBytes(m.logitBytes)} (batch {m.batchSize}, {m.sequenceLength} tokens); largest buffer {formatBytes(m.largest.bytes)} ({m.largest.name})
        </dd>
        <dt>This device</dt>
        <dd>
          {i.limits.backend}
          {gpu && `, GPU buffers up to ${formatBytes(Math.min(i.limits.maxStorageBufferBindingSize!, i.limits.maxBufferSize ?? Infinity))}`}
          {i.limits.deviceMemoryBytes !== undefined && `, about ${formatBytes(i.limits.deviceMemoryBytes)} of memory`}
        </dd>
      </dl>
      {i.warnings.map((w) => (
        <p key={w} className="note note-warn" data-testid="model.inspection.warning">
          {w}
        </p>
      ))}
    </div>
  );
}
