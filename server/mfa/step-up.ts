import { createHash, randomBytes } from 'node:crypto';
import type { StepUpAction } from '../../protocol/mfa';
import type { Clock } from '../clock';
import { withScope, type Db, type Tx } from '../db/database';

/*
 * Step-up proofs: after a fresh second factor the user gets a token good for one request of one
 * sensitive action within 5 minutes. Only its SHA-256 is stored (a 256-bit random token needs no
 * slow hash); consuming it is one conditional UPDATE, so it is used at most once even under races.
 */

export const STEP_UP_TTL_MS = 5 * 60_000;
const PREFIX = 'sup_';

const hashProof = (proof: string) => createHash('sha256').update(proof).digest();

export async function issueStepUpProof(
  tx: Tx,
  clock: Clock,
  options: { userId: string; action: StepUpAction },
  random: (n: number) => Buffer = randomBytes,
): Promise<{ proof: string; expiresAt: Date }> {
  const now = clock.now();
  const proof = `${PREFIX}${random(32).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + STEP_UP_TTL_MS);
  await tx.insertInto('mfa_step_up_proofs')
    .values({ user_id: options.userId, action: options.action, token_hash: hashProof(proof), created_at: now, expires_at: expiresAt })
    .execute();
  return { proof, expiresAt };
}

export type ProofCheck = 'ok' | 'unknown' | 'other_action' | 'expired' | 'used';

/**
 * Uses the proof for `action` if it is this user's, for this action, unexpired and unused. A proof
 * presented for another action is refused and stays unused (it was not spent on anything).
 */
export async function consumeStepUpProof(db: Db, clock: Clock, options: { userId: string; action: StepUpAction; proof: string }): Promise<ProofCheck> {
  if (!options.proof.startsWith(PREFIX) || options.proof.length > 100) return 'unknown';
  const now = clock.now();
  return withScope(db, { userId: options.userId }, async (tx) => {
    const hash = hashProof(options.proof);
    const used = await tx.updateTable('mfa_step_up_proofs')
      .set({ used_at: now })
      .where('user_id', '=', options.userId)
      .where('token_hash', '=', hash)
      .where('action', '=', options.action)
      .where('expires_at', '>', now)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    if (Number(used.numUpdatedRows) === 1) return 'ok';
    const row = await tx.selectFrom('mfa_step_up_proofs').select(['action', 'expires_at', 'used_at']).where('token_hash', '=', hash).executeTakeFirst();
    if (!row) return 'unknown';
    if (row.used_at) return 'used';
    if (row.action !== options.action) return 'other_action';
    return 'expired';
  });
}
