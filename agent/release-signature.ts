import { constants, createHash, createPublicKey, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { releaseManifestBytes, type ReleaseManifest, type SignedManifest } from '../protocol/release';

/*
 * The release signature scheme, one place for the agent (which verifies), `rmm release sign`
 * (which signs) and the server's trusted-build registry (which verifies before it trusts):
 * RSA-PSS with SHA-256 and a 32-byte salt over the manifest's canonical bytes, RSA keys of
 * 2048 to 4096 bits. The salt length is fixed rather than "auto" so a verifier accepts exactly
 * what the signer makes.
 */

export const RELEASE_SIGNATURE = { hash: 'sha256', padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } as const;

export class ReleaseKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReleaseKeyError';
  }
}

/** Throws ReleaseKeyError unless `key` is an RSA key of 2048 to 4096 bits. */
export function assertReleaseKeyType(key: KeyObject, what: string): void {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa') throw new ReleaseKeyError(`${what} is a ${key.asymmetricKeyType ?? 'symmetric'} key, not an RSA key`);
  if (bits < 2048 || bits > 4096) throw new ReleaseKeyError(`${what} has ${bits} bits; release keys are RSA-2048 (up to 4096)`);
}

/** The public release key from PEM (SPKI), checked for type and size. */
export function parseReleasePublicKey(pem: string, what = 'the release public key'): KeyObject {
  // createPublicKey would derive the public half of a private key: refuse one, it belongs offline.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new ReleaseKeyError(`${what} is a private key; only the public key may leave the signing machine`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new ReleaseKeyError(`${what} is not a PEM public key`);
  }
  if (key.type !== 'public') throw new ReleaseKeyError(`${what} is not a public key`);
  assertReleaseKeyType(key, what);
  return key;
}

/** Key id: SHA-256 of the public key's SPKI DER encoding, hex (what `rmm release keygen` prints). */
export function releaseKeyId(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** Equal hex strings, compared in constant time for equal lengths. */
export function hexEquals(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether `signed` names `publicKey` and its signature over the manifest verifies under it. */
export function verifyManifestSignature(signed: SignedManifest, publicKey: KeyObject): boolean {
  if (!hexEquals(signed.keyId, releaseKeyId(publicKey))) return false;
  const signature = Buffer.from(signed.signature, 'base64');
  try {
    return verify(RELEASE_SIGNATURE.hash, releaseManifestBytes(signed.manifest), { key: publicKey, padding: RELEASE_SIGNATURE.padding, saltLength: RELEASE_SIGNATURE.saltLength }, signature);
  } catch {
    // A signature of the wrong length for the key throws instead of answering false.
    return false;
  }
}

/** Signs `manifest` with the release private key (`rmm release sign`; tests). */
export function signReleaseManifest(manifest: ReleaseManifest, privateKey: KeyObject): SignedManifest {
  assertReleaseKeyType(privateKey, 'the release private key');
  const signature = sign(RELEASE_SIGNATURE.hash, releaseManifestBytes(manifest), { key: privateKey, padding: RELEASE_SIGNATURE.padding, saltLength: RELEASE_SIGNATURE.saltLength });
  return { manifest, signature: signature.toString('base64'), keyId: releaseKeyId(createPublicKey(privateKey)) };
}
