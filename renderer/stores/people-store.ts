import { create } from 'zustand';
import type { Grant, User } from '../../protocol/access';
import type { GrantRole } from '../../protocol/permissions';
import { api, errorMessage } from '../api';
import type { LoadStatus } from './org-store';

/* Members and staff of the open org and their role grants; adding members, granting, revoking. */

interface PeopleState {
  orgId: string | null;
  users: User[];
  grants: Grant[];
  status: LoadStatus;
  error: string | null;
  load(orgId: string): Promise<void>;
  /** Each change throws ApiError on refusal, so the form that asked can say why. */
  addUser(displayName: string, email: string): Promise<User>;
  grant(userId: string, role: GrantRole, unitId: string | null): Promise<Grant>;
  revoke(grantId: string): Promise<void>;
}

function byName(a: User, b: User): number {
  return a.displayName.localeCompare(b.displayName) || a.email.localeCompare(b.email);
}

export const usePeopleStore = create<PeopleState>()((set, get) => {
  const openOrg = (): string => {
    const { orgId } = get();
    if (!orgId) throw new Error('no organisation is open');
    return orgId;
  };
  return {
    orgId: null,
    users: [],
    grants: [],
    status: 'idle',
    error: null,

    async load(orgId) {
      const switching = get().orgId !== orgId;
      set({ orgId, status: 'loading', error: null, ...(switching ? { users: [], grants: [] } : {}) });
      try {
        const [{ users }, { grants }] = await Promise.all([api.listUsers(orgId), api.listGrants(orgId)]);
        if (get().orgId === orgId) set({ users: [...users].sort(byName), grants, status: 'ready' });
      } catch (error) {
        if (get().orgId === orgId) set({ status: 'error', error: errorMessage(error) });
      }
    },

    async addUser(displayName, email) {
      const orgId = openOrg();
      const user = await api.createUser({ orgId, displayName, email });
      if (get().orgId === orgId) set({ users: [...get().users.filter((u) => u.id !== user.id), user].sort(byName) });
      return user;
    },

    async grant(userId, role, unitId) {
      const orgId = openOrg();
      const grant = await api.createGrant({ orgId, userId, role, unitId });
      if (get().orgId === orgId) set({ grants: [...get().grants, grant] });
      return grant;
    },

    async revoke(grantId) {
      const orgId = openOrg();
      await api.revokeGrant(orgId, grantId);
      if (get().orgId === orgId) set({ grants: get().grants.filter((g) => g.id !== grantId) });
    },
  };
});
