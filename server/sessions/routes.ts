import { z } from 'zod';
import { OrgParams } from '../../protocol/api';
import { RevokedSession, RevokeSessionBody, SessionList, SessionParams, SessionTimes } from '../../protocol/identity';
import type { Principal } from '../auth/principal';
import type { ServerContext } from '../context';
import { withOrg, withScope } from '../db/database';
import { AppError, NotFoundError } from '../errors';
import { apiRoute } from '../http/route';
import { sessionTimes, STAFF_SESSION_LIFETIMES } from './lifetime';
import { REVOKE_OTHER_STEP_UP, revokeSession } from './revoke';
import { staffSessionRoutes } from './staff-routes';
import { endSession, findSession, listSessions, type SessionRecord } from './store';

/** The caller's own session, or 400 when the request came with an API token. */
async function ownSession(server: ServerContext, principal: Principal): Promise<SessionRecord> {
  if (!principal.sessionId) throw new AppError(400, 'bad_request', 'This request was made with an API token, not a session');
  const sessionId = principal.sessionId;
  const session = await withScope(server.db, { userId: principal.userId }, (tx) => findSession(tx, sessionId));
  if (!session) throw NotFoundError('Your session is gone');
  return session;
}

export const sessionRoutes = [
  ...staffSessionRoutes,
  apiRoute({
    method: 'post',
    path: '/api/auth/heartbeat',
    summary: 'Activity ping from the console; returns how long the session has left',
    tag: 'auth',
    response: SessionTimes,
    handler: async ({ principal, server }) => {
      const session = await ownSession(server, principal);
      const lifetimes = session.orgId === null
        ? STAFF_SESSION_LIFETIMES
        : await server.db.selectFrom('orgs').select(['session_idle_minutes as idleMinutes', 'session_absolute_minutes as absoluteMinutes']).where('id', '=', session.orgId).executeTakeFirstOrThrow();
      const now = server.clock.now();
      // This request is activity: authentication has just recorded it.
      return sessionTimes({ createdAt: session.createdAt, lastActivityAt: now, idleMinutes: lifetimes.idleMinutes, absoluteMinutes: lifetimes.absoluteMinutes }, now);
    },
  }),
  apiRoute({
    method: 'post',
    path: '/api/auth/sign-out',
    summary: 'End the caller’s own session (audited)',
    tag: 'auth',
    response: z.object({ signedOut: z.literal(true) }),
    handler: async ({ principal, server, audit }) => {
      const session = await ownSession(server, principal);
      const reason = 'Signed out';
      await withScope(server.db, { orgId: session.orgId }, async (tx) => {
        await endSession(tx, session.id, { at: server.clock.now(), by: principal.userId, reason });
        await audit(tx, { orgId: session.orgId, action: 'auth.signed_out', target: { type: 'session', id: session.id }, details: { sessionId: session.id } });
      });
      server.bus.publish({ type: 'session.ended', orgId: session.orgId, sessionId: session.id, kind: 'signed_out', reason, by: { userId: principal.userId, name: principal.displayName } });
      return { signedOut: true as const };
    },
  }),
  apiRoute({
    method: 'get',
    path: '/api/me/sessions',
    summary: 'The caller’s own open sessions',
    tag: 'auth',
    response: SessionList,
    handler: async ({ principal, server }) => ({
      sessions: await withScope(server.db, { orgId: principal.homeOrgId, userId: principal.userId }, (tx) => listSessions(tx, { userId: principal.userId }, principal.sessionId)),
    }),
  }),
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/sessions',
    summary: 'Open sessions of the org',
    tag: 'sessions',
    permission: 'sessions.read',
    params: OrgParams,
    response: SessionList,
    handler: async ({ input, principal, server }) => ({
      sessions: await withOrg(server.db, input.params.orgId, (tx) => listSessions(tx, {}, principal.sessionId)),
    }),
  }),
  apiRoute({
    method: 'post',
    path: '/api/orgs/:orgId/sessions/:sessionId/revoke',
    summary: 'End a session of the org remotely; its console is told and locked (audited; another user’s session needs a step-up proof for sessions.revoke_other)',
    tag: 'sessions',
    permission: 'sessions.revoke',
    audit: 'session.revoked',
    stepUpWhen: REVOKE_OTHER_STEP_UP,
    params: SessionParams,
    body: RevokeSessionBody,
    response: RevokedSession,
    handler: ({ input, principal, server, audit, requireStepUp }) =>
      revokeSession({ principal, server, audit, requireStepUp }, { home: input.params.orgId, sessionId: input.params.sessionId, reason: input.body.reason }),
  }),
];
