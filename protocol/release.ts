import { z } from 'zod';
import { canonicalBytes } from './canonical-json';

/*
 * Signed agent releases (issue #5, docs/agent.md "Signed agent updates"). `rmm release sign`
 * writes a SignedManifest; the server keeps the hashes of trusted builds; the agent checks the
 * signature against its pinned key, the registry, the bundle and its own version before it
 * applies anything. Only schemas and the canonical form live here: the crypto is Node's, in
 * agent/release-signature.ts.
 */

/** x.y.z, no leading zeros, no pre-release tags: versions are compared numerically. */
export const ReleaseVersion = z.string().regex(/^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/, 'must be a version x.y.z');
export type ReleaseVersion = z.infer<typeof ReleaseVersion>;

/** SHA-256 as 64 lowercase hex digits (bundle hashes, key ids). */
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

/** -1, 0 or 1 as `a` is lower than, equal to or higher than `b` (both x.y.z). */
export function compareVersions(a: ReleaseVersion, b: ReleaseVersion): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export const ReleaseManifest = z
  .object({
    format: z.literal(1),
    version: ReleaseVersion,
    sha256: Sha256Hex,
    size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    /** Agents older than this cannot update to this release directly (a step in between is needed). */
    minimumVersion: ReleaseVersion,
    createdAt: z.iso.datetime(),
  })
  .strict()
  .refine((m) => compareVersions(m.minimumVersion, m.version) <= 0, { message: 'minimumVersion must not be above version', path: ['minimumVersion'] });
export type ReleaseManifest = z.infer<typeof ReleaseManifest>;

export const SignedManifest = z
  .object({
    manifest: ReleaseManifest,
    /** RSA-PSS (SHA-256, 32-byte salt) over releaseManifestBytes(manifest), base64. */
    signature: z.base64().min(1).max(1400),
    /** SHA-256 of the signing key's public half (SPKI DER), hex: which key to check it with. */
    keyId: Sha256Hex,
  })
  .strict();
export type SignedManifest = z.infer<typeof SignedManifest>;

/** The bytes that are signed: the manifest's canonical JSON, so key order or whitespace never matter. */
export function releaseManifestBytes(manifest: ReleaseManifest): Uint8Array {
  return canonicalBytes({ ...manifest });
}

/** Why an agent refuses an update; reported back once agents fetch updates themselves. */
export const UpdateRefusal = z.enum(['malformed', 'bad_signature', 'unknown_hash', 'size_mismatch', 'hash_mismatch', 'not_newer', 'below_minimum']);
export type UpdateRefusal = z.infer<typeof UpdateRefusal>;

/** A build in the server's trusted registry (GET/POST /api/releases/trusted). */
export const TrustedBuild = z.object({
  sha256: Sha256Hex,
  version: ReleaseVersion,
  size: z.number().int().min(1),
  keyId: Sha256Hex,
  signed: SignedManifest,
  addedBy: z.uuid(),
  addedAt: z.iso.datetime(),
});
export type TrustedBuild = z.infer<typeof TrustedBuild>;

export const TrustedBuildList = z.object({ builds: z.array(TrustedBuild) });
export type TrustedBuildList = z.infer<typeof TrustedBuildList>;
