import { Sha256Hex, type ScriptLanguage, type ScriptVersion } from '../../protocol/scripts';
import type { Tx } from '../db/database';
import { ScriptNotApprovedFailure } from '../errors';
import { scriptContentSha256 } from './hash';
import { findVersionByHash } from './store';

/*
 * The one gate between the script library and anything that runs a script: jobs ask for a
 * version by its hash and get it only if it is approved. The content is hashed again here, so a
 * row changed past the database's immutability trigger (by its owner, with the trigger off) is
 * refused as `altered` instead of running what nobody approved.
 */

export interface ApprovedScript {
  version: ScriptVersion;
  language: ScriptLanguage;
  /** The script's unit (null: org-wide), for the job to check its targets against. */
  unitId: string | null;
}

/** The approved version of `orgId` whose content hashes to `sha256`, or a 409 `script_not_approved` saying why not. Call inside withOrg(orgId). */
export async function approvedScriptVersion(tx: Tx, orgId: string, sha256: string): Promise<ApprovedScript> {
  if (!Sha256Hex.safeParse(sha256).success) throw new ScriptNotApprovedFailure('unknown', 'That is not a script hash (64 lowercase hex digits)');
  const found = await findVersionByHash(tx, { orgId, sha256 });
  if (!found) throw new ScriptNotApprovedFailure('unknown', 'No script version of this organisation has that hash');
  const { version, language, unitId } = found;
  if (version.status !== 'approved') {
    throw new ScriptNotApprovedFailure(version.status, `Version ${version.version} of that script is ${version.status}, not approved`);
  }
  const actual = scriptContentSha256({ language, body: version.body, parameters: version.parameters, timeoutSeconds: version.timeoutSeconds });
  if (actual !== version.sha256) {
    throw new ScriptNotApprovedFailure('altered', `Version ${version.version} of that script no longer matches its approved hash`);
  }
  return { version, language, unitId };
}
