import type { Alert } from '../../protocol/alerts';
import { backupCodeUsedMessage, publishAlert, raiseAlert, stepUpLockedMessage } from '../alerts/raise';
import type { Principal } from '../auth/principal';
import type { ServerContext } from '../context';
import { currentKey, openingKeys } from '../crypto/keys';
import { open, seal, SealError } from '../crypto/seal';
import { withScope } from '../db/database';
import { AppError, RateLimitedFailure } from '../errors';
import type { CallAudit } from '../http/route';
import { hashBackupCode, normalizeBackupCode } from './backup-codes';
import { countUnusedBackupCodes, findTotp, lockStepUp, recordUsedStep, resealSecret, useBackupCode } from './store';
import { checkTotp } from './totp';

/*
 * One check of a second factor (a TOTP code, or a backup code in its place), with everything
 * around it: attempt limits per IP and account, the lockout after repeated failures, replay
 * refusal, and the audit trail. MFA events are recorded in the user's home org (the platform
 * chain for MSP staff), whatever org the request is about. A backup code used and a lockout also
 * raise an alert for the user's admins there (server/alerts), in the same transaction as their
 * audit entry, pushed to consoles after the commit.
 */

export interface Verifier {
  server: ServerContext;
  principal: Principal;
  ip: string;
  audit: CallAudit;
}

export type Factor = { code: string } | { backupCode: string };

/** The associated data binding a sealed TOTP secret to its user. */
export const totpAad = (userId: string) => `mfa-totp:${userId}`;

/** Opens a stored secret; one that does not open (tampered, moved, unknown key) refuses the check with a 500. */
export function openTotpSecret(server: ServerContext, userId: string, sealed: string): string {
  try {
    return open(openingKeys(server.keys, 'rmm/mfa-totp/v1'), sealed, totpAad(userId)).toString('utf8');
  } catch (err) {
    if (!(err instanceof SealError)) throw err;
    server.log.error({ userId, reason: err.message }, 'a stored TOTP secret does not open');
    throw new AppError(500, 'internal', 'The stored authenticator secret cannot be read; an admin must reset your MFA');
  }
}

const scopeOf = (principal: Principal) => ({ orgId: principal.homeOrgId, userId: principal.userId });

export function lockedError(until: Date, now: Date): RateLimitedFailure {
  return new RateLimitedFailure('mfa_locked', `Step-up is locked after repeated failures until ${until.toISOString()}`, (until.getTime() - now.getTime()) / 1000);
}

/**
 * Counts a failed check and locks step-up when it is one too many. Runs in its own transaction so
 * the trail survives the refusal; throws the error the caller gets.
 */
export async function recordFailure(verifier: Verifier, purpose: string, reason: string): Promise<never> {
  const { server, principal, audit } = verifier;
  const now = server.clock.now();
  const lock = await server.mfaLimits.failed(principal.userId);
  const until = new Date(now.getTime() + server.mfaLimits.options.lockSeconds * 1000);
  const alert = await withScope(server.db, scopeOf(principal), async (tx) => {
    await audit(tx, { orgId: principal.homeOrgId, action: 'mfa.failed', outcome: 'failed', target: { type: 'user', id: principal.userId }, details: { purpose } });
    if (!lock) return undefined;
    await lockStepUp(tx, principal.userId, until, now);
    await audit(tx, { orgId: principal.homeOrgId, action: 'mfa.locked', target: { type: 'user', id: principal.userId }, details: { until: until.toISOString() } });
    return raiseAlert(tx, {
      orgId: principal.homeOrgId,
      kind: 'mfa.locked',
      subject: { userId: principal.userId, name: principal.displayName },
      message: stepUpLockedMessage(principal.displayName, until, server.mfaLimits.options.failuresBeforeLock),
      at: now,
    });
  });
  if (alert) publishAlert(server, alert);
  if (lock) throw lockedError(until, now);
  throw new AppError(403, 'mfa_code_invalid', `The code is not valid (${reason})`);
}

/** Verifies a factor of the signed-in user for `purpose`; throws 409/403/429 when it is not good. */
export async function verifySecondFactor(verifier: Verifier, factor: Factor, purpose: string): Promise<void> {
  const { server, principal, ip, audit } = verifier;
  await server.mfaLimits.attempt(ip, principal.userId);
  const now = server.clock.now();
  const userId = principal.userId;

  let alert: Alert | undefined;
  const failure = await withScope(server.db, scopeOf(principal), async (tx) => {
    const totp = await findTotp(tx, userId);
    if (!totp?.secretSealed) throw new AppError(409, 'mfa_not_enrolled', 'Enrol an authenticator app first');
    if (totp.lockedUntil && totp.lockedUntil > now) throw lockedError(totp.lockedUntil, now);

    if ('code' in factor) {
      const secret = openTotpSecret(server, userId, totp.secretSealed);
      const check = await checkTotp(secret, factor.code, now, totp.lastUsedStep);
      if (!check.ok) return check.reason;
      if (!(await recordUsedStep(tx, userId, check.step, now))) return 'replayed';
      // Sealed under a master key since rotated out: re-seal under the current one while it is open.
      const current = currentKey(server.keys, 'rmm/mfa-totp/v1');
      if (!totp.secretSealed.startsWith(`v1.${current.id}.`)) await resealSecret(tx, userId, seal(current, Buffer.from(secret, 'utf8'), totpAad(userId)), now);
      await audit(tx, { orgId: principal.homeOrgId, action: 'mfa.verified', target: { type: 'user', id: userId }, details: { purpose } });
      return null;
    }

    const normalized = normalizeBackupCode(factor.backupCode);
    if (normalized === null) return 'not a backup code';
    // Codes hashed under a master key since rotated out still count (openingKeys: current first).
    let used = false;
    for (const key of openingKeys(server.keys, 'rmm/mfa-backup-codes/v1')) {
      if ((used = await useBackupCode(tx, userId, hashBackupCode(key, userId, normalized), now))) break;
    }
    if (!used) return 'wrong or already used backup code';
    const remaining = await countUnusedBackupCodes(tx, userId);
    await audit(tx, { orgId: principal.homeOrgId, action: 'mfa.backup_code_used', target: { type: 'user', id: userId }, details: { remaining } });
    await audit(tx, { orgId: principal.homeOrgId, action: 'mfa.verified', target: { type: 'user', id: userId }, details: { purpose } });
    alert = await raiseAlert(tx, {
      orgId: principal.homeOrgId,
      kind: 'mfa.backup_code_used',
      subject: { userId, name: principal.displayName },
      message: backupCodeUsedMessage(principal.displayName, remaining),
      at: now,
    });
    return null;
  });
  // After the commit: the user's admins hear of a backup code only once its use is on record.
  if (alert !== undefined) publishAlert(server, alert);
  if (failure !== null) await recordFailure(verifier, purpose, failure);
}
