import { createHash, randomBytes } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { z } from 'zod';
import { ENROLMENT_TOKEN_PREFIX, EnrolmentTokenValue, type EnrolmentTokenSummary, type EnrolResponse } from '../../protocol/enrolment';
import type { ErrorCode } from '../../protocol/errors';
import { appendAudit, type AuditActor } from '../audit/log';
import type { ServerContext } from '../context';
import { setScope, withOrg, withScope, type Tx } from '../db/database';
import type { EnrolmentTokensTable } from '../db/schema';
import { AppError, RateLimitedFailure } from '../errors';
import { provisionAgent } from './provision';

/*
 * Enrolment tokens and their exchange (docs/agent.md "Enrolment"). A token is 256 random bits,
 * shown once; the server keeps its SHA-256 (like API tokens: a secret this long needs no slow hash).
 * The exchange claims the token in the database (rmm_enrolment_token_claim, migration 0012) and
 * provisions the agent in the same transaction, so a token enrols exactly one endpoint even when
 * two installers race, and a failed provisioning leaves the token unused.
 */

export function newEnrolmentToken(): string {
  return ENROLMENT_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashEnrolmentToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

type TokenRow = Selectable<EnrolmentTokensTable>;

export function tokenSummary(row: TokenRow, now: Date): EnrolmentTokenSummary {
  const status = row.revoked_at ? 'revoked' : row.used_at ? 'used' : row.expires_at.getTime() <= now.getTime() ? 'expired' : 'active';
  return {
    id: row.id,
    unitId: row.unit_id,
    label: row.label,
    status,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    usedAt: row.used_at?.toISOString() ?? null,
    usedByAgentId: row.used_by_agent_id,
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}

export async function insertEnrolmentToken(
  tx: Tx,
  values: { orgId: string; unitId: string; label: string | null; createdBy: string; at: Date; expiresInMinutes: number },
): Promise<{ token: string; row: TokenRow }> {
  const token = newEnrolmentToken();
  const row = await tx
    .insertInto('enrolment_tokens')
    .values({
      org_id: values.orgId,
      unit_id: values.unitId,
      token_hash: hashEnrolmentToken(token),
      label: values.label,
      created_by: values.createdBy,
      created_at: values.at,
      expires_at: new Date(values.at.getTime() + values.expiresInMinutes * 60_000),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { token, row };
}

export const listEnrolmentTokens = (tx: Tx): Promise<TokenRow[]> => tx.selectFrom('enrolment_tokens').selectAll().orderBy('created_at', 'desc').limit(500).execute();

export const enrolmentTokenById = (tx: Tx, id: string): Promise<TokenRow | undefined> => tx.selectFrom('enrolment_tokens').selectAll().where('id', '=', id).executeTakeFirst();

export async function revokeEnrolmentToken(tx: Tx, id: string, by: string, at: Date): Promise<TokenRow | undefined> {
  return tx
    .updateTable('enrolment_tokens')
    .set({ revoked_at: at, revoked_by: by })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .where('used_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/* Attempt limits on the exchange, per source address, counted before the token is looked at. */

export interface EnrolmentLimitOptions {
  perIp: { points: number; durationSeconds: number };
}
// A clinic's installers often share one address behind NAT: room for a roll-out, not for guessing
// (guessing 256 bits is hopeless anyway; the limit keeps the endpoint cheap to hammer).
export const DEFAULT_ENROLMENT_LIMITS: EnrolmentLimitOptions = { perIp: { points: 120, durationSeconds: 15 * 60 } };

const limitersByServer = new WeakMap<ServerContext, RateLimiterMemory>();
const limiter = (options: EnrolmentLimitOptions) =>
  new RateLimiterMemory({ keyPrefix: 'enrol-ip', points: options.perIp.points, duration: options.perIp.durationSeconds });

/** Replaces a running server's enrolment limits (tests shrink them). */
export function setEnrolmentLimits(server: ServerContext, options: EnrolmentLimitOptions): void {
  limitersByServer.set(server, limiter(options));
}

function limiterFor(server: ServerContext): RateLimiterMemory {
  let found = limitersByServer.get(server);
  if (!found) {
    found = limiter(DEFAULT_ENROLMENT_LIMITS);
    limitersByServer.set(server, found);
  }
  return found;
}

type Refusal = 'invalid' | 'used' | 'expired' | 'revoked';
const REFUSALS: Record<Refusal, { status: number; code: ErrorCode; message: string }> = {
  invalid: { status: 401, code: 'enrolment_token_invalid', message: 'This enrolment token is not valid; check it was copied whole' },
  used: { status: 410, code: 'enrolment_token_used', message: 'This enrolment token was already used; each token enrols one endpoint, make a new one' },
  expired: { status: 410, code: 'enrolment_token_expired', message: 'This enrolment token has expired; make a new one' },
  revoked: { status: 410, code: 'enrolment_token_revoked', message: 'This enrolment token was revoked; make a new one' },
};

interface Claim {
  status: 'ok' | Refusal;
  token_id: string | null;
  org_id: string | null;
  unit_id: string | null;
}

export interface EnrolRequest {
  token: string;
  hostname: string;
  os?: string | undefined;
  ip: string;
  userAgent: string | null;
}

/** POST /api/agents/enrol: a good token becomes an agent; every refusal is logged and counted, and audited in the token's org when the token exists. */
export async function enrolAgent(server: ServerContext, request: EnrolRequest): Promise<z.input<typeof EnrolResponse>> {
  const count = (outcome: string) => server.metrics.agentEnrolments.inc({ outcome });
  try {
    await limiterFor(server).consume(request.ip);
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    count('rate_limited');
    server.log.warn({ ip: request.ip }, 'agent enrolment refused: too many attempts from this address');
    throw new RateLimitedFailure('rate_limited', 'Too many enrolment attempts from this address; try again later', err.msBeforeNext / 1000);
  }
  const refuse = (reason: Refusal, tokenId: string | null): AppError => {
    count(reason);
    // Never the token itself: only which row it named, if any.
    server.log.warn({ ip: request.ip, hostname: request.hostname, tokenId, reason }, 'agent enrolment refused');
    const refusal = REFUSALS[reason];
    return new AppError(refusal.status, refusal.code, refusal.message);
  };
  if (!EnrolmentTokenValue.safeParse(request.token).success) throw refuse('invalid', null);

  const now = server.clock.now();
  const source = { ip: request.ip, userAgent: request.userAgent };
  const outcome = await withScope(server.db, {}, async (tx) => {
    const claim = (await sql<Claim>`SELECT * FROM rmm_enrolment_token_claim(${hashEnrolmentToken(request.token)}, ${now})`.execute(tx)).rows[0];
    if (!claim || claim.status !== 'ok' || !claim.org_id || !claim.unit_id || !claim.token_id) return { refused: claim ?? null, enrolled: null };
    const target = { orgId: claim.org_id, unitId: claim.unit_id };
    await setScope(tx, { orgId: target.orgId });
    const { agentId, credential } = await provisionAgent(tx, target, server.keys);
    await tx.updateTable('agents').set({ hostname: request.hostname, os_name: request.os ?? null }).where('id', '=', agentId).execute();
    await tx.updateTable('enrolment_tokens').set({ used_by_agent_id: agentId }).where('id', '=', claim.token_id).execute();
    const actor: AuditActor = { type: 'agent', id: agentId, name: request.hostname };
    await appendAudit(tx, {
      orgId: target.orgId,
      actor,
      action: 'agent.enrolled',
      target: { type: 'agent', id: agentId },
      details: { unitId: target.unitId, tokenId: claim.token_id, hostname: request.hostname },
      source,
      time: now,
    });
    return { refused: null, enrolled: { agentId, credential, ...target, tokenId: claim.token_id } };
  });

  if (outcome.enrolled) {
    const { agentId, credential, orgId, unitId, tokenId } = outcome.enrolled;
    count('enrolled');
    server.log.info({ agentId, orgId, tokenId, hostname: request.hostname }, 'agent enrolled');
    return { agentId, credential, orgId, unitId };
  }
  const claim = outcome.refused;
  if (!claim || claim.status === 'ok' || claim.status === 'invalid' || !claim.org_id || !claim.token_id) throw refuse('invalid', null);
  const { org_id: orgId, token_id: tokenId, status } = claim;
  await withOrg(server.db, orgId, (tx) =>
    appendAudit(tx, {
      orgId,
      actor: { type: 'system', name: 'agent enrolment' },
      action: 'agent.enrolment_refused',
      outcome: 'denied',
      target: { type: 'enrolment_token', id: tokenId },
      details: { tokenId, reason: status, hostname: request.hostname },
      source,
      time: now,
    }),
  );
  throw refuse(status, tokenId);
}
