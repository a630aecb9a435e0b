import { canAnywhere, canAt, canReadAlerts } from '../permissions';
import { useAccessStore } from '../stores/access-store';
import { useOrgStore } from '../stores/org-store';
import { useViewStore, type ConsoleView } from '../stores/view-store';

const VIEWS: Array<{ view: ConsoleView; label: string }> = [
  { view: 'agents', label: 'Agents' },
  { view: 'units', label: 'Units' },
  { view: 'people', label: 'Users & grants' },
  { view: 'workspace', label: 'Workspace' },
  { view: 'scripts', label: 'Scripts' },
  { view: 'audit', label: 'Audit log' },
  { view: 'sessions', label: 'Sessions' },
  { view: 'identity', label: 'Sign-in settings' },
  { view: 'alerts', label: 'Alerts' },
  { view: 'security', label: 'Security' },
];

/**
 * Screens the signed-in user may open in this org: people needs users.read (org level) or
 * grants.manage on some unit (a unit's tenant admin), the audit log needs audit.read, the org's
 * sign-in settings org.settings (as the retention setting), alerts alerts.read, the script
 * library scripts.read somewhere in the org. Everyone has
 * Sessions (their own at least) and Security (their own second factor).
 */
export function useAvailableViews(): ConsoleView[] {
  const access = useAccessStore((s) => s.access);
  return VIEWS.map((v) => v.view).filter((view) => {
    if (view === 'people') return canAt(access, 'users.read', null) || canAnywhere(access, 'grants.manage');
    if (view === 'audit') return canAt(access, 'audit.read', null);
    if (view === 'identity') return canAt(access, 'org.settings', null);
    if (view === 'alerts') return canReadAlerts(access);
    if (view === 'scripts') return canAnywhere(access, 'scripts.read');
    return true;
  });
}

/** The chosen screen, or the agent list when the open org does not allow it. */
export function useShownView(): ConsoleView {
  const view = useViewStore((s) => s.view);
  const available = useAvailableViews();
  return available.includes(view) ? view : 'agents';
}

export function ViewTabs() {
  const selectedOrgId = useOrgStore((s) => s.selectedOrgId);
  const show = useViewStore((s) => s.show);
  const current = useShownView();
  const available = useAvailableViews();
  if (!selectedOrgId) return null;
  return (
    <nav className="view-tabs" aria-label="Screens">
      {VIEWS.filter((v) => available.includes(v.view)).map(({ view, label }) => (
        <button
          key={view}
          type="button"
          className={view === current ? 'view-tab selected' : 'view-tab'}
          aria-current={view === current ? 'page' : undefined}
          data-testid={`view-${view}`}
          onClick={() => show(view)}
        >
          {label}
        </button>
      ))}
    </nav>
  );
}
