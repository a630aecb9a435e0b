import { api } from './api';
import { useAccessStore } from './stores/access-store';
import { useAgentStore } from './stores/agent-store';
import { useAuditStore } from './stores/audit-store';
import { useConnectionStore } from './stores/connection-store';
import { useIdentityStore } from './stores/identity-store';
import { useOrgStore } from './stores/org-store';

/*
 * What happens across stores: opening an org enters it on the server (audited; answers what the
 * user may do there), loads its units and agents and moves the live subscription; events from
 * main update the stores; coming back online reloads what may have been missed while offline.
 */

export async function openOrg(orgId: string): Promise<void> {
  await Promise.all([
    useAccessStore.getState().enter(orgId),
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
    api.on('connection.state', (next) => {
      const previous = useConnectionStore.getState().connection.state;
      useConnectionStore.getState().setConnection(next);
      if (next.state === 'online' && previous !== 'online') void catchUp();
    }),
  ];

  void useIdentityStore.getState().load();
  void api.appInfo().then((info) => useConnectionStore.getState().setAppInfo(info), () => undefined);
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

async function catchUp(): Promise<void> {
  const orgId = useOrgStore.getState().selectedOrgId;
  if (!orgId) return;
  const agents = useAgentStore.getState();
  await agents.loadAgents(orgId);
  if (agents.selectedAgentId) await useAgentStore.getState().selectAgent(agents.selectedAgentId);
}
