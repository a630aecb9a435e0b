import type { RmmBridge } from '../preload/index';
import {
  stepUpActionOf,
  type IpcChannel,
  type IpcErrorCode,
  type IpcEventName,
  type IpcEventPayload,
  type IpcRequest,
  type IpcResponse,
} from '../protocol/ipc-contract';
import { useStepUpStore, type StepUpReason } from './stores/step-up-store';

/*
 * The renderer's only way out: a typed client over `window.rmm`, which the preload (Electron)
 * or bridge.js (browser host) defines with the same shape. Failed calls throw ApiError with
 * the contract's error code. Channels the server guards with step-up ask for the second factor
 * in place (the step-up dialog) and are tried once more with the proof main now holds.
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

/** Thrown when the user closed the step-up dialog: the action was not done. */
export class StepUpCancelled extends ApiError {
  constructor() {
    super('step_up_required', 'Not done: the action needs confirming with your second factor.');
    this.name = 'StepUpCancelled';
  }
}


const STEP_UP_REASONS: Partial<Record<IpcErrorCode, StepUpReason>> = {
  step_up_required: 'required',
  step_up_invalid: 'invalid',
  mfa_not_enrolled: 'not-enrolled',
};

/** Calls of the sign-in screen itself: their answers are about the session, not of it. */
const SESSION_FREE = new Set<IpcChannel>(['app.info', 'connection.get', 'auth.state', 'auth.signIn', 'auth.signOut', 'auth.activity']);

/** Bumped whenever the console forgets its data (lock, sign-out, another session). */
let generation = 0;

/**
 * Answers of calls still in flight when the console forgot its data are dropped, so nothing of
 * an ended session lands in a store behind the lock screen.
 */
export function dropCallsInFlight(): void {
  generation += 1;
}

async function invoke<C extends IpcChannel>(channel: C, request: IpcRequest<C>): Promise<IpcResponse<C>> {
  const started = generation;
  const result = await bridge().invoke(channel, request);
  if (started !== generation && !SESSION_FREE.has(channel)) throw new ApiError('unauthenticated', 'the session ended while this call was running');
  if (!result.ok) throw new ApiError(result.error.code, result.error.message);
  return result.value;
}

/** One call; a guarded channel refused for want of step-up asks for it and is retried once. */
async function call<C extends IpcChannel>(channel: C, request: IpcRequest<C>): Promise<IpcResponse<C>> {
  const action = stepUpActionOf(channel);
  if (!action) return invoke(channel, request);
  try {
    return await invoke(channel, request);
  } catch (error) {
    const reason = error instanceof ApiError ? STEP_UP_REASONS[error.code] : undefined;
    if (!reason) throw error;
    const proved = await useStepUpStore.getState().ask(action, reason);
    if (!proved) throw new StepUpCancelled();
    return invoke(channel, request);
  }
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
  authState: () => call('auth.state', {}),
  signIn: () => call('auth.signIn', {}),
  signOut: () => call('auth.signOut', {}),
  activity: () => call('auth.activity', {}),
  mySessions: () => call('sessions.mine', {}),
  orgSessions: (orgId: string) => call('sessions.list', { orgId }),
  revokeSession: (request: IpcRequest<'sessions.revoke'>) => call('sessions.revoke', request),
  staffSessions: () => call('sessions.staffList', {}),
  revokeStaffSession: (request: IpcRequest<'sessions.staffRevoke'>) => call('sessions.staffRevoke', request),
  mfaStatus: () => call('mfa.status', {}),
  enrolMfa: () => call('mfa.enrol', {}),
  confirmMfa: (code: string) => call('mfa.confirm', { code }),
  stepUp: (request: IpcRequest<'mfa.stepUp'>) => call('mfa.stepUp', request),
  regenerateBackupCodes: () => call('mfa.regenerateBackupCodes', {}),
  resetMfa: (orgId: string, userId: string) => call('mfa.reset', { orgId, userId }),
  orgIdentity: (orgId: string) => call('identity.get', { orgId }),
  updateOrgIdentity: (request: IpcRequest<'identity.update'>) => call('identity.update', request),
  alerts: (orgId: string) => call('alerts.list', { orgId }),
  acknowledgeAlert: (orgId: string, alertId: string) => call('alerts.acknowledge', { orgId, alertId }),
  staffAlerts: () => call('alerts.staffList', {}),
  acknowledgeStaffAlert: (alertId: string) => call('alerts.staffAcknowledge', { alertId }),
  listScripts: (orgId: string) => call('scripts.list', { orgId }),
  getScript: (orgId: string, scriptId: string) => call('scripts.get', { orgId, scriptId }),
  createScript: (request: IpcRequest<'scripts.create'>) => call('scripts.create', request),
  addScriptVersion: (request: IpcRequest<'scripts.addVersion'>) => call('scripts.addVersion', request),
  approveScript: (request: IpcRequest<'scripts.approve'>) => call('scripts.approve', request),
  rejectScript: (request: IpcRequest<'scripts.reject'>) => call('scripts.reject', request),
  on<E extends IpcEventName>(event: E, listener: (payload: IpcEventPayload<E>) => void): () => void {
    return bridge().on(event, listener);
  },
};

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return 'unexpected error';
}
