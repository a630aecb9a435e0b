import { describe, expect, it } from 'vitest';
import { currentKey, deriveKey, openingKeys, type KeyRing } from './keys';
import { open, seal, SealError } from './seal';

const masterA = Buffer.alloc(32, 1);
const masterB = Buffer.alloc(32, 2);
const fixedIv = (n: number) => Buffer.alloc(n, 7);

describe('deriveKey', () => {
  it('derives different keys and ids per purpose and per master key, the same ones every time', () => {
    const totp = deriveKey(masterA, 'rmm/mfa-totp/v1');
    expect(deriveKey(masterA, 'rmm/mfa-totp/v1')).toEqual(totp);
    expect(deriveKey(masterA, 'rmm/mfa-backup-codes/v1').bytes.equals(totp.bytes)).toBe(false);
    expect(deriveKey(masterB, 'rmm/mfa-totp/v1').id).not.toBe(totp.id);
    expect(totp.id).toMatch(/^[0-9a-f]{8}$/);
    expect(totp.bytes.equals(masterA)).toBe(false);
  });

  it('refuses a master key that is not 32 bytes', () => {
    expect(() => deriveKey(Buffer.alloc(16), 'rmm/mfa-totp/v1')).toThrow(/32 bytes/);
  });
});

describe('seal and open', () => {
  const key = deriveKey(masterA, 'rmm/mfa-totp/v1');
  const aad = 'mfa-totp:user-1';

  it('round-trips and prefixes the version and key id', () => {
    const sealed = seal(key, Buffer.from('JBSWY3DPEHPK3PXP'), aad);
    expect(sealed.startsWith(`v1.${key.id}.`)).toBe(true);
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(open([key], sealed, aad).toString()).toBe('JBSWY3DPEHPK3PXP');
  });

  it('uses a fresh IV each time (randomness injected)', () => {
    expect(seal(key, Buffer.from('x'), aad)).not.toBe(seal(key, Buffer.from('x'), aad));
    expect(seal(key, Buffer.from('x'), aad, fixedIv)).toBe(seal(key, Buffer.from('x'), aad, fixedIv));
  });

  it('refuses a tampered ciphertext, tag or IV', () => {
    const sealed = seal(key, Buffer.from('secret value'), aad);
    const [version, id, payload] = sealed.split('.') as [string, string, string];
    const raw = Buffer.from(payload, 'base64url');
    for (const index of [0, 12, 28, raw.length - 1]) {
      const flipped = Buffer.from(raw);
      flipped[index] = (flipped[index] ?? 0) ^ 1;
      expect(() => open([key], `${version}.${id}.${flipped.toString('base64url')}`, aad)).toThrow(SealError);
    }
    expect(() => open([key], `${version}.${id}.${raw.subarray(0, 20).toString('base64url')}`, aad)).toThrow(/too short/);
  });

  it('refuses the wrong associated data: a ciphertext moved to another row does not open', () => {
    const sealed = seal(key, Buffer.from('secret'), aad);
    expect(() => open([key], sealed, 'mfa-totp:user-2')).toThrow(SealError);
  });

  it('refuses an unknown key id, another purpose’s key, and an unknown version', () => {
    const sealed = seal(key, Buffer.from('secret'), aad);
    const other = deriveKey(masterB, 'rmm/mfa-totp/v1');
    expect(() => open([other], sealed, aad)).toThrow(/no key with id/);
    const backup = deriveKey(masterA, 'rmm/mfa-backup-codes/v1');
    expect(() => open([{ ...backup, id: key.id }], sealed, aad)).toThrow(SealError);
    expect(() => open([key], sealed.replace(/^v1/, 'v2'), aad)).toThrow(/unsupported sealing version/);
    expect(() => open([key], 'JBSWY3DPEHPK3PXP', aad)).toThrow(/not a sealed value/);
  });

  it('opens with a previous master key after rotation and seals with the new one', () => {
    const before: KeyRing = { current: masterA, previous: [] };
    const sealed = seal(currentKey(before, 'rmm/mfa-totp/v1'), Buffer.from('old'), aad);
    const after: KeyRing = { current: masterB, previous: [masterA] };
    expect(open(openingKeys(after, 'rmm/mfa-totp/v1'), sealed, aad).toString()).toBe('old');
    expect(seal(currentKey(after, 'rmm/mfa-totp/v1'), Buffer.from('new'), aad)).toContain(`.${deriveKey(masterB, 'rmm/mfa-totp/v1').id}.`);
  });
});
