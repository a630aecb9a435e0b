import { appendAudit, type AuditActor } from '../audit/log';
import type { ServerContext } from '../context';
import { withScope } from '../db/database';
import { AppError } from '../errors';
import type { SignInLimits } from './sign-in-limits';
import { TokenRejected, type AccessTokenVerifier, type AzureIdentity } from './access-token';

/*
 * What client and staff sign-in share: refusals (every one audited in the platform chain, since
 * nothing in a refused token is trusted enough to pick an org's chain) and the verification of
 * the token followed by the per-identity rate limit.
 */

export interface SignInRequest {
  accessToken: string;
  ip: string;
  userAgent: string | null;
}

export const signInActor: AuditActor = { type: 'system', name: 'azure ad sign-in' };

export function refusal(err: TokenRejected): AppError {
  if (err.reason === 'expired') return new AppError(401, 'token_expired', 'The access token has expired');
  if (err.reason === 'keys_unavailable') return new AppError(503, 'idp_unavailable', 'The identity provider’s signing keys could not be fetched; try again shortly');
  return new AppError(401, 'token_invalid', `The access token was refused (${err.reason})`);
}

async function auditFailure(server: ServerContext, request: SignInRequest, reason: string): Promise<void> {
  await withScope(server.db, {}, (tx) => appendAudit(tx, {
    orgId: null,
    actor: signInActor,
    action: 'auth.sign_in_failed',
    outcome: 'failed',
    details: { method: 'azure_ad', reason: reason.slice(0, 200) },
    source: { ip: request.ip, userAgent: request.userAgent },
    time: server.clock.now(),
  })).catch((err: unknown) => server.log.error({ err }, 'could not audit a failed sign-in'));
}

export async function refuse(server: ServerContext, request: SignInRequest, error: AppError, reason: string): Promise<never> {
  await auditFailure(server, request, reason);
  throw error;
}

/** Verifies the token (signature, issuer for its tenant, audience, times, scope), then counts the sign-in against its identity. */
export async function verifiedIdentity(server: ServerContext, verifier: AccessTokenVerifier, limits: SignInLimits, request: SignInRequest, tenantId: string): Promise<AzureIdentity> {
  let identity: AzureIdentity;
  try {
    identity = await verifier.verify(request.accessToken);
  } catch (err) {
    if (!(err instanceof TokenRejected)) throw err;
    return refuse(server, request, refusal(err), `token refused: ${err.reason} (tenant ${tenantId})`);
  }
  try {
    await limits.identity(identity.tenantId, identity.objectId);
  } catch (err) {
    if (err instanceof AppError) return refuse(server, request, err, `rate_limited: account ${identity.objectId} (tenant ${tenantId})`);
    throw err;
  }
  return identity;
}
