import { create } from 'zustand';
import type { WorkspaceItem } from '../../protocol/access';
import type { IpcRequest, IpcResponse } from '../../protocol/ipc-contract';
import { api, errorMessage } from '../api';
import type { LoadStatus } from './org-store';

/*
 * The signed-in user's personal workspace (scripts and notes nobody else sees unless shared into
 * a unit), and the items others shared into units of the open org.
 */

export type SharedItem = IpcResponse<'workspace.shared'>['items'][number];

interface WorkspaceState {
  items: WorkspaceItem[];
  status: LoadStatus;
  error: string | null;
  selectedItemId: string | null;
  sharedOrgId: string | null;
  shared: SharedItem[];
  sharedStatus: LoadStatus;
  sharedError: string | null;
  load(): Promise<void>;
  loadShared(orgId: string): Promise<void>;
  select(itemId: string | null): void;
  /** Changes throw ApiError on refusal so the editor can say why. */
  create(request: IpcRequest<'workspace.create'>): Promise<WorkspaceItem>;
  update(itemId: string, changes: { title?: string; body?: string }): Promise<void>;
  remove(itemId: string): Promise<void>;
  share(itemId: string, orgId: string, unitId: string): Promise<void>;
  unshare(itemId: string, orgId: string, unitId: string): Promise<void>;
}

const byTitle = (a: WorkspaceItem, b: WorkspaceItem): number => a.title.localeCompare(b.title) || a.id.localeCompare(b.id);

export const useWorkspaceStore = create<WorkspaceState>()((set, get) => {
  const replace = (item: WorkspaceItem): void =>
    set({ items: [...get().items.filter((i) => i.id !== item.id), item].sort(byTitle) });
  return {
    items: [],
    status: 'idle',
    error: null,
    selectedItemId: null,
    sharedOrgId: null,
    shared: [],
    sharedStatus: 'idle',
    sharedError: null,

    async load() {
      set({ status: 'loading', error: null });
      try {
        const { items } = await api.workspaceItems();
        set({ items: [...items].sort(byTitle), status: 'ready' });
      } catch (error) {
        set({ status: 'error', error: errorMessage(error) });
      }
    },

    async loadShared(orgId) {
      const switching = get().sharedOrgId !== orgId;
      set({ sharedOrgId: orgId, sharedStatus: 'loading', sharedError: null, ...(switching ? { shared: [] } : {}) });
      try {
        const { items } = await api.sharedItems(orgId);
        if (get().sharedOrgId === orgId) set({ shared: items, sharedStatus: 'ready' });
      } catch (error) {
        if (get().sharedOrgId === orgId) set({ sharedStatus: 'error', sharedError: errorMessage(error) });
      }
    },

    select(itemId) {
      set({ selectedItemId: itemId });
    },

    async create(request) {
      const item = await api.createWorkspaceItem(request);
      replace(item);
      set({ selectedItemId: item.id });
      return item;
    },

    async update(itemId, changes) {
      replace(await api.updateWorkspaceItem({ itemId, ...changes }));
    },

    async remove(itemId) {
      await api.deleteWorkspaceItem(itemId);
      set({
        items: get().items.filter((i) => i.id !== itemId),
        selectedItemId: get().selectedItemId === itemId ? null : get().selectedItemId,
      });
    },

    async share(itemId, orgId, unitId) {
      replace(await api.shareWorkspaceItem({ itemId, orgId, unitId }));
    },

    async unshare(itemId, orgId, unitId) {
      replace(await api.unshareWorkspaceItem({ itemId, orgId, unitId }));
    },
  };
});
