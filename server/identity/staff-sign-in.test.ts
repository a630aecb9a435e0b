import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ServerToConsole } from '../../protocol/console-messages';
import { databaseKinds } from '../../tools/testing/postgres';
import type { Clock } from '../clock';
import { SESSION_ENDED_CLOSE_CODE } from '../console/gateway';
import { getTestServer, type TestServer } from '../test-support';
import { linkUserIdentity } from './link';
import { startFakeTenantProvider, TEST_AUDIENCE, TEST_SCOPE, type FakeTenantProvider } from './testing';

/*
 * MSP staff sign-in (docs/identity.md "MSP staff"): tokens of the staff tenant sign in linked
 * staff users only, into sessions of no org; client tenants never reach staff, the staff tenant
 * never reaches a client org; staff sessions are revoked, signed out and expire like others.
 */

interface SignInBody {
  sessionToken: string;
  sessionId: string;
  userId: string;
  orgId: string | null;
  created: boolean;
  times: { idleRemainingSeconds: number; absoluteRemainingSeconds: number };
}

const MINUTE = 60_000;

describe.each(databaseKinds())('MSP staff sign-in on %s', (kind) => {
  let offsetMs = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
  let t: TestServer;
  let idp: FakeTenantProvider;
  let staffTenant: string;
  let clientTenant: string;
  let orgId: string;
  let admin: { userId: string; token: string };
  const adminOid = randomUUID();

  const signIn = (accessToken: string) => t.request('/api/auth/session', { method: 'POST', token: null, body: { accessToken } });
  const errorOf = (res: { json(): unknown }) => (res.json() as { error: { code: string } }).error.code;
  const platformEntries = async (action: string) =>
    t.database.ownerQuery('SELECT actor_id, target_id, outcome, details FROM audit_log WHERE org_id IS NULL AND action = $1 ORDER BY seq', [action]);
  const staffSession = async (oid = adminOid): Promise<SignInBody> => {
    const res = await signIn(await idp.token(staffTenant, { oid }));
    expect(res.status, res.text).toBe(200);
    return res.json() as SignInBody;
  };
  const link = (userId: string, tenantId: string, objectId: string) =>
    linkUserIdentity(t.server.context.db, clock, { userId, tenantId, objectId, staffTenant, actor: { type: 'system', name: 'test' } });

  beforeAll(async () => {
    idp = await startFakeTenantProvider(clock);
    staffTenant = await idp.addTenant();
    clientTenant = await idp.addTenant();
    t = await getTestServer(kind, { authAuthorityBase: idp.authorityBase, authAudience: TEST_AUDIENCE, authScope: TEST_SCOPE, authCaFile: idp.caFile, authStaffTenant: staffTenant }, clock);
    orgId = (await t.buildOrg('Clinic Staff Test')).id;
    const registered = await t.request(`/api/orgs/${orgId}/identity`, {
      method: 'PUT',
      body: { azureTenantId: clientTenant, defaultRole: 'viewer', sessionIdleMinutes: 5, sessionAbsoluteMinutes: 60 },
      headers: { 'x-step-up': await t.stepUp(t.token, 'org.security_settings') },
    });
    expect(registered.status, registered.text).toBe(200);
    admin = await t.buildUser({ orgId: null, platformAdmin: true, name: 'Sam Staff' });
    expect(await link(admin.userId, staffTenant.toUpperCase(), adminOid)).toEqual({ staff: true });
  });
  afterAll(async () => {
    await t?.close();
    await idp?.close();
  });

  it('a linked staff user signs in to a session of no org, with the staff lifetimes (15 min / 8 h), audited in the platform chain', async () => {
    const body = await staffSession();
    expect(body).toMatchObject({ userId: admin.userId, orgId: null, created: false, times: { idleRemainingSeconds: 900, absoluteRemainingSeconds: 28_800 } });
    const me = await t.request('/api/me', { token: body.sessionToken });
    expect(me.status, me.text).toBe(200);
    expect(me.json()).toMatchObject({ user: { id: admin.userId, orgId: null } });
    // An MSP admin: enters client orgs as before with an API token.
    const access = await t.request(`/api/orgs/${orgId}/access`, { token: body.sessionToken });
    expect(access.status, access.text).toBe(200);
    const heartbeat = await t.request('/api/auth/heartbeat', { method: 'POST', token: body.sessionToken });
    expect(heartbeat.json()).toMatchObject({ idleRemainingSeconds: 900 });
    const own = await t.request('/api/me/sessions', { token: body.sessionToken });
    expect((own.json() as { sessions: Array<{ id: string; orgId: string | null; current: boolean }> }).sessions).toEqual([expect.objectContaining({ id: body.sessionId, orgId: null, current: true })]);
    expect(await platformEntries('auth.signed_in')).toEqual(expect.arrayContaining([expect.objectContaining({ actor_id: admin.userId, target_id: body.sessionId })]));
    expect(await t.database.ownerQuery('SELECT org_id FROM sessions WHERE id = $1', [body.sessionId])).toEqual([{ org_id: null }]);
    // No org sees it.
    const orgList = await t.request(`/api/orgs/${orgId}/sessions`);
    expect((orgList.json() as { sessions: Array<{ id: string }> }).sessions.map((s) => s.id)).not.toContain(body.sessionId);
    const staffList = await t.request('/api/staff/sessions', { token: body.sessionToken });
    expect((staffList.json() as { sessions: Array<{ id: string }> }).sessions.map((s) => s.id)).toContain(body.sessionId);
  });

  it('an unknown staff identity is refused with 403 staff_not_registered, audited, and nobody is created', async () => {
    const oid = randomUUID();
    const res = await signIn(await idp.token(staffTenant, { oid, preferred_username: 'new.hire@msp.test' }));
    expect(res.status, res.text).toBe(403);
    expect(errorOf(res)).toBe('staff_not_registered');
    expect((await platformEntries('auth.sign_in_failed')).map((r) => (r.details as { reason: string }).reason)).toContain(`staff_not_registered: staff ${oid} (tenant ${staffTenant})`);
    expect(await t.database.ownerQuery('SELECT count(*)::int AS n FROM users WHERE azure_object_id = $1 OR email = $2', [oid, 'new.hire@msp.test'])).toEqual([{ n: 0 }]);
    // A forged staff-tenant token is refused before any user is looked at.
    const forged = await signIn(await idp.token(staffTenant, { oid: adminOid, aud: 'api://someone-else' }));
    expect(forged.status).toBe(401);
  });

  it('a disabled staff user is refused', async () => {
    const oid = randomUUID();
    const staff = await t.buildUser({ orgId: null, name: 'Gone Staff' });
    await link(staff.userId, staffTenant, oid);
    await t.database.ownerQuery('UPDATE users SET disabled_at = now() WHERE id = $1', [staff.userId]);
    const res = await signIn(await idp.token(staffTenant, { oid }));
    expect(res.status).toBe(401);
  });

  it('a client-tenant token never becomes staff, and no staff user can be linked to a client tenant', async () => {
    const oid = randomUUID();
    const staff = await t.buildUser({ orgId: null, platformAdmin: true, name: 'Would-be Staff' });
    await expect(link(staff.userId, clientTenant, oid)).rejects.toMatchObject({ status: 400 });
    // Even if the database held such a link, a client sign-in looks only among the org's members.
    await t.database.ownerQuery('UPDATE users SET azure_tenant_id = $1, azure_object_id = $2 WHERE id = $3', [clientTenant, oid, staff.userId]);
    const res = await signIn(await idp.token(clientTenant, { oid }));
    expect(res.status, res.text).toBe(409);
    expect(await t.database.ownerQuery('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [staff.userId])).toEqual([{ n: 0 }]);
    // A member is linked only in their own org's tenant.
    const member = await t.buildUser({ orgId, role: 'tech', name: 'Member' });
    await expect(link(member.userId, staffTenant, randomUUID())).rejects.toMatchObject({ status: 400 });
    const memberOid = randomUUID();
    expect(await link(member.userId, clientTenant, memberOid)).toEqual({ staff: false });
    const signed = await signIn(await idp.token(clientTenant, { oid: memberOid }));
    expect(signed.json()).toMatchObject({ userId: member.userId, orgId, created: false });
  });

  it('a staff-tenant token cannot sign in to a client org, and no org can register the staff tenant', async () => {
    const put = await t.request(`/api/orgs/${orgId}/identity`, {
      method: 'PUT',
      body: { azureTenantId: staffTenant, defaultRole: 'viewer', sessionIdleMinutes: 15, sessionAbsoluteMinutes: 480 },
      headers: { 'x-step-up': await t.stepUp(t.token, 'org.security_settings') },
    });
    expect(put.status, put.text).toBe(409);
    // Registered behind the server's back (e.g. before the staff tenant was configured): still staff only.
    const other = (await t.buildOrg('Clinic Squatter')).id;
    await t.database.ownerQuery('UPDATE orgs SET azure_tenant_id = $1 WHERE id = $2', [staffTenant, other]);
    const oid = randomUUID();
    const unknown = await signIn(await idp.token(staffTenant, { oid }));
    expect(errorOf(unknown)).toBe('staff_not_registered');
    expect(await t.database.ownerQuery('SELECT count(*)::int AS n FROM users WHERE org_id = $1', [other])).toEqual([{ n: 0 }]);
    const known = await staffSession();
    expect(known).toMatchObject({ userId: admin.userId, orgId: null });
    await t.database.ownerQuery('UPDATE orgs SET azure_tenant_id = NULL WHERE id = $1', [other]);
  });

  it('staff sessions are revoked by an MSP admin (only), signed out, and refused at once afterwards', async () => {
    const target = await staffSession();
    const revoker = await staffSession();
    const member = await t.buildUser({ orgId, role: 'tenant_admin', name: 'Org Admin' });
    const denied = await t.request(`/api/staff/sessions/${target.sessionId}/revoke`, { method: 'POST', token: member.token, body: { reason: 'no' } });
    expect(denied.status).toBe(403);
    const orgRoute = await t.request(`/api/orgs/${orgId}/sessions/${target.sessionId}/revoke`, { method: 'POST', body: { reason: 'not yours' } });
    expect(orgRoute.status).toBe(404);
    const revoked = await t.request(`/api/staff/sessions/${target.sessionId}/revoke`, { method: 'POST', token: revoker.sessionToken, body: { reason: 'Laptop lost' } });
    expect(revoked.status, revoked.text).toBe(200);
    expect((await t.request('/api/me', { token: target.sessionToken })).status).toBe(401);
    const again = await t.request(`/api/staff/sessions/${target.sessionId}/revoke`, { method: 'POST', token: revoker.sessionToken, body: { reason: 'twice' } });
    expect(again.status).toBe(409);
    expect(await platformEntries('session.revoked')).toEqual(expect.arrayContaining([expect.objectContaining({ actor_id: admin.userId, target_id: target.sessionId, outcome: 'success' })]));
    expect(await t.database.ownerQuery('SELECT ended_by, end_reason FROM sessions WHERE id = $1', [target.sessionId])).toEqual([{ ended_by: admin.userId, end_reason: 'Laptop lost' }]);

    const out = await t.request('/api/auth/sign-out', { method: 'POST', token: revoker.sessionToken });
    expect(out.status, out.text).toBe(200);
    expect((await t.request('/api/me', { token: revoker.sessionToken })).status).toBe(401);
    expect(await platformEntries('auth.signed_out')).toEqual(expect.arrayContaining([expect.objectContaining({ target_id: revoker.sessionId })]));
  });

  it('another MSP admin ending a staff session needs a step-up proof (sessions.revoke_other); ending one’s own does not', async () => {
    const target = await staffSession();
    const other = await t.buildUser({ orgId: null, platformAdmin: true, name: 'Other Staff' });
    const url = `/api/staff/sessions/${target.sessionId}/revoke`;
    const unproven = await t.request(url, { method: 'POST', token: other.token, body: { reason: 'no proof' } });
    expect([unproven.status, errorOf(unproven)]).toEqual([403, 'step_up_required']);
    expect(await platformEntries('session.revoked')).toEqual(expect.arrayContaining([expect.objectContaining({ actor_id: other.userId, target_id: target.sessionId, outcome: 'denied' })]));
    expect((await t.request('/api/me', { token: target.sessionToken })).status).toBe(200);
    const proof = await t.stepUp(other.token, 'sessions.revoke_other');
    const revoked = await t.request(url, { method: 'POST', token: other.token, body: { reason: 'With proof' }, headers: { 'x-step-up': proof } });
    expect(revoked.status, revoked.text).toBe(200);
    expect((await t.request('/api/me', { token: target.sessionToken })).status).toBe(401);
  });

  it('revoking a staff session tells its open console socket who and why, and closes it', async () => {
    const target = await staffSession();
    const revoker = await staffSession();
    const ws = new WebSocket(`${t.server.url.replace('https:', 'wss:')}/ws/console`, { ca: t.ca, headers: { authorization: `Bearer ${target.sessionToken}` } });
    const messages: ServerToConsole[] = [];
    ws.on('message', (data) => messages.push(ServerToConsole.parse(JSON.parse(data.toString()))));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const revoked = await t.request(`/api/staff/sessions/${target.sessionId}/revoke`, { method: 'POST', token: revoker.sessionToken, body: { reason: 'Shift over' } });
    expect(revoked.status, revoked.text).toBe(200);
    expect(await closed).toBe(SESSION_ENDED_CLOSE_CODE);
    expect(messages).toContainEqual({ type: 'session.ended', kind: 'revoked', reason: 'Shift over', by: { userId: admin.userId, name: 'Sam Staff' } });
  });

  it('staff sessions expire after 15 idle minutes and after 8 hours however active, on use and by the sweeps', async () => {
    offsetMs = 0;
    const idle = await staffSession();
    const unused = await staffSession();
    offsetMs = 16 * MINUTE;
    expect((await t.request('/api/me', { token: idle.sessionToken })).status).toBe(401);
    expect(await t.server.sessions.sweepStored()).toBeGreaterThanOrEqual(1);
    expect((await t.database.ownerQuery('SELECT end_reason FROM sessions WHERE id = $1', [unused.sessionId]))[0]?.end_reason).toMatch(/No activity for 15 minutes/);
    expect((await platformEntries('session.expired')).map((r) => r.target_id)).toEqual(expect.arrayContaining([idle.sessionId, unused.sessionId]));

    const active = await staffSession();
    for (let minutes = 10; minutes < 8 * 60; minutes += 10) {
      offsetMs = 16 * MINUTE + minutes * MINUTE;
      expect((await t.request('/api/me', { token: active.sessionToken })).status, `after ${minutes} minutes`).toBe(200);
    }
    offsetMs = 16 * MINUTE + 8 * 60 * MINUTE;
    expect((await t.request('/api/me', { token: active.sessionToken })).status).toBe(401);
    expect((await t.database.ownerQuery('SELECT end_reason FROM sessions WHERE id = $1', [active.sessionId]))[0]?.end_reason).toMatch(/480 minutes/);
    offsetMs = 0;
  });
});
