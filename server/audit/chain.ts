import { createHash } from 'node:crypto';
import { canonicalJson } from '../../protocol/canonical-json';
import type { AuditEntry } from '../../protocol/audit-actions';

/*
 * The hash chain, pure. Each entry's hash is SHA-256 over the canonical JSON of all its fields
 * and the previous entry's hash, so changing, deleting, reordering or inserting an entry breaks
 * every hash after it. An org's chain starts at GENESIS, or at a purge checkpoint.
 */

export const GENESIS_HASH = '0'.repeat(64);
const FORMAT_VERSION = 1;

export type HashedFields = Omit<AuditEntry, 'hash'>;

export function auditEntryHash(entry: HashedFields): string {
  const canonical = canonicalJson({
    v: FORMAT_VERSION,
    id: entry.id,
    orgId: entry.orgId,
    seq: entry.seq,
    time: entry.time,
    actorType: entry.actorType,
    actorId: entry.actorId,
    actorName: entry.actorName,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    outcome: entry.outcome,
    sourceIp: entry.sourceIp,
    userAgent: entry.userAgent,
    details: entry.details as Parameters<typeof canonicalJson>[0],
    prevHash: entry.prevHash,
  });
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

export interface ChainProblem {
  seq: number;
  id: string;
  /**
   * hash_mismatch: the entry changed; broken_link: it does not follow its predecessor;
   * sequence_gap: entries before it were deleted or it was inserted; missing_tail: entries at the
   * end are gone; beyond_head: the entry lies past the recorded head (inserted outside the writer);
   * checkpoint_mismatch: the purge checkpoint the chain resumes from is not the one recorded.
   */
  problem: 'hash_mismatch' | 'broken_link' | 'sequence_gap' | 'missing_tail' | 'beyond_head' | 'checkpoint_mismatch';
  message: string;
}

/** Where a chain (or the rest of it after a purge) starts. */
export interface ChainStart {
  seq: number;
  hash: string;
}

/**
 * Walks entries in seq order, one at a time, so a log of any size is verified in constant memory.
 * `push` returns the first problem it finds in that entry, or null.
 */
export class ChainVerifier {
  private expectedSeq: number;
  private previousHash: string;
  private checked = 0;

  constructor(start: ChainStart = { seq: 0, hash: GENESIS_HASH }) {
    this.expectedSeq = start.seq + 1;
    this.previousHash = start.hash;
  }

  push(entry: AuditEntry): ChainProblem | null {
    const at = { seq: entry.seq, id: entry.id };
    if (entry.seq !== this.expectedSeq) {
      return { ...at, problem: 'sequence_gap', message: `expected entry #${this.expectedSeq}, found #${entry.seq}: entries were deleted or inserted` };
    }
    if (entry.prevHash !== this.previousHash) {
      return { ...at, problem: 'broken_link', message: `entry #${entry.seq} does not follow the entry before it (previous hash differs)` };
    }
    if (auditEntryHash(entry) !== entry.hash) {
      return { ...at, problem: 'hash_mismatch', message: `entry #${entry.seq} was changed after it was written (hash differs)` };
    }
    this.expectedSeq += 1;
    this.previousHash = entry.hash;
    this.checked += 1;
    return null;
  }

  /** After the last entry: the chain must end where the recorded head says it ends. */
  finish(head: ChainStart | undefined): ChainProblem | null {
    const lastSeq = this.expectedSeq - 1;
    if (head && (head.seq !== lastSeq || head.hash !== this.previousHash)) {
      return {
        seq: head.seq,
        id: '',
        problem: 'missing_tail',
        message: `the log ends at entry #${lastSeq} but its head records #${head.seq}: entries at the end were deleted or changed`,
      };
    }
    return null;
  }

  get count(): number {
    return this.checked;
  }

  get lastSeq(): number {
    return this.expectedSeq - 1;
  }
}
