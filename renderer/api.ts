import type { RmmBridge } from '../preload/index';
import type {
  IpcChannel,
  IpcErrorCode,
  IpcEventName,
  IpcEventPayload,
  IpcRequest,
  IpcResponse,
} from '../protocol/ipc-contract';

/*
 * The renderer's only way out: a typed client over `window.rmm`, which the preload (Electron)
 * or bridge.js (browser host) defines with the same shape. Failed calls throw ApiError with
 * the contract's error code.
 */

declare global {
  interface Window {
    rmm?: RmmBridge;
  }
}

export class ApiError extends Error {
  readonly code: IpcErrorCode;

  constructor(code: IpcErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

function bridge(): RmmBridge {
  const rmm = window.rmm;
  if (!rmm) throw new ApiError('internal', 'the console bridge is not available');
  return rmm;
}

async function call<C extends IpcChannel>(channel: C, request: IpcRequest<C>): Promise<IpcResponse<C>> {
  const result = await bridge().invoke(channel, request);
  if (!result.ok) throw new ApiError(result.error.code, result.error.message);
  return result.value;
}

export const api = {
  appInfo: () => call('app.info', {}),
  listOrgs: () => call('orgs.list', {}),
  listUnits: (orgId: string) => call('units.list', { orgId }),
  listAgents: (orgId: string) => call('agents.list', { orgId }),
  getAgent: (orgId: string, agentId: string) => call('agents.get', { orgId, agentId }),
  subscribe: (orgId: string) => call('console.subscribe', { orgId }),
  connectionState: () => call('connection.get', {}),
  me: () => call('me.get', {}),
  enterOrg: (orgId: string) => call('orgs.enter', { orgId }),
  orgAccess: (orgId: string) => call('orgs.access', { orgId }),
  settings: (orgId: string) => call('settings.get', { orgId }),
  updateSettings: (request: IpcRequest<'settings.update'>) => call('settings.update', request),
  createUnit: (request: IpcRequest<'units.create'>) => call('units.create', request),
  renameUnit: (request: IpcRequest<'units.rename'>) => call('units.rename', request),
  activateUnit: (orgId: string, unitId: string) => call('units.activate', { orgId, unitId }),
  deactivateUnit: (orgId: string, unitId: string) => call('units.deactivate', { orgId, unitId }),
  listUsers: (orgId: string) => call('users.list', { orgId }),
  createUser: (request: IpcRequest<'users.create'>) => call('users.create', request),
  listGrants: (orgId: string) => call('grants.list', { orgId }),
  createGrant: (request: IpcRequest<'grants.create'>) => call('grants.create', request),
  revokeGrant: (orgId: string, grantId: string) => call('grants.revoke', { orgId, grantId }),
  workspaceItems: () => call('workspace.list', {}),
  createWorkspaceItem: (request: IpcRequest<'workspace.create'>) => call('workspace.create', request),
  updateWorkspaceItem: (request: IpcRequest<'workspace.update'>) => call('workspace.update', request),
  deleteWorkspaceItem: (itemId: string) => call('workspace.delete', { itemId }),
  shareWorkspaceItem: (request: IpcRequest<'workspace.share'>) => call('workspace.share', request),
  unshareWorkspaceItem: (request: IpcRequest<'workspace.unshare'>) => call('workspace.unshare', request),
  sharedItems: (orgId: string) => call('workspace.shared', { orgId }),
  auditPage: (request: IpcRequest<'audit.list'>) => call('audit.list', request),
  exportAudit: (request: IpcRequest<'audit.export'>) => call('audit.export', request),
  cancelAuditExport: (exportId: string) => call('audit.cancelExport', { exportId }),
  on<E extends IpcEventName>(event: E, listener: (payload: IpcEventPayload<E>) => void): () => void {
    return bridge().on(event, listener);
  },
};

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return 'unexpected error';
}
