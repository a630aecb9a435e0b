import { openOrg } from '../console-session';
import { useOrgStore } from '../stores/org-store';

export function OrgList() {
  const orgs = useOrgStore((s) => s.orgs);
  const status = useOrgStore((s) => s.orgsStatus);
  const error = useOrgStore((s) => s.orgsError);
  const selectedOrgId = useOrgStore((s) => s.selectedOrgId);

  return (
    <nav className="pane-section" aria-labelledby="orgs-heading">
      <h2 id="orgs-heading" className="section-heading">Organisations</h2>
      {status === 'loading' && <p className="muted">Loading…</p>}
      {status === 'error' && <p className="error-text" role="alert">{error}</p>}
      {status === 'ready' && orgs.length === 0 && <p className="muted">No organisations.</p>}
      <ul className="nav-list" data-testid="org-list">
        {orgs.map((org) => (
          <li key={org.id}>
            <button
              type="button"
              className={org.id === selectedOrgId ? 'nav-item selected' : 'nav-item'}
              aria-current={org.id === selectedOrgId ? 'true' : undefined}
              data-testid="org-item"
              onClick={() => void openOrg(org.id)}
            >
              {org.name}
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}
