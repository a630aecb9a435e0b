import { createHash, hkdfSync } from 'node:crypto';

/*
 * Per-purpose keys derived from the one master key with HKDF-SHA256: the `info` names the purpose
 * and its version, so a key for TOTP secrets can never open (or forge) something sealed for
 * another purpose, and a purpose can move to a new derivation by bumping its version.
 */

export const KEY_PURPOSES = ['rmm/mfa-totp/v1', 'rmm/mfa-backup-codes/v1', 'rmm/agent-secret/v1'] as const;
export type KeyPurpose = (typeof KEY_PURPOSES)[number];

export interface DerivedKey {
  /** Names the master key it came from and the purpose, e.g. `3f2a9c1d`: stored beside every ciphertext. */
  id: string;
  purpose: KeyPurpose;
  bytes: Buffer;
}

/** The master key in use plus older ones still accepted for opening (rotation). */
export interface KeyRing {
  current: Buffer;
  previous: Buffer[];
}

const SALT = Buffer.from('rmm/hkdf-salt/v1');

export function deriveKey(master: Buffer, purpose: KeyPurpose): DerivedKey {
  if (master.length !== 32) throw new Error('master key must be 32 bytes');
  const bytes = Buffer.from(hkdfSync('sha256', master, SALT, purpose, 32));
  // The id is a hash of the derived key, not the key: it identifies without revealing.
  const id = createHash('sha256').update(bytes).digest('hex').slice(0, 8);
  return { id, purpose, bytes };
}

/** The key new ciphertexts are sealed with. */
export function currentKey(ring: KeyRing, purpose: KeyPurpose): DerivedKey {
  return deriveKey(ring.current, purpose);
}

/** Every key that may open a ciphertext for `purpose`, current first. */
export function openingKeys(ring: KeyRing, purpose: KeyPurpose): DerivedKey[] {
  return [ring.current, ...ring.previous].map((master) => deriveKey(master, purpose));
}
