import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Grant, User } from '../../protocol/access';
import type { StepUpAction } from '../../protocol/mfa';
import type { Clock } from '../clock';
import { getTestServer, type TestResponse, type TestServer } from '../test-support';

const errorCode = (res: TestResponse) => (res.json() as { error?: { code?: string } }).error?.code;

describe('role grants through the API', () => {
  let t: TestServer;
  let offsetMs = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
  let orgId: string;
  let site: string;
  let desk: string;
  let sibling: string;

  beforeAll(async () => {
    t = await getTestServer('pglite', {}, clock);
    orgId = (await t.buildOrg('Grant Clinic')).id;
    site = (await t.buildUnit(orgId, 'Site')).id;
    desk = (await t.buildUnit(orgId, 'Desk', site)).id;
    sibling = (await t.buildUnit(orgId, 'Sibling')).id;
  });
  afterAll(async () => t?.close());

  /** Changing grants needs a fresh step-up proof for grants.change (docs/mfa.md); the default token is the operator's. */
  const change = async (method: 'POST' | 'DELETE', path: string, options: { token?: string; body?: unknown; proof?: StepUpAction | string | null } = {}) => {
    const token = options.token ?? t.token;
    const proof = options.proof === undefined ? await t.stepUp(token, 'grants.change') : options.proof;
    return t.request(`/api/orgs/${orgId}/grants${path}`, { method, token, ...(options.body === undefined ? {} : { body: options.body }), ...(proof === null ? {} : { headers: { 'x-step-up': proof } }) });
  };

  const grantsSeenBy = async (token: string) => {
    const response = await t.request(`/api/orgs/${orgId}/grants`, { token });
    expect(response.status).toBe(200);
    return (response.json() as { grants: Grant[] }).grants;
  };

  it('an org-level tenant admin sees and revokes grants made on units', async () => {
    const admin = await t.buildUser({ orgId, role: 'tenant_admin', unitId: null });
    const member = await t.buildUser({ orgId });
    const created = await change('POST', '', { token: admin.token, body: { userId: member.userId, role: 'tech', unitId: desk } });
    expect(created.status).toBe(200);
    const grant = created.json() as Grant;
    expect((await grantsSeenBy(admin.token)).map((g) => g.id)).toContain(grant.id);
    const revoked = await change('DELETE', `/${grant.id}`, { token: admin.token });
    expect(revoked.status).toBe(200);
    expect((await grantsSeenBy(admin.token)).map((g) => g.id)).not.toContain(grant.id);
  });

  it('a unit’s tenant admin lists users, grants below their unit, and sees and revokes only those grants', async () => {
    const siteAdmin = await t.buildUser({ orgId, role: 'tenant_admin', unitId: site });
    const member = await t.buildUser({ orgId });
    const users = await t.request(`/api/orgs/${orgId}/users`, { token: siteAdmin.token });
    expect(users.status).toBe(200);
    expect((users.json() as { users: User[] }).users.map((u) => u.id)).toContain(member.userId);

    const below = await change('POST', '', { token: siteAdmin.token, body: { userId: member.userId, role: 'viewer', unitId: desk } });
    expect(below.status).toBe(200);
    const beside = await change('POST', '', { token: siteAdmin.token, body: { userId: member.userId, role: 'viewer', unitId: sibling } });
    expect(beside.status).toBe(403);
    const wholeOrg = await change('POST', '', { token: siteAdmin.token, body: { userId: member.userId, role: 'tenant_admin', unitId: null } });
    expect(wholeOrg.status).toBe(403);

    const { grantId: elsewhere } = await t.buildGrant(orgId, member.userId, 'tech', sibling);
    const seen = (await grantsSeenBy(siteAdmin.token)).map((g) => g.id);
    expect(seen).toContain((below.json() as Grant).id);
    expect(seen).not.toContain(elsewhere);
    expect((await change('DELETE', `/${elsewhere}`, { token: siteAdmin.token })).status).toBe(404);
    expect((await change('DELETE', `/${(below.json() as Grant).id}`, { token: siteAdmin.token })).status).toBe(200);
  });

  it('a tech may neither list users nor grant roles, and the refusals are audited as denied', async () => {
    const tech = await t.buildUser({ orgId, role: 'tech', unitId: site });
    const member = await t.buildUser({ orgId });
    const listed = await t.request(`/api/orgs/${orgId}/users`, { token: tech.token });
    expect(listed.status).toBe(403);
    const granted = await change('POST', '', { token: tech.token, body: { userId: member.userId, role: 'tenant_admin', unitId: null }, proof: null });
    expect(granted.status).toBe(403);
    expect((granted.json() as { error: { code: string } }).error.code).toBe('forbidden');
    const denied = await t.database.ownerQuery(
      `SELECT action, outcome FROM audit_log WHERE org_id = $1 AND actor_id = $2 ORDER BY seq`,
      [orgId, tech.userId],
    );
    expect(denied).toEqual([
      { action: 'access.denied', outcome: 'denied' },
      { action: 'grant.created', outcome: 'denied' },
    ]);
  });

  it('refuses a grant to another org’s member with 404, and a duplicate with 409', async () => {
    const other = (await t.buildOrg('Other Clinic')).id;
    const stranger = await t.buildUser({ orgId: other });
    const foreign = await change('POST', '', { body: { userId: stranger.userId, role: 'viewer', unitId: null } });
    expect(foreign.status).toBe(404);
    const member = await t.buildUser({ orgId });
    const body = { userId: member.userId, role: 'viewer', unitId: site };
    expect((await change('POST', '', { body })).status).toBe(200);
    const again = await change('POST', '', { body });
    expect(again.status).toBe(409);
  });

  describe('step-up (grants.change)', () => {
    let admin: { userId: string; token: string };
    let member: { userId: string; token: string };
    const grantsOf = async (userId: string) => (await grantsSeenBy(admin.token)).filter((g) => g.userId === userId);
    const deniedEntries = async () =>
      t.database.ownerQuery(`SELECT action FROM audit_log WHERE org_id = $1 AND actor_id = $2 AND outcome = 'denied' ORDER BY seq`, [orgId, admin.userId]);

    beforeAll(async () => {
      admin = await t.buildUser({ orgId, role: 'tenant_admin', unitId: null });
      member = await t.buildUser({ orgId });
    });

    it('refuses a grant without a proof (step_up_required, not forbidden), audited as a denied grant; nothing is granted', async () => {
      const res = await change('POST', '', { token: admin.token, body: { userId: member.userId, role: 'tech', unitId: site }, proof: null });
      expect([res.status, errorCode(res)]).toEqual([403, 'step_up_required']);
      expect(await grantsOf(member.userId)).toEqual([]);
      expect(await deniedEntries()).toEqual([{ action: 'grant.created' }]);
    });

    it('refuses a proof for another action, a spent proof, an expired proof and another user’s proof (step_up_invalid)', async () => {
      const body = { userId: member.userId, role: 'tech', unitId: site };
      const other = await change('POST', '', { token: admin.token, body, proof: await t.stepUp(admin.token, 'audit.export') });
      expect([other.status, errorCode(other)]).toEqual([403, 'step_up_invalid']);
      expect(other.text).toContain('other action');

      const someoneElses = await change('POST', '', { token: admin.token, body, proof: await t.stepUp(t.token, 'grants.change') });
      expect([someoneElses.status, errorCode(someoneElses)]).toEqual([403, 'step_up_invalid']);

      const stale = await t.stepUp(admin.token, 'grants.change');
      offsetMs += 5 * 60_000 + 1000;
      const expired = await change('POST', '', { token: admin.token, body, proof: stale });
      expect([expired.status, errorCode(expired)]).toEqual([403, 'step_up_invalid']);
      expect(expired.text).toContain('expired');
      expect(await grantsOf(member.userId)).toEqual([]);

      const proof = await t.stepUp(admin.token, 'grants.change');
      const granted = await change('POST', '', { token: admin.token, body, proof });
      expect(granted.status, granted.text).toBe(200);
      const grant = granted.json() as Grant;
      const reused = await change('DELETE', `/${grant.id}`, { token: admin.token, proof });
      expect([reused.status, errorCode(reused)]).toEqual([403, 'step_up_invalid']);
      expect(reused.text).toContain('used');
      expect((await grantsOf(member.userId)).map((g) => g.id)).toEqual([grant.id]);
    });

    it('refuses a revocation without a proof; the grant stays', async () => {
      const { grantId } = await t.buildGrant(orgId, member.userId, 'viewer', desk);
      const res = await change('DELETE', `/${grantId}`, { token: admin.token, proof: null });
      expect([res.status, errorCode(res)]).toEqual([403, 'step_up_required']);
      expect((await grantsOf(member.userId)).map((g) => g.id)).toContain(grantId);
      expect((await deniedEntries()).at(-1)).toEqual({ action: 'grant.revoked' });
    });
  });
});
