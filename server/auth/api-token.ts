import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { appendAudit, type AuditActor } from '../audit/log';
import type { Clock } from '../clock';
import { withScope, type Db } from '../db/database';
import type { Principal } from './principal';

/*
 * API tokens: 256-bit random, shown once, stored only as SHA-256. They authenticate scripts and
 * the console's token mode (people sign in with Azure AD: server sessions). Lookup goes through the
 * one definer function, before any org or user is known.
 */

export const API_TOKEN_PREFIX = 'rmm_pat_';

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function generateApiToken(): string {
  return API_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

interface PrincipalRow {
  token_id: string;
  user_id: string;
  display_name: string;
  email: string;
  platform_role: string | null;
  home_org_id: string | null;
}

export async function principalForToken(db: Db, presented: string): Promise<Principal | undefined> {
  if (presented.length < 16 || presented.length > 200) return undefined;
  const { rows } = await sql<PrincipalRow>`SELECT * FROM rmm_principal_by_token(${hashToken(presented)})`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  return {
    kind: 'user',
    userId: row.user_id,
    displayName: row.display_name,
    email: row.email,
    platformAdmin: row.platform_role === 'admin',
    homeOrgId: row.home_org_id,
    tokenId: row.token_id,
  };
}

export interface IssueTokenOptions {
  userId: string;
  /** The org whose chain records the issue: the user's home org, or null for staff. */
  auditOrgId: string | null;
  label: string;
  expiresAt?: Date | null;
  actor: AuditActor;
  /** Use this token value (the bootstrap operator token); otherwise a new random one. */
  token?: string;
}

export async function issueApiToken(db: Db, clock: Clock, options: IssueTokenOptions): Promise<{ token: string; tokenId: string }> {
  const token = options.token ?? generateApiToken();
  const tokenId = await withScope(db, { orgId: options.auditOrgId, userId: options.userId }, async (tx) => {
    const row = await tx.insertInto('api_tokens').values({
      user_id: options.userId,
      token_hash: hashToken(token),
      label: options.label,
      expires_at: options.expiresAt ?? null,
    }).returning('id').executeTakeFirstOrThrow();
    await appendAudit(tx, {
      orgId: options.auditOrgId,
      actor: options.actor,
      action: 'auth.token_created',
      target: { type: 'user', id: options.userId },
      details: { tokenId: row.id, label: options.label, expiresAt: options.expiresAt?.toISOString() ?? null },
      time: clock.now(),
    });
    return row.id;
  });
  return { token, tokenId };
}
