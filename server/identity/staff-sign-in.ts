import type { z } from 'zod';
import type { SignInResponse } from '../../protocol/identity';
import { appendAudit } from '../audit/log';
import type { ServerContext } from '../context';
import { withScope } from '../db/database';
import { AppError } from '../errors';
import { sessionTimes, STAFF_SESSION_LIFETIMES } from '../sessions/lifetime';
import { generateSessionToken, insertSession } from '../sessions/store';
import type { AccessTokenVerifier } from './access-token';
import type { SignInLimits } from './sign-in-limits';
import { refuse, verifiedIdentity, type SignInRequest } from './sign-in-refusal';
import { staffForIdentity } from './store';

/*
 * MSP staff sign-in: a token from the staff tenant (RMM_AUTH_STAFF_TENANT), once verified, signs
 * in the staff user (no org) linked to its (tid, oid). Staff are never created here: an identity
 * no staff user is linked to is refused with 403 `staff_not_registered` (audited), until an admin
 * links it (`rmm user link`). The session belongs to no org (platform scope), with the staff
 * lifetimes, and the sign-in is audited in the platform chain.
 */

export async function staffSignIn(server: ServerContext, verifier: AccessTokenVerifier, limits: SignInLimits, request: SignInRequest, tenantId: string): Promise<z.input<typeof SignInResponse>> {
  const identity = await verifiedIdentity(server, verifier, limits, request, tenantId);
  const now = server.clock.now();
  const token = generateSessionToken();
  let outcome: { userId: string; sessionId: string };
  try {
    outcome = await withScope(server.db, {}, async (tx) => {
      const user = await staffForIdentity(tx, identity.tenantId, identity.objectId);
      if (!user) throw new AppError(403, 'staff_not_registered', 'This Azure AD account of the MSP’s staff tenant is not linked to any staff user; ask an MSP administrator to link it');
      if (user.disabled) throw new AppError(401, 'unauthenticated', 'This account is disabled');
      const sessionId = await insertSession(tx, { orgId: null, userId: user.id, token, at: now, userAgent: request.userAgent, ip: request.ip });
      await appendAudit(tx, {
        orgId: null,
        actor: { type: 'user', id: user.id, name: user.displayName },
        action: 'auth.signed_in',
        target: { type: 'session', id: sessionId },
        details: { method: 'azure_ad', sessionId },
        source: { ip: request.ip, userAgent: request.userAgent },
        time: now,
      });
      return { userId: user.id, sessionId };
    });
  } catch (err) {
    if (err instanceof AppError) return refuse(server, request, err, `${err.code}: staff ${identity.objectId} (tenant ${tenantId})`);
    throw err;
  }
  return {
    sessionToken: token,
    sessionId: outcome.sessionId,
    userId: outcome.userId,
    orgId: null,
    created: false,
    times: sessionTimes({ createdAt: now, lastActivityAt: now, ...STAFF_SESSION_LIFETIMES }, now),
  };
}
