import { sql, type SelectQueryBuilder } from 'kysely';
import type { AuditEntry } from '../../protocol/audit-actions';
import type { AuditPage, AuditQuery } from '../../protocol/access';
import type { Tx } from '../db/database';
import type { Database } from '../db/schema';
import { rowToAuditEntry } from './log';

/*
 * Reads of the audit log. Every query runs in a transaction scoped to the org (row-level security
 * shows only its rows) and also names the org explicitly: the policy's IS NOT DISTINCT FROM
 * cannot use an index, `org_id = $1` can. Pages are keyset on seq, never OFFSET, so the
 * thousandth page costs what the first does.
 */

type AuditSelect = SelectQueryBuilder<Database, 'audit_log', object>;

/** `org_id = $1`, or the platform chain (org null). */
export function inChain(query: AuditSelect, orgId: string | null): AuditSelect {
  return orgId === null ? query.where('org_id', 'is', null) : query.where('org_id', '=', orgId);
}

export interface TimeRange {
  /** Inclusive. */
  from?: string | undefined;
  /** Exclusive. */
  to?: string | undefined;
}

function inRange(query: AuditSelect, range: TimeRange): AuditSelect {
  let q = query;
  if (range.from) q = q.where('time', '>=', new Date(range.from));
  if (range.to) q = q.where('time', '<', new Date(range.to));
  return q;
}

function hasRange(range: TimeRange): boolean {
  return Boolean(range.from || range.to);
}

/** The stored time of entry `seq`, as text so no precision is lost on the way back in. */
async function timeOf(tx: Tx, orgId: string | null, seq: number): Promise<string | undefined> {
  const row = await inChain(tx.selectFrom('audit_log'), orgId).where('seq', '=', seq).select(sql<string>`time::text`.as('t')).executeTakeFirst();
  return row?.t;
}

/*
 * With a time range, pages are ordered and keyed by (time, seq) so the (org_id, time, seq) index
 * finds the range directly instead of walking back from the newest entry. Entries are appended
 * under the head lock with the server clock, so this is the seq order unless the clock stepped
 * back; either way paging stays exact because the key is the order.
 */
async function keysetBefore(tx: Tx, q: AuditSelect, orgId: string | null, seq: number, byTime: boolean): Promise<AuditSelect> {
  const time = byTime ? await timeOf(tx, orgId, seq) : undefined;
  return time === undefined ? q.where('seq', '<', seq) : q.where(sql<boolean>`(time, seq) < (${time}::timestamptz, ${seq})`);
}

async function keysetAfter(tx: Tx, q: AuditSelect, orgId: string | null, seq: number, byTime: boolean): Promise<AuditSelect> {
  const time = byTime && seq > 0 ? await timeOf(tx, orgId, seq) : undefined;
  return time === undefined ? q.where('seq', '>', seq) : q.where(sql<boolean>`(time, seq) > (${time}::timestamptz, ${seq})`);
}

/** One page of the log, newest first, matching every filter given. */
export async function queryAudit(tx: Tx, orgId: string | null, query: AuditQuery): Promise<AuditPage> {
  const byTime = hasRange(query);
  let q = inRange(inChain(tx.selectFrom('audit_log'), orgId), query);
  const { actor } = query;
  // Exact matches only: equality on text is leakproof, so it stays usable under row-level security.
  if (actor) q = q.where((eb) => eb.or([eb('actor_id', '=', actor), eb('actor_name', '=', actor)]));
  if (query.action) q = q.where('action', '=', query.action);
  if (query.targetType) q = q.where('target_type', '=', query.targetType);
  if (query.targetId) q = q.where('target_id', '=', query.targetId);
  if (query.outcome) q = q.where('outcome', '=', query.outcome);
  if (query.before !== undefined) q = await keysetBefore(tx, q, orgId, query.before, byTime);
  if (byTime) q = q.orderBy('time', 'desc');
  // One row more than asked tells whether an older page exists.
  const rows = await q.selectAll().orderBy('seq', 'desc').limit(query.limit + 1).execute();
  const entries = rows.slice(0, query.limit).map(rowToAuditEntry);
  const last = entries.at(-1);
  return { entries, nextBefore: rows.length > query.limit && last ? last.seq : null };
}

/**
 * Entries after entry `afterSeq` (0: from the start), oldest first, at most `limit`, up to and
 * including `upToSeq` when given: chain order, or (time, seq) order within a time range.
 */
export async function auditBatch(
  tx: Tx,
  orgId: string | null,
  options: TimeRange & { afterSeq: number; limit: number; upToSeq?: number },
): Promise<AuditEntry[]> {
  const byTime = hasRange(options);
  let q = await keysetAfter(tx, inRange(inChain(tx.selectFrom('audit_log'), orgId), options), orgId, options.afterSeq, byTime);
  if (options.upToSeq !== undefined) q = q.where('seq', '<=', options.upToSeq);
  if (byTime) q = q.orderBy('time', 'asc');
  const rows = await q.selectAll().orderBy('seq', 'asc').limit(options.limit).execute();
  return rows.map(rowToAuditEntry);
}

export async function countAudit(tx: Tx, orgId: string | null, options: TimeRange & { upToSeq?: number }): Promise<number> {
  let q = inRange(inChain(tx.selectFrom('audit_log'), orgId), options);
  if (options.upToSeq !== undefined) q = q.where('seq', '<=', options.upToSeq);
  const row = await q.select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface ChainHead {
  seq: number;
  hash: string;
}

/** Where the org's chain ends, as recorded by the writer; undefined before the first entry. */
export async function chainHead(tx: Tx, orgId: string | null): Promise<ChainHead | undefined> {
  const q = tx.selectFrom('audit_heads').select(['seq', 'hash']);
  const row = await (orgId === null ? q.where('org_id', 'is', null) : q.where('org_id', '=', orgId)).executeTakeFirst();
  return row && { seq: Number(row.seq), hash: row.hash };
}

export interface Checkpoint {
  id: string;
  seq: number;
  hash: string;
  purgedBefore: string;
  purgedCount: number;
}

/** The newest purge checkpoint: the remaining chain is verified from it. */
export async function latestCheckpoint(tx: Tx, orgId: string | null): Promise<Checkpoint | undefined> {
  const q = tx.selectFrom('audit_checkpoints').select(['id', 'seq', 'hash', 'purged_before', 'purged_count']);
  const row = await (orgId === null ? q.where('org_id', 'is', null) : q.where('org_id', '=', orgId))
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && {
    id: row.id,
    seq: Number(row.seq),
    hash: row.hash,
    purgedBefore: new Date(row.purged_before).toISOString(),
    purgedCount: row.purged_count,
  };
}

/** The first `audit.purged` entry that names this checkpoint (the purge that made it). */
export async function purgeEntryFor(tx: Tx, orgId: string | null, checkpointSeq: number): Promise<AuditEntry | undefined> {
  const row = await inChain(tx.selectFrom('audit_log'), orgId)
    .where('action', '=', 'audit.purged')
    .where('seq', '>', checkpointSeq)
    .where(sql<boolean>`details->>'checkpointSeq' = ${String(checkpointSeq)}`)
    .selectAll()
    .orderBy('seq', 'asc')
    .limit(1)
    .executeTakeFirst();
  return row && rowToAuditEntry(row);
}
