import { api } from './api';
import { canReadAlerts } from './permissions';
import { useAccessStore } from './stores/access-store';
import { useAgentStore } from './stores/agent-store';
import { useAlertStore } from './stores/alert-store';
import { useAuditStore } from './stores/audit-store';
import { useConnectionStore } from './stores/connection-store';
import { useIdentityStore } from './stores/identity-store';
import { useOrgStore } from './stores/org-store';

/*
 * What happens across stores: opening an org enters it on the server (audited; answers what the
 * user may do there), loads its units, agents and (where readable) alerts and moves the live
 * subscription; events from main update the stores; coming back online reloads what may have
 * been missed while offline. Runs only while signed in (App.tsx).
 */

export async function openOrg(orgId: string): Promise<void> {
  await Promise.all([
    useAccessStore
      .getState()
      .enter(orgId)
      .then(() => loadAlerts(orgId)),
    useOrgStore.getState().selectOrg(orgId),
    useAgentStore.getState().loadAgents(orgId),
    api.subscribe(orgId).catch(() => undefined),
  ]);
}

/** Loads the first screen and wires live events; returns the function that unwires them. */
export function startConsoleSession(): () => void {
  const unsubscribers = [
    api.on('agent.status', ({ agent }) => useAgentStore.getState().applyStatus(agent)),
    api.on('agent.inventory', ({ agent }) => useAgentStore.getState().applyInventory(agent)),
    api.on('audit.exportProgress', (progress) => useAuditStore.getState().applyExportProgress(progress)),
    api.on('alert.raised', (alert) => useAlertStore.getState().apply(alert)),
    api.on('connection.state', (next) => {
      const previous = useConnectionStore.getState().connection.state;
      useConnectionStore.getState().setConnection(next);
      if (next.state === 'online' && previous !== 'online') void catchUp();
    }),
  ];

  void useIdentityStore.getState().load();
  void api.connectionState().then((state) => useConnectionStore.getState().setConnection(state), () => undefined);
  void useOrgStore
    .getState()
    .loadOrgs()
    .then(() => {
      const { orgs, selectedOrgId } = useOrgStore.getState();
      const first = orgs[0];
      if (!selectedOrgId && first) return openOrg(first.id);
      return undefined;
    });

  return () => {
    for (const unsubscribe of unsubscribers) unsubscribe();
  };
}

/** The open org's alerts when its access allows them, plus MSP staff alerts for MSP admins. */
async function loadAlerts(orgId: string): Promise<void> {
  const { access, orgId: accessOrg } = useAccessStore.getState();
  if (accessOrg !== orgId || !access) return;
  await useAlertStore.getState().load({ orgId, org: canReadAlerts(access), staff: access.platformAdmin });
}

async function catchUp(): Promise<void> {
  const orgId = useOrgStore.getState().selectedOrgId;
  if (!orgId) return;
  const agents = useAgentStore.getState();
  await agents.loadAgents(orgId);
  if (agents.selectedAgentId) await useAgentStore.getState().selectAgent(agents.selectedAgentId);
}
