import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { z } from 'zod';
import { AUDIT_ACTIONS, type AuditAction, type AuditEntry, type AuditOutcome } from '../../protocol/audit-actions';
import type { Tx } from '../db/database';
import type { AuditLogRow } from '../db/schema';
import { auditEntryHash, GENESIS_HASH } from './chain';

/*
 * The one way anything is written to the audit log. Call it with the transaction that makes the
 * change, so the change and its record commit or roll back together. The transaction must be
 * scoped to the entry's org (withOrg), or to no org for the platform chain.
 */

export type AuditActor =
  | { type: 'user'; id: string; name: string }
  | { type: 'agent'; id: string; name: string }
  | { type: 'system'; name?: string };

export interface AuditSource {
  ip?: string | null;
  userAgent?: string | null;
}

export interface AuditRecord<A extends AuditAction = AuditAction> {
  orgId: string | null;
  actor: AuditActor;
  action: A;
  outcome?: AuditOutcome;
  target?: { type: string; id: string } | null;
  /** Parsed with the action's schema; denied and failed entries may leave fields out. */
  details?: z.input<(typeof AUDIT_ACTIONS)[A]>;
  source?: AuditSource;
  time: Date;
}

export class AuditCatalogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditCatalogError';
  }
}

export function rowToAuditEntry(row: AuditLogRow): AuditEntry {
  return {
    id: row.id,
    orgId: row.org_id,
    seq: Number(row.seq),
    time: new Date(row.time).toISOString(),
    actorType: row.actor_type,
    actorId: row.actor_id,
    actorName: row.actor_name,
    action: row.action as AuditAction,
    targetType: row.target_type,
    targetId: row.target_id,
    outcome: row.outcome,
    sourceIp: row.source_ip,
    userAgent: row.user_agent,
    details: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

function parseDetails(action: AuditAction, outcome: AuditOutcome, details: unknown): Record<string, unknown> {
  if (!Object.hasOwn(AUDIT_ACTIONS, action)) throw new AuditCatalogError(`audit action ${String(action)} is not in the catalog`);
  const strict = AUDIT_ACTIONS[action];
  const parsed = outcome === 'success' ? strict.safeParse(details ?? {}) : strict.partial().safeParse(details ?? {});
  if (!parsed.success) {
    throw new AuditCatalogError(`details for ${action}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data as Record<string, unknown>;
}

/** Appends one entry to its org's chain. Serialised per org by the head row's lock. */
export async function appendAudit<A extends AuditAction>(tx: Tx, record: AuditRecord<A>): Promise<AuditEntry> {
  const outcome = record.outcome ?? 'success';
  const details = parseDetails(record.action, outcome, record.details);
  const orgId = record.orgId;

  // `org_id = $1` (or IS NULL for the platform chain) rather than IS NOT DISTINCT FROM: the
  // unique index on org_id serves it, so an append costs the same with ten orgs or ten thousand.
  const lockHead = () => {
    const query = tx.selectFrom('audit_heads').select(['seq', 'hash']);
    return (orgId === null ? query.where('org_id', 'is', null) : query.where('org_id', '=', orgId)).forUpdate().executeTakeFirst();
  };
  let head = await lockHead();
  if (!head) {
    await sql`INSERT INTO audit_heads (org_id, seq, hash) VALUES (${orgId}, 0, ${GENESIS_HASH}) ON CONFLICT DO NOTHING`.execute(tx);
    head = await lockHead();
    if (!head) throw new Error('audit head could not be created');
  }

  const fields = {
    id: randomUUID(),
    orgId,
    seq: Number(head.seq) + 1,
    time: record.time.toISOString(),
    actorType: record.actor.type,
    actorId: record.actor.type === 'system' ? null : record.actor.id,
    actorName: record.actor.name ?? 'system',
    action: record.action,
    targetType: record.target?.type ?? null,
    targetId: record.target?.id ?? null,
    outcome,
    sourceIp: record.source?.ip ?? null,
    userAgent: record.source?.userAgent ?? null,
    details,
    prevHash: head.hash,
  } satisfies Omit<AuditEntry, 'hash'>;
  const hash = auditEntryHash(fields);

  // The entry and the head's move in one statement: one round trip fewer per append.
  const moveHead = tx.with('entry', (db) => db.insertInto('audit_log').values({
    id: fields.id,
    org_id: orgId,
    seq: fields.seq,
    time: record.time,
    actor_type: fields.actorType,
    actor_id: fields.actorId,
    actor_name: fields.actorName,
    action: fields.action,
    target_type: fields.targetType,
    target_id: fields.targetId,
    outcome,
    source_ip: fields.sourceIp,
    user_agent: fields.userAgent,
    details: JSON.stringify(details),
    prev_hash: fields.prevHash,
    hash,
  })).updateTable('audit_heads').set({ seq: fields.seq, hash });
  await (orgId === null ? moveHead.where('org_id', 'is', null) : moveHead.where('org_id', '=', orgId)).execute();
  return { ...fields, hash };
}
