import { randomBytes } from 'node:crypto';
import { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptDetail, ScriptList, ScriptVersion, type CreateScriptBody } from '../../protocol/scripts';
import { databaseKinds } from '../../tools/testing/postgres';
import { withOrg } from '../db/database';
import { ScriptNotApprovedFailure } from '../errors';
import { getTestServer, type TestResponse, type TestServer } from '../test-support';
import { approvedScriptVersion } from './approval';
import { scriptContentSha256 } from './hash';

/*
 * The script library end to end on both databases: who may read, write and decide; editing makes
 * a new version and leaves the old one as it was; an author never decides on their own version;
 * a decision needs step-up and is audited with the version's hash; the database refuses changes
 * to a version; and only an approved hash passes approvedScriptVersion, the gate jobs will use.
 */

interface User {
  userId: string;
  token: string;
}

const code = (res: TestResponse) => (res.json() as { error?: { code?: string } }).error?.code;

describe.each(databaseKinds())('script library on %s', (kind) => {
  let t: TestServer;
  let orgA: string;
  let orgB: string;
  let site: string;
  let otherSite: string;
  /** tech on `site`: writes scripts there, cannot approve. */
  let author: User;
  /** tenant admins at A's root: approve. */
  let approver: User;
  let approver2: User;
  let viewer: User;
  /** tech on the sibling unit: cannot see `site`'s scripts. */
  let otherTech: User;
  let adminB: User;

  const newScript = (overrides: Partial<CreateScriptBody> = {}): CreateScriptBody => ({
    unitId: site,
    name: 'Clear print spooler',
    language: 'powershell',
    body: `Restart-Service Spooler # ${randomBytes(4).toString('hex')}`,
    parameters: [{ name: 'Reason', type: 'string', required: true, maxLength: 200 }],
    timeoutSeconds: 120,
    ...overrides,
  });
  const create = async (token: string, body: CreateScriptBody = newScript(), orgId = orgA) => t.request(`/api/orgs/${orgId}/scripts`, { method: 'POST', token, body });
  const created = async (token: string, body?: CreateScriptBody) => {
    const res = await create(token, body);
    expect(res.status, res.text).toBe(200);
    return ScriptDetail.parse(res.json());
  };
  const decide = async (user: User, scriptId: string, version: number, verb: 'approve' | 'reject', options: { proof?: boolean; reason?: string } = {}) => {
    const headers: Record<string, string> = options.proof === false ? {} : { 'x-step-up': await t.stepUp(user.token, 'scripts.approve') };
    return t.request(`/api/orgs/${orgA}/scripts/${scriptId}/${verb}`, { method: 'POST', token: user.token, headers, body: { version, reason: options.reason ?? `${verb} in test` } });
  };
  const auditOf = (scriptId: string) =>
    t.database.ownerQuery(`SELECT action, outcome, details, actor_id FROM audit_log WHERE org_id = $1 AND target_type = 'script' AND target_id = $2 ORDER BY seq`, [orgA, scriptId]);
  const gate = (orgId: string, sha256: string) => withOrg(t.database.db, orgId, (tx) => approvedScriptVersion(tx, orgId, sha256));
  const refusal = async (orgId: string, sha256: string) => {
    const err = await gate(orgId, sha256).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ScriptNotApprovedFailure);
    return err instanceof ScriptNotApprovedFailure ? err.reason : undefined;
  };

  beforeAll(async () => {
    t = await getTestServer(kind);
    orgA = (await t.buildOrg('Clinic A')).id;
    orgB = (await t.buildOrg('Clinic B')).id;
    site = (await t.buildUnit(orgA, 'Main site')).id;
    otherSite = (await t.buildUnit(orgA, 'Branch')).id;
    author = await t.buildUser({ orgId: orgA, role: 'tech', unitId: site, name: 'Tess Tech' });
    approver = await t.buildUser({ orgId: orgA, role: 'tenant_admin', unitId: null, name: 'Ada Admin' });
    approver2 = await t.buildUser({ orgId: orgA, role: 'tenant_admin', unitId: null, name: 'Abe Admin' });
    viewer = await t.buildUser({ orgId: orgA, role: 'viewer', unitId: site });
    otherTech = await t.buildUser({ orgId: orgA, role: 'tech', unitId: otherSite });
    adminB = await t.buildUser({ orgId: orgB, role: 'tenant_admin', unitId: null });
  });
  afterAll(async () => t?.close());

  it('a tech adds a script to their unit: version 1 is pending, its hash covers the content, and the creation is audited', async () => {
    const body = newScript();
    const { script, versions } = await created(author.token, body);
    expect(script).toMatchObject({ orgId: orgA, unitId: site, name: body.name, language: 'powershell', latestVersion: 1, latestApprovedVersion: null, pendingVersions: 1 });
    const sha256 = scriptContentSha256({ language: body.language, body: body.body, parameters: body.parameters, timeoutSeconds: body.timeoutSeconds });
    expect(versions).toEqual([expect.objectContaining({ version: 1, status: 'pending', sha256, authorId: author.userId, authorName: 'Tess Tech', decidedBy: null, reason: null })]);
    expect(await auditOf(script.id)).toEqual([
      expect.objectContaining({ action: 'script.created', outcome: 'success', actor_id: author.userId, details: { name: body.name, language: 'powershell', unitId: site, version: 1, sha256 } }),
    ]);
  });

  it('a viewer reads scripts but cannot write them (403), and a tech of a sibling unit cannot see them (404)', async () => {
    const { script } = await created(author.token);
    const list = ScriptList.parse((await t.request(`/api/orgs/${orgA}/scripts`, { token: viewer.token })).json());
    expect(list.scripts.map((s) => s.id)).toContain(script.id);
    expect((await t.request(`/api/orgs/${orgA}/scripts/${script.id}`, { token: viewer.token })).status).toBe(200);

    const viewerCreate = await create(viewer.token);
    expect([viewerCreate.status, code(viewerCreate)]).toEqual([403, 'forbidden']);
    const viewerEdit = await t.request(`/api/orgs/${orgA}/scripts/${script.id}/versions`, { method: 'POST', token: viewer.token, body: { body: 'echo hi', parameters: [], timeoutSeconds: 5 } });
    expect([viewerEdit.status, code(viewerEdit)]).toEqual([403, 'forbidden']);

    const other = await t.request(`/api/orgs/${orgA}/scripts/${script.id}`, { token: otherTech.token });
    expect([other.status, code(other)]).toEqual([404, 'not_found']);
    const otherEdit = await t.request(`/api/orgs/${orgA}/scripts/${script.id}/versions`, { method: 'POST', token: otherTech.token, body: { body: 'echo hi', parameters: [], timeoutSeconds: 5 } });
    expect([otherEdit.status, code(otherEdit)]).toEqual([404, 'not_found']);
    const otherList = ScriptList.parse((await t.request(`/api/orgs/${orgA}/scripts`, { token: otherTech.token })).json());
    expect(otherList.scripts.map((s) => s.id)).not.toContain(script.id);
    // An org-wide script is for everyone who reads scripts, but only the org root writes one.
    const orgWide = await created(approver.token, newScript({ unitId: null, name: 'Org-wide inventory' }));
    expect(ScriptList.parse((await t.request(`/api/orgs/${orgA}/scripts`, { token: otherTech.token })).json()).scripts.map((s) => s.id)).toContain(orgWide.script.id);
    const techOrgWide = await create(author.token, newScript({ unitId: null }));
    expect([techOrgWide.status, code(techOrgWide)]).toEqual([403, 'forbidden']);
  });

  it('another org’s script id answers 404, from that org’s path and from one’s own', async () => {
    const { script } = await created(author.token);
    const inA = await t.request(`/api/orgs/${orgA}/scripts/${script.id}`, { token: adminB.token });
    expect([inA.status, code(inA)]).toEqual([404, 'not_found']);
    for (const [path, method, body] of [
      [`/api/orgs/${orgB}/scripts/${script.id}`, 'GET', undefined],
      [`/api/orgs/${orgB}/scripts/${script.id}/versions`, 'POST', { body: 'echo hi', parameters: [], timeoutSeconds: 5 }],
      [`/api/orgs/${orgB}/scripts`, 'POST', newScript({ unitId: site })],
    ] as const) {
      const res = await t.request(path, { method, token: adminB.token, ...(body ? { body } : {}) });
      expect([res.status, code(res)], path).toEqual([404, 'not_found']);
    }
    const approve = await t.request(`/api/orgs/${orgB}/scripts/${script.id}/approve`, {
      method: 'POST', token: adminB.token, headers: { 'x-step-up': await t.stepUp(adminB.token, 'scripts.approve') }, body: { version: 1, reason: 'not mine' },
    });
    expect([approve.status, code(approve)]).toEqual([404, 'not_found']);
  });

  it('editing adds a pending version and leaves the earlier one, and its hash, as they were', async () => {
    const { script, versions: [v1] } = await created(author.token);
    const res = await t.request(`/api/orgs/${orgA}/scripts/${script.id}/versions`, {
      method: 'POST', token: author.token, body: { body: 'Restart-Service Spooler -Force', parameters: [], timeoutSeconds: 60 },
    });
    expect(res.status, res.text).toBe(200);
    const v2 = ScriptVersion.parse(res.json());
    expect(v2).toMatchObject({ version: 2, status: 'pending', body: 'Restart-Service Spooler -Force', timeoutSeconds: 60 });
    expect(v2.sha256).not.toBe(v1?.sha256);
    const detail = ScriptDetail.parse((await t.request(`/api/orgs/${orgA}/scripts/${script.id}`, { token: author.token })).json());
    expect(detail.script).toMatchObject({ latestVersion: 2, pendingVersions: 2 });
    expect(detail.versions.map((v) => v.version)).toEqual([2, 1]);
    expect(detail.versions[1]).toEqual(v1);
    expect((await auditOf(script.id)).map((e) => [e.action, e.details])).toEqual([
      ['script.created', expect.objectContaining({ version: 1, sha256: v1?.sha256 })],
      ['script.submitted', { version: 2, sha256: v2.sha256 }],
    ]);
    // The same content again is not an edit: a hash names one version.
    const again = await t.request(`/api/orgs/${orgA}/scripts/${script.id}/versions`, {
      method: 'POST', token: author.token, body: { body: 'Restart-Service Spooler -Force', parameters: [], timeoutSeconds: 60 },
    });
    expect([again.status, code(again)]).toEqual([409, 'conflict']);
  });

  it('an author cannot approve or reject their own version (403 own_script, audited as denied), even holding scripts.approve', async () => {
    const { script } = await created(approver.token, newScript({ unitId: null, name: 'Admin wrote this' }));
    for (const verb of ['approve', 'reject'] as const) {
      const res = await decide(approver, script.id, 1, verb);
      expect([res.status, code(res)]).toEqual([403, 'own_script']);
    }
    const detail = ScriptDetail.parse((await t.request(`/api/orgs/${orgA}/scripts/${script.id}`, { token: approver.token })).json());
    expect(detail.versions[0]?.status).toBe('pending');
    expect((await auditOf(script.id)).map((e) => [e.action, e.outcome])).toEqual([
      ['script.created', 'success'], ['script.approved', 'denied'], ['script.rejected', 'denied'],
    ]);
    // Someone else may.
    expect((await decide(approver2, script.id, 1, 'approve')).status).toBe(200);
  });

  it('deciding needs a step-up proof (403 step_up_required) and scripts.approve (a tech: 403 forbidden)', async () => {
    const { script } = await created(author.token);
    const noProof = await decide(approver, script.id, 1, 'approve', { proof: false });
    expect([noProof.status, code(noProof)]).toEqual([403, 'step_up_required']);
    const tech = await t.buildUser({ orgId: orgA, role: 'tech', unitId: null });
    const techTry = await t.request(`/api/orgs/${orgA}/scripts/${script.id}/approve`, { method: 'POST', token: tech.token, body: { version: 1, reason: 'looks fine' } });
    expect([techTry.status, code(techTry)]).toEqual([403, 'forbidden']);
    const missing = await decide(approver, script.id, 9, 'approve');
    expect([missing.status, code(missing)]).toEqual([404, 'not_found']);
  });

  it('approving and rejecting are audited with version, hash and reason; a decided version cannot be decided again (409)', async () => {
    const { script, versions: [v1] } = await created(author.token);
    const v2 = ScriptVersion.parse((await t.request(`/api/orgs/${orgA}/scripts/${script.id}/versions`, {
      method: 'POST', token: author.token, body: { body: 'Get-Service Spooler', parameters: [], timeoutSeconds: 30 },
    })).json());

    const approved = await decide(approver, script.id, 1, 'approve', { reason: 'Reviewed: restarts the spooler only' });
    expect(approved.status, approved.text).toBe(200);
    expect(ScriptVersion.parse(approved.json())).toMatchObject({ status: 'approved', decidedBy: approver.userId, decidedByName: 'Ada Admin', reason: 'Reviewed: restarts the spooler only', sha256: v1?.sha256 });
    const rejected = await decide(approver, script.id, 2, 'reject', { reason: 'No need to read the service here' });
    expect(ScriptVersion.parse(rejected.json())).toMatchObject({ status: 'rejected', decidedBy: approver.userId });

    for (const [version, verb] of [[1, 'reject'], [1, 'approve'], [2, 'approve']] as const) {
      const again = await decide(approver2, script.id, version, verb);
      expect([again.status, code(again)], `${verb} v${version}`).toEqual([409, 'conflict']);
    }
    const entries = (await auditOf(script.id)).filter((e) => e.outcome === 'success');
    expect(entries.map((e) => [e.action, e.actor_id, e.details])).toEqual([
      ['script.created', author.userId, expect.anything()],
      ['script.submitted', author.userId, { version: 2, sha256: v2.sha256 }],
      ['script.approved', approver.userId, { version: 1, sha256: v1?.sha256, reason: 'Reviewed: restarts the spooler only' }],
      ['script.rejected', approver.userId, { version: 2, sha256: v2.sha256, reason: 'No need to read the service here' }],
    ]);
    const summary = ScriptList.parse((await t.request(`/api/orgs/${orgA}/scripts`, { token: author.token })).json()).scripts.find((s) => s.id === script.id);
    expect(summary).toMatchObject({ latestVersion: 2, latestApprovedVersion: 1, pendingVersions: 0 });
  });

  it('the database refuses to change a version: no UPDATE of its content for the app role, and a trigger for every role', async () => {
    const { script, versions: [v1] } = await created(author.token);
    expect((await decide(approver, script.id, 1, 'approve')).status).toBe(200);
    const asApp = (text: string) =>
      withOrg(t.database.db, orgA, (tx) => tx.executeQuery(CompiledQuery.raw(text, [script.id]))).then(() => 'changed', (err: unknown) => String(err));
    expect(await asApp(`UPDATE script_versions SET body = 'rm -rf /' WHERE script_id = $1`)).toMatch(/permission denied/);
    expect(await asApp(`UPDATE script_versions SET sha256 = repeat('0', 64) WHERE script_id = $1`)).toMatch(/permission denied/);
    expect(await asApp(`DELETE FROM script_versions WHERE script_id = $1`)).toMatch(/permission denied/);
    expect(await asApp(`UPDATE script_versions SET status = 'pending', decided_by = NULL, decided_by_name = NULL, decided_at = NULL, reason = NULL WHERE script_id = $1`)).toMatch(/already approved/);
    expect(await asApp(`UPDATE scripts SET language = 'bash' WHERE id = $1`)).toMatch(/permission denied/);

    const asOwner = (text: string) => t.database.ownerQuery(text, [script.id]).then(() => 'changed', (err: unknown) => String(err));
    expect(await asOwner(`UPDATE script_versions SET body = 'rm -rf /' WHERE script_id = $1`)).toMatch(/immutable/);
    expect(await asOwner(`UPDATE script_versions SET sha256 = repeat('0', 64) WHERE script_id = $1`)).toMatch(/immutable/);
    expect(await asOwner(`DELETE FROM script_versions WHERE script_id = $1`)).toMatch(/never deleted/);
    expect(await asOwner(`UPDATE scripts SET language = 'bash' WHERE id = $1`)).toMatch(/may only gain versions/);
    const after = ScriptDetail.parse((await t.request(`/api/orgs/${orgA}/scripts/${script.id}`, { token: author.token })).json());
    expect(after.versions).toEqual([expect.objectContaining({ body: v1?.body, sha256: v1?.sha256, status: 'approved' })]);
  });

  it('approvedScriptVersion gives an approved hash and refuses pending, rejected, unknown, another org’s and altered ones', async () => {
    const { script, versions: [v1] } = await created(author.token);
    const add = async (body: string) => ScriptVersion.parse((await t.request(`/api/orgs/${orgA}/scripts/${script.id}/versions`, {
      method: 'POST', token: author.token, body: { body, parameters: [], timeoutSeconds: 30 },
    })).json());
    const v2 = await add('Get-Printer');
    const v3 = await add('Get-PrintJob');
    expect((await decide(approver, script.id, 1, 'approve')).status).toBe(200);
    expect((await decide(approver, script.id, 2, 'reject')).status).toBe(200);
    const v1Hash = v1?.sha256 ?? '';

    await expect(gate(orgA, v1Hash)).resolves.toMatchObject({ version: { version: 1, status: 'approved', body: v1?.body }, language: 'powershell', unitId: site });
    expect(await refusal(orgA, v2.sha256)).toBe('rejected');
    expect(await refusal(orgA, v3.sha256)).toBe('pending');
    expect(await refusal(orgA, randomBytes(32).toString('hex'))).toBe('unknown');
    expect(await refusal(orgA, 'not a hash')).toBe('unknown');
    expect(await refusal(orgB, v1Hash)).toBe('unknown');

    // Someone with the owner's rights switches the trigger off and edits the approved body.
    await t.database.ownerQuery('ALTER TABLE script_versions DISABLE TRIGGER script_versions_immutable');
    try {
      await t.database.ownerQuery(`UPDATE script_versions SET body = 'Remove-Item C:\\ -Recurse' WHERE script_id = $1 AND version = 1`, [script.id]);
    } finally {
      await t.database.ownerQuery('ALTER TABLE script_versions ENABLE TRIGGER script_versions_immutable');
    }
    expect(await refusal(orgA, v1Hash)).toBe('altered');
  });
});
