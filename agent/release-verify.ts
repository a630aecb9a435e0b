import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { compareVersions, ReleaseVersion, SignedManifest, type ReleaseManifest, type UpdateRefusal } from '../protocol/release';
import { hexEquals, parseReleasePublicKey, verifyManifestSignature } from './release-signature';

/*
 * The agent's gate before it applies an update (issue #5). Checks run cheapest and most
 * fundamental first: nothing in the manifest is believed before its signature verifies against
 * the key pinned in the agent, then the server's trusted registry, then the versions (no
 * downgrade, no skipping past the minimum), and last the bundle's size and hash, so a refused
 * update never costs a full read of the bundle. Swapping the build in and rolling it back are the
 * caller's (still to come).
 */

export interface VerifyUpdateInput {
  /** The signed manifest as received: parsed here, so anything may be passed. */
  signed: unknown;
  /** The bundle on disk (hashed streamed) or in memory; exactly one. */
  bundlePath?: string;
  bytes?: Uint8Array;
  /** The release public key built into this agent (PEM, SPKI). A bad one throws: that is the agent's own configuration. */
  pinnedPublicKeyPem: string;
  /** SHA-256 hashes of the builds the server trusts (its registry). */
  trustedHashes: Iterable<string>;
  /** This agent's own version, x.y.z. */
  currentVersion: string;
}

export type VerifyUpdateResult =
  | { ok: true; manifest: ReleaseManifest }
  | { ok: false; reason: UpdateRefusal; detail: string };

const refuse = (reason: UpdateRefusal, detail: string): VerifyUpdateResult => ({ ok: false, reason, detail });

async function measure(input: Pick<VerifyUpdateInput, 'bundlePath' | 'bytes'>, expectedSize: number): Promise<{ size: number; sha256: string | null }> {
  if (input.bytes) {
    return { size: input.bytes.byteLength, sha256: input.bytes.byteLength === expectedSize ? createHash('sha256').update(input.bytes).digest('hex') : null };
  }
  const path = input.bundlePath ?? '';
  const size = (await stat(path)).size;
  if (size !== expectedSize) return { size, sha256: null };
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { size, sha256: hash.digest('hex') };
}

/** Whether `sha256` is one of `trusted`, looked at in full (no early exit) and in constant time per entry. */
function isTrusted(sha256: string, trusted: Iterable<string>): boolean {
  let found = false;
  for (const candidate of trusted) found = hexEquals(sha256, candidate.toLowerCase()) || found;
  return found;
}

export async function verifyUpdate(input: VerifyUpdateInput): Promise<VerifyUpdateResult> {
  if ((input.bundlePath === undefined) === (input.bytes === undefined)) throw new TypeError('verifyUpdate: give exactly one of bundlePath or bytes');
  const current = ReleaseVersion.safeParse(input.currentVersion);
  if (!current.success) throw new TypeError(`verifyUpdate: currentVersion ${input.currentVersion} is not x.y.z`);
  const publicKey = parseReleasePublicKey(input.pinnedPublicKeyPem, 'the pinned release public key');

  const parsed = SignedManifest.safeParse(input.signed);
  if (!parsed.success) return refuse('malformed', parsed.error.issues.map((i) => `${i.path.join('.') || 'manifest'}: ${i.message}`).join('; '));
  const signed = parsed.data;
  if (!verifyManifestSignature(signed, publicKey)) return refuse('bad_signature', 'the manifest is not signed by the pinned release key');
  const { manifest } = signed;

  if (!isTrusted(manifest.sha256, input.trustedHashes)) return refuse('unknown_hash', `build ${manifest.sha256} is not in the server's trusted registry`);
  if (compareVersions(manifest.version, current.data) <= 0) return refuse('not_newer', `version ${manifest.version} is not newer than the running ${current.data}`);
  if (compareVersions(current.data, manifest.minimumVersion) < 0) return refuse('below_minimum', `the running ${current.data} is below the release's minimum version ${manifest.minimumVersion}`);

  // A bundle that cannot be read throws (an I/O failure to retry, not a verdict on the release).
  const measured = await measure(input, manifest.size);
  if (measured.size !== manifest.size) return refuse('size_mismatch', `the bundle has ${measured.size} bytes, the manifest says ${manifest.size}`);
  if (measured.sha256 === null || !hexEquals(measured.sha256, manifest.sha256)) return refuse('hash_mismatch', 'the bundle does not hash to the manifest\'s SHA-256');
  return { ok: true, manifest };
}
