import { SharedItemList, WorkspaceItem, WorkspaceItemList } from '../protocol/access';
import type { IpcHandlerMap } from '../protocol/ipc-contract';
import { apiPath, type ApiClient } from './api-client';

/*
 * Handlers for the caller's personal workspace: their own items (invisible to everyone else),
 * sharing an item into a unit and taking it back, and what others shared into the org.
 */

export type WorkspaceChannel =
  | 'workspace.list'
  | 'workspace.create'
  | 'workspace.update'
  | 'workspace.delete'
  | 'workspace.share'
  | 'workspace.unshare'
  | 'workspace.shared';

export function createWorkspaceHandlers(api: ApiClient): Pick<IpcHandlerMap, WorkspaceChannel> {
  const item = (itemId: string): string => apiPath('workspace', 'items', itemId);
  const shares = (orgId: string, unitId: string, ...rest: string[]): string => apiPath('orgs', orgId, 'units', unitId, 'shared-items', ...rest);
  return {
    'workspace.list': () => api.get('/api/workspace/items', WorkspaceItemList),
    'workspace.create': (body) => api.send('POST', '/api/workspace/items', body, WorkspaceItem),
    'workspace.update': ({ itemId, ...changes }) => api.send('PATCH', item(itemId), changes, WorkspaceItem),
    'workspace.delete': ({ itemId }) => api.send('DELETE', item(itemId), undefined, WorkspaceItem),
    'workspace.share': ({ orgId, unitId, itemId }) => api.send('POST', shares(orgId, unitId), { itemId }, WorkspaceItem),
    'workspace.unshare': ({ orgId, unitId, itemId }) => api.send('DELETE', shares(orgId, unitId, itemId), undefined, WorkspaceItem),
    'workspace.shared': ({ orgId }) => api.get(apiPath('orgs', orgId, 'shared-items'), SharedItemList),
  };
}
