import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { getTestServer, type TestServer } from '../server/test-support';
import { databaseKinds } from '../tools/testing/postgres';
import { BrowserDriver } from '../tools/idp/browser-driver';
import { startDevIdp, type DevIdp } from '../tools/idp/dev-idp';
import { DEMO_CLIENT_ID, DEMO_CLINIC_TENANT_ID, DEMO_MSP_TENANT_ID, DEMO_STAFF_ADMIN, DEMO_TENANTS } from '../tools/idp/tenants';
import { createApiClient } from './api-client';
import { ConsoleError } from './console-error';
import { createConsoleServices } from './console-services';
import { dispatchIpc } from './ipc-dispatch';
import { memorySecretStore, type SecretStore } from './secret-store';
import { createTrustResolver } from './server-trust';
import { createSignInService, type SignInService } from './sign-in-service';
import { parseSignInConfig } from './sign-in-config';
import { TOKEN_CACHE_KEY_ACCOUNT, TOKEN_CACHE_KEY_SERVICE, type CacheProblem } from './token-cache-plugin';

/*
 * The console's sign-in end to end: the real MSAL PublicClientApplication against the real dev
 * identity provider over HTTPS (the system browser's part played by BrowserDriver, which posts
 * the form_post answer to MSAL's loopback listener), and a real server configured for that
 * provider, with the demo clinic tenant registered to an org. The server session is the
 * console's credential; silent renewal works from the encrypted cache in a new service instance;
 * sign-out ends the server session.
 */

const Me = z.object({ user: z.object({ id: z.string(), displayName: z.string(), orgId: z.string().nullable() }) });
const tessa = DEMO_TENANTS[0]?.users.find((u) => u.label === 'tenant_admin');
const theo = DEMO_TENANTS[0]?.users.find((u) => u.label === 'tech');

describe.each(databaseKinds())('console sign-in service against the dev provider and a server on %s', (kind) => {
  let idp: DevIdp;
  let t: TestServer;
  let orgId: string;
  let dir: string;
  let browserOpens = 0;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-sign-in-'));
    idp = await startDevIdp({ port: 0, dataDir: path.join(dir, 'idp') });
    t = await getTestServer(kind, { authAuthorityBase: idp.url, authAudience: `api://${DEMO_CLIENT_ID}`, authCaFile: idp.caCertFile });
    orgId = (await t.buildOrg('Demo Clinic (sign-in)')).id;
    const registered = await t.request(`/api/orgs/${orgId}/identity`, {
      method: 'PUT',
      body: { azureTenantId: DEMO_CLINIC_TENANT_ID, defaultRole: 'viewer', sessionIdleMinutes: 15, sessionAbsoluteMinutes: 480 },
      headers: { 'x-step-up': await t.stepUp(t.token, 'org.security_settings') },
    });
    expect(registered.status, registered.text).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
    await idp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The system browser: signs in as `oid` at the provider, then posts the answer to MSAL's loopback listener. */
  const browserSigningIn = (oid: string) => async (url: string): Promise<void> => {
    browserOpens += 1;
    const signedIn = await new BrowserDriver(idp.caCert).signIn(url, oid);
    if (!('redirect' in signedIn)) throw new Error(`provider refused: ${signedIn.refused.status}`);
    const target = new URL(`${signedIn.redirect.origin}${signedIn.redirect.pathname}`);
    target.hostname = '127.0.0.1';
    // Not awaited: MSAL answers the post only after it has taken the code.
    void fetch(target, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: signedIn.redirect.searchParams.toString() }).then((r) => r.text(), () => undefined);
  };

  function service(options: { cacheFile: string; secrets: SecretStore; oid?: string; tenantId?: string; problems?: CacheProblem[]; openBrowser?: (url: string) => Promise<void>; interactiveTimeoutMs?: number }): SignInService {
    const serverUrl = new URL(t.server.url);
    return createSignInService({
      config: parseSignInConfig({ authority: idp.issuer(options.tenantId ?? DEMO_CLINIC_TENANT_ID), clientId: DEMO_CLIENT_ID, caFile: idp.caCertFile }),
      caPem: idp.caCert,
      serverUrl,
      trust: createTrustResolver({ kind: 'ca', caPem: t.ca }, serverUrl),
      secrets: options.secrets,
      cacheFile: options.cacheFile,
      openBrowser: options.openBrowser ?? browserSigningIn(options.oid ?? tessa?.oid ?? ''),
      ...(options.interactiveTimeoutMs ? { interactiveTimeoutMs: options.interactiveTimeoutMs } : {}),
      onCacheProblem: (problem) => options.problems?.push(problem),
    });
  }

  const me = (signIn: SignInService) => createApiClient({ serverUrl: new URL(t.server.url), trust: createTrustResolver({ kind: 'ca', caPem: t.ca }, new URL(t.server.url)), credentials: signIn.credentials }).get('/api/me', Me);
  const meWith = async (authorization: string) => (await t.request('/api/me', { token: null, headers: { authorization } })).status;

  it('signs in through the browser: the server session is the credential and /api/me is the chosen demo user; renews silently after a restart; signs out', async () => {
    if (!tessa) throw new Error('no demo tenant admin');
    const secrets = memorySecretStore();
    const cacheFile = path.join(dir, `${kind}-tessa`, 'msal-cache.bin');
    const first = service({ cacheFile, secrets });

    await expect(first.credentials.authorizationHeader()).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(await first.cachedAccount()).toBeNull();

    const opensBefore = browserOpens;
    const state = await first.signIn();
    expect(browserOpens).toBe(opensBefore + 1);
    expect(state.account).toEqual({ tenantId: DEMO_CLINIC_TENANT_ID, objectId: tessa.oid, username: tessa.email, name: tessa.name });
    expect(state.session).toMatchObject({ orgId, created: true });
    expect(state.session).not.toHaveProperty('sessionToken');
    expect(first.current()).toEqual(state);
    const firstHeader = await first.credentials.authorizationHeader();
    expect(firstHeader).toMatch(/^Bearer rmm_ses_[A-Za-z0-9_-]{43}$/);
    expect(await me(first)).toEqual({ user: expect.objectContaining({ id: state.session.userId, displayName: 'Tessa Admin', orgId }) });

    // At rest: the cache file (0600) holds no token and no account name; its key is in the SecretStore.
    expect(statSync(cacheFile).mode & 0o777).toBe(0o600);
    const atRest = readFileSync(cacheFile, 'latin1');
    for (const clear of ['eyJ', tessa.email, tessa.oid, 'RefreshToken', 'secret', firstHeader.slice(7)]) expect(atRest).not.toContain(clear);
    expect(await secrets.get(TOKEN_CACHE_KEY_SERVICE, TOKEN_CACHE_KEY_ACCOUNT)).toMatch(/^[A-Za-z0-9+/]{43}=$/);

    // A restarted console: a new instance, the same file and keychain, no browser.
    const second = service({ cacheFile, secrets, oid: 'browser-must-not-open' });
    await expect(second.credentials.authorizationHeader()).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(await second.cachedAccount()).toEqual(state.account);
    const renewed = await second.renew();
    expect(browserOpens).toBe(opensBefore + 1);
    expect(renewed.session).toMatchObject({ userId: state.session.userId, orgId, created: false });
    expect(renewed.session.sessionId).not.toBe(state.session.sessionId);
    const secondHeader = await second.credentials.authorizationHeader();
    expect(secondHeader).not.toBe(firstHeader);
    expect((await me(second)).user.id).toBe(state.session.userId);

    // Sign-out ends that server session at once, forgets the token and empties MSAL's cache.
    await second.signOut();
    expect(await meWith(secondHeader)).toBe(401);
    await expect(second.credentials.authorizationHeader()).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(second.current()).toBeNull();
    expect(await second.cachedAccount()).toBeNull();
    // The first instance's session was another one; it is still open until it signs out too.
    expect(await meWith(firstHeader)).toBe(200);
    await first.signOut();
    expect(await meWith(firstHeader)).toBe(401);

    const third = service({ cacheFile, secrets });
    await expect(third.renew()).rejects.toMatchObject({ code: 'unauthenticated' });
  });

  it('forgetSession drops the credential but keeps the account: renew opens a new session without the browser', async () => {
    if (!theo) throw new Error('no demo tech');
    const signIn = service({ cacheFile: path.join(dir, `${kind}-theo`, 'cache.bin'), secrets: memorySecretStore(), oid: theo.oid });
    const state = await signIn.signIn();
    expect(state.account.username).toBe(theo.email);
    const header = await signIn.credentials.authorizationHeader();
    signIn.forgetSession();
    await expect(signIn.credentials.authorizationHeader()).rejects.toBeInstanceOf(ConsoleError);
    const opens = browserOpens;
    const again = await signIn.renew();
    expect(browserOpens).toBe(opens);
    expect(again.session.sessionId).not.toBe(state.session.sessionId);
    expect((await me(signIn)).user.displayName).toBe('Theo Tech');
    // The console's services take it as their credential, in place of an API token file.
    const serverUrl = new URL(t.server.url);
    const services = createConsoleServices({ serverUrl, trust: { kind: 'ca', caPem: t.ca }, credentials: signIn.credentials, host: 'browser-host' });
    expect(await dispatchIpc(services.handlers, 'me.get', {})).toMatchObject({ ok: true, value: { user: { displayName: 'Theo Tech' } } });
    signIn.forgetSession();
    expect(await dispatchIpc(services.handlers, 'me.get', {})).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    await services.stop();
    await signIn.renew();
    // The forgotten session was not ended by forgetting it (the server ends it on idle or revocation).
    expect(await meWith(header)).toBe(200);
    await signIn.signOut();
  });

  it('a tampered cache file or a lost keychain key means signing in again, not a crash', async () => {
    if (!theo) throw new Error('no demo tech');
    const secrets = memorySecretStore();
    const cacheFile = path.join(dir, `${kind}-tamper`, 'cache.bin');
    const signIn = service({ cacheFile, secrets, oid: theo.oid });
    await signIn.signIn();
    const sealed = readFileSync(cacheFile);
    sealed.writeUInt8(sealed.readUInt8(sealed.length - 5) ^ 0x01, sealed.length - 5);
    writeFileSync(cacheFile, sealed);

    const problems: CacheProblem[] = [];
    const afterTamper = service({ cacheFile, secrets, problems });
    expect(await afterTamper.cachedAccount()).toBeNull();
    await expect(afterTamper.renew()).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(problems).toContainEqual({ kind: 'unreadable', reason: 'undecryptable' });

    await signIn.signOut();
    await signIn.signIn();
    await secrets.delete(TOKEN_CACHE_KEY_SERVICE, TOKEN_CACHE_KEY_ACCOUNT);
    const afterKeyLoss = service({ cacheFile, secrets, problems });
    expect(await afterKeyLoss.cachedAccount()).toBeNull();
    expect(problems).toContainEqual({ kind: 'unreadable', reason: 'no_key' });
    expect(existsSync(cacheFile)).toBe(true);
    await signIn.signOut();
  });

  it('signing out after the server ended the session (revoked by an admin) still signs out locally', async () => {
    if (!theo) throw new Error('no demo tech');
    const cacheFile = path.join(dir, `${kind}-revoked`, 'cache.bin');
    const secrets = memorySecretStore();
    const signIn = service({ cacheFile, secrets, oid: theo.oid });
    const state = await signIn.signIn();
    const revoked = await t.request(`/api/orgs/${orgId}/sessions/${state.session.sessionId}/revoke`, { method: 'POST', body: { reason: 'test' }, headers: { 'x-step-up': await t.stepUp(t.token, 'sessions.revoke_other') } });
    expect(revoked.status, revoked.text).toBe(200);
    await expect(me(signIn)).rejects.toMatchObject({ code: 'unauthenticated' });
    await signIn.signOut();
    expect(signIn.current()).toBeNull();
    expect(await service({ cacheFile, secrets }).cachedAccount()).toBeNull();
  });

  it('an abandoned browser sign-in times out, a second one may start, and a late completion opens no session', async () => {
    if (!theo) throw new Error('no demo tech');
    const cacheFile = path.join(dir, `${kind}-abandoned`, 'cache.bin');
    const secrets = memorySecretStore();
    let abandonedUrl = '';
    let browser = async (url: string) => {
      abandonedUrl = url;
    };
    const signIn = service({ cacheFile, secrets, interactiveTimeoutMs: 1500, openBrowser: (url) => browser(url) });
    const first = signIn.signIn();
    await expect(signIn.signIn()).rejects.toMatchObject({ code: 'conflict' });
    await expect(first).rejects.toMatchObject({ code: 'unauthenticated', message: expect.stringMatching(/no answer from the browser/) });
    await expect(signIn.credentials.authorizationHeader()).rejects.toMatchObject({ code: 'unauthenticated' });

    // The user finishes the old page after all: MSAL takes the code, the console opens no session.
    await browserSigningIn(theo.oid)(abandonedUrl);
    await expect.poll(() => signIn.cachedAccount(), { timeout: 10_000 }).toMatchObject({ username: theo.email });
    expect(signIn.current()).toBeNull();
    await expect(signIn.credentials.authorizationHeader()).rejects.toMatchObject({ code: 'unauthenticated' });

    browser = browserSigningIn(theo.oid);
    expect((await signIn.signIn()).account.username).toBe(theo.email);
    expect((await me(signIn)).user.displayName).toBe('Theo Tech');
    await signIn.signOut();
  });

  it('renew asks the provider every time: once it has forgotten the grant (restarted), renewing means signing in again', async () => {
    if (!theo) throw new Error('no demo tech');
    const cacheFile = path.join(dir, `${kind}-idp-restart`, 'cache.bin');
    const secrets = memorySecretStore();
    await service({ cacheFile, secrets, oid: theo.oid }).signIn();
    // The cached access token is still valid for an hour; only the refresh token is gone.
    const port = idp.port;
    await idp.close();
    idp = await startDevIdp({ port, dataDir: path.join(dir, 'idp') });
    const restarted = service({ cacheFile, secrets, oid: theo.oid });
    await expect(restarted.renew()).rejects.toMatchObject({ code: 'unauthenticated', message: expect.stringMatching(/interactive sign-in/) });
    expect(restarted.current()).toBeNull();
    expect((await restarted.signIn()).account.username).toBe(theo.email);
    await restarted.signOut();
  });

  it('a tenant no org registered is refused by the server (tenant_not_registered) and leaves the console signed out', async () => {
    const signIn = service({ cacheFile: path.join(dir, `${kind}-msp`, 'cache.bin'), secrets: memorySecretStore(), oid: DEMO_STAFF_ADMIN.oid, tenantId: DEMO_MSP_TENANT_ID });
    await expect(signIn.signIn()).rejects.toMatchObject({ code: 'tenant_not_registered' });
    expect(signIn.current()).toBeNull();
    await expect(signIn.credentials.authorizationHeader()).rejects.toMatchObject({ code: 'unauthenticated' });
  });
});
