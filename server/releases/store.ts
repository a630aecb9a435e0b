import type { Selectable } from 'kysely';
import { SignedManifest, type TrustedBuild } from '../../protocol/release';
import type { Tx } from '../db/database';
import type { TrustedBuildsTable } from '../db/schema';

/*
 * The trusted-build registry. Every function runs in a platform-scope transaction (no org):
 * row-level security shows and accepts nothing else (migration 0010).
 */

/** The most a list returns (newest first). */
export const TRUSTED_BUILD_LIST_LIMIT = 500;

function toTrustedBuild(row: Selectable<TrustedBuildsTable>): TrustedBuild {
  return {
    sha256: row.sha256,
    version: row.version,
    size: Number(row.size),
    keyId: row.key_id,
    // jsonb comes back parsed; checked again on the way out rather than trusted.
    signed: SignedManifest.parse(typeof row.manifest === 'string' ? JSON.parse(row.manifest) : row.manifest),
    addedBy: row.added_by,
    addedAt: new Date(row.added_at).toISOString(),
  };
}

/** Adds a verified build; null when its hash is already trusted. */
export async function insertTrustedBuild(tx: Tx, build: { signed: SignedManifest; addedBy: string; at: Date }): Promise<TrustedBuild | null> {
  const { manifest, keyId } = build.signed;
  const row = await tx.insertInto('trusted_builds')
    .values({ sha256: manifest.sha256, version: manifest.version, size: manifest.size, key_id: keyId, manifest: JSON.stringify(build.signed), added_by: build.addedBy, added_at: build.at })
    .onConflict((oc) => oc.column('sha256').doNothing())
    .returningAll()
    .executeTakeFirst();
  return row ? toTrustedBuild(row) : null;
}

export async function listTrustedBuilds(tx: Tx): Promise<TrustedBuild[]> {
  const rows = await tx.selectFrom('trusted_builds').selectAll().orderBy('added_at', 'desc').orderBy('sha256').limit(TRUSTED_BUILD_LIST_LIMIT).execute();
  return rows.map(toTrustedBuild);
}
