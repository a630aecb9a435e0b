import { describe, expect, it } from 'vitest';
import { deriveKey } from '../crypto/keys';
import { generateBackupCodes, hashBackupCode, normalizeBackupCode } from './backup-codes';

const key = deriveKey(Buffer.alloc(32, 3), 'rmm/mfa-backup-codes/v1');

describe('backup codes', () => {
  it('makes ten distinct codes of 10 Crockford base32 symbols, grouped 5-5', () => {
    const codes = generateBackupCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
  });

  it('normalizes what people type and refuses what is not a code', () => {
    expect(normalizeBackupCode(' abcde-fghjk ')).toBe('ABCDEFGHJK');
    expect(normalizeBackupCode('oOiIl-23456')).toBe('00111' + '23456');
    expect(normalizeBackupCode('ABCDE-FGHJ')).toBeNull();
    expect(normalizeBackupCode('ABCDE-FGHJU')).toBeNull();
  });

  it('hashes with the derived key, bound to the user', () => {
    const hash = hashBackupCode(key, 'user-1', 'ABCDEFGHJK');
    expect(hash).toHaveLength(32);
    expect(hashBackupCode(key, 'user-1', 'ABCDEFGHJK').equals(hash)).toBe(true);
    expect(hashBackupCode(key, 'user-2', 'ABCDEFGHJK').equals(hash)).toBe(false);
    expect(hashBackupCode(deriveKey(Buffer.alloc(32, 4), 'rmm/mfa-backup-codes/v1'), 'user-1', 'ABCDEFGHJK').equals(hash)).toBe(false);
  });
});
