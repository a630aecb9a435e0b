import { useState, type FormEvent } from 'react';
import { AuditActionCode, AuditOutcome, type AuditAction } from '../../protocol/audit-actions';
import { NO_FILTERS, useAuditStore, type AuditFilters } from '../stores/audit-store';

const PAGE_SIZES = [25, 50, 100, 250];

/** datetime-local values are local wall time; the API wants ISO instants. */
function toIso(local: string): string {
  if (!local) return '';
  const time = new Date(local);
  return Number.isNaN(time.getTime()) ? '' : time.toISOString();
}

function isAction(value: string): value is AuditAction {
  return (AuditActionCode.options as readonly string[]).includes(value);
}

function isOutcome(value: string): value is AuditFilters['outcome'] & string {
  return (AuditOutcome.options as readonly string[]).includes(value);
}

export function AuditFiltersForm() {
  const applyFilters = useAuditStore((s) => s.applyFilters);
  const currentLimit = useAuditStore((s) => s.limit);
  const [form, setForm] = useState({ ...NO_FILTERS, fromLocal: '', toLocal: '' });
  const [limit, setLimit] = useState(currentLimit);

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    const { fromLocal, toLocal, ...filters } = form;
    void applyFilters({ ...filters, from: toIso(fromLocal), to: toIso(toLocal) }, limit);
  };
  const reset = (): void => {
    setForm({ ...NO_FILTERS, fromLocal: '', toLocal: '' });
    void applyFilters(NO_FILTERS, limit);
  };
  const text = (key: 'actor' | 'targetType' | 'targetId', label: string, testId: string) => (
    <label className="field">
      <span>{label}</span>
      <input data-testid={testId} value={form[key]} maxLength={200} onChange={(e) => setForm({ ...form, [key]: e.target.value })} />
    </label>
  );

  return (
    <form className="filters" aria-label="Audit filters" onSubmit={submit} data-testid="audit-filters">
      {text('actor', 'Actor (name or id)', 'audit-filter-actor')}
      <label className="field">
        <span>Action</span>
        <select data-testid="audit-filter-action" value={form.action} onChange={(e) => setForm({ ...form, action: isAction(e.target.value) ? e.target.value : '' })}>
          <option value="">any</option>
          {AuditActionCode.options.map((action) => (
            <option key={action} value={action}>
              {action}
            </option>
          ))}
        </select>
      </label>
      {text('targetType', 'Target type', 'audit-filter-target-type')}
      {text('targetId', 'Target id', 'audit-filter-target-id')}
      <label className="field">
        <span>Outcome</span>
        <select data-testid="audit-filter-outcome" value={form.outcome} onChange={(e) => setForm({ ...form, outcome: isOutcome(e.target.value) ? e.target.value : '' })}>
          <option value="">any</option>
          {AuditOutcome.options.map((outcome) => (
            <option key={outcome} value={outcome}>
              {outcome}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>From</span>
        <input type="datetime-local" data-testid="audit-filter-from" value={form.fromLocal} onChange={(e) => setForm({ ...form, fromLocal: e.target.value })} />
      </label>
      <label className="field">
        <span>To</span>
        <input type="datetime-local" data-testid="audit-filter-to" value={form.toLocal} onChange={(e) => setForm({ ...form, toLocal: e.target.value })} />
      </label>
      <label className="field">
        <span>Per page</span>
        <select data-testid="audit-filter-limit" value={limit} onChange={(e) => setLimit(Number(e.target.value))}>
          {PAGE_SIZES.map((size) => (
            <option key={size} value={size}>
              {size}
            </option>
          ))}
        </select>
      </label>
      <span className="filter-actions">
        <button type="submit" className="button" data-testid="audit-apply">
          Apply
        </button>
        <button type="button" className="button quiet" data-testid="audit-reset" onClick={reset}>
          Reset
        </button>
      </span>
    </form>
  );
}
