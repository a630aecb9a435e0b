import { RevokedSession, RevokeSessionBody, SessionList, StaffSessionParams } from '../../protocol/identity';
import { withScope } from '../db/database';
import { ConflictError, NotFoundError } from '../errors';
import { apiRoute } from '../http/route';
import { endSession, findSession, listSessions } from './store';

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
    summary: 'End a staff session remotely; its console is told and locked (MSP admins only, audited in the platform chain)',
    tag: 'sessions',
    adminOnly: true,
    audit: 'session.revoked',
    params: StaffSessionParams,
    body: RevokeSessionBody,
    response: RevokedSession,
    handler: async ({ input, principal, server, audit }) => {
      const { sessionId } = input.params;
      const endedAt = server.clock.now();
      await withScope(server.db, {}, async (tx) => {
        const session = await findSession(tx, sessionId);
        if (!session || session.orgId !== null) throw NotFoundError('No such staff session');
        // STEP-UP (issue #4, next session): as for org sessions, 'sessions.revoke_other'. NOT ENFORCED YET.
        if (session.endedAt) throw ConflictError('That session has already ended');
        await endSession(tx, sessionId, { at: endedAt, by: principal.userId, reason: input.body.reason });
        await audit(tx, { orgId: null, action: 'session.revoked', target: { type: 'session', id: sessionId }, details: { sessionId, reason: input.body.reason } });
      });
      server.bus.publish({ type: 'session.ended', orgId: null, sessionId, kind: 'revoked', reason: input.body.reason, by: { userId: principal.userId, name: principal.displayName } });
      return { id: sessionId, endedAt: endedAt.toISOString() };
    },
  }),
];
