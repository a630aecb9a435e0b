import { request } from 'node:https';
import { CryptoProvider, LogLevel, ProtocolMode, PublicClientApplication, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from '@azure/msal-node';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserDriver, httpsRequest } from './browser-driver';
import { startDevIdp, type DevIdp } from './dev-idp';
import { DEMO_CLIENT_ID, DEMO_CLINIC_TENANT_ID, DEMO_MSP_TENANT_ID, DEMO_STAFF_ADMIN, DEMO_TENANTS } from './tenants';

/*
 * The real MSAL Node PublicClientApplication against the dev provider over HTTPS: authorization
 * URL, the browser part played by BrowserDriver, code redemption with PKCE, then silent renewal
 * with the refresh token. MSAL is given the provider's CA through its network client, the way the
 * console can (or through NODE_EXTRA_CA_CERTS, which must be set before the process starts).
 */

const API_SCOPE = `api://${DEMO_CLIENT_ID}/access_as_user`;
const REDIRECT = 'http://localhost:47123/redirect';

/** MSAL's network module over node:https trusting one extra CA. */
function networkClientTrusting(ca: string, seen: string[] = []): INetworkModule {
  const send = <T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> =>
    new Promise((resolve, reject) => {
      seen.push(`${method} ${url.split('?')[0] ?? ''}`);
      const req = request(url, { method, headers: options?.headers, ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          try {
            resolve({ status: res.statusCode ?? 0, headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T });
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      });
      req.on('error', reject);
      req.end(options?.body);
    });
  return {
    sendGetRequestAsync: (url, options) => send('GET', url, options),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}

let idp: DevIdp;
const theo = DEMO_TENANTS[0]?.users.find((u) => u.label === 'tech');

beforeAll(async () => {
  idp = await startDevIdp({ port: 0 });
});
afterAll(async () => {
  await idp.close();
});

/**
 * `knownAuthorities` is what the dev provider needs (without it MSAL asks login.microsoftonline.com
 * about the unknown host and fails with endpoints_resolution_error). The protocol mode is MSAL's
 * default (AAD, as in production) or plain OIDC: both work.
 */
function msalFor(tenantId: string, protocolMode: ProtocolMode): PublicClientApplication {
  return msalAt(idp.issuer(tenantId), protocolMode);
}

function msalAt(authority: string, protocolMode: ProtocolMode, seen?: string[]): PublicClientApplication {
  return new PublicClientApplication({
    auth: { clientId: DEMO_CLIENT_ID, authority, knownAuthorities: [`127.0.0.1:${idp.port}`] },
    system: {
      protocolMode,
      networkClient: networkClientTrusting(idp.caCert, seen),
      loggerOptions: { logLevel: LogLevel.Error, loggerCallback: () => undefined, piiLoggingEnabled: false },
    },
  });
}

async function tenantKeys(tenantId: string) {
  const meta = JSON.parse((await httpsRequest(`${idp.issuer(tenantId)}/.well-known/openid-configuration`, { ca: idp.caCert })).body) as { jwks_uri: string };
  return createLocalJWKSet(JSON.parse((await httpsRequest(meta.jwks_uri, { ca: idp.caCert })).body) as JSONWebKeySet);
}

describe.each([ProtocolMode.AAD, ProtocolMode.OIDC])('MSAL Node PublicClientApplication against the dev provider (protocol mode %s)', (mode) => {
  it('signs in with code + PKCE, then renews silently with the refresh token', async () => {
    if (!theo) throw new Error('no demo tech');
    const pca = msalFor(DEMO_CLINIC_TENANT_ID, mode);
    const pkce = await new CryptoProvider().generatePkceCodes();
    const state = 'state-msal-1';

    const authUrl = await pca.getAuthCodeUrl({ scopes: [API_SCOPE], redirectUri: REDIRECT, codeChallenge: pkce.challenge, codeChallengeMethod: 'S256', state });
    expect(authUrl.startsWith(`${idp.issuer(DEMO_CLINIC_TENANT_ID)}/auth?`)).toBe(true);

    const signedIn = await new BrowserDriver(idp.caCert).signIn(authUrl, theo.oid);
    if (!('redirect' in signedIn)) throw new Error(`refused: ${signedIn.refused.status} ${signedIn.refused.body}`);
    expect(signedIn.redirect.origin + signedIn.redirect.pathname).toBe(REDIRECT);
    expect(signedIn.redirect.searchParams.get('state')).toBe(state);
    const code = signedIn.redirect.searchParams.get('code') ?? '';

    const first = await pca.acquireTokenByCode({ code, scopes: [API_SCOPE], redirectUri: REDIRECT, codeVerifier: pkce.verifier, state }, { code, state });
    const keys = await tenantKeys(DEMO_CLINIC_TENANT_ID);
    const { payload } = await jwtVerify(first.accessToken, keys, { issuer: idp.issuer(DEMO_CLINIC_TENANT_ID), audience: `api://${DEMO_CLIENT_ID}`, algorithms: ['RS256'] });
    expect(payload).toMatchObject({ tid: DEMO_CLINIC_TENANT_ID, oid: theo.oid, name: theo.name, preferred_username: theo.email, scp: 'access_as_user' });
    expect(first.account).toMatchObject({ username: theo.email, name: theo.name });
    expect(first.scopes).toContain(API_SCOPE);

    const account = first.account;
    if (!account) throw new Error('MSAL returned no account');
    const cached = await pca.acquireTokenSilent({ account, scopes: [API_SCOPE] });
    expect(cached.accessToken).toBe(first.accessToken);

    const renewed = await pca.acquireTokenSilent({ account, scopes: [API_SCOPE], forceRefresh: true });
    expect(renewed.accessToken).not.toBe(first.accessToken);
    const again = await jwtVerify(renewed.accessToken, keys, { issuer: idp.issuer(DEMO_CLINIC_TENANT_ID), audience: `api://${DEMO_CLIENT_ID}`, algorithms: ['RS256'] });
    expect(again.payload).toMatchObject({ tid: DEMO_CLINIC_TENANT_ID, oid: theo.oid, scp: 'access_as_user' });
    expect(decodeJwt(renewed.idToken)).toMatchObject({ oid: theo.oid, tid: DEMO_CLINIC_TENANT_ID });
  });

  it('runs the console flow: acquireTokenInteractive with MSAL\'s own loopback listener', async () => {
    if (!theo) throw new Error('no demo tech');
    const pca = msalFor(DEMO_CLINIC_TENANT_ID, mode);
    let seenRedirect = '';
    const result = await pca.acquireTokenInteractive({
      scopes: [API_SCOPE],
      successTemplate: 'signed in',
      // The system browser's part: sign in at the provider, then load the loopback redirect.
      openBrowser: async (url) => {
        const signedIn = await new BrowserDriver(idp.caCert).signIn(url, theo.oid);
        if (!('redirect' in signedIn)) throw new Error(`refused: ${signedIn.refused.status}`);
        expect(signedIn.formPost).toBe(true);
        seenRedirect = `${signedIn.redirect.origin}${signedIn.redirect.pathname}`;
        // The browser posts the form to MSAL's listener, which listens on 127.0.0.1 but calls itself localhost.
        const target = new URL(seenRedirect);
        target.hostname = '127.0.0.1';
        void fetch(target, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: signedIn.redirect.searchParams.toString() }).then((r) => r.text());
      },
    });
    expect(seenRedirect).toMatch(/^http:\/\/localhost:\d+\/$/);
    const { payload } = await jwtVerify(result.accessToken, await tenantKeys(DEMO_CLINIC_TENANT_ID), { issuer: idp.issuer(DEMO_CLINIC_TENANT_ID), audience: `api://${DEMO_CLIENT_ID}`, algorithms: ['RS256'] });
    expect(payload).toMatchObject({ tid: DEMO_CLINIC_TENANT_ID, oid: theo.oid, scp: 'access_as_user' });
  });

  it('refuses the code when MSAL is given a different PKCE verifier', async () => {
    if (!theo) throw new Error('no demo tech');
    const pca = msalFor(DEMO_CLINIC_TENANT_ID, mode);
    const crypto = new CryptoProvider();
    const pkce = await crypto.generatePkceCodes();
    const authUrl = await pca.getAuthCodeUrl({ scopes: [API_SCOPE], redirectUri: REDIRECT, codeChallenge: pkce.challenge, codeChallengeMethod: 'S256' });
    const signedIn = await new BrowserDriver(idp.caCert).signIn(authUrl, theo.oid);
    if (!('redirect' in signedIn)) throw new Error('refused');
    const code = signedIn.redirect.searchParams.get('code') ?? '';
    const other = await crypto.generatePkceCodes();
    await expect(pca.acquireTokenByCode({ code, scopes: [API_SCOPE], redirectUri: REDIRECT, codeVerifier: other.verifier })).rejects.toThrow(/invalid_grant/);
  });
});

/*
 * The console's configuration for every tenant at once: the organizations authority, as with
 * https://login.microsoftonline.com/organizations/v2.0. MSAL reads its discovery document (issuer
 * template `.../{tenantid}/v2.0`: accepted, same origin as the authority), sends the user to its
 * page, and redeems and refreshes at its token endpoint; the tokens are the user's tenant's.
 */
describe.each([ProtocolMode.AAD, ProtocolMode.OIDC])('MSAL Node with the organizations authority (protocol mode %s)', (mode) => {
  const users = [
    { who: 'Theo Tech (Demo Clinic)', tenantId: DEMO_CLINIC_TENANT_ID, oid: () => theo?.oid ?? '', email: () => theo?.email ?? '' },
    { who: 'Sam Staff (Demo MSP)', tenantId: DEMO_MSP_TENANT_ID, oid: () => DEMO_STAFF_ADMIN.oid, email: () => DEMO_STAFF_ADMIN.email },
  ];

  it('signs a clinic user and an MSP staff user in from one application, each with their own tenant\'s tokens, and renews each silently', async () => {
    const seen: string[] = [];
    const pca = msalAt(idp.organizationsAuthority, mode, seen);
    const signedIn = [];
    for (const user of users) {
      const pkce = await new CryptoProvider().generatePkceCodes();
      const state = `state-orgs-${user.tenantId}`;
      const authUrl = await pca.getAuthCodeUrl({ scopes: [API_SCOPE], redirectUri: REDIRECT, codeChallenge: pkce.challenge, codeChallengeMethod: 'S256', state, prompt: 'select_account' });
      expect(authUrl.startsWith(`${idp.organizationsAuthority}/auth?`)).toBe(true);
      const result = await new BrowserDriver(idp.caCert).signIn(authUrl, user.oid());
      if (!('redirect' in result)) throw new Error(`refused: ${result.refused.status} ${result.refused.body}`);
      const code = result.redirect.searchParams.get('code') ?? '';
      const first = await pca.acquireTokenByCode({ code, scopes: [API_SCOPE], redirectUri: REDIRECT, codeVerifier: pkce.verifier, state }, { code, state });
      const { payload } = await jwtVerify(first.accessToken, await tenantKeys(user.tenantId), { issuer: idp.issuer(user.tenantId), audience: `api://${DEMO_CLIENT_ID}`, algorithms: ['RS256'] });
      expect(payload, user.who).toMatchObject({ tid: user.tenantId, oid: user.oid(), scp: 'access_as_user' });
      expect(first.account, user.who).toMatchObject({ username: user.email(), tenantId: user.tenantId });
      expect(first.tenantId).toBe(user.tenantId);
      signedIn.push({ user, first });
    }
    expect((await pca.getAllAccounts()).map((a) => a.username).sort()).toEqual(users.map((u) => u.email()).sort());

    for (const { user, first } of signedIn) {
      const account = first.account;
      if (!account) throw new Error('MSAL returned no account');
      const cached = await pca.acquireTokenSilent({ account, scopes: [API_SCOPE] });
      expect(cached.accessToken, user.who).toBe(first.accessToken);
      const renewed = await pca.acquireTokenSilent({ account, scopes: [API_SCOPE], forceRefresh: true });
      expect(renewed.accessToken, user.who).not.toBe(first.accessToken);
      const again = await jwtVerify(renewed.accessToken, await tenantKeys(user.tenantId), { issuer: idp.issuer(user.tenantId), audience: `api://${DEMO_CLIENT_ID}`, algorithms: ['RS256'] });
      expect(again.payload, user.who).toMatchObject({ tid: user.tenantId, oid: user.oid() });
      expect(decodeJwt(renewed.idToken)).toMatchObject({ iss: idp.issuer(user.tenantId), tid: user.tenantId, oid: user.oid() });
    }
    // MSAL only ever talked to the organizations authority: discovery once, then its token endpoint.
    expect(seen).toEqual([
      `GET ${idp.organizationsAuthority}/.well-known/openid-configuration`,
      ...Array<string>(4).fill(`POST ${idp.organizationsAuthority}/token`),
    ]);
  });

  it('runs the console flow (acquireTokenInteractive) for an MSP staff user', async () => {
    const pca = msalAt(idp.organizationsAuthority, mode);
    const result = await pca.acquireTokenInteractive({
      scopes: [API_SCOPE],
      successTemplate: 'signed in',
      openBrowser: async (url) => {
        expect(url.startsWith(`${idp.organizationsAuthority}/auth?`)).toBe(true);
        const signedIn = await new BrowserDriver(idp.caCert).signIn(url, DEMO_STAFF_ADMIN.oid);
        if (!('redirect' in signedIn)) throw new Error(`refused: ${signedIn.refused.status}`);
        expect(signedIn.formPost).toBe(true);
        const target = new URL(`${signedIn.redirect.origin}${signedIn.redirect.pathname}`);
        target.hostname = '127.0.0.1';
        void fetch(target, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: signedIn.redirect.searchParams.toString() }).then((r) => r.text());
      },
    });
    const { payload } = await jwtVerify(result.accessToken, await tenantKeys(DEMO_MSP_TENANT_ID), { issuer: idp.issuer(DEMO_MSP_TENANT_ID), audience: `api://${DEMO_CLIENT_ID}`, algorithms: ['RS256'] });
    expect(payload).toMatchObject({ tid: DEMO_MSP_TENANT_ID, oid: DEMO_STAFF_ADMIN.oid });
  });

  it('fails cleanly when the user picked at the organizations page is in no tenant', async () => {
    const pca = msalAt(idp.organizationsAuthority, mode);
    const pkce = await new CryptoProvider().generatePkceCodes();
    const authUrl = await pca.getAuthCodeUrl({ scopes: [API_SCOPE], redirectUri: REDIRECT, codeChallenge: pkce.challenge, codeChallengeMethod: 'S256' });
    const result = await new BrowserDriver(idp.caCert).signIn(authUrl, '0a1d0000-0000-4000-8000-000000000999');
    if (!('refused' in result)) throw new Error('an unknown user was signed in');
    expect(result.refused.status).toBe(403);
    expect(result.refused.body).toContain('not in any tenant');
    await expect(pca.acquireTokenByCode({ code: 'not-a-code', scopes: [API_SCOPE], redirectUri: REDIRECT, codeVerifier: pkce.verifier })).rejects.toThrow(/invalid_grant/);
  });
});
