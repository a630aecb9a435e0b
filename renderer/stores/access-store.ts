import { create } from 'zustand';
import type { OrgAccess } from '../../protocol/access';
import { api, errorMessage } from '../api';
import type { LoadStatus } from './org-store';

/*
 * What the signed-in user may do in the open org. Entering an org (audited by the server) answers
 * it; `reload` asks again, e.g. after a new unit appeared.
 */

interface AccessState {
  orgId: string | null;
  access: OrgAccess | null;
  status: LoadStatus;
  error: string | null;
  enter(orgId: string): Promise<void>;
  reload(): Promise<void>;
}

export const useAccessStore = create<AccessState>()((set, get) => ({
  orgId: null,
  access: null,
  status: 'idle',
  error: null,

  async enter(orgId) {
    set({ orgId, access: null, status: 'loading', error: null });
    try {
      const access = await api.enterOrg(orgId);
      if (get().orgId === orgId) set({ access, status: 'ready' });
    } catch (error) {
      if (get().orgId === orgId) set({ status: 'error', error: errorMessage(error) });
    }
  },

  async reload() {
    const { orgId } = get();
    if (!orgId) return;
    try {
      const access = await api.orgAccess(orgId);
      if (get().orgId === orgId) set({ access, status: 'ready', error: null });
    } catch (error) {
      if (get().orgId === orgId) set({ status: 'error', error: errorMessage(error) });
    }
  },
}));
