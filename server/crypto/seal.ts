import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DerivedKey } from './keys';

/*
 * AES-256-GCM sealing for secrets at rest. A sealed value reads `v1.<keyId>.<base64url(iv|tag|ct)>`:
 * the version says how to open it, the key id which derived key sealed it (rotation), and the
 * associated data (e.g. `mfa-totp:<userId>`) binds it to its row, so a ciphertext copied into
 * another user's row does not open.
 */

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
  }
}

export function seal(key: DerivedKey, plaintext: Buffer, associatedData: string, random: (n: number) => Buffer = randomBytes): string {
  const iv = random(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.bytes, iv);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return `${VERSION}.${key.id}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
}

/** Opens a sealed value with whichever of `keys` has its key id; throws SealError on any mismatch. */
export function open(keys: DerivedKey[], sealed: string, associatedData: string): Buffer {
  const match = /^(v\d+)\.([0-9a-f]{8})\.([A-Za-z0-9_-]+)$/.exec(sealed);
  if (!match) throw new SealError('not a sealed value');
  const [, version, keyId, payload] = match;
  if (version !== VERSION) throw new SealError(`unsupported sealing version ${version}`);
  const key = keys.find((k) => k.id === keyId);
  if (!key) throw new SealError(`no key with id ${keyId}`);
  const raw = Buffer.from(payload ?? '', 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new SealError('sealed value too short');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SealError('sealed value does not open: tampered, moved to another record, or sealed with another key');
  }
}
