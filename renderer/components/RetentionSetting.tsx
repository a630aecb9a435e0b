import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../api';
import { canAt } from '../permissions';
import { useAccessStore } from '../stores/access-store';
import { ActionMessageLine, useAction } from './use-action';

/** Minimum the server accepts: six years, the HIPAA documentation period. */
const MIN_RETENTION_DAYS = 2192;

/** How long the org keeps audit entries; only holders of org.settings may change it (with step-up). */
export function RetentionSetting({ orgId }: { orgId: string }) {
  const access = useAccessStore((s) => s.access);
  const [days, setDays] = useState<number | null>(null);
  const [draft, setDraft] = useState('');
  const { busy, message, run } = useAction();
  const editable = canAt(access, 'org.settings', null);

  useEffect(() => {
    let current = true;
    setDays(null);
    api.settings(orgId).then(
      (settings) => {
        if (!current) return;
        setDays(settings.auditRetentionDays);
        setDraft(String(settings.auditRetentionDays));
      },
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [orgId]);

  const save = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    await run(() => api.updateSettings({ orgId, auditRetentionDays: Number(draft) }), (settings) => {
      setDays(settings.auditRetentionDays);
      return 'Saved.';
    });
  };

  if (days === null) return null;
  if (!editable) {
    return (
      <span className="muted" data-testid="settings-retention-value">
        Entries are kept {days.toLocaleString()} days
      </span>
    );
  }
  return (
    <form className="inline-form" onSubmit={(e) => void save(e)} aria-label="Audit retention">
      <label className="field inline">
        <span>Keep entries (days)</span>
        <input type="number" min={MIN_RETENTION_DAYS} max={36500} data-testid="settings-retention" value={draft} onChange={(e) => setDraft(e.target.value)} />
      </label>
      <button type="submit" className="button small" data-testid="settings-save" data-mutates="true" disabled={busy || Number(draft) === days}>
        Save
      </button>
      <ActionMessageLine message={message} testId="settings-message" />
    </form>
  );
}
