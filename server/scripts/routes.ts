import { OrgParams } from '../../protocol/api';
import type { Permission } from '../../protocol/permissions';
import {
  CreateScriptBody, NewScriptVersionBody, ScriptDecisionBody, ScriptDetail, ScriptList, ScriptParams, ScriptVersion,
  type Script,
} from '../../protocol/scripts';
import type { OrgContext } from '../access/org-access';
import { PG_UNIQUE_VIOLATION, pgErrorCode, withOrg, type Tx } from '../db/database';
import { AuthorizationError, AuthorizationFailure, ConflictError, NotFoundError } from '../errors';
import { apiRoute, type RouteCall } from '../http/route';
import { scriptContentSha256 } from './hash';
import { appendVersion, decideVersion, findScript, findVersion, insertScript, listScripts, listVersions } from './store';

/*
 * The org script library (docs/scripts.md). A script belongs to a unit, or to the whole org
 * (unit null). Reading needs scripts.read on its unit (org-wide scripts: anywhere in the org);
 * writing and deciding need scripts.write / scripts.approve on its unit (org-wide: at the org
 * root). A script the caller cannot read answers 404 like one that does not exist; one they can
 * read but not change, 403. Editing adds a version; versions never change, and a decision is
 * made once, with a reason, after step-up, by someone other than the version's author.
 */

type Call = RouteCall<unknown, unknown, unknown>;

function mustHaveOrg(org: OrgContext | undefined): OrgContext {
  if (!org) throw new Error('route declared under /api/orgs/:orgId without an org context');
  return org;
}

/** Where a script's permissions are decided: its unit, or the org level for org-wide scripts. */
const canOnScript = (org: OrgContext, permission: Permission, unitId: string | null) => org.can(permission, unitId);
/** Org-wide scripts are read by anyone who reads scripts somewhere in the org: they may run anywhere. */
const canRead = (org: OrgContext, unitId: string | null) => (unitId === null ? org.can('scripts.read', null) || org.unitsWith('scripts.read').size > 0 : org.can('scripts.read', unitId));

function requireOnScript(org: OrgContext, permission: Permission, unitId: string | null): void {
  if (!canOnScript(org, permission, unitId)) {
    throw AuthorizationError(`You need the ${permission} permission ${unitId ? "on this script's unit" : 'at the organisation level for an org-wide script'}`, permission);
  }
}

/** The script, if the caller may read it; 404 otherwise (another org's, or a unit they cannot see into). */
async function readableScript(tx: Tx, org: OrgContext, scriptId: string): Promise<Script> {
  const script = await findScript(tx, { orgId: org.org.id, scriptId });
  if (!script || !canRead(org, script.unitId)) throw NotFoundError('No such script');
  return script;
}

/** Identical content (same hash) already in the org: a hash must name one version, so jobs are unambiguous. */
async function refuseDuplicate<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (pgErrorCode(err) === PG_UNIQUE_VIOLATION) throw ConflictError('A script version with exactly this content (same SHA-256) already exists in this organisation');
    throw err;
  }
}

async function decide(call: Call & { input: { params: { orgId: string; scriptId: string }; body: { version: number; reason: string } } }, status: 'approved' | 'rejected') {
  const { input, principal, server, audit } = call;
  const org = mustHaveOrg(call.org);
  const { scriptId } = input.params;
  const { version } = input.body;
  return withOrg(server.db, org.org.id, async (tx) => {
    const script = await readableScript(tx, org, scriptId);
    requireOnScript(org, 'scripts.approve', script.unitId);
    const found = await findVersion(tx, { orgId: org.org.id, scriptId, version });
    if (!found) throw NotFoundError('No such version of this script');
    if (found.authorId === principal.userId) {
      throw new AuthorizationFailure('You wrote this version: someone else with scripts.approve must approve or reject it', 'scripts.approve', 'own_script');
    }
    const decided = await decideVersion(tx, { orgId: org.org.id, scriptId, version, status, by: { userId: principal.userId, name: principal.displayName }, reason: input.body.reason, at: server.clock.now() });
    if (!decided) throw ConflictError(`Version ${version} was already ${found.status}${found.decidedByName ? ` by ${found.decidedByName}` : ''}; only a pending version can be decided`);
    await audit(tx, {
      action: status === 'approved' ? 'script.approved' : 'script.rejected',
      target: { type: 'script', id: scriptId },
      details: { version, sha256: decided.sha256, reason: input.body.reason },
    });
    return decided;
  });
}

export const scriptRoutes = [
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/scripts',
    summary: "Scripts of the org the caller may read (their units' and the org-wide ones), by name, with their latest and latest approved version",
    tag: 'scripts',
    permission: 'scripts.read',
    params: OrgParams,
    response: ScriptList,
    handler: async ({ input, server, org }) => {
      const context = mustHaveOrg(org);
      return { scripts: await withOrg(server.db, input.params.orgId, (tx) => listScripts(tx, { orgId: input.params.orgId, unitIds: [...context.unitsWith('scripts.read')] })) };
    },
  }),
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/scripts/:scriptId',
    summary: 'A script with all its versions (body, parameters, hash, decision), newest first',
    tag: 'scripts',
    permission: 'scripts.read',
    params: ScriptParams,
    response: ScriptDetail,
    handler: ({ input, server, org }) =>
      withOrg(server.db, input.params.orgId, async (tx) => ({
        script: await readableScript(tx, mustHaveOrg(org), input.params.scriptId),
        versions: await listVersions(tx, { orgId: input.params.orgId, scriptId: input.params.scriptId }),
      })),
  }),
  apiRoute({
    method: 'post',
    path: '/api/orgs/:orgId/scripts',
    summary: 'Add a script to a unit (unitId null: org-wide) with its first version, pending approval',
    tag: 'scripts',
    permission: 'scripts.write',
    audit: 'script.created',
    params: OrgParams,
    body: CreateScriptBody,
    response: ScriptDetail,
    handler: async ({ input, principal, server, org, audit }) => {
      const context = mustHaveOrg(org);
      const { unitId, name, language, body, parameters, timeoutSeconds } = input.body;
      if (unitId !== null && !context.units.some((u) => u.id === unitId)) throw NotFoundError('No such unit');
      requireOnScript(context, 'scripts.write', unitId);
      const sha256 = scriptContentSha256({ language, body, parameters, timeoutSeconds });
      return refuseDuplicate(() => withOrg(server.db, input.params.orgId, async (tx) => {
        const { scriptId, version } = await insertScript(tx, {
          orgId: input.params.orgId, unitId, name, language, body, parameters, timeoutSeconds, sha256,
          author: { userId: principal.userId, name: principal.displayName }, at: server.clock.now(),
        });
        await audit(tx, { action: 'script.created', target: { type: 'script', id: scriptId }, details: { name, language, unitId, version: version.version, sha256 } });
        const script = await findScript(tx, { orgId: input.params.orgId, scriptId });
        if (!script) throw new Error(`script ${scriptId} not found right after it was inserted`);
        return { script, versions: [version] };
      }));
    },
  }),
  apiRoute({
    method: 'post',
    path: '/api/orgs/:orgId/scripts/:scriptId/versions',
    summary: 'Edit a script: add its next version, pending approval (earlier versions stay as they are)',
    tag: 'scripts',
    permission: 'scripts.write',
    audit: 'script.submitted',
    params: ScriptParams,
    body: NewScriptVersionBody,
    response: ScriptVersion,
    handler: async ({ input, principal, server, org, audit }) => {
      const context = mustHaveOrg(org);
      const { scriptId } = input.params;
      return refuseDuplicate(() => withOrg(server.db, input.params.orgId, async (tx) => {
        const script = await readableScript(tx, context, scriptId);
        requireOnScript(context, 'scripts.write', script.unitId);
        const { body, parameters, timeoutSeconds } = input.body;
        const sha256 = scriptContentSha256({ language: script.language, body, parameters, timeoutSeconds });
        const version = await appendVersion(tx, {
          orgId: input.params.orgId, scriptId, body, parameters, timeoutSeconds, sha256,
          author: { userId: principal.userId, name: principal.displayName }, at: server.clock.now(),
        });
        if (!version) throw NotFoundError('No such script');
        await audit(tx, { action: 'script.submitted', target: { type: 'script', id: scriptId }, details: { version: version.version, sha256 } });
        return version;
      }));
    },
  }),
  apiRoute({
    method: 'post',
    path: '/api/orgs/:orgId/scripts/:scriptId/approve',
    summary: 'Approve a pending version of the script with a reason, so its hash may run (not its author: 403 own_script; decided already: 409)',
    tag: 'scripts',
    permission: 'scripts.approve',
    audit: 'script.approved',
    stepUp: 'scripts.approve',
    params: ScriptParams,
    body: ScriptDecisionBody,
    response: ScriptVersion,
    handler: (call) => decide(call, 'approved'),
  }),
  apiRoute({
    method: 'post',
    path: '/api/orgs/:orgId/scripts/:scriptId/reject',
    summary: 'Reject a pending version of the script with a reason; it can never run (not its author: 403 own_script; decided already: 409)',
    tag: 'scripts',
    permission: 'scripts.approve',
    audit: 'script.rejected',
    stepUp: 'scripts.approve',
    params: ScriptParams,
    body: ScriptDecisionBody,
    response: ScriptVersion,
    handler: (call) => decide(call, 'rejected'),
  }),
];
