import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ServerToConsole } from '../../protocol/console-messages';
import { databaseKinds } from '../../tools/testing/postgres';
import type { Clock } from '../clock';
import { SESSION_ENDED_CLOSE_CODE } from '../console/gateway';
import { startFakeTenantProvider, TEST_AUDIENCE, TEST_SCOPE, type FakeTenantProvider } from '../identity/testing';
import { getTestServer, type TestServer } from '../test-support';

/*
 * Server sessions end to end over HTTPS and /ws/console: lifetimes per org with an injected
 * clock, remote revocation reaching an open console socket, and who may see or end what.
 */

const MINUTE = 60_000;

interface Signed {
  token: string;
  sessionId: string;
  userId: string;
}

describe.each(databaseKinds())('server sessions on %s', (kind) => {
  let offsetMs = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
  let t: TestServer;
  let idp: FakeTenantProvider;
  let orgId: string;
  let tenantId: string;
  let otherOrgId: string;
  let otherTenantId: string;
  let orgAdmin: string;

  const register = async (org: string, tenant: string, lifetimes = { sessionIdleMinutes: 15, sessionAbsoluteMinutes: 480 }) => {
    const proof = await t.stepUp(t.token, 'org.security_settings');
    const res = await t.request(`/api/orgs/${org}/identity`, { method: 'PUT', body: { azureTenantId: tenant, defaultRole: 'viewer', ...lifetimes }, headers: { 'x-step-up': proof } });
    expect(res.status, res.text).toBe(200);
  };
  const signIn = async (tenant = tenantId): Promise<Signed> => {
    const res = await t.request('/api/auth/session', { method: 'POST', token: null, body: { accessToken: await idp.token(tenant) }, headers: { 'user-agent': 'sessions-test/1.0' } });
    expect(res.status, res.text).toBe(200);
    const body = res.json() as { sessionToken: string; sessionId: string; userId: string };
    return { token: body.sessionToken, sessionId: body.sessionId, userId: body.userId };
  };
  const consoleSocket = (token: string) => {
    const ws = new WebSocket(`${t.server.url.replace('https:', 'wss:')}/ws/console`, { ca: t.ca, headers: { authorization: `Bearer ${token}` } });
    const messages: Array<{ at: number; message: ServerToConsole }> = [];
    ws.on('message', (data) => messages.push({ at: performance.now(), message: ServerToConsole.parse(JSON.parse(data.toString())) }));
    const opened = new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const closed = new Promise<{ code: number; at: number }>((resolve) => ws.once('close', (code) => resolve({ code, at: performance.now() })));
    return { ws, messages, opened, closed };
  };
  /** Ends a session as `token`, with a fresh step-up proof for sessions.revoke_other unless `proof` is null. */
  const revoke = async (sessionId: string, token: string, reason: string, proof?: string | null) => {
    const stepUp = proof === undefined ? await t.stepUp(token, 'sessions.revoke_other') : proof;
    return t.request(`/api/orgs/${orgId}/sessions/${sessionId}/revoke`, { method: 'POST', token, body: { reason }, ...(stepUp === null ? {} : { headers: { 'x-step-up': stepUp } }) });
  };
  const orgEntries = async (action: string) =>
    t.database.ownerQuery("SELECT actor_id, target_id, details FROM audit_log WHERE org_id = $1 AND action = $2 AND outcome = 'success' ORDER BY seq", [orgId, action]);

  beforeAll(async () => {
    idp = await startFakeTenantProvider(clock);
    t = await getTestServer(kind, { authAuthorityBase: idp.authorityBase, authAudience: TEST_AUDIENCE, authScope: TEST_SCOPE, authCaFile: idp.caFile }, clock);
    orgId = (await t.buildOrg('Clinic Sessions')).id;
    otherOrgId = (await t.buildOrg('Clinic Elsewhere')).id;
    tenantId = await idp.addTenant();
    otherTenantId = await idp.addTenant();
    await register(orgId, tenantId);
    await register(otherOrgId, otherTenantId);
    orgAdmin = (await t.buildUser({ orgId, role: 'tenant_admin', name: 'Tess Admin' })).token;
  });
  afterAll(async () => {
    await t?.close();
    await idp?.close();
  });

  it('a session token authenticates; heartbeat reports the time left; the user lists their own sessions', async () => {
    const mine = await signIn();
    const other = await signIn();
    const beat = await t.request('/api/auth/heartbeat', { method: 'POST', token: mine.token });
    expect(beat.status, beat.text).toBe(200);
    expect(beat.json()).toMatchObject({ idleRemainingSeconds: 900 });
    expect((beat.json() as { absoluteRemainingSeconds: number }).absoluteRemainingSeconds).toBeGreaterThan(28700);
    const list = await t.request('/api/me/sessions', { token: mine.token });
    expect(list.status, list.text).toBe(200);
    const sessions = (list.json() as { sessions: Array<{ id: string; current: boolean; userAgent: string | null; ip: string | null }> }).sessions;
    expect(sessions).toEqual([expect.objectContaining({ id: mine.sessionId, current: true, userAgent: 'sessions-test/1.0', ip: expect.stringMatching(/127\.0\.0\.1/) })]);
    expect(sessions.map((s) => s.id)).not.toContain(other.sessionId);
  });

  it('an API token has no heartbeat (400) and no sessions of its own', async () => {
    expect((await t.request('/api/auth/heartbeat', { method: 'POST', token: orgAdmin })).status).toBe(400);
    expect((await t.request('/api/me/sessions', { token: orgAdmin })).json()).toEqual({ sessions: [] });
  });

  it('a tenant admin lists the org’s sessions; a viewer may neither list nor revoke (403); another org’s session id is 404', async () => {
    const signedIn = await signIn();
    const elsewhere = await signIn(otherTenantId);
    const listed = await t.request(`/api/orgs/${orgId}/sessions`, { token: orgAdmin });
    expect(listed.status, listed.text).toBe(200);
    const ids = (listed.json() as { sessions: Array<{ id: string }> }).sessions.map((s) => s.id);
    expect(ids).toContain(signedIn.sessionId);
    expect(ids).not.toContain(elsewhere.sessionId);

    // A viewer signed in through Azure AD (the org's default role).
    expect((await t.request(`/api/orgs/${orgId}/sessions`, { token: signedIn.token })).status).toBe(403);
    const refused = await t.request(`/api/orgs/${orgId}/sessions/${elsewhere.sessionId}/revoke`, { method: 'POST', token: signedIn.token, body: { reason: 'nope' } });
    expect(refused.status).toBe(403);
    const notHere = await t.request(`/api/orgs/${orgId}/sessions/${elsewhere.sessionId}/revoke`, { method: 'POST', token: orgAdmin, body: { reason: 'cross-org' } });
    expect(notHere.status).toBe(404);
    const unknown = await t.request(`/api/orgs/${orgId}/sessions/${randomUUID()}/revoke`, { method: 'POST', token: orgAdmin, body: { reason: 'nobody' } });
    expect(unknown.status).toBe(404);
    // The other org's session is untouched.
    expect((await t.request('/api/me', { token: elsewhere.token })).status).toBe(200);
  });

  it('revocation reaches the open console socket within 1 s; the session is then refused on every route and WebSocket', async () => {
    const victim = await signIn();
    const socket = consoleSocket(victim.token);
    await socket.opened;
    socket.ws.send(JSON.stringify({ type: 'subscribe', orgId }));
    for (let i = 0; i < 100 && !socket.messages.some((m) => m.message.type === 'subscribed'); i++) await new Promise((r) => setTimeout(r, 10));

    const proof = await t.stepUp(orgAdmin, 'sessions.revoke_other');
    const started = performance.now();
    const revoked = await revoke(victim.sessionId, orgAdmin, 'Laptop reported stolen', proof);
    expect(revoked.status, revoked.text).toBe(200);
    const closed = await socket.closed;
    const ended = socket.messages.find((m) => m.message.type === 'session.ended');
    expect(ended?.message).toEqual({ type: 'session.ended', kind: 'revoked', reason: 'Laptop reported stolen', by: { userId: expect.any(String), name: 'Tess Admin' } });
    const toMessage = (ended?.at ?? Infinity) - started;
    console.log(`[${kind}] revoke → session.ended on the console socket: ${toMessage.toFixed(1)} ms (socket closed at ${(closed.at - started).toFixed(1)} ms, code ${closed.code})`);
    expect(toMessage).toBeLessThan(1000);
    expect(closed.code).toBe(SESSION_ENDED_CLOSE_CODE);

    for (const path of ['/api/me', '/api/orgs', `/api/orgs/${orgId}/access`]) {
      const res = await t.request(path, { token: victim.token });
      expect(res.status, path).toBe(401);
    }
    const again = consoleSocket(victim.token);
    await expect(again.opened).rejects.toThrow(/401/);
    expect(await orgEntries('session.revoked')).toEqual([expect.objectContaining({ target_id: victim.sessionId, details: { sessionId: victim.sessionId, reason: 'Laptop reported stolen' } })]);
    const row = await t.database.ownerQuery('SELECT end_reason, ended_by IS NOT NULL AS by FROM sessions WHERE id = $1', [victim.sessionId]);
    expect(row).toEqual([{ end_reason: 'Laptop reported stolen', by: true }]);
    // Revoking it twice is a conflict, not a second entry.
    expect((await revoke(victim.sessionId, orgAdmin, 'again')).status).toBe(409);
  });

  it('ending another user’s session needs a step-up proof (sessions.revoke_other): refused without one or with a wrong one, audited as denied, the session lives on', async () => {
    const victim = await signIn();
    const refusals = async () => t.database.ownerQuery("SELECT target_id FROM audit_log WHERE org_id = $1 AND action = 'session.revoked' AND outcome = 'denied' AND target_id = $2", [orgId, victim.sessionId]);
    const none = await revoke(victim.sessionId, orgAdmin, 'no proof', null);
    expect([none.status, (none.json() as { error: { code: string } }).error.code]).toEqual([403, 'step_up_required']);
    const wrong = await revoke(victim.sessionId, orgAdmin, 'proof for something else', await t.stepUp(orgAdmin, 'grants.change'));
    expect([wrong.status, (wrong.json() as { error: { code: string } }).error.code]).toEqual([403, 'step_up_invalid']);
    expect(await refusals()).toHaveLength(2);
    expect((await t.request('/api/me', { token: victim.token })).status).toBe(200);

    const proof = await t.stepUp(orgAdmin, 'sessions.revoke_other');
    expect((await revoke(victim.sessionId, orgAdmin, 'with proof', proof)).status).toBe(200);
    expect((await t.request('/api/me', { token: victim.token })).status).toBe(401);
  });

  it('ending one’s own session from the sessions list needs no proof', async () => {
    const mine = await signIn();
    await t.buildGrant(orgId, mine.userId, 'tenant_admin', null);
    const res = await revoke(mine.sessionId, mine.token, 'Leaving this laptop', null);
    expect(res.status, res.text).toBe(200);
    expect((await t.request('/api/me', { token: mine.token })).status).toBe(401);
    expect(await orgEntries('session.revoked')).toContainEqual(expect.objectContaining({ actor_id: mine.userId, target_id: mine.sessionId }));
  });

  it('sign-out ends the session at once and is audited', async () => {
    const mine = await signIn();
    const socket = consoleSocket(mine.token);
    await socket.opened;
    expect((await t.request('/api/auth/sign-out', { method: 'POST', token: mine.token })).status).toBe(200);
    expect((await socket.closed).code).toBe(SESSION_ENDED_CLOSE_CODE);
    expect(socket.messages.map((m) => m.message)).toContainEqual(expect.objectContaining({ type: 'session.ended', kind: 'signed_out' }));
    expect((await t.request('/api/me', { token: mine.token })).status).toBe(401);
    expect((await orgEntries('auth.signed_out')).map((e) => e.target_id)).toContain(mine.sessionId);
  });

  it('idle timeout: activity keeps the session alive; 15 minutes without any ends it (audited, socket told)', async () => {
    const active = await signIn();
    const idle = await signIn();
    const socket = consoleSocket(idle.token);
    await socket.opened;
    offsetMs += 10 * MINUTE;
    expect((await t.request('/api/auth/heartbeat', { method: 'POST', token: active.token })).status).toBe(200);
    offsetMs += 10 * MINUTE; // 20 minutes since sign-in, 10 since the heartbeat
    expect((await t.request('/api/me', { token: active.token })).status).toBe(200);

    await t.server.sessions.sweep();
    expect((await socket.closed).code).toBe(SESSION_ENDED_CLOSE_CODE);
    expect(socket.messages.map((m) => m.message)).toContainEqual({ type: 'session.ended', kind: 'idle', reason: 'No activity for 15 minutes', by: null });
    expect((await t.request('/api/me', { token: idle.token })).status).toBe(401);
    expect(await orgEntries('session.expired')).toContainEqual(expect.objectContaining({ actor_id: null, target_id: idle.sessionId, details: { sessionId: idle.sessionId, kind: 'idle' } }));

    // Activity is written through, throttled: the database knows about the heartbeat.
    await t.server.sessions.flush();
    const [row] = await t.database.ownerQuery('SELECT last_activity_at, created_at FROM sessions WHERE id = $1', [active.sessionId]);
    expect(new Date(String(row?.last_activity_at)).getTime() - new Date(String(row?.created_at)).getTime()).toBeGreaterThanOrEqual(20 * MINUTE - 1000);
  });

  it('activity is written at most once per 15 s per session, not once per request', async () => {
    const busy = await signIn();
    const stored = async () => new Date(String((await t.database.ownerQuery('SELECT last_activity_at FROM sessions WHERE id = $1', [busy.sessionId]))[0]?.last_activity_at)).getTime();
    const signedInAt = await stored();
    offsetMs += 5000;
    for (let i = 0; i < 10; i++) expect((await t.request('/api/me', { token: busy.token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    expect(await stored()).toBe(signedInAt); // 10 requests within 15 s of the last write: none written
    offsetMs += 15_000;
    expect((await t.request('/api/me', { token: busy.token })).status).toBe(200);
    for (let i = 0; i < 50 && (await stored()) === signedInAt; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await stored()).toBeGreaterThan(signedInAt + 19_000);
  });

  it('a disabled user’s session is refused at once', async () => {
    const mine = await signIn();
    expect((await t.request('/api/me', { token: mine.token })).status).toBe(200);
    await t.database.ownerQuery('UPDATE users SET disabled_at = now() WHERE id = $1', [mine.userId]);
    expect((await t.request('/api/me', { token: mine.token })).status).toBe(401);
  });

  it('an expired session is refused by the very next request, even before any sweep', async () => {
    const idle = await signIn();
    offsetMs += 16 * MINUTE;
    expect((await t.request('/api/me', { token: idle.token })).status).toBe(401);
    expect((await orgEntries('session.expired')).map((e) => e.target_id)).toContain(idle.sessionId);
  });

  it('the database sweep ends sessions nobody presented since sign-in (or since a restart)', async () => {
    const forgotten = await signIn();
    const fresh = await signIn();
    offsetMs += 16 * MINUTE;
    const stillFresh = await signIn();
    expect(await t.server.sessions.sweepStored()).toBeGreaterThanOrEqual(2);
    const rows = await t.database.ownerQuery('SELECT id, end_reason FROM sessions WHERE id = ANY($1::uuid[]) ORDER BY created_at', [[forgotten.sessionId, fresh.sessionId, stillFresh.sessionId]]);
    expect(rows.map((r) => r.end_reason)).toEqual(['No activity for 15 minutes', 'No activity for 15 minutes', null]);
    expect((await orgEntries('session.expired')).map((e) => e.target_id)).toEqual(expect.arrayContaining([forgotten.sessionId, fresh.sessionId]));
    expect((await t.request('/api/me', { token: stillFresh.token })).status).toBe(200);
  });

  it('absolute lifetime (set per org) ends even an active session', async () => {
    await register(orgId, tenantId, { sessionIdleMinutes: 15, sessionAbsoluteMinutes: 30 });
    try {
      const busy = await signIn();
      for (let minutes = 10; minutes <= 29; minutes += 10) {
        offsetMs += 10 * MINUTE;
        expect((await t.request('/api/auth/heartbeat', { method: 'POST', token: busy.token })).status, `at ${minutes} min`).toBe(200);
      }
      offsetMs += 11 * MINUTE; // 31 minutes after sign-in, 11 since the last heartbeat
      expect((await t.request('/api/me', { token: busy.token })).status).toBe(401);
      expect(await orgEntries('session.expired')).toContainEqual(expect.objectContaining({ target_id: busy.sessionId, details: { sessionId: busy.sessionId, kind: 'absolute' } }));
    } finally {
      await register(orgId, tenantId);
    }
  });
});
