import type { DownloadProgress } from '../../model/hubLoad';
import { formatBytes, formatSpeed } from './format';

/** A bar per file and one overall: bytes done / total and speed. */
export function DownloadView({ download: d }: { download: DownloadProgress }) {
  return (
    <div className="download" data-testid="hub.progress" data-loaded={d.loaded} data-total={d.total} data-from-cache={d.fromCache}>
      {d.files.map((f) => (
        <div key={f.name} className="download-row" data-testid="hub.progress.file" data-name={f.name} data-state={f.state} data-loaded={f.loaded} data-total={f.total}>
          <code>{f.name}</code>
          <progress max={f.total || 1} value={f.loaded} aria-label={`${f.name} downloaded`} />
          <span>
            {formatBytes(f.loaded)} / {formatBytes(f.total)}
            {f.state === 'downloading' && f.bytesPerSecond > 0 && ` · ${formatSpeed(f.bytesPerSecond)}`}
            {f.state === 'retrying' && ' · connection lost, resuming…'}
            {f.state === 'cached' && ' · from cache'}
          </span>
        </div>
      ))}
      <div className="download-row download-overall" data-testid="hub.progress.overall">
        <span>{d.fromCache ? 'From the browser cache' : 'Overall'}</span>
        <progress max={d.total || 1} value={d.loaded} aria-label="Overall download" />
        <span>
          {formatBytes(d.loaded)} / {formatBytes(d.total)}
          {!d.fromCache && d.bytesPerSecond > 0 && ` · ${formatSpeed(d.bytesPerSecond)}`}
        </span>
      </div>
    </div>
  );
}
