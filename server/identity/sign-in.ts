import type { z } from 'zod';
import type { SignInResponse } from '../../protocol/identity';
import { appendAudit } from '../audit/log';
import type { ServerContext } from '../context';
import { withOrg } from '../db/database';
import { AppError } from '../errors';
import { createGrant } from '../grants/store';
import { sessionTimes } from '../sessions/lifetime';
import { generateSessionToken, insertSession } from '../sessions/store';
import { createUser } from '../users/store';
import type { SignInLimits } from './sign-in-limits';
import { claimedTenant, TokenRejected, type AccessTokenVerifier } from './access-token';
import { refuse, refusal, signInActor, verifiedIdentity, type SignInRequest } from './sign-in-refusal';
import { staffSignIn } from './staff-sign-in';
import { linkIdentity, orgForTenant, userForIdentity } from './store';

/*
 * Sign-in with an Azure AD access token: the tenant must be registered by an org (checked before
 * any key is fetched, so unknown tenants cost the provider nothing), the token must validate,
 * then the user (tid, oid) is found, or created in that org with the org's default role at the
 * root, and a server session is issued. Every refusal is audited in the platform chain: nothing
 * in a refused token is trusted enough to pick an org's chain. Tokens of the MSP's own staff
 * tenant (RMM_AUTH_STAFF_TENANT) go to staff sign-in instead and never reach a client org.
 */

export type { SignInRequest } from './sign-in-refusal';

export async function signIn(server: ServerContext, verifier: AccessTokenVerifier | null, limits: SignInLimits, request: SignInRequest): Promise<z.input<typeof SignInResponse>> {
  try {
    await limits.attempt(request.ip);
  } catch (err) {
    if (err instanceof AppError) return refuse(server, request, err, 'rate_limited: address');
    throw err;
  }
  if (!verifier) {
    return refuse(server, request, new AppError(503, 'idp_unavailable', 'Azure AD sign-in is not configured on this server (RMM_AUTH_AUDIENCE)'), 'sign-in not configured');
  }
  let tenantId: string;
  try {
    tenantId = claimedTenant(request.accessToken);
  } catch (err) {
    if (!(err instanceof TokenRejected)) throw err;
    return refuse(server, request, refusal(err), `token refused: ${err.reason}`);
  }
  const staffTenant = server.config.authStaffTenant;
  if (staffTenant !== undefined && tenantId.toLowerCase() === staffTenant) return staffSignIn(server, verifier, limits, request, tenantId);
  const org = await orgForTenant(server.db, tenantId);
  if (!org) {
    return refuse(server, request, new AppError(403, 'tenant_not_registered', `Azure tenant ${tenantId} is not registered with any organisation; ask your administrator to register it`), `tenant_not_registered: ${tenantId}`);
  }
  const identity = await verifiedIdentity(server, verifier, limits, request, tenantId);

  const now = server.clock.now();
  const source = { ip: request.ip, userAgent: request.userAgent };
  const token = generateSessionToken();
  let outcome: { userId: string; sessionId: string; created: boolean; idle: number; absolute: number };
  try {
    outcome = await withOrg(server.db, org.id, async (tx) => {
      let user = await userForIdentity(tx, org.id, identity.tenantId, identity.objectId);
      let created = false;
      if (user?.disabled) throw new AppError(401, 'unauthenticated', 'This account is disabled');
      if (!user) {
        const displayName = (identity.name ?? identity.username ?? 'Azure AD user').slice(0, 200);
        const email = identity.username && identity.username.length >= 3 ? identity.username.slice(0, 320) : `${identity.objectId}@${identity.tenantId}.invalid`;
        const made = await createUser(tx, { orgId: org.id, displayName, email });
        await linkIdentity(tx, made.id, identity.tenantId, identity.objectId);
        await appendAudit(tx, { orgId: org.id, actor: signInActor, action: 'user.created', target: { type: 'user', id: made.id }, details: { displayName, email }, source, time: now });
        const grant = await createGrant(tx, { orgId: org.id, userId: made.id, role: org.defaultRole, unitId: null, createdBy: null });
        await appendAudit(tx, { orgId: org.id, actor: signInActor, action: 'grant.created', target: { type: 'grant', id: grant.id }, details: { userId: made.id, role: org.defaultRole, unitId: null }, source, time: now });
        user = { id: made.id, displayName, disabled: false };
        created = true;
      }
      const sessionId = await insertSession(tx, { orgId: org.id, userId: user.id, token, at: now, userAgent: request.userAgent, ip: request.ip });
      await appendAudit(tx, {
        orgId: org.id,
        actor: { type: 'user', id: user.id, name: user.displayName },
        action: 'auth.signed_in',
        target: { type: 'session', id: sessionId },
        details: { method: 'azure_ad', sessionId },
        source,
        time: now,
      });
      const lifetimes = await tx.selectFrom('orgs').select(['session_idle_minutes', 'session_absolute_minutes']).where('id', '=', org.id).executeTakeFirstOrThrow();
      return { userId: user.id, sessionId, created, idle: lifetimes.session_idle_minutes, absolute: lifetimes.session_absolute_minutes };
    });
  } catch (err) {
    if (err instanceof AppError) return refuse(server, request, err, `${err.code}: ${err.message} (tenant ${tenantId})`);
    throw err;
  }
  return {
    sessionToken: token,
    sessionId: outcome.sessionId,
    userId: outcome.userId,
    orgId: org.id,
    created: outcome.created,
    times: sessionTimes({ createdAt: now, lastActivityAt: now, idleMinutes: outcome.idle, absoluteMinutes: outcome.absolute }, now),
  };
}
