import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreatedEnrolmentToken, EnrolmentTokenList, EnrolResponse } from '../../protocol/enrolment';
import { databaseKinds } from '../../tools/testing/postgres';
import type { Clock } from '../clock';
import { withOrg } from '../db/database';
import { getTestServer, type TestResponse, type TestServer } from '../test-support';
import { hashEnrolmentToken, setEnrolmentLimits } from './enrolment';

/*
 * Enrolment tokens end to end on both databases: who may make, list and revoke them; the value is
 * shown once and stored only as its hash; the exchange is one-time even when two race; expired
 * and revoked tokens are refused with stable codes; refusals and successes are audited.
 */

const code = (res: TestResponse) => (res.json() as { error?: { code?: string } }).error?.code;

/** A clock tests can move forward (token expiry). */
class ShiftedClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

describe.each(databaseKinds())('agent enrolment on %s', (kind) => {
  let t: TestServer;
  const clock = new ShiftedClock();
  let orgA: string;
  let orgB: string;
  let site: string;
  let otherSite: string;
  let provisioner: { userId: string; token: string };
  let viewer: { userId: string; token: string };
  let adminB: { userId: string; token: string };

  const create = (token: string, body: Record<string, unknown>, orgId = orgA) => t.request(`/api/orgs/${orgId}/enrolment-tokens`, { method: 'POST', token, body });
  const made = async (body: Record<string, unknown> = { unitId: site }) => {
    const res = await create(provisioner.token, body);
    expect(res.status, res.text).toBe(200);
    return CreatedEnrolmentToken.parse(res.json());
  };
  const enrol = (token: string, hostname = 'pc-01') => t.request('/api/agents/enrol', { method: 'POST', token: null, body: { token, hostname, os: 'Linux 6.1' } });
  const auditOf = (orgId: string, action: string) =>
    t.database.ownerQuery(`SELECT action, outcome, details, target_type, target_id, actor_type, actor_id FROM audit_log WHERE org_id = $1 AND action = $2 ORDER BY seq`, [orgId, action]);

  beforeAll(async () => {
    t = await getTestServer(kind, {}, clock);
    orgA = (await t.buildOrg('Clinic A')).id;
    orgB = (await t.buildOrg('Clinic B')).id;
    site = (await t.buildUnit(orgA, 'Main site')).id;
    otherSite = (await t.buildUnit(orgA, 'Branch')).id;
    provisioner = await t.buildUser({ orgId: orgA, role: 'provisioning', unitId: site });
    viewer = await t.buildUser({ orgId: orgA, role: 'viewer', unitId: null });
    adminB = await t.buildUser({ orgId: orgB, role: 'tenant_admin', unitId: null });
  });
  afterAll(async () => t?.close());

  it('makes a token for the provisioning role, shows it once and keeps only its SHA-256', async () => {
    const token = await made({ unitId: site, label: 'Front desk PCs', expiresInMinutes: 120 });
    expect(token.token).toMatch(/^rmm_enr_[A-Za-z0-9_-]{43}$/);
    expect(token).toMatchObject({ unitId: site, label: 'Front desk PCs', status: 'active', createdBy: provisioner.userId, usedAt: null });
    expect(new Date(token.expiresAt).getTime() - new Date(token.createdAt).getTime()).toBe(120 * 60_000);

    const rows = await t.database.ownerQuery('SELECT token_hash FROM enrolment_tokens WHERE id = $1', [token.id]);
    expect(Buffer.from(rows[0]?.token_hash as Uint8Array).equals(hashEnrolmentToken(token.token))).toBe(true);
    const dump = JSON.stringify(await t.database.ownerQuery('SELECT * FROM enrolment_tokens'));
    expect(dump).not.toContain(token.token);

    const list = await t.request(`/api/orgs/${orgA}/enrolment-tokens`, { token: provisioner.token });
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(token.token);
    expect(EnrolmentTokenList.parse(list.json()).tokens.map((listed) => listed.id)).toContain(token.id);

    const audited = await auditOf(orgA, 'agent.enrolment_token_created');
    expect(audited.at(-1)).toMatchObject({ outcome: 'success', target_type: 'enrolment_token', target_id: token.id, actor_id: provisioner.userId, details: { unitId: site, label: 'Front desk PCs', expiresAt: token.expiresAt } });
    expect(JSON.stringify(audited)).not.toContain(token.token);
  });

  it('defaults to an hour and refuses lifetimes outside 1..10080 minutes', async () => {
    const token = await made();
    expect(new Date(token.expiresAt).getTime() - new Date(token.createdAt).getTime()).toBe(60 * 60_000);
    for (const expiresInMinutes of [0, 10081, 1.5]) {
      const res = await create(provisioner.token, { unitId: site, expiresInMinutes });
      expect(res.status, String(expiresInMinutes)).toBe(400);
    }
  });

  it('refuses a viewer (403, audited as denied), a unit outside the caller’s grant and another org’s unit (404)', async () => {
    const denied = await create(viewer.token, { unitId: site });
    expect(denied.status).toBe(403);
    expect((await auditOf(orgA, 'agent.enrolment_token_created')).at(-1)).toMatchObject({ outcome: 'denied', actor_id: viewer.userId });
    expect((await create(provisioner.token, { unitId: otherSite })).status).toBe(404);
    const unitB = (await t.buildUnit(orgB, 'B site')).id;
    expect((await create(provisioner.token, { unitId: unitB })).status).toBe(404);
    expect((await create(adminB.token, { unitId: site }, orgB)).status).toBe(404);
  });

  it('exchanges a token once for an agent credential, audited as agent.enrolled; the second use is enrolment_token_used', async () => {
    const token = await made();
    const res = await enrol(token.token, 'reception-pc');
    expect(res.status, res.text).toBe(200);
    const enrolled = EnrolResponse.parse(res.json());
    expect(enrolled).toMatchObject({ orgId: orgA, unitId: site });

    const agent = await t.request(`/api/orgs/${orgA}/agents/${enrolled.agentId}`);
    expect(agent.status).toBe(200);
    expect(agent.json()).toMatchObject({ unitId: site, hostname: 'reception-pc' });
    const listed = EnrolmentTokenList.parse((await t.request(`/api/orgs/${orgA}/enrolment-tokens`, { token: provisioner.token })).json());
    expect(listed.tokens.find((row) => row.id === token.id)).toMatchObject({ status: 'used', usedByAgentId: enrolled.agentId });
    expect((await auditOf(orgA, 'agent.enrolled')).at(-1)).toMatchObject({
      outcome: 'success', target_type: 'agent', target_id: enrolled.agentId, actor_type: 'agent',
      details: { unitId: site, tokenId: token.id, hostname: 'reception-pc' },
    });

    const again = await enrol(token.token);
    expect(again.status).toBe(410);
    expect(code(again)).toBe('enrolment_token_used');
    expect(again.text).not.toContain('credential');
    expect((await auditOf(orgA, 'agent.enrolment_refused')).at(-1)).toMatchObject({ outcome: 'denied', target_id: token.id, details: { tokenId: token.id, reason: 'used' } });
  });

  it('lets exactly one of two simultaneous exchanges of the same token win', async () => {
    const token = await made();
    const before = Number((await t.database.ownerQuery('SELECT count(*)::int AS n FROM agents WHERE org_id = $1', [orgA]))[0]?.n);
    const results = await Promise.all([enrol(token.token, 'racer-1'), enrol(token.token, 'racer-2'), enrol(token.token, 'racer-3')]);
    expect(results.map((res) => res.status).sort()).toEqual([200, 410, 410]);
    expect(results.filter((res) => res.status === 410).map(code)).toEqual(['enrolment_token_used', 'enrolment_token_used']);
    const after = Number((await t.database.ownerQuery('SELECT count(*)::int AS n FROM agents WHERE org_id = $1', [orgA]))[0]?.n);
    expect(after - before).toBe(1);
  });

  it('refuses an unknown or malformed token with 401 enrolment_token_invalid, without auditing in any org', async () => {
    const refusedBefore = (await auditOf(orgA, 'agent.enrolment_refused')).length;
    for (const token of [`rmm_enr_${'A'.repeat(43)}`, 'not-a-token', `rmm_agt_${'A'.repeat(43)}`]) {
      const res = await enrol(token);
      expect(res.status, token).toBe(401);
      expect(code(res)).toBe('enrolment_token_invalid');
    }
    expect((await auditOf(orgA, 'agent.enrolment_refused')).length).toBe(refusedBefore);
    const metrics = await t.request('/metrics', { token: null });
    if (metrics.status === 200) expect(metrics.text).toMatch(/rmm_agent_enrolments_total\{outcome="invalid"\} [3-9]/);
  });

  it('refuses an expired token with 410 enrolment_token_expired', async () => {
    const token = await made({ unitId: site, expiresInMinutes: 1 });
    clock.offsetMs = 61_000;
    try {
      const res = await enrol(token.token);
      expect(res.status).toBe(410);
      expect(code(res)).toBe('enrolment_token_expired');
      expect((await auditOf(orgA, 'agent.enrolment_refused')).at(-1)).toMatchObject({ details: { reason: 'expired' } });
    } finally {
      clock.offsetMs = 0;
    }
  });

  it('revokes an unused token (audited); the revoked token is refused; a second revoke is 409', async () => {
    const token = await made();
    const res = await t.request(`/api/orgs/${orgA}/enrolment-tokens/${token.id}/revoke`, { method: 'POST', token: provisioner.token });
    expect(res.status, res.text).toBe(200);
    expect(res.json()).toMatchObject({ id: token.id, status: 'revoked' });
    expect((await auditOf(orgA, 'agent.enrolment_token_revoked')).at(-1)).toMatchObject({ outcome: 'success', target_id: token.id, actor_id: provisioner.userId });

    const refused = await enrol(token.token);
    expect(refused.status).toBe(410);
    expect(code(refused)).toBe('enrolment_token_revoked');
    const again = await t.request(`/api/orgs/${orgA}/enrolment-tokens/${token.id}/revoke`, { method: 'POST', token: provisioner.token });
    expect(again.status).toBe(409);
  });

  it('answers 404 to revoking a token through another org, and 403 to a viewer', async () => {
    const token = await made();
    const unitB = (await t.buildUnit(orgB, 'B branch')).id;
    expect(unitB).toBeTruthy();
    const viaB = await t.request(`/api/orgs/${orgB}/enrolment-tokens/${token.id}/revoke`, { method: 'POST', token: adminB.token });
    expect(viaB.status).toBe(404);
    const byViewer = await t.request(`/api/orgs/${orgA}/enrolment-tokens/${token.id}/revoke`, { method: 'POST', token: viewer.token });
    expect(byViewer.status).toBe(403);
    expect((await enrol(token.token)).status).toBe(200);
  });

  it('the database refuses rmm_app changing a used token back', async () => {
    const token = await made();
    expect((await enrol(token.token)).status).toBe(200);
    const attempt = await withOrg(t.database.db, orgA, (tx) => tx.updateTable('enrolment_tokens').set({ used_by_agent_id: null }).where('id', '=', token.id).execute())
      .then(() => 'updated', (err: unknown) => String(err));
    const deleted = await withOrg(t.database.db, orgA, (tx) => tx.deleteFrom('enrolment_tokens').where('id', '=', token.id).execute()).then(() => 'deleted', (err: unknown) => String(err));
    expect(deleted).toMatch(/permission denied/);
    expect(attempt).toMatch(/may only be used or revoked|permission denied/);
  });

  it('rate limits the exchange per address with 429', async () => {
    setEnrolmentLimits(t.server.context, { perIp: { points: 2, durationSeconds: 60 } });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await enrol(`rmm_enr_${'B'.repeat(43)}`)).status);
      expect(statuses).toEqual([401, 401, 429]);
    } finally {
      setEnrolmentLimits(t.server.context, { perIp: { points: 1_000, durationSeconds: 60 } });
    }
  });
});
