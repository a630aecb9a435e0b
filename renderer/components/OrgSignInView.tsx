import { useEffect, useState, type FormEvent } from 'react';
import type { OrgIdentity } from '../../protocol/identity';
import { GrantRole } from '../../protocol/permissions';
import { api, errorMessage } from '../api';
import { ActionMessageLine, useAction } from './use-action';
import { useOrgStore } from '../stores/org-store';

/*
 * How people sign in to the open org: its Microsoft Entra (Azure AD) tenant, the role a new user
 * gets on first sign-in, and the session timeouts. Shown to holders of org.settings (as the
 * audit retention setting); saving asks for step-up (org.security_settings).
 */

const ROLE_LABELS: Record<GrantRole, string> = { tenant_admin: 'Tenant admin', tech: 'Technician', viewer: 'Viewer', provisioning: 'Provisioning' };

interface Draft {
  azureTenantId: string;
  defaultRole: GrantRole;
  idle: string;
  absolute: string;
}

function draftOf(identity: OrgIdentity): Draft {
  return { azureTenantId: identity.azureTenantId ?? '', defaultRole: identity.defaultRole, idle: String(identity.sessionIdleMinutes), absolute: String(identity.sessionAbsoluteMinutes) };
}

export function OrgSignInView() {
  const orgId = useOrgStore((s) => s.selectedOrgId);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const { busy, message, run } = useAction();

  useEffect(() => {
    let current = true;
    setDraft(null);
    if (orgId) {
      api.orgIdentity(orgId).then(
        (identity) => current && setDraft(draftOf(identity)),
        (err: unknown) => current && setLoadError(errorMessage(err)),
      );
    }
    return () => {
      current = false;
    };
  }, [orgId]);

  if (!orgId) return null;
  const idle = Number(draft?.idle);
  const absolute = Number(draft?.absolute);
  const tenantOk = !draft || draft.azureTenantId.trim() === '' || /^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/.test(draft.azureTenantId.trim());
  const timesOk = Number.isInteger(idle) && Number.isInteger(absolute) && idle >= 1 && idle <= 1440 && absolute >= 5 && absolute <= 10080 && idle <= absolute;

  const save = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (!draft) return;
    const tenant = draft.azureTenantId.trim();
    await run(
      () => api.updateOrgIdentity({ orgId, azureTenantId: tenant === '' ? null : tenant, defaultRole: draft.defaultRole, sessionIdleMinutes: idle, sessionAbsoluteMinutes: absolute }),
      (saved) => {
        setDraft(draftOf(saved));
        return 'Saved. New sessions use these settings.';
      },
    );
  };
  const update = (change: Partial<Draft>): void => setDraft((d) => (d ? { ...d, ...change } : d));

  return (
    <section className="panel" aria-labelledby="identity-heading" data-testid="identity-view">
      <header className="panel-header">
        <h2 id="identity-heading">Sign-in settings</h2>
      </header>
      {loadError && <p className="error-text" role="alert">{loadError}</p>}
      {draft && (
        <form className="card identity-form" aria-labelledby="identity-heading" onSubmit={(e) => void save(e)}>
          <label className="field">
            <span>Microsoft Entra (Azure AD) tenant id</span>
            <input data-testid="identity-tenant" value={draft.azureTenantId} placeholder="none: nobody signs in with Microsoft" aria-invalid={!tenantOk} onChange={(e) => update({ azureTenantId: e.target.value })} />
          </label>
          {!tenantOk && <p className="error-text small">A tenant id looks like 72f988bf-86f1-41af-91ab-2d7cd011db47.</p>}
          <label className="field">
            <span>Role of a new user on first sign-in</span>
            <select data-testid="identity-default-role" value={draft.defaultRole} onChange={(e) => { const parsed = GrantRole.safeParse(e.target.value); if (parsed.success) update({ defaultRole: parsed.data }); }}>
              {GrantRole.options.map((role) => (
                <option key={role} value={role}>
                  {ROLE_LABELS[role]}
                </option>
              ))}
            </select>
          </label>
          <div className="form-row">
            <label className="field">
              <span>Lock after (minutes without activity)</span>
              <input type="number" min={1} max={1440} data-testid="identity-idle" value={draft.idle} onChange={(e) => update({ idle: e.target.value })} />
            </label>
            <label className="field">
              <span>Sign in again after (minutes, however active)</span>
              <input type="number" min={5} max={10080} data-testid="identity-absolute" value={draft.absolute} onChange={(e) => update({ absolute: e.target.value })} />
            </label>
          </div>
          {!timesOk && <p className="error-text small">The idle time must be 1–1440 minutes and not longer than the session (5–10080 minutes).</p>}
          <div className="row-actions">
            <button type="submit" className="button" data-testid="identity-save" data-mutates="true" disabled={busy || !tenantOk || !timesOk}>
              Save
            </button>
          </div>
          <ActionMessageLine message={message} testId="identity-message" />
        </form>
      )}
    </section>
  );
}
