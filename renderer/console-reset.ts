import { dropCallsInFlight } from './api';
import { useAccessStore } from './stores/access-store';
import { useAgentStore } from './stores/agent-store';
import { useAlertStore } from './stores/alert-store';
import { useAuditStore } from './stores/audit-store';
import { useIdentityStore } from './stores/identity-store';
import { useOrgStore } from './stores/org-store';
import { usePeopleStore } from './stores/people-store';
import { useStepUpStore } from './stores/step-up-store';
import { useViewStore } from './stores/view-store';
import { useWorkspaceStore } from './stores/workspace-store';

/*
 * Forgets everything the console loaded for a session: orgs, units, agents and their inventory,
 * people, workspace items, audit entries, alerts, who is signed in. Run when the console locks
 * or the session changes, so nothing of the last session stays in the page behind the lock screen.
 */
export function clearConsoleData(): void {
  dropCallsInFlight();
  useStepUpStore.getState().finish(false);
  resetStore(useAccessStore);
  resetStore(useAgentStore);
  resetStore(useAlertStore);
  resetStore(useAuditStore);
  resetStore(useIdentityStore);
  resetStore(useOrgStore);
  resetStore(usePeopleStore);
  resetStore(useViewStore);
  resetStore(useWorkspaceStore);
}

function resetStore<T>(store: { setState(state: T, replace: true): void; getInitialState(): T }): void {
  store.setState(store.getInitialState(), true);
}
