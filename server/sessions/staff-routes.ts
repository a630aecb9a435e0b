import { RevokedSession, RevokeSessionBody, SessionList, StaffSessionParams } from '../../protocol/identity';
import { withScope } from '../db/database';
import { apiRoute } from '../http/route';
import { REVOKE_OTHER_STEP_UP, revokeSession } from './revoke';
import { listSessions } from './store';

/*
 * MSP staff sessions belong to no org, so no org's session routes see them. MSP admins list and
 * end them here, in the platform scope; the console of an ended session is told and locked like
 * any other (the `session.ended` event).
 */

export const staffSessionRoutes = [
  apiRoute({
    method: 'get',
    path: '/api/staff/sessions',
    summary: 'Open sessions of the MSP’s staff (MSP admins only)',
    tag: 'sessions',
    adminOnly: true,
    response: SessionList,
    handler: async ({ principal, server }) => {
      return { sessions: await withScope(server.db, {}, (tx) => listSessions(tx, { staffOnly: true }, principal.sessionId)) };
    },
  }),
  apiRoute({
    method: 'post',
    path: '/api/staff/sessions/:sessionId/revoke',
    summary: 'End a staff session remotely; its console is told and locked (MSP admins only, audited in the platform chain; another user’s session needs a step-up proof for sessions.revoke_other)',
    tag: 'sessions',
    adminOnly: true,
    audit: 'session.revoked',
    stepUpWhen: REVOKE_OTHER_STEP_UP,
    params: StaffSessionParams,
    body: RevokeSessionBody,
    response: RevokedSession,
    handler: ({ input, principal, server, audit, requireStepUp }) =>
      revokeSession({ principal, server, audit, requireStepUp }, { home: null, sessionId: input.params.sessionId, reason: input.body.reason }),
  }),
];
