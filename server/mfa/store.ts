import { sql } from 'kysely';
import type { Tx } from '../db/database';

/*
 * MFA rows of one user. Every function runs in a transaction scoped to that user (rmm.user_id):
 * row-level security hides everyone else's. Secrets arrive and leave sealed; hashing and sealing
 * happen in the callers.
 */

export interface TotpRow {
  secretSealed: string | null;
  pendingSealed: string | null;
  confirmedAt: Date | null;
  lastUsedStep: number | null;
  lockedUntil: Date | null;
}

export async function findTotp(tx: Tx, userId: string): Promise<TotpRow | undefined> {
  const row = await tx.selectFrom('mfa_totp').selectAll().where('user_id', '=', userId).executeTakeFirst();
  if (!row) return undefined;
  return {
    secretSealed: row.secret_sealed,
    pendingSealed: row.pending_sealed,
    confirmedAt: row.confirmed_at,
    lastUsedStep: row.last_used_step === null ? null : Number(row.last_used_step),
    lockedUntil: row.locked_until,
  };
}

/** Starts (or restarts) an enrolment: the confirmed secret, if any, stays in force until confirmation. */
export async function savePendingSecret(tx: Tx, userId: string, pendingSealed: string, now: Date): Promise<void> {
  await tx.insertInto('mfa_totp')
    .values({ user_id: userId, pending_sealed: pendingSealed, updated_at: now })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ pending_sealed: pendingSealed, updated_at: now }))
    .execute();
}

/** The pending secret becomes the one in force; `step` is the confirming code's, so it cannot be replayed. */
export async function confirmPendingSecret(tx: Tx, userId: string, step: number, now: Date): Promise<void> {
  await tx.updateTable('mfa_totp')
    .set({ secret_sealed: sql<string>`pending_sealed`, pending_sealed: null, confirmed_at: now, last_used_step: step, locked_until: null, updated_at: now })
    .where('user_id', '=', userId)
    .where('pending_sealed', 'is not', null)
    .execute();
}

/**
 * Records the step of an accepted code, only if it is later than the last one: of two requests
 * racing with the same code, one wins. Returns whether this call recorded it.
 */
export async function recordUsedStep(tx: Tx, userId: string, step: number, now: Date): Promise<boolean> {
  const result = await tx.updateTable('mfa_totp')
    .set({ last_used_step: step, updated_at: now })
    .where('user_id', '=', userId)
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Replaces the sealed secret in force with the same secret sealed under the current key (rotation). */
export async function resealSecret(tx: Tx, userId: string, sealed: string, now: Date): Promise<void> {
  await tx.updateTable('mfa_totp').set({ secret_sealed: sealed, updated_at: now }).where('user_id', '=', userId).where('secret_sealed', 'is not', null).execute();
}

export async function lockStepUp(tx: Tx, userId: string, until: Date, now: Date): Promise<void> {
  await tx.updateTable('mfa_totp').set({ locked_until: until, updated_at: now }).where('user_id', '=', userId).execute();
}

/** Replaces the user's backup codes: the old set is void. */
export async function replaceBackupCodes(tx: Tx, userId: string, hashes: Buffer[], now: Date): Promise<void> {
  await tx.deleteFrom('mfa_backup_codes').where('user_id', '=', userId).execute();
  if (hashes.length === 0) return;
  await tx.insertInto('mfa_backup_codes').values(hashes.map((code_hash) => ({ user_id: userId, code_hash, created_at: now }))).execute();
}

/** Marks the unused code with this hash as used; false when there is none (wrong or already used). */
export async function useBackupCode(tx: Tx, userId: string, hash: Buffer, now: Date): Promise<boolean> {
  const result = await tx.updateTable('mfa_backup_codes')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('code_hash', '=', hash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function countUnusedBackupCodes(tx: Tx, userId: string): Promise<number> {
  const row = await tx.selectFrom('mfa_backup_codes').select((eb) => eb.fn.countAll<string>().as('n')).where('user_id', '=', userId).where('used_at', 'is', null).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** An admin's reset of a member of the transaction's org (rmm_mfa_reset checks that); true if they had MFA. */
export async function resetUserMfa(tx: Tx, userId: string): Promise<boolean> {
  const result = await sql<{ had: boolean }>`SELECT rmm_mfa_reset(${userId}) AS had`.execute(tx);
  return result.rows[0]?.had === true;
}
