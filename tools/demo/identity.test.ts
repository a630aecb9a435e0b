import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConsoleConfig } from '../../main/console-config';
import { memorySecretStore } from '../../main/secret-store';
import { createTrustResolver, loadServerTrust } from '../../main/server-trust';
import { startSignInService } from '../../main/sign-in-setup';
import { getTestServer, type TestServer } from '../../server/test-support';
import { databaseKinds } from '../testing/postgres';
import { accessTokenByCodeFlow, BrowserDriver } from '../idp/browser-driver';
import { startDevIdp, type DevIdp } from '../idp/dev-idp';
import { DEMO_CLIENT_ID, DEMO_CLINIC_TENANT_ID, DEMO_MSP_TENANT_ID, DEMO_STAFF_ADMIN, DEMO_TENANTS } from '../idp/tenants';
import { demoConsoleEnv } from './demo';
import { demoAuthConfig, demoIdpDataDir, wireDemoIdentity } from './identity';
import { DEMO_USERS, seedDemo } from './seed';

/*
 * What `npm start` promises: after the demo seed and the identity wiring, every demo user signs
 * in through the real code flow of the dev provider (login page, PKCE, token endpoint) and gets a
 * server session as the seeded user in the Demo Clinic; Sam Staff gets a staff session. And the
 * console as `npm start` configures it (the organizations authority) signs both kinds in.
 */

const REDIRECT = 'http://127.0.0.1:40111/callback';

describe.each(databaseKinds())('npm start sign-in wiring on %s', (kind) => {
  let idp: DevIdp;
  let t: TestServer;
  let orgId: string;
  let staffUserId: string;
  let idpDir: string;

  const accessToken = (tenantId: string, oid: string): Promise<string> =>
    accessTokenByCodeFlow(idp, { tenantId, oid, clientId: DEMO_CLIENT_ID, redirectUri: REDIRECT, scope: `openid profile offline_access api://${DEMO_CLIENT_ID}/access_as_user` });
  const signIn = async (accessToken: string) => {
    const res = await t.request('/api/auth/session', { method: 'POST', token: null, body: { accessToken } });
    expect(res.status, res.text).toBe(200);
    return res.json() as { sessionToken: string; userId: string; orgId: string | null; created: boolean };
  };

  beforeAll(async () => {
    idpDir = demoIdpDataDir(mkdtempSync(path.join(os.tmpdir(), 'rmm-demo-identity-')));
    idp = await startDevIdp({ port: 0, dataDir: idpDir });
    t = await getTestServer(kind, { ...demoAuthConfig(idp.url, idpDir) });
    orgId = (await seedDemo(t.server.context.db, t.dataDir, t.server.context.keys)).orgId;
    staffUserId = (await wireDemoIdentity(t.server.context.db, orgId)).staffUserId;
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await idp?.close();
    rmSync(path.dirname(idpDir), { recursive: true, force: true });
  });

  it('registers the clinic tenant (default role viewer) and links users, audited as the seed; a second run changes nothing', async () => {
    expect(await t.database.ownerQuery('SELECT azure_tenant_id, default_role FROM orgs WHERE id = $1', [orgId])).toEqual([{ azure_tenant_id: DEMO_CLINIC_TENANT_ID, default_role: 'viewer' }]);
    const count = async () => (await t.database.ownerQuery("SELECT count(*)::int AS n FROM audit_log WHERE actor_name = 'demo seed'"))[0]?.n;
    const links = await t.database.ownerQuery("SELECT org_id, details FROM audit_log WHERE action = 'user.identity_linked' ORDER BY seq");
    expect(links).toHaveLength(DEMO_USERS.length + 1);
    expect(links).toContainEqual({ org_id: null, details: { tenantId: DEMO_MSP_TENANT_ID, objectId: DEMO_STAFF_ADMIN.oid, staff: true } });
    expect(await t.database.ownerQuery("SELECT count(*)::int AS n FROM audit_log WHERE org_id = $1 AND action = 'org.settings_changed' AND actor_name = 'demo seed'", [orgId])).toEqual([{ n: 1 }]);
    const before = await count();
    expect(await wireDemoIdentity(t.server.context.db, orgId)).toEqual({ staffUserId });
    expect(await count()).toBe(before);
  });

  it('each demo user signs in through the dev provider’s code flow as the seeded user of the Demo Clinic', async () => {
    const clinic = DEMO_TENANTS.find((tenant) => tenant.id === DEMO_CLINIC_TENANT_ID);
    for (const demo of DEMO_USERS) {
      const oid = clinic?.users.find((u) => u.email === demo.email)?.oid ?? '';
      const [seeded] = await t.database.ownerQuery('SELECT id FROM users WHERE email = $1 AND org_id = $2', [demo.email, orgId]);
      const session = await signIn(await accessToken(DEMO_CLINIC_TENANT_ID, oid));
      expect(session, demo.email).toMatchObject({ userId: seeded?.id, orgId, created: false });
      const access = await t.request(`/api/orgs/${orgId}/access`, { token: session.sessionToken });
      expect(access.status, access.text).toBe(200);
    }
  });

  it('the console as npm start configures it signs a clinic user and Sam Staff in through the organizations authority, and renews', async () => {
    const consoleDir = mkdtempSync(path.join(os.tmpdir(), 'rmm-demo-console-'));
    try {
      const config = loadConsoleConfig(demoConsoleEnv({ url: t.server.url, fingerprint: t.server.fingerprint }, consoleDir, { kind: 'sign-in', idp }));
      expect(config.signIn).toEqual({ authority: idp.organizationsAuthority, clientId: DEMO_CLIENT_ID, scopes: [`api://${DEMO_CLIENT_ID}/access_as_user`], knownAuthorities: [`127.0.0.1:${idp.port}`], caFile: idp.caCertFile });
      const signInConfig = config.signIn;
      if (!signInConfig) throw new Error('not in sign-in mode');
      const trust = createTrustResolver(await loadServerTrust(config.trust), config.serverUrl);
      const vera = DEMO_USERS.find((u) => u.role === 'viewer');
      const veraOid = DEMO_TENANTS.find((tenant) => tenant.id === DEMO_CLINIC_TENANT_ID)?.users.find((u) => u.email === vera?.email)?.oid ?? '';
      const [seededVera] = await t.database.ownerQuery('SELECT id FROM users WHERE email = $1', [vera?.email]);
      const people = [
        { tenantId: DEMO_CLINIC_TENANT_ID, oid: veraOid, userId: String(seededVera?.id), orgId },
        { tenantId: DEMO_MSP_TENANT_ID, oid: DEMO_STAFF_ADMIN.oid, userId: staffUserId, orgId: null },
      ];
      for (const person of people) {
        const service = await startSignInService({
          config: signInConfig,
          serverUrl: config.serverUrl,
          trust,
          cacheFile: config.signInCacheFile ?? path.join(consoleDir, 'cache.bin'),
          secrets: memorySecretStore(),
          // The system browser's part: the organizations page, the user's row, the form post to MSAL's loopback listener.
          openBrowser: async (url) => {
            expect(url.startsWith(`${idp.organizationsAuthority}/auth?`)).toBe(true);
            const done = await new BrowserDriver(idp.caCert).signIn(url, person.oid);
            if (!('redirect' in done)) throw new Error(`refused: ${done.refused.status}`);
            const target = new URL(`${done.redirect.origin}${done.redirect.pathname}`);
            target.hostname = '127.0.0.1';
            void fetch(target, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: done.redirect.searchParams.toString() }).then((r) => r.text());
          },
        });
        const state = await service.signIn();
        expect(state.account).toMatchObject({ tenantId: person.tenantId, objectId: person.oid });
        expect(state.session).toMatchObject({ userId: person.userId, orgId: person.orgId, created: false });
        const me = await t.request('/api/me', { token: (await service.credentials.authorizationHeader()).slice('Bearer '.length) });
        expect(me.json()).toMatchObject({ user: { id: person.userId } });
        // Renewal goes through the refresh token at the organizations token endpoint: a new session, same user.
        const renewed = await service.renew();
        expect(renewed.session).toMatchObject({ userId: person.userId, orgId: person.orgId });
        expect(renewed.session.sessionId).not.toBe(state.session.sessionId);
        await service.signOut();
      }
    } finally {
      rmSync(consoleDir, { recursive: true, force: true });
    }
  });

  it('Sam Staff signs in to a staff session as the MSP admin', async () => {
    const session = await signIn(await accessToken(DEMO_MSP_TENANT_ID, DEMO_STAFF_ADMIN.oid));
    expect(session).toMatchObject({ userId: staffUserId, orgId: null, created: false });
    const me = await t.request('/api/me', { token: session.sessionToken });
    expect(me.json()).toMatchObject({ user: { id: staffUserId, orgId: null, displayName: 'Sam Staff' } });
    const staffList = await t.request('/api/staff/sessions', { token: session.sessionToken });
    expect(staffList.status, staffList.text).toBe(200);
  });
});
