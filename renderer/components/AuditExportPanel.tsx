import { useState } from 'react';
import type { AuditExportFormat, AuditExportProgress } from '../../protocol/ipc-contract';
import { useAuditStore } from '../stores/audit-store';
import { useOrgStore } from '../stores/org-store';

const STATE_LABELS: Record<AuditExportProgress['state'], string> = {
  running: 'Exporting',
  done: 'Saved',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** Exports the log (within the From/To filter) as JSON lines or CSV; the file is written by main. */
export function AuditExportPanel() {
  const orgId = useOrgStore((s) => s.selectedOrgId);
  const exports = useAuditStore((s) => s.exports);
  const exportError = useAuditStore((s) => s.exportError);
  const startExport = useAuditStore((s) => s.startExport);
  const cancelExport = useAuditStore((s) => s.cancelExport);
  const [format, setFormat] = useState<AuditExportFormat>('jsonl');
  const [starting, setStarting] = useState(false);
  const ofThisOrg = exports.filter((e) => e.orgId === orgId);

  const start = async (): Promise<void> => {
    setStarting(true);
    try {
      await startExport(format);
    } finally {
      setStarting(false);
    }
  };

  return (
    <div className="card export-card" aria-label="Export">
      <div className="inline-form">
        <label className="field inline">
          <span>Export as</span>
          <select data-testid="audit-export-format" value={format} onChange={(e) => setFormat(e.target.value === 'csv' ? 'csv' : 'jsonl')}>
            <option value="jsonl">JSON lines</option>
            <option value="csv">CSV</option>
          </select>
        </label>
        <button type="button" className="button" data-testid="audit-export" data-mutates="true" disabled={starting} onClick={() => void start()}>
          Export
        </button>
        <span className="muted small">Uses the From/To range above; the export itself is audited.</span>
      </div>
      {exportError && <p className="error-text" role="alert" data-testid="audit-export-error">{exportError}</p>}
      {ofThisOrg.map((progress) => (
        <div key={progress.exportId} className="export-progress" data-testid="audit-export-progress" data-state={progress.state} data-export-id={progress.exportId} data-written={progress.written}>
          <span className="export-state">{STATE_LABELS[progress.state]}</span>
          <progress
            max={Math.max(progress.total ?? progress.written, 1)}
            value={progress.state === 'done' ? Math.max(progress.total ?? progress.written, 1) : progress.written}
            aria-label={`Audit export ${progress.format}`}
          />
          <span className="muted" data-testid="audit-export-count">
            {progress.written.toLocaleString()}
            {progress.total !== null ? ` of ${progress.total.toLocaleString()}` : ''} entries
          </span>
          {progress.state === 'running' && (
            <button type="button" className="button small quiet" data-testid="audit-export-cancel" onClick={() => void cancelExport(progress.exportId)}>
              Cancel
            </button>
          )}
          {progress.state === 'done' && <span className="mono small" data-testid="audit-export-file">{progress.file}</span>}
          {progress.error && <span className="error-text">{progress.error.message}</span>}
        </div>
      ))}
    </div>
  );
}
