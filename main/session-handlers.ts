import { RevokedSession, SessionList } from '../protocol/identity';
import type { IpcHandlerMap } from '../protocol/ipc-contract';
import { apiPath, type ApiClient } from './api-client';
import type { StepUpStore } from './step-up-store';

/*
 * Handlers for server sessions: one's own, an org's (sessions.read) and the MSP staff's (MSP
 * admins), and ending one remotely. Ending another user's session needs a step-up proof
 * (`sessions.revoke_other`); the server decides whose session it is, so a held proof goes along.
 */

export type SessionChannel = 'sessions.mine' | 'sessions.list' | 'sessions.revoke' | 'sessions.staffList' | 'sessions.staffRevoke';

export function createSessionHandlers(api: ApiClient, stepUps: StepUpStore): Pick<IpcHandlerMap, SessionChannel> {
  return {
    'sessions.mine': () => api.get('/api/me/sessions', SessionList),
    'sessions.list': ({ orgId }) => api.get(apiPath('orgs', orgId, 'sessions'), SessionList),
    'sessions.revoke': ({ orgId, sessionId, reason }) =>
      api.send('POST', apiPath('orgs', orgId, 'sessions', sessionId, 'revoke'), { reason }, RevokedSession, stepUps.forChannel('sessions.revoke')),
    'sessions.staffList': () => api.get('/api/staff/sessions', SessionList),
    'sessions.staffRevoke': ({ sessionId, reason }) =>
      api.send('POST', apiPath('staff', 'sessions', sessionId, 'revoke'), { reason }, RevokedSession, stepUps.forChannel('sessions.staffRevoke')),
  };
}
