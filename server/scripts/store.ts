import { sql, type Selectable } from 'kysely';
import type { Script, ScriptLanguage, ScriptParameter, ScriptVersion } from '../../protocol/scripts';
import { ScriptParameters } from '../../protocol/scripts';
import type { Tx } from '../db/database';
import type { ScriptVersionsTable } from '../db/schema';

/*
 * Script and version rows. Every function runs in a transaction scoped to the script's org
 * (withOrg): row-level security shows and accepts nothing else (migration 0011). Versions are
 * inserted and decided, never changed otherwise; the database refuses it too.
 */

interface ScriptRow {
  id: string;
  org_id: string;
  unit_id: string | null;
  name: string;
  language: ScriptLanguage;
  latest_version: number;
  created_at: Date | string;
  latest_approved_version: number | null;
  pending_versions: number | string;
}

function toScript(row: ScriptRow): Script {
  return {
    id: row.id,
    orgId: row.org_id,
    unitId: row.unit_id,
    name: row.name,
    language: row.language,
    latestVersion: row.latest_version,
    latestApprovedVersion: row.latest_approved_version,
    pendingVersions: Number(row.pending_versions),
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export function toScriptVersion(row: Selectable<ScriptVersionsTable>): ScriptVersion {
  return {
    scriptId: row.script_id,
    version: row.version,
    body: row.body,
    // jsonb comes back parsed; parse again so a row edited past the trigger cannot smuggle in a shape the API does not know.
    parameters: ScriptParameters.parse(row.parameters),
    timeoutSeconds: row.timeout_seconds,
    sha256: row.sha256,
    authorId: row.author_id,
    authorName: row.author_name,
    createdAt: new Date(row.created_at).toISOString(),
    status: row.status,
    decidedBy: row.decided_by,
    decidedByName: row.decided_by_name,
    decidedAt: row.decided_at === null ? null : new Date(row.decided_at).toISOString(),
    reason: row.reason,
  };
}

/** Scripts with their version summary; `where` narrows by id or by the units the caller may read. */
function scriptsQuery(tx: Tx) {
  return tx.selectFrom('scripts as s')
    .select(['s.id', 's.org_id', 's.unit_id', 's.name', 's.language', 's.latest_version', 's.created_at'])
    .select((eb) => [
      eb.selectFrom('script_versions as v').whereRef('v.script_id', '=', 's.id').where('v.status', '=', 'approved')
        .select((v) => v.fn.max('v.version').as('m')).as('latest_approved_version'),
      eb.selectFrom('script_versions as v').whereRef('v.script_id', '=', 's.id').where('v.status', '=', 'pending')
        .select((v) => v.fn.countAll().as('n')).as('pending_versions'),
    ]);
}

/** The org's scripts that are org-wide or belong to one of `unitIds`, by name. */
export async function listScripts(tx: Tx, options: { orgId: string; unitIds: string[] }): Promise<Script[]> {
  const rows = await scriptsQuery(tx)
    .where('s.org_id', '=', options.orgId)
    .where((eb) => (options.unitIds.length === 0 ? eb('s.unit_id', 'is', null) : eb.or([eb('s.unit_id', 'is', null), eb('s.unit_id', 'in', options.unitIds)])))
    .orderBy('s.name').orderBy('s.id')
    .execute();
  return rows.map((row) => toScript(row as ScriptRow));
}

export async function findScript(tx: Tx, options: { orgId: string; scriptId: string }): Promise<Script | undefined> {
  const row = await scriptsQuery(tx).where('s.org_id', '=', options.orgId).where('s.id', '=', options.scriptId).executeTakeFirst();
  return row && toScript(row as ScriptRow);
}

/** All versions of a script, newest first. */
export async function listVersions(tx: Tx, options: { orgId: string; scriptId: string }): Promise<ScriptVersion[]> {
  const rows = await tx.selectFrom('script_versions').selectAll()
    .where('org_id', '=', options.orgId).where('script_id', '=', options.scriptId)
    .orderBy('version', 'desc')
    .execute();
  return rows.map(toScriptVersion);
}

export async function findVersion(tx: Tx, options: { orgId: string; scriptId: string; version: number }): Promise<ScriptVersion | undefined> {
  const row = await tx.selectFrom('script_versions').selectAll()
    .where('org_id', '=', options.orgId).where('script_id', '=', options.scriptId).where('version', '=', options.version)
    .executeTakeFirst();
  return row && toScriptVersion(row);
}

export interface NewVersion {
  body: string;
  parameters: ScriptParameter[];
  timeoutSeconds: number;
  sha256: string;
  author: { userId: string; name: string };
  at: Date;
}

async function insertVersion(tx: Tx, options: { orgId: string; scriptId: string; version: number } & NewVersion): Promise<ScriptVersion> {
  const row = await tx.insertInto('script_versions')
    .values({
      org_id: options.orgId,
      script_id: options.scriptId,
      version: options.version,
      body: options.body,
      parameters: JSON.stringify(options.parameters),
      timeout_seconds: options.timeoutSeconds,
      sha256: options.sha256,
      author_id: options.author.userId,
      author_name: options.author.name.slice(0, 200),
      created_at: options.at,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toScriptVersion(row);
}

/** A new script and its version 1 (pending). */
export async function insertScript(tx: Tx, options: { orgId: string; unitId: string | null; name: string; language: ScriptLanguage } & NewVersion): Promise<{ scriptId: string; version: ScriptVersion }> {
  const { id } = await tx.insertInto('scripts')
    .values({ org_id: options.orgId, unit_id: options.unitId, name: options.name, language: options.language, created_by: options.author.userId, created_at: options.at })
    .returning('id')
    .executeTakeFirstOrThrow();
  const version = await insertVersion(tx, { ...options, scriptId: id, version: 1 });
  return { scriptId: id, version };
}

/** The next version of a script (pending). Bumping the counter first serialises concurrent editors on the script's row. */
export async function appendVersion(tx: Tx, options: { orgId: string; scriptId: string } & NewVersion): Promise<ScriptVersion | undefined> {
  const bumped = await tx.updateTable('scripts')
    .set({ latest_version: sql<number>`latest_version + 1` })
    .where('org_id', '=', options.orgId).where('id', '=', options.scriptId)
    .returning('latest_version')
    .executeTakeFirst();
  if (!bumped) return undefined;
  return insertVersion(tx, { ...options, version: bumped.latest_version });
}

/** Decides a pending version; undefined when it is not pending (of two racing approvers, one wins). */
export async function decideVersion(
  tx: Tx,
  options: { orgId: string; scriptId: string; version: number; status: 'approved' | 'rejected'; by: { userId: string; name: string }; reason: string; at: Date },
): Promise<ScriptVersion | undefined> {
  const row = await tx.updateTable('script_versions')
    .set({ status: options.status, decided_by: options.by.userId, decided_by_name: options.by.name.slice(0, 200), decided_at: options.at, reason: options.reason })
    .where('org_id', '=', options.orgId).where('script_id', '=', options.scriptId).where('version', '=', options.version)
    .where('status', '=', 'pending')
    .returningAll()
    .executeTakeFirst();
  return row && toScriptVersion(row);
}

/** The version with this hash in the org, with its script's language (part of the hash). */
export async function findVersionByHash(tx: Tx, options: { orgId: string; sha256: string }): Promise<{ version: ScriptVersion; language: ScriptLanguage; unitId: string | null } | undefined> {
  const row = await tx.selectFrom('script_versions as v')
    .innerJoin('scripts as s', (join) => join.onRef('s.id', '=', 'v.script_id').onRef('s.org_id', '=', 'v.org_id'))
    .selectAll('v')
    .select(['s.language', 's.unit_id'])
    .where('v.org_id', '=', options.orgId).where('v.sha256', '=', options.sha256)
    .executeTakeFirst();
  if (!row) return undefined;
  const { language, unit_id: unitId, ...version } = row;
  return { version: toScriptVersion(version), language, unitId };
}
