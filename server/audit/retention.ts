import { sql } from 'kysely';
import type { AuditDetails } from '../../protocol/audit-actions';
import { withOrg, type Db, type Tx } from '../db/database';
import { GENESIS_HASH } from './chain';
import { latestCheckpoint } from './store';

/*
 * Retention: an org's entries older than its audit_retention_days are deleted by the definer
 * function rmm_audit_purge (the app role cannot delete), which keeps the last deleted entry's
 * (seq, hash) as a checkpoint. The purge is recorded in the chain in the same transaction, so
 * the checkpoint is itself anchored: verification resumes from it and checks it against that entry.
 */

export type PurgeDetails = AuditDetails<'audit.purged'>;

const DAY_MS = 86_400_000;

export class UnknownOrgError extends Error {
  constructor(readonly orgId: string) {
    super(`no organisation ${orgId}`);
    this.name = 'UnknownOrgError';
  }
}

/** Deletes the org's entries older than `before` (a prefix of its chain). Inside withOrg for that org. */
export async function purgeAuditBefore(tx: Tx, orgId: string, before: Date): Promise<PurgeDetails> {
  const { rows } = await sql<{ purged: number; checkpoint_seq: string | number | null; checkpoint_hash: string | null }>`
    SELECT * FROM rmm_audit_purge(${orgId}::uuid, ${before}::timestamptz)
  `.execute(tx);
  const row = rows[0];
  if (row && row.checkpoint_seq !== null && row.checkpoint_hash !== null) {
    return { before: before.toISOString(), purged: Number(row.purged), checkpointSeq: Number(row.checkpoint_seq), checkpointHash: row.checkpoint_hash };
  }
  // Nothing old enough: the chain still starts where it did.
  const existing = await latestCheckpoint(tx, orgId);
  return { before: before.toISOString(), purged: 0, checkpointSeq: existing?.seq ?? 0, checkpointHash: existing?.hash ?? GENESIS_HASH };
}

/**
 * Applies the org's retention setting as of `now` and records the purge with `record` (the
 * caller's audit writer: the API caller, or the system for the CLI) in the same transaction.
 */
export async function purgeExpiredAudit(
  db: Db,
  orgId: string,
  now: Date,
  record: (tx: Tx, details: PurgeDetails) => Promise<unknown>,
): Promise<PurgeDetails> {
  return withOrg(db, orgId, async (tx) => {
    const org = await tx.selectFrom('orgs').select('audit_retention_days').where('id', '=', orgId).executeTakeFirst();
    if (!org) throw new UnknownOrgError(orgId);
    const before = new Date(now.getTime() - org.audit_retention_days * DAY_MS);
    const details = await purgeAuditBefore(tx, orgId, before);
    await record(tx, details);
    return details;
  });
}
