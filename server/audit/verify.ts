import { setScope, type Db, type Tx } from '../db/database';
import { ChainVerifier, GENESIS_HASH, type ChainProblem, type ChainStart } from './chain';
import { auditBatch, chainHead, latestCheckpoint, purgeEntryFor, type Checkpoint } from './store';

/*
 * Proves one chain (an org's, or the platform's with org null) from the database: every entry in
 * seq order through ChainVerifier, in batches so memory stays flat however long the log, starting
 * at the newest purge checkpoint and ending where audit_heads says the chain ends. One
 * repeatable-read transaction: entries appended meanwhile are not half-seen.
 */

export interface ChainReport {
  orgId: string | null;
  ok: boolean;
  /** Entries whose hash and link were checked. */
  checked: number;
  /** The last good entry's seq (the checkpoint's when nothing after it was checked). */
  lastSeq: number;
  /** Where verification started when older entries were purged. */
  checkpoint: ChainStart | null;
  /** The first bad entry, when not ok. */
  problem: ChainProblem | null;
}

export interface VerifyOptions {
  batchSize?: number;
}

/** The checkpoint must be the one its purge recorded in the chain (which the walk then proves). */
async function checkCheckpoint(tx: Tx, orgId: string | null, checkpoint: Checkpoint): Promise<ChainProblem | null> {
  const recorded = await purgeEntryFor(tx, orgId, checkpoint.seq);
  const at = { seq: checkpoint.seq, id: checkpoint.id, problem: 'checkpoint_mismatch' as const };
  // The newest checkpoint's purge entry comes after it, and only a later purge (with a newer
  // checkpoint) could remove it: a checkpoint with no record was not made by a recorded purge.
  if (!recorded) {
    return { ...at, message: `purge checkpoint at entry #${checkpoint.seq} has no audit.purged entry recording it` };
  }
  if (recorded.details.checkpointHash !== checkpoint.hash) {
    return { ...at, message: `purge checkpoint at entry #${checkpoint.seq} differs from the hash its audit.purged entry #${recorded.seq} recorded` };
  }
  return null;
}

async function walk(tx: Tx, orgId: string | null, batchSize: number): Promise<ChainReport> {
  const checkpoint = await latestCheckpoint(tx, orgId);
  const head = await chainHead(tx, orgId);
  const start: ChainStart | null = checkpoint ? { seq: checkpoint.seq, hash: checkpoint.hash } : null;
  const report = (verifier: ChainVerifier, problem: ChainProblem | null): ChainReport => ({
    orgId,
    ok: problem === null,
    checked: verifier.count,
    lastSeq: verifier.lastSeq,
    checkpoint: start,
    problem,
  });
  const verifier = new ChainVerifier(start ?? { seq: 0, hash: GENESIS_HASH });

  if (checkpoint) {
    const problem = await checkCheckpoint(tx, orgId, checkpoint);
    if (problem) return report(verifier, problem);
  }

  // From seq 0, not from the checkpoint: a row slipped in below it is a problem too.
  let afterSeq = 0;
  for (;;) {
    const batch = await auditBatch(tx, orgId, { afterSeq, limit: batchSize });
    for (const entry of batch) {
      if (head && entry.seq > head.seq) {
        return report(verifier, {
          seq: entry.seq,
          id: entry.id,
          problem: 'beyond_head',
          message: `entry #${entry.seq} lies past the chain's recorded head #${head.seq}: it was inserted outside the audit writer`,
        });
      }
      const problem = verifier.push(entry);
      if (problem) return report(verifier, problem);
      afterSeq = entry.seq;
    }
    if (batch.length < batchSize) break;
  }

  if (!head && (verifier.lastSeq > 0 || checkpoint)) {
    return report(verifier, {
      seq: verifier.lastSeq,
      id: '',
      problem: 'missing_tail',
      message: `the chain has entries up to #${verifier.lastSeq} but no recorded head: the head was deleted`,
    });
  }
  return report(verifier, verifier.finish(head));
}

export async function verifyAuditChain(db: Db, orgId: string | null, options: VerifyOptions = {}): Promise<ChainReport> {
  const batchSize = options.batchSize ?? 1000;
  return db.transaction().setIsolationLevel('repeatable read').execute(async (tx) => {
    await setScope(tx, { orgId, userId: null });
    return walk(tx, orgId, batchSize);
  });
}

/** Every chain in the database: the platform's, then each org's. */
export async function verifyAllAuditChains(db: Db, options: VerifyOptions = {}): Promise<ChainReport[]> {
  const orgs = await db.selectFrom('orgs').select('id').orderBy('created_at').orderBy('id').execute();
  const reports: ChainReport[] = [await verifyAuditChain(db, null, options)];
  for (const org of orgs) reports.push(await verifyAuditChain(db, org.id, options));
  return reports;
}
