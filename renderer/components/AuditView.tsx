import { useEffect, useState } from 'react';
import type { AuditEntry } from '../../protocol/audit-actions';
import { formatDateTime } from '../format';
import { canAt } from '../permissions';
import { useAccessStore } from '../stores/access-store';
import { useAuditStore } from '../stores/audit-store';
import { useOrgStore } from '../stores/org-store';
import { AuditExportPanel } from './AuditExportPanel';
import { AuditFiltersForm } from './AuditFiltersForm';
import { RetentionSetting } from './RetentionSetting';

/** The org's audit log: filters, keyset paging through large logs, exports with progress. */
export function AuditView() {
  const orgId = useOrgStore((s) => s.selectedOrgId);
  const access = useAccessStore((s) => s.access);
  const entries = useAuditStore((s) => s.entries);
  const status = useAuditStore((s) => s.status);
  const error = useAuditStore((s) => s.error);
  const cursors = useAuditStore((s) => s.cursors);
  const nextBefore = useAuditStore((s) => s.nextBefore);
  const open = useAuditStore((s) => s.open);
  const older = useAuditStore((s) => s.older);
  const newer = useAuditStore((s) => s.newer);

  useEffect(() => {
    if (orgId) void open(orgId);
  }, [orgId, open]);

  if (!orgId) return null;
  const pageNumber = cursors.length;
  return (
    <section className="panel" aria-labelledby="audit-heading" data-testid="audit-view">
      <header className="panel-header">
        <h2 id="audit-heading">Audit log</h2>
        <RetentionSetting orgId={orgId} />
      </header>
      <AuditFiltersForm />
      {canAt(access, 'audit.export', null) && <AuditExportPanel />}
      {status === 'error' && <p className="error-text" role="alert">{error}</p>}
      <div className="pager">
        <button type="button" className="button small" data-testid="audit-newer" disabled={pageNumber < 2 || status === 'loading'} onClick={() => void newer()}>
          ← Newer
        </button>
        <span className="muted" data-testid="audit-page" aria-live="polite">
          Page {pageNumber} · {entries.length} {entries.length === 1 ? 'entry' : 'entries'}
        </span>
        <button type="button" className="button small" data-testid="audit-older" disabled={nextBefore === null || status === 'loading'} onClick={() => void older()}>
          Older →
        </button>
      </div>
      {status === 'ready' && entries.length === 0 && <p className="muted empty">No entries match.</p>}
      {entries.length > 0 && (
        <table className="data-table audit-table" data-testid="audit-table">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Outcome</th>
              <th scope="col">Source</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <AuditRow key={entry.id} entry={entry} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function AuditRow({ entry }: { entry: AuditEntry }) {
  const [expanded, setExpanded] = useState(false);
  return (
    <>
      <tr data-testid="audit-row" data-seq={entry.seq} data-action={entry.action} data-outcome={entry.outcome} data-target-id={entry.targetId ?? ''}>
        <td title={entry.time}>{formatDateTime(entry.time)}</td>
        <td>{entry.actorName}</td>
        <td>
          <button type="button" className="row-link" aria-expanded={expanded} aria-label={`${entry.action} #${entry.seq}: ${expanded ? 'hide' : 'show'} details`} onClick={() => setExpanded(!expanded)}>
            {entry.action}
          </button>
        </td>
        <td className="mono">{entry.targetType ? `${entry.targetType} ${entry.targetId ?? ''}` : '—'}</td>
        <td>
          <span className={`outcome outcome-${entry.outcome}`}>{entry.outcome}</span>
        </td>
        <td className="mono">{entry.sourceIp ?? '—'}</td>
      </tr>
      {expanded && (
        <tr className="audit-details" data-testid="audit-details">
          <td colSpan={6}>
            <dl className="facts">
              <div className="fact"><dt>Sequence</dt><dd>{entry.seq}</dd></div>
              <div className="fact"><dt>Actor</dt><dd className="mono">{entry.actorType} {entry.actorId ?? ''}</dd></div>
              <div className="fact"><dt>User agent</dt><dd>{entry.userAgent ?? '—'}</dd></div>
              <div className="fact"><dt>Hash</dt><dd className="mono">{entry.hash}</dd></div>
              <div className="fact"><dt>Previous</dt><dd className="mono">{entry.prevHash}</dd></div>
            </dl>
            <pre className="code-block">{JSON.stringify(entry.details, null, 2)}</pre>
          </td>
        </tr>
      )}
    </>
  );
}
