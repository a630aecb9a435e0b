import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Grant, User } from '../../protocol/access';
import { getTestServer, type TestServer } from '../test-support';

describe('role grants through the API', () => {
  let t: TestServer;
  let orgId: string;
  let site: string;
  let desk: string;
  let sibling: string;

  beforeAll(async () => {
    t = await getTestServer('pglite');
    orgId = (await t.buildOrg('Grant Clinic')).id;
    site = (await t.buildUnit(orgId, 'Site')).id;
    desk = (await t.buildUnit(orgId, 'Desk', site)).id;
    sibling = (await t.buildUnit(orgId, 'Sibling')).id;
  });
  afterAll(async () => t?.close());

  const grantsSeenBy = async (token: string) => {
    const response = await t.request(`/api/orgs/${orgId}/grants`, { token });
    expect(response.status).toBe(200);
    return (response.json() as { grants: Grant[] }).grants;
  };

  it('an org-level tenant admin sees and revokes grants made on units', async () => {
    const admin = await t.buildUser({ orgId, role: 'tenant_admin', unitId: null });
    const member = await t.buildUser({ orgId });
    const created = await t.request(`/api/orgs/${orgId}/grants`, { method: 'POST', token: admin.token, body: { userId: member.userId, role: 'tech', unitId: desk } });
    expect(created.status).toBe(200);
    const grant = created.json() as Grant;
    expect((await grantsSeenBy(admin.token)).map((g) => g.id)).toContain(grant.id);
    const revoked = await t.request(`/api/orgs/${orgId}/grants/${grant.id}`, { method: 'DELETE', token: admin.token });
    expect(revoked.status).toBe(200);
    expect((await grantsSeenBy(admin.token)).map((g) => g.id)).not.toContain(grant.id);
  });

  it('a unit’s tenant admin lists users, grants below their unit, and sees and revokes only those grants', async () => {
    const siteAdmin = await t.buildUser({ orgId, role: 'tenant_admin', unitId: site });
    const member = await t.buildUser({ orgId });
    const users = await t.request(`/api/orgs/${orgId}/users`, { token: siteAdmin.token });
    expect(users.status).toBe(200);
    expect((users.json() as { users: User[] }).users.map((u) => u.id)).toContain(member.userId);

    const below = await t.request(`/api/orgs/${orgId}/grants`, { method: 'POST', token: siteAdmin.token, body: { userId: member.userId, role: 'viewer', unitId: desk } });
    expect(below.status).toBe(200);
    const beside = await t.request(`/api/orgs/${orgId}/grants`, { method: 'POST', token: siteAdmin.token, body: { userId: member.userId, role: 'viewer', unitId: sibling } });
    expect(beside.status).toBe(403);
    const wholeOrg = await t.request(`/api/orgs/${orgId}/grants`, { method: 'POST', token: siteAdmin.token, body: { userId: member.userId, role: 'tenant_admin', unitId: null } });
    expect(wholeOrg.status).toBe(403);

    const { grantId: elsewhere } = await t.buildGrant(orgId, member.userId, 'tech', sibling);
    const seen = (await grantsSeenBy(siteAdmin.token)).map((g) => g.id);
    expect(seen).toContain((below.json() as Grant).id);
    expect(seen).not.toContain(elsewhere);
    expect((await t.request(`/api/orgs/${orgId}/grants/${elsewhere}`, { method: 'DELETE', token: siteAdmin.token })).status).toBe(404);
    expect((await t.request(`/api/orgs/${orgId}/grants/${(below.json() as Grant).id}`, { method: 'DELETE', token: siteAdmin.token })).status).toBe(200);
  });

  it('a tech may neither list users nor grant roles, and the refusals are audited as denied', async () => {
    const tech = await t.buildUser({ orgId, role: 'tech', unitId: site });
    const member = await t.buildUser({ orgId });
    const listed = await t.request(`/api/orgs/${orgId}/users`, { token: tech.token });
    expect(listed.status).toBe(403);
    const granted = await t.request(`/api/orgs/${orgId}/grants`, { method: 'POST', token: tech.token, body: { userId: member.userId, role: 'tenant_admin', unitId: null } });
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
    const foreign = await t.request(`/api/orgs/${orgId}/grants`, { method: 'POST', body: { userId: stranger.userId, role: 'viewer', unitId: null } });
    expect(foreign.status).toBe(404);
    const member = await t.buildUser({ orgId });
    const body = { userId: member.userId, role: 'viewer', unitId: site };
    expect((await t.request(`/api/orgs/${orgId}/grants`, { method: 'POST', body })).status).toBe(200);
    const again = await t.request(`/api/orgs/${orgId}/grants`, { method: 'POST', body });
    expect(again.status).toBe(409);
  });
});
