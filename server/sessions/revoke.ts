import { withScope, type Tx } from '../db/database';
import { ConflictError, NotFoundError } from '../errors';
import type { RouteCall } from '../http/route';
import { endSession, findSession } from './store';

/*
 * Remote revocation, shared by the org's session routes and the MSP staff ones. Ending another
 * user's session is a sensitive action (a fresh step-up proof for `sessions.revoke_other`,
 * docs/mfa.md); ending one's own is not. The session is looked up first, in its own transaction:
 * the proof is checked (and spent) in another one, and a session that is not there or has
 * already ended needs no proof to say so.
 */

export const REVOKE_OTHER_STEP_UP = { action: 'sessions.revoke_other', when: 'the session belongs to another user (ending one’s own needs none)' } as const;

type Call = Pick<RouteCall<unknown, unknown, unknown>, 'principal' | 'server' | 'audit' | 'requireStepUp'>;

/** Ends a session of `home` (an org, or null: a staff session of no org); its console is told and locked. */
export async function revokeSession(call: Call, options: { home: string | null; sessionId: string; reason: string }): Promise<{ id: string; endedAt: string }> {
  const { principal, server, audit, requireStepUp } = call;
  const { home, sessionId, reason } = options;
  const inHome = <T>(fn: (tx: Tx) => Promise<T>) => withScope(server.db, { orgId: home }, fn);

  const session = await inHome((tx) => findSession(tx, sessionId));
  if (!session || session.orgId !== home) throw NotFoundError(home === null ? 'No such staff session' : 'No such session in this organisation');
  if (session.endedAt) throw ConflictError('That session has already ended');
  if (session.userId !== principal.userId) await requireStepUp(REVOKE_OTHER_STEP_UP.action);

  const endedAt = server.clock.now();
  await inHome(async (tx) => {
    // Ended meanwhile (a timeout, another admin): a conflict, not a second entry.
    if (!(await endSession(tx, sessionId, { at: endedAt, by: principal.userId, reason }))) throw ConflictError('That session has already ended');
    await audit(tx, { orgId: home, action: 'session.revoked', target: { type: 'session', id: sessionId }, details: { sessionId, reason } });
  });
  server.bus.publish({ type: 'session.ended', orgId: home, sessionId, kind: 'revoked', reason, by: { userId: principal.userId, name: principal.displayName } });
  return { id: sessionId, endedAt: endedAt.toISOString() };
}
