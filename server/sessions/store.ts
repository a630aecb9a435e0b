import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Session } from '../../protocol/identity';
import type { Db, Tx } from '../db/database';

/*
 * Server sessions: a 256-bit random token shown once, stored only as its SHA-256. Looked up by
 * hash through the one definer function before any org is known; everything else runs inside
 * the session's org (or, for a user's own list, scoped to that user).
 */

export const SESSION_TOKEN_PREFIX = 'rmm_ses_';

export function generateSessionToken(): string {
  return SESSION_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashSessionToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export interface SessionLookup {
  sessionId: string;
  /** null: an MSP staff session. */
  orgId: string | null;
  createdAt: Date;
  lastActivityAt: Date;
  endedAt: Date | null;
  idleMinutes: number;
  absoluteMinutes: number;
  userId: string;
  displayName: string;
  email: string;
  platformAdmin: boolean;
  homeOrgId: string | null;
  userDisabled: boolean;
}

interface LookupRow {
  session_id: string;
  org_id: string | null;
  created_at: Date | string;
  last_activity_at: Date | string;
  ended_at: Date | string | null;
  idle_minutes: number;
  absolute_minutes: number;
  user_id: string;
  display_name: string;
  email: string;
  platform_role: string | null;
  home_org_id: string | null;
  user_disabled: boolean;
}

export async function sessionByToken(db: Db, token: string): Promise<SessionLookup | undefined> {
  if (!token.startsWith(SESSION_TOKEN_PREFIX) || token.length > 100) return undefined;
  const { rows } = await sql<LookupRow>`SELECT * FROM rmm_session_by_token(${hashSessionToken(token)})`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  return {
    sessionId: row.session_id,
    orgId: row.org_id,
    createdAt: new Date(row.created_at),
    lastActivityAt: new Date(row.last_activity_at),
    endedAt: row.ended_at === null ? null : new Date(row.ended_at),
    idleMinutes: row.idle_minutes,
    absoluteMinutes: row.absolute_minutes,
    userId: row.user_id,
    displayName: row.display_name,
    email: row.email,
    platformAdmin: row.platform_role === 'admin',
    homeOrgId: row.home_org_id,
    userDisabled: row.user_disabled,
  };
}

export interface NewSession {
  /** null: an MSP staff session, inserted in the platform scope. */
  orgId: string | null;
  userId: string;
  token: string;
  at: Date;
  userAgent: string | null;
  ip: string | null;
}

/** In a transaction scoped to the session's org (the platform scope for a staff session). */
export async function insertSession(tx: Tx, session: NewSession): Promise<string> {
  const row = await tx.insertInto('sessions').values({
    org_id: session.orgId,
    user_id: session.userId,
    token_hash: hashSessionToken(session.token),
    created_at: session.at,
    last_activity_at: session.at,
    user_agent: session.userAgent?.slice(0, 300) ?? null,
    ip: session.ip?.slice(0, 100) ?? null,
  }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/** Ends an open session; false when it was already ended (or is not visible here). */
export async function endSession(tx: Tx, sessionId: string, end: { at: Date; by: string | null; reason: string }): Promise<boolean> {
  const result = await tx.updateTable('sessions')
    .set({ ended_at: end.at, ended_by: end.by, end_reason: end.reason.slice(0, 2000) })
    .where('id', '=', sessionId).where('ended_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Moves last activity forward (never back: several requests may race). */
export async function touchSession(tx: Tx, sessionId: string, at: Date): Promise<void> {
  await tx.updateTable('sessions').set({ last_activity_at: at })
    .where('id', '=', sessionId).where('ended_at', 'is', null).where('last_activity_at', '<', at)
    .execute();
}

export interface SessionRecord {
  id: string;
  orgId: string | null;
  userId: string;
  createdAt: Date;
  lastActivityAt: Date;
  endedAt: Date | null;
}

export async function findSession(tx: Tx, sessionId: string): Promise<SessionRecord | undefined> {
  const row = await tx.selectFrom('sessions').select(['id', 'org_id', 'user_id', 'created_at', 'last_activity_at', 'ended_at'])
    .where('id', '=', sessionId).executeTakeFirst();
  return row && {
    id: row.id,
    orgId: row.org_id,
    userId: row.user_id,
    createdAt: new Date(row.created_at),
    lastActivityAt: new Date(row.last_activity_at),
    endedAt: row.ended_at === null ? null : new Date(row.ended_at),
  };
}

/** Sessions visible in the transaction (an org's, or one user's), newest first; open ones only unless `includeEnded`. */
export async function listSessions(tx: Tx, filter: { userId?: string; staffOnly?: boolean; includeEnded?: boolean; limit?: number }, currentSessionId: string | undefined): Promise<Session[]> {
  let query = tx.selectFrom('sessions').leftJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.id', 'sessions.org_id', 'sessions.user_id', 'users.display_name', 'sessions.created_at', 'sessions.last_activity_at',
      'sessions.user_agent', 'sessions.ip', 'sessions.ended_at', 'sessions.ended_by', 'sessions.end_reason'])
    .orderBy('sessions.created_at', 'desc').orderBy('sessions.id').limit(filter.limit ?? 500);
  if (filter.userId) query = query.where('sessions.user_id', '=', filter.userId);
  if (filter.staffOnly) query = query.where('sessions.org_id', 'is', null);
  if (!filter.includeEnded) query = query.where('sessions.ended_at', 'is', null);
  const rows = await query.execute();
  const iso = (d: Date | string) => new Date(d).toISOString();
  return rows.map((row) => ({
    id: row.id,
    orgId: row.org_id,
    userId: row.user_id,
    userName: row.display_name ?? '(unknown user)',
    createdAt: iso(row.created_at),
    lastActivityAt: iso(row.last_activity_at),
    userAgent: row.user_agent,
    ip: row.ip,
    endedAt: row.ended_at === null ? null : iso(row.ended_at),
    endedBy: row.ended_by,
    endReason: row.end_reason,
    current: row.id === currentSessionId,
  }));
}
