import { createHmac, randomBytes } from 'node:crypto';
import type { DerivedKey } from '../crypto/keys';

/*
 * Backup codes: ten per user, 10 symbols of Crockford base32 (50 bits each), printed as
 * `ABCDE-FGHJK`. Stored as HMAC-SHA256 under a key derived from the master key (purpose
 * rmm/mfa-backup-codes/v1), bound to the user id. Why not a slow KDF: 50 random bits cannot be
 * guessed online (rate limits and lockout), and offline a stolen database is useless without the
 * master key, which never sits in the database; a slow hash would only hand attackers a cheap way
 * to burn server CPU, since a code is checked against all of a user's unused codes.
 */

export const BACKUP_CODE_COUNT = 10;
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function generateBackupCodes(random: (n: number) => Buffer = randomBytes): string[] {
  return Array.from({ length: BACKUP_CODE_COUNT }, () => {
    // 32 divides 256: taking 5 bits of each byte has no bias.
    const symbols = [...random(10)].map((byte) => ALPHABET[byte & 31]).join('');
    return `${symbols.slice(0, 5)}-${symbols.slice(5)}`;
  });
}

/** The canonical form of what a user typed (case, spaces and dashes ignored; O→0, I/L→1), or null. */
export function normalizeBackupCode(input: string): string | null {
  const code = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (code.length !== 10) return null;
  for (const c of code) if (!ALPHABET.includes(c)) return null;
  return code;
}

export function hashBackupCode(key: DerivedKey, userId: string, normalized: string): Buffer {
  return createHmac('sha256', key.bytes).update(`${userId}:${normalized}`).digest();
}
