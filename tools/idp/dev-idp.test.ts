import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserDriver, httpsRequest, pkcePair } from './browser-driver';
import { startDevIdp, type DevIdp } from './dev-idp';
import { DEMO_CLIENT_ID, DEMO_CLINIC_TENANT_ID, DEMO_MSP_TENANT_ID, DEMO_STAFF_ADMIN, DEMO_TENANTS } from './tenants';

const REDIRECT = 'http://127.0.0.1:53123/callback';
const API_SCOPE = `api://${DEMO_CLIENT_ID}/access_as_user`;
const tessa = DEMO_TENANTS[0]?.users[0];

let idp: DevIdp;

beforeAll(async () => {
  idp = await startDevIdp({ port: 0 });
});
afterAll(async () => {
  await idp.close();
});

async function getJson(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await httpsRequest(url, { ca: idp.caCert });
  return { status: res.status, json: JSON.parse(res.body) as Record<string, unknown> };
}

async function discovery(tenantId: string) {
  const { json } = await getJson(`${idp.issuer(tenantId)}/.well-known/openid-configuration`);
  return json as { issuer: string; authorization_endpoint: string; token_endpoint: string; jwks_uri: string; code_challenge_methods_supported: string[] };
}

function authorizeUrl(endpoint: string, challenge: string, extra: Record<string, string> = {}): string {
  const url = new URL(endpoint);
  const params = { client_id: DEMO_CLIENT_ID, response_type: 'code', redirect_uri: REDIRECT, scope: `openid profile offline_access ${API_SCOPE}`, code_challenge: challenge, code_challenge_method: 'S256', state: 'st-1', nonce: 'n-1', ...extra };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

async function tokenRequest(tenantId: string, form: Record<string, string>) {
  const meta = await discovery(tenantId);
  const res = await httpsRequest(meta.token_endpoint, {
    ca: idp.caCert,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: DEMO_CLIENT_ID, ...form }).toString(),
  });
  return { status: res.status, json: JSON.parse(res.body) as Record<string, unknown> };
}

/** The whole code flow for one user; returns the token response. */
async function signIn(tenantId: string, oid: string) {
  const meta = await discovery(tenantId);
  const { verifier, challenge } = pkcePair();
  const result = await new BrowserDriver(idp.caCert).signIn(authorizeUrl(meta.authorization_endpoint, challenge), oid);
  if (!('redirect' in result)) throw new Error(`sign-in refused: ${result.refused.status} ${result.refused.body}`);
  const code = result.redirect.searchParams.get('code') ?? '';
  return tokenRequest(tenantId, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
}

async function verifyAccessToken(tenantId: string, token: string) {
  const meta = await discovery(tenantId);
  const { json } = await getJson(meta.jwks_uri);
  return jwtVerify(token, createLocalJWKSet(json as unknown as JSONWebKeySet), { issuer: idp.issuer(tenantId), audience: `api://${DEMO_CLIENT_ID}`, algorithms: ['RS256'] });
}

describe('dev identity provider', () => {
  it('serves a discovery document per tenant whose issuer is exactly the tenant issuer', async () => {
    for (const tenantId of [DEMO_CLINIC_TENANT_ID, DEMO_MSP_TENANT_ID]) {
      const meta = await discovery(tenantId);
      expect(meta.issuer).toBe(`https://127.0.0.1:${idp.port}/${tenantId}/v2.0`);
      expect(meta.authorization_endpoint.startsWith(`${meta.issuer}/`)).toBe(true);
      expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    }
  });

  it('serves each tenant its own JWKS of public RS256 keys', async () => {
    const sets = await Promise.all([DEMO_CLINIC_TENANT_ID, DEMO_MSP_TENANT_ID].map(async (t) => (await getJson((await discovery(t)).jwks_uri)).json));
    const kids = sets.map((s) => (s.keys as Array<Record<string, unknown>>).map((k) => k.kid));
    for (const set of sets) {
      for (const key of set.keys as Array<Record<string, unknown>>) {
        expect(key).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256' });
        expect(key.d).toBeUndefined();
      }
    }
    expect(kids[0]).not.toEqual(kids[1]);
  });

  it('refuses requests naming a host other than its loopback names (DNS rebinding)', async () => {
    const path = `/${DEMO_CLINIC_TENANT_ID}/v2.0/.well-known/openid-configuration`;
    const rebound = await httpsRequest(`${idp.url}${path}`, { ca: idp.caCert, headers: { host: `evil.example:${idp.port}` }, servername: 'localhost' });
    expect(rebound.status).toBe(421);
    const byName = await httpsRequest(`${idp.url}${path}`, { ca: idp.caCert, headers: { host: `localhost:${idp.port}` } });
    expect(byName.status).toBe(200);
  });

  it('fails to start on a port in use', async () => {
    await expect(startDevIdp({ port: idp.port })).rejects.toThrow(/EADDRINUSE/);
  });

  it('answers 404 for an unknown tenant', async () => {
    const res = await httpsRequest(`${idp.issuer('aaaaaaaa-0000-4000-8000-000000000000')}/.well-known/openid-configuration`, { ca: idp.caCert });
    expect(res.status).toBe(404);
  });

  it('signs a demo user in with code + PKCE and issues an Entra-shaped access token JWT', async () => {
    if (!tessa) throw new Error('no demo user');
    const tokens = await signIn(DEMO_CLINIC_TENANT_ID, tessa.oid);
    expect(tokens.status).toBe(200);
    expect(typeof tokens.json.refresh_token).toBe('string');
    const accessToken = String(tokens.json.access_token);
    const { payload, protectedHeader } = await verifyAccessToken(DEMO_CLINIC_TENANT_ID, accessToken);
    expect(protectedHeader.alg).toBe('RS256');
    expect(typeof protectedHeader.kid).toBe('string');
    expect(payload).toMatchObject({
      iss: idp.issuer(DEMO_CLINIC_TENANT_ID),
      aud: `api://${DEMO_CLIENT_ID}`,
      tid: DEMO_CLINIC_TENANT_ID,
      oid: tessa.oid,
      sub: tessa.oid,
      name: 'Tessa Admin',
      preferred_username: 'tessa.admin@demo-clinic.test',
      scp: 'access_as_user',
      azp: DEMO_CLIENT_ID,
      ver: '2.0',
    });
    expect(payload.scope).toBeUndefined();
    const now = Math.floor(Date.now() / 1000);
    expect(Math.abs((payload.iat ?? 0) - now)).toBeLessThan(30);
    expect(payload.nbf).toBe(payload.iat);
    expect(payload.exp).toBe((payload.iat ?? 0) + 3600);
    const idToken = decodeJwt(String(tokens.json.id_token));
    expect(idToken).toMatchObject({ aud: DEMO_CLIENT_ID, tid: DEMO_CLINIC_TENANT_ID, oid: tessa.oid, preferred_username: tessa.email, nonce: 'n-1' });
  });

  it('refuses the code with a wrong PKCE verifier', async () => {
    if (!tessa) throw new Error('no demo user');
    const meta = await discovery(DEMO_CLINIC_TENANT_ID);
    const { challenge } = pkcePair();
    const result = await new BrowserDriver(idp.caCert).signIn(authorizeUrl(meta.authorization_endpoint, challenge), tessa.oid);
    if (!('redirect' in result)) throw new Error('sign-in refused');
    const code = result.redirect.searchParams.get('code') ?? '';
    const refused = await tokenRequest(DEMO_CLINIC_TENANT_ID, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: pkcePair().verifier });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toBe('invalid_grant');
  });

  it('refuses an authorization request without PKCE or with the plain method', async () => {
    const meta = await discovery(DEMO_CLINIC_TENANT_ID);
    const driver = new BrowserDriver(idp.caCert);
    const withoutPkce = new URL(authorizeUrl(meta.authorization_endpoint, 'x'));
    withoutPkce.searchParams.delete('code_challenge');
    withoutPkce.searchParams.delete('code_challenge_method');
    const plain = authorizeUrl(meta.authorization_endpoint, 'a'.repeat(43), { code_challenge_method: 'plain' });
    for (const url of [withoutPkce.href, plain]) {
      const { url: landed } = await driver.follow(url);
      const error = new URL(landed).searchParams.get('error');
      expect(error).toBe('invalid_request');
    }
  });

  it('gives a token from tenant B tenant B issuer and tid, which tenant A keys do not verify', async () => {
    const tokens = await signIn(DEMO_MSP_TENANT_ID, DEMO_STAFF_ADMIN.oid);
    const accessToken = String(tokens.json.access_token);
    const { payload } = await verifyAccessToken(DEMO_MSP_TENANT_ID, accessToken);
    expect(payload).toMatchObject({ iss: idp.issuer(DEMO_MSP_TENANT_ID), tid: DEMO_MSP_TENANT_ID, oid: DEMO_STAFF_ADMIN.oid });
    await expect(verifyAccessToken(DEMO_CLINIC_TENANT_ID, accessToken)).rejects.toThrow();
  });

  it('renews with the refresh token grant', async () => {
    if (!tessa) throw new Error('no demo user');
    const first = await signIn(DEMO_CLINIC_TENANT_ID, tessa.oid);
    const renewed = await tokenRequest(DEMO_CLINIC_TENANT_ID, { grant_type: 'refresh_token', refresh_token: String(first.json.refresh_token), scope: `openid profile offline_access ${API_SCOPE}` });
    expect(renewed.json).toMatchObject({ token_type: 'Bearer' });
    expect(renewed.status).toBe(200);
    const { payload } = await verifyAccessToken(DEMO_CLINIC_TENANT_ID, String(renewed.json.access_token));
    expect(payload).toMatchObject({ tid: DEMO_CLINIC_TENANT_ID, oid: tessa.oid, scp: 'access_as_user' });
    expect(String(renewed.json.access_token)).not.toBe(String(first.json.access_token));
  });

  it('refuses a rotated refresh token and then revokes the whole grant (reuse detection)', async () => {
    if (!tessa) throw new Error('no demo user');
    const first = await signIn(DEMO_CLINIC_TENANT_ID, tessa.oid);
    const oldToken = String(first.json.refresh_token);
    const renewed = await tokenRequest(DEMO_CLINIC_TENANT_ID, { grant_type: 'refresh_token', refresh_token: oldToken });
    expect(renewed.status).toBe(200);
    const newToken = String(renewed.json.refresh_token);
    expect(newToken).not.toBe(oldToken);
    expect((await tokenRequest(DEMO_CLINIC_TENANT_ID, { grant_type: 'refresh_token', refresh_token: oldToken })).json.error).toBe('invalid_grant');
    expect((await tokenRequest(DEMO_CLINIC_TENANT_ID, { grant_type: 'refresh_token', refresh_token: newToken })).json.error).toBe('invalid_grant');
  });

  it('refuses tenant A codes and refresh tokens at tenant B', async () => {
    if (!tessa) throw new Error('no demo user');
    const tokens = await signIn(DEMO_CLINIC_TENANT_ID, tessa.oid);
    const atOther = await tokenRequest(DEMO_MSP_TENANT_ID, { grant_type: 'refresh_token', refresh_token: String(tokens.json.refresh_token) });
    expect(atOther.json.error).toBe('invalid_grant');

    const meta = await discovery(DEMO_CLINIC_TENANT_ID);
    const { verifier, challenge } = pkcePair();
    const result = await new BrowserDriver(idp.caCert).signIn(authorizeUrl(meta.authorization_endpoint, challenge), tessa.oid);
    if (!('redirect' in result)) throw new Error('sign-in refused');
    const code = result.redirect.searchParams.get('code') ?? '';
    const codeAtOther = await tokenRequest(DEMO_MSP_TENANT_ID, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
    expect(codeAtOther.json.error).toBe('invalid_grant');
  });

  it('refuses a code used twice', async () => {
    if (!tessa) throw new Error('no demo user');
    const meta = await discovery(DEMO_CLINIC_TENANT_ID);
    const { verifier, challenge } = pkcePair();
    const result = await new BrowserDriver(idp.caCert).signIn(authorizeUrl(meta.authorization_endpoint, challenge), tessa.oid);
    if (!('redirect' in result)) throw new Error('sign-in refused');
    const form = { grant_type: 'authorization_code', code: result.redirect.searchParams.get('code') ?? '', redirect_uri: REDIRECT, code_verifier: verifier };
    expect((await tokenRequest(DEMO_CLINIC_TENANT_ID, form)).status).toBe(200);
    expect((await tokenRequest(DEMO_CLINIC_TENANT_ID, form)).json.error).toBe('invalid_grant');
  });

  it('returns access_denied to the client when the user cancels', async () => {
    const meta = await discovery(DEMO_CLINIC_TENANT_ID);
    const driver = new BrowserDriver(idp.caCert);
    const page = await driver.follow(authorizeUrl(meta.authorization_endpoint, pkcePair().challenge));
    const cancel = /<form method="post" action="([^"]+\/cancel)">/.exec(page.res.body)?.[1] ?? '';
    const { url } = await driver.follow(new URL(cancel, page.url).href, { method: 'POST', form: {} });
    const landed = new URL(url);
    expect(landed.origin + landed.pathname).toBe(REDIRECT);
    expect(landed.searchParams.get('error')).toBe('access_denied');
    expect(landed.searchParams.get('code')).toBeNull();
  });

  it('refuses a login form naming an unknown user or a user of another tenant', async () => {
    const meta = await discovery(DEMO_CLINIC_TENANT_ID);
    for (const oid of ['0a1d0000-0000-4000-8000-00000000ffff', DEMO_STAFF_ADMIN.oid, 'not-a-uuid']) {
      const result = await new BrowserDriver(idp.caCert).signIn(authorizeUrl(meta.authorization_endpoint, pkcePair().challenge), oid);
      expect('refused' in result).toBe(true);
      if ('refused' in result) expect([400, 403]).toContain(result.refused.status);
    }
  });

  it('refuses a redirect URI that is not an http loopback URI', async () => {
    const meta = await discovery(DEMO_CLINIC_TENANT_ID);
    for (const redirect of ['https://evil.example/cb', 'http://192.168.1.5:8000/cb', 'http://localhost.evil.example/cb']) {
      const { res } = await new BrowserDriver(idp.caCert).follow(authorizeUrl(meta.authorization_endpoint, pkcePair().challenge, { redirect_uri: redirect }));
      expect(res.status).toBe(400);
      expect(res.body).toContain('redirect_uri');
    }
  });
});
