import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../../tools/testing/postgres';
import type { Clock } from '../clock';
import { getTestServer, type TestServer } from '../test-support';
import { DEFAULT_SIGN_IN_LIMITS, setSignInLimits } from './sign-in-limits';
import { startFakeTenantProvider, TEST_AUDIENCE, TEST_SCOPE, type FakeTenantProvider } from './testing';

/*
 * POST /api/auth/session against a fake Azure AD over HTTPS: tenant auto-discovery, user
 * creation on first sign-in, and every way a token is refused (each audited).
 */

interface SignInBody {
  sessionToken: string;
  sessionId: string;
  userId: string;
  orgId: string;
  created: boolean;
  times: { idleRemainingSeconds: number; absoluteRemainingSeconds: number };
}

describe.each(databaseKinds())('Azure AD sign-in on %s', (kind) => {
  let offsetMs = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
  let t: TestServer;
  let idp: FakeTenantProvider;
  let orgId: string;
  let tenantId: string;

  const signIn = (accessToken: string) => t.request('/api/auth/session', { method: 'POST', token: null, body: { accessToken } });
  const errorOf = (res: { json(): unknown }) => (res.json() as { error: { code: string } }).error.code;
  const platformFailures = async () =>
    (await t.database.ownerQuery(`SELECT details FROM audit_log WHERE org_id IS NULL AND action = 'auth.sign_in_failed' ORDER BY seq`))
      .map((r) => (r.details as { reason: string }).reason);
  const orgActions = async (id: string) =>
    (await t.database.ownerQuery(`SELECT action, target_id, details FROM audit_log WHERE org_id = $1 ORDER BY seq`, [id]));

  /** PUT /identity as `token` (default: the operator) with a fresh step-up proof for org.security_settings. */
  const putIdentity = async (org: string, body: Record<string, unknown>, token = t.token) =>
    t.request(`/api/orgs/${org}/identity`, { method: 'PUT', token, body, headers: { 'x-step-up': await t.stepUp(token, 'org.security_settings') } });

  beforeAll(async () => {
    idp = await startFakeTenantProvider(clock);
    t = await getTestServer(kind, { authAuthorityBase: idp.authorityBase, authAudience: TEST_AUDIENCE, authScope: TEST_SCOPE, authCaFile: idp.caFile }, clock);
    orgId = (await t.buildOrg('Clinic Sign-in')).id;
    tenantId = await idp.addTenant();
    const registered = await putIdentity(orgId, { azureTenantId: tenantId.toUpperCase(), defaultRole: 'viewer', sessionIdleMinutes: 15, sessionAbsoluteMinutes: 480 });
    expect(registered.status, registered.text).toBe(200);
    expect(registered.json()).toMatchObject({ azureTenantId: tenantId });
  });
  afterAll(async () => {
    await t?.close();
    await idp?.close();
  });

  it('the first sign-in creates the user in the tenant’s org with the default role; the second reuses them', async () => {
    const oid = randomUUID();
    const first = await signIn(await idp.token(tenantId, { oid, name: 'Dana Doctor', preferred_username: `dana.${oid.slice(0, 6)}@clinic.test` }));
    expect(first.status, first.text).toBe(200);
    const body = first.json() as SignInBody;
    expect(body).toMatchObject({ orgId, created: true, times: { idleRemainingSeconds: 900, absoluteRemainingSeconds: 28800 } });
    expect(body.sessionToken).toMatch(/^rmm_ses_[A-Za-z0-9_-]{43}$/);

    const me = await t.request('/api/me', { token: body.sessionToken });
    expect(me.status, me.text).toBe(200);
    expect(me.json()).toMatchObject({ user: { id: body.userId, orgId, displayName: 'Dana Doctor' } });
    const access = await t.request(`/api/orgs/${orgId}/access`, { token: body.sessionToken });
    expect(access.json()).toMatchObject({ org: expect.arrayContaining(['org.read', 'audit.read']) });
    expect((access.json() as { org: string[] }).org).not.toContain('org.settings');
    const grants = await t.database.ownerQuery('SELECT role, unit_id FROM grants WHERE user_id = $1', [body.userId]);
    expect(grants).toEqual([{ role: 'viewer', unit_id: null }]);

    const second = await signIn(await idp.token(tenantId, { oid, name: 'Dana Doctor' }));
    expect(second.status, second.text).toBe(200);
    const again = second.json() as SignInBody;
    expect(again).toMatchObject({ userId: body.userId, created: false });
    expect(again.sessionId).not.toBe(body.sessionId);
    expect(await t.database.ownerQuery('SELECT count(*)::int AS n FROM grants WHERE user_id = $1', [body.userId])).toEqual([{ n: 1 }]);
    expect(await t.database.ownerQuery('SELECT count(*)::int AS n FROM users WHERE azure_object_id = $1', [oid])).toEqual([{ n: 1 }]);

    const actions = (await orgActions(orgId)).filter((e) => e.target_id === body.userId || e.action === 'auth.signed_in' || e.action === 'grant.created');
    expect(actions.map((e) => e.action)).toEqual(['user.created', 'grant.created', 'auth.signed_in', 'auth.signed_in']);
    // Only the hash is stored.
    const stored = await t.database.ownerQuery('SELECT encode(token_hash, \'hex\') AS h FROM sessions WHERE id = $1', [body.sessionId]);
    expect(JSON.stringify(stored)).not.toContain(body.sessionToken);
  });

  it('the same object id in another tenant is another person (identity is tid + oid)', async () => {
    const otherOrg = (await t.buildOrg('Clinic Other Tenant')).id;
    const otherTenant = await idp.addTenant();
    const put = await putIdentity(otherOrg, { azureTenantId: otherTenant, defaultRole: 'tech', sessionIdleMinutes: 15, sessionAbsoluteMinutes: 480 });
    expect(put.status, put.text).toBe(200);
    const oid = randomUUID();
    const a = (await signIn(await idp.token(tenantId, { oid }))).json() as SignInBody;
    const b = (await signIn(await idp.token(otherTenant, { oid }))).json() as SignInBody;
    expect(a.userId).not.toBe(b.userId);
    expect([a.orgId, b.orgId]).toEqual([orgId, otherOrg]);
    expect(await t.database.ownerQuery('SELECT role FROM grants WHERE user_id = $1', [b.userId])).toEqual([{ role: 'tech' }]);
  });

  it('a tenant moved to another org does not carry its users along: their next sign-in is refused (409), audited', async () => {
    const first = (await t.buildOrg('Clinic Before Move')).id;
    const second = (await t.buildOrg('Clinic After Move')).id;
    const moving = await idp.addTenant();
    const lifetimes = { defaultRole: 'viewer', sessionIdleMinutes: 15, sessionAbsoluteMinutes: 480 };
    expect((await putIdentity(first, { azureTenantId: moving, ...lifetimes })).status).toBe(200);
    const oid = randomUUID();
    expect((await signIn(await idp.token(moving, { oid }))).status).toBe(200);
    expect((await putIdentity(first, { azureTenantId: null, ...lifetimes })).status).toBe(200);
    expect((await putIdentity(second, { azureTenantId: moving, ...lifetimes })).status).toBe(200);
    const refused = await signIn(await idp.token(moving, { oid }));
    expect(refused.status, refused.text).toBe(409);
    expect((await platformFailures()).at(-1)).toMatch(/^conflict: This Azure AD account already belongs/);
    expect(await t.database.ownerQuery('SELECT count(*)::int AS n FROM users WHERE org_id = $1', [second])).toEqual([{ n: 0 }]);
  });

  it('an unregistered tenant gets 403 tenant_not_registered, audited in the platform chain, and its keys are never fetched', async () => {
    const stranger = await idp.addTenant();
    const fetchesBefore = idp.fetches.length;
    const res = await signIn(await idp.token(stranger));
    expect(res.status).toBe(403);
    expect(errorOf(res)).toBe('tenant_not_registered');
    expect(idp.fetches.slice(fetchesBefore)).toEqual([]);
    expect(await platformFailures()).toContain(`tenant_not_registered: ${stranger}`);
  });

  it('refuses every invalid token with 401 and a stable code, each audited as auth.sign_in_failed', async () => {
    const now = Math.floor(clock.now().getTime() / 1000);
    const forger = await generateKeyPair('RS256');
    const hmacKey = new TextEncoder().encode(JSON.stringify(await exportJWK(forger.publicKey)));
    const unsigned = (claims: object) =>
      `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
    const base = { tid: tenantId, oid: randomUUID(), aud: TEST_AUDIENCE, scp: TEST_SCOPE, iss: `${idp.authorityBase}/${tenantId}/v2.0`, exp: now + 600 };
    const cases: Array<[string, string, string]> = [
      ['forged (other key, known kid)', await idp.token(tenantId, {}, { key: forger }), 'token_invalid'],
      ['wrong audience', await idp.token(tenantId, { aud: 'api://another-app' }), 'token_invalid'],
      ['wrong issuer', await idp.token(tenantId, { iss: `https://login.evil.test/${tenantId}/v2.0` }), 'token_invalid'],
      ['issuer of another tenant than tid', await idp.token(tenantId, { iss: `${idp.authorityBase}/${randomUUID()}/v2.0` }), 'token_invalid'],
      ['expired', await idp.token(tenantId, { exp: now - 120 }), 'token_expired'],
      ['not yet valid', await idp.token(tenantId, { nbf: now + 600 }), 'token_invalid'],
      ['missing scope', await idp.token(tenantId, { scp: 'User.Read' }), 'token_invalid'],
      ['alg none', unsigned(base), 'token_invalid'],
      ['HS256 keyed with the public key', await new SignJWT(base).setProtectedHeader({ alg: 'HS256', kid: 'x' }).sign(hmacKey), 'token_invalid'],
      ['unknown kid', await idp.token(tenantId, {}, { kid: 'kid-nobody', key: forger }), 'token_invalid'],
      ['garbage', 'x'.repeat(40), 'token_invalid'],
    ];
    const before = (await platformFailures()).length;
    const failures: string[] = [];
    for (const [name, token, code] of cases) {
      const res = await signIn(token);
      if (res.status !== 401 || errorOf(res) !== code) failures.push(`${name}: ${res.status} ${res.text}`);
    }
    expect(failures).toEqual([]);
    const reasons = (await platformFailures()).slice(before);
    expect(reasons).toHaveLength(cases.length);
    expect(reasons.join('\n')).toMatch(/bad_signature[\s\S]*wrong_audience[\s\S]*wrong_issuer[\s\S]*wrong_issuer[\s\S]*expired[\s\S]*not_yet_valid[\s\S]*missing_scope[\s\S]*alg_not_allowed[\s\S]*alg_not_allowed[\s\S]*unknown_key[\s\S]*malformed/);
    // Nothing was created for the refused tokens.
    expect(await t.database.ownerQuery('SELECT count(*)::int AS n FROM users WHERE azure_object_id = $1', [base.oid])).toEqual([{ n: 0 }]);
  });

  it('follows a key rotation with one refetch, but not within the cooldown after the last fetch', async () => {
    const kid = await idp.rotate(tenantId);
    // The unknown kid above refetched the keys moments ago: within the cooldown, no new fetch.
    let before = idp.fetches.length;
    const early = await signIn(await idp.token(tenantId, {}, { kid }));
    expect(early.status).toBe(401);
    expect(idp.fetches.slice(before)).toEqual([]);

    offsetMs += 6 * 60 * 1000; // past the 5-minute cooldown
    before = idp.fetches.length;
    const res = await signIn(await idp.token(tenantId, {}, { kid }));
    expect(res.status, res.text).toBe(200);
    expect(idp.fetches.slice(before)).toEqual([`/${tenantId}/v2.0/.well-known/openid-configuration`, `/${tenantId}/discovery/v2.0/keys`]);
  });

  it('org identity settings: a viewer cannot change them (403), a tenant registered elsewhere is a conflict (409), bad lifetimes are refused (400)', async () => {
    const viewer = await t.buildUser({ orgId, role: 'viewer' });
    const body = { azureTenantId: randomUUID(), defaultRole: 'viewer', sessionIdleMinutes: 15, sessionAbsoluteMinutes: 480 };
    expect((await t.request(`/api/orgs/${orgId}/identity`, { method: 'PUT', token: viewer.token, body })).status).toBe(403);
    const read = await t.request(`/api/orgs/${orgId}/identity`, { token: viewer.token });
    expect(read.json()).toEqual({ azureTenantId: tenantId, defaultRole: 'viewer', sessionIdleMinutes: 15, sessionAbsoluteMinutes: 480 });
    const another = (await t.buildOrg('Clinic Copycat')).id;
    const conflict = await putIdentity(another, { ...body, azureTenantId: tenantId });
    expect(conflict.status).toBe(409);
    const inverted = await t.request(`/api/orgs/${another}/identity`, { method: 'PUT', body: { ...body, sessionIdleMinutes: 60, sessionAbsoluteMinutes: 30 } });
    expect(inverted.status).toBe(400);
    // Changing them is an org security setting: a fresh step-up proof for org.security_settings.
    const admin = await t.buildUser({ orgId: another, role: 'tenant_admin' });
    const unproven = await t.request(`/api/orgs/${another}/identity`, { method: 'PUT', token: admin.token, body });
    expect([unproven.status, unproven.text]).toEqual([403, expect.stringContaining('step_up_required')]);
    const otherProof = await t.request(`/api/orgs/${another}/identity`, { method: 'PUT', token: admin.token, body, headers: { 'x-step-up': await t.stepUp(admin.token, 'audit.export') } });
    expect([otherProof.status, otherProof.text]).toEqual([403, expect.stringContaining('step_up_invalid')]);
    expect((await t.request(`/api/orgs/${another}/identity`, { token: admin.token })).json()).toMatchObject({ azureTenantId: null });
    const byAdmin = await t.database.ownerQuery("SELECT outcome FROM audit_log WHERE org_id = $1 AND actor_id = $2 AND action = 'org.settings_changed' ORDER BY seq", [another, admin.userId]);
    expect(byAdmin).toEqual([{ outcome: 'denied' }, { outcome: 'denied' }]);
    expect((await putIdentity(another, body, admin.token)).status).toBe(200);
    const changed = (await orgActions(orgId)).filter((e) => e.action === 'org.settings_changed');
    expect(changed[0]?.details).toMatchObject({ changes: { azureTenantId: { from: null, to: tenantId } } });
  });

  it('rate-limits sign-in per address (any attempt) and per verified identity, 429 with Retry-After, audited', async () => {
    setSignInLimits(t.server.context, { perIp: { points: 6, durationSeconds: 60 }, perIdentity: { points: 2, durationSeconds: 60 } });
    try {
      const oid = randomUUID();
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await signIn(await idp.token(tenantId, { oid }))).status);
      expect(statuses).toEqual([200, 200, 429]);
      // Another identity from the same address still gets in until the address is spent.
      expect((await signIn(await idp.token(tenantId))).status).toBe(200);
      const junk: number[] = [];
      for (let i = 0; i < 3; i++) junk.push((await signIn('x'.repeat(40))).status);
      expect(junk).toEqual([401, 401, 429]);
      const limited = await signIn(await idp.token(tenantId));
      expect(limited.status).toBe(429);
      expect(errorOf(limited)).toBe('rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      const reasons = await platformFailures();
      expect(reasons).toContain(`rate_limited: account ${oid} (tenant ${tenantId})`);
      expect(reasons.at(-1)).toBe('rate_limited: address');
    } finally {
      setSignInLimits(t.server.context, DEFAULT_SIGN_IN_LIMITS);
    }
  });
});
