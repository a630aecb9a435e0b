import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserDriver, httpsRequest, pkcePair } from './browser-driver';
import { startDevIdp, type DevIdp } from './dev-idp';
import { DEMO_CLIENT_ID, DEMO_CLINIC_TENANT_ID, DEMO_MSP_TENANT_ID, DEMO_STAFF_ADMIN, DEMO_TENANTS } from './tenants';

/*
 * The organizations authority (organizations.ts): one authorize and token endpoint for the users
 * of every tenant, whose codes and tokens are nevertheless the tenant's own (issuer, `tid`, key,
 * store). By plain HTTPS requests; MSAL against it is in msal.test.ts.
 */

const REDIRECT = 'http://127.0.0.1:53124/callback';
const API_SCOPE = `api://${DEMO_CLIENT_ID}/access_as_user`;
const tessa = DEMO_TENANTS[0]?.users[0];

let idp: DevIdp;
beforeAll(async () => {
  idp = await startDevIdp({ port: 0 });
});
afterAll(async () => {
  await idp.close();
});

const orgs = () => idp.organizationsAuthority;

async function getJson(url: string) {
  const res = await httpsRequest(url, { ca: idp.caCert });
  return { status: res.status, json: JSON.parse(res.body) as Record<string, unknown> };
}

function authorizeUrl(challenge: string, extra: Record<string, string> = {}): string {
  const url = new URL(`${orgs()}/auth`);
  const params = { client_id: DEMO_CLIENT_ID, response_type: 'code', redirect_uri: REDIRECT, scope: `openid profile offline_access ${API_SCOPE}`, code_challenge: challenge, code_challenge_method: 'S256', state: 'st-o', nonce: 'n-o', ...extra };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

async function token(endpoint: string, form: Record<string, string>) {
  const res = await httpsRequest(endpoint, {
    ca: idp.caCert,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: DEMO_CLIENT_ID, ...form }).toString(),
  });
  return { status: res.status, json: JSON.parse(res.body) as Record<string, unknown> };
}

/** Signs `oid` in at the organizations authority; returns the code and its verifier. */
async function codeFor(oid: string) {
  const { verifier, challenge } = pkcePair();
  const result = await new BrowserDriver(idp.caCert).signIn(authorizeUrl(challenge), oid);
  if (!('redirect' in result)) throw new Error(`sign-in refused: ${result.refused.status} ${result.refused.body}`);
  expect(result.redirect.searchParams.get('state')).toBe('st-o');
  return { code: result.redirect.searchParams.get('code') ?? '', verifier, iss: result.redirect.searchParams.get('iss') };
}

async function verifyAt(tenantId: string, accessToken: string) {
  const { json } = await getJson(`${idp.issuer(tenantId)}/jwks`);
  return jwtVerify(accessToken, createLocalJWKSet(json as unknown as JSONWebKeySet), { issuer: idp.issuer(tenantId), audience: `api://${DEMO_CLIENT_ID}`, algorithms: ['RS256'] });
}

/** Opens the organizations page in a fresh browser; returns the browser and the page. */
async function openPage(extra: Record<string, string> = {}) {
  const browser = new BrowserDriver(idp.caCert);
  const page = await browser.follow(authorizeUrl(pkcePair().challenge, extra));
  const action = /action="([^"]+\/login)"/.exec(page.res.body)?.[1] ?? '';
  return { browser, page, action: new URL(action.replace(/&#(\d+);/g, (_m, c: string) => String.fromCharCode(Number(c))), page.url).href };
}

describe('the organizations authority', () => {
  it('publishes Entra\'s multi-tenant discovery document: the {tenantid} issuer template, its own endpoints, every tenant\'s keys', async () => {
    const { status, json } = await getJson(`${orgs()}/.well-known/openid-configuration`);
    expect(status).toBe(200);
    expect(orgs()).toBe(`${idp.url}/organizations/v2.0`);
    expect(json).toMatchObject({
      issuer: `${idp.url}/{tenantid}/v2.0`,
      authorization_endpoint: `${orgs()}/auth`,
      token_endpoint: `${orgs()}/token`,
      jwks_uri: `${orgs()}/jwks`,
      code_challenge_methods_supported: ['S256'],
    });
    const keys = (await getJson(`${orgs()}/jwks`)).json.keys as Record<string, unknown>[];
    for (const tenant of DEMO_TENANTS) {
      const own = (await getJson(`${idp.issuer(tenant.id)}/jwks`)).json.keys as Record<string, unknown>[];
      expect(keys).toContainEqual(expect.objectContaining({ kid: own[0]?.kid, n: own[0]?.n }));
    }
    for (const key of keys) expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  });

  it('lists the users of every tenant under the tenant\'s name, with the login page\'s headers', async () => {
    const { page } = await openPage();
    expect(page.res.status).toBe(200);
    expect(page.url).toMatch(/\/organizations\/v2\.0\/interaction\/[A-Za-z0-9_-]{32}$/);
    expect(page.res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.res.headers['x-frame-options']).toBe('DENY');
    for (const tenant of DEMO_TENANTS) {
      expect(page.res.body).toContain(`<h2>${tenant.name}</h2>`);
      for (const user of tenant.users) expect(page.res.body).toContain(`<input type="hidden" name="tid" value="${tenant.id}"><input type="hidden" name="oid" value="${user.oid}">`);
    }
  });

  it.each([
    ['a Demo Clinic user', DEMO_CLINIC_TENANT_ID, () => tessa?.oid ?? ''],
    ['the MSP staff user', DEMO_MSP_TENANT_ID, () => DEMO_STAFF_ADMIN.oid],
  ])('signs %s in with tokens of that tenant, redeemed and refreshed at the organizations token endpoint', async (_who, tenantId, oidOf) => {
    const oid = oidOf();
    const { code, verifier, iss } = await codeFor(oid);
    expect(iss).toBe(idp.issuer(tenantId));
    const first = await token(`${orgs()}/token`, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    const { payload } = await verifyAt(tenantId, String(first.json.access_token));
    expect(payload).toMatchObject({ tid: tenantId, oid, scp: 'access_as_user' });
    expect(decodeJwt(String(first.json.id_token))).toMatchObject({ iss: idp.issuer(tenantId), tid: tenantId, oid, aud: DEMO_CLIENT_ID, nonce: 'n-o' });

    const renewed = await token(`${orgs()}/token`, { grant_type: 'refresh_token', refresh_token: String(first.json.refresh_token) });
    expect(renewed.status, JSON.stringify(renewed.json)).toBe(200);
    expect((await verifyAt(tenantId, String(renewed.json.access_token))).payload).toMatchObject({ tid: tenantId, oid });
    // Rotated: the old refresh token is refused there too (and revokes the grant, as at the tenant).
    expect((await token(`${orgs()}/token`, { grant_type: 'refresh_token', refresh_token: String(first.json.refresh_token) })).json.error).toBe('invalid_grant');
  });

  it('refuses a code of one tenant at another tenant\'s token endpoint; the issuing tenant (and organizations) still take it', async () => {
    const { code, verifier } = await codeFor(DEMO_STAFF_ADMIN.oid);
    const form = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier };
    const wrong = await token(`${idp.issuer(DEMO_CLINIC_TENANT_ID)}/token`, form);
    expect(wrong).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
    const right = await token(`${orgs()}/token`, form);
    expect(right.status).toBe(200);
    expect(decodeJwt(String(right.json.access_token))).toMatchObject({ tid: DEMO_MSP_TENANT_ID, iss: idp.issuer(DEMO_MSP_TENANT_ID) });
    // Used once: refused the second time, wherever it is presented.
    expect((await token(`${orgs()}/token`, form)).json.error).toBe('invalid_grant');
    expect((await token(`${idp.issuer(DEMO_MSP_TENANT_ID)}/token`, form)).json.error).toBe('invalid_grant');
  });

  it('answers unknown codes and refresh tokens, other grants and other bodies with OAuth errors', async () => {
    const endpoint = `${orgs()}/token`;
    expect(await token(endpoint, { grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: REDIRECT, code_verifier: pkcePair().verifier })).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
    expect(await token(endpoint, { grant_type: 'authorization_code', redirect_uri: REDIRECT })).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
    expect(await token(endpoint, { grant_type: 'refresh_token', refresh_token: 'nope' })).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
    expect(await token(endpoint, { grant_type: 'client_credentials' })).toMatchObject({ status: 400, json: { error: 'unsupported_grant_type' } });
    const asJson = await httpsRequest(endpoint, { ca: idp.caCert, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"refresh_token"}' });
    expect(asJson.status).toBe(400);
    expect(JSON.parse(asJson.body)).toMatchObject({ error: 'invalid_request' });
    expect((await httpsRequest(endpoint, { ca: idp.caCert })).status).toBe(405);
    expect((await httpsRequest(`${orgs()}/nothing`, { ca: idp.caCert })).status).toBe(404);
  });

  it('refuses an unknown user, a user under another tenant, a form without its cookie, and a page used twice; nothing is issued', async () => {
    for (const fields of [
      { tid: DEMO_CLINIC_TENANT_ID, oid: '0a1d0000-0000-4000-8000-000000000999' },
      { tid: '00000000-0000-4000-8000-000000000000', oid: DEMO_STAFF_ADMIN.oid },
      { tid: DEMO_CLINIC_TENANT_ID, oid: DEMO_STAFF_ADMIN.oid },
      { tid: 'not-a-guid', oid: DEMO_STAFF_ADMIN.oid },
    ]) {
      const { browser, action } = await openPage();
      const res = await browser.fetch(action, { method: 'POST', form: fields });
      expect(res.status, JSON.stringify(fields)).toBe(fields.tid === 'not-a-guid' ? 400 : 403);
      expect(res.headers.location).toBeUndefined();
      // The page still works after a refusal.
      const ok = await browser.follow(action, { method: 'POST', form: { tid: DEMO_MSP_TENANT_ID, oid: DEMO_STAFF_ADMIN.oid } });
      expect(ok.url.startsWith(REDIRECT)).toBe(true);
    }

    const { action } = await openPage();
    const stranger = await new BrowserDriver(idp.caCert).fetch(action, { method: 'POST', form: { tid: DEMO_MSP_TENANT_ID, oid: DEMO_STAFF_ADMIN.oid } });
    expect(stranger.status).toBe(400);
    expect(stranger.body).toContain('expired or was started elsewhere');

    const used = await openPage();
    const done = await used.browser.follow(used.action, { method: 'POST', form: { tid: DEMO_MSP_TENANT_ID, oid: DEMO_STAFF_ADMIN.oid } });
    expect(done.url.startsWith(REDIRECT)).toBe(true);
    const again = await used.browser.fetch(used.action, { method: 'POST', form: { tid: DEMO_MSP_TENANT_ID, oid: DEMO_STAFF_ADMIN.oid } });
    expect(again.status).toBe(400);
  });

  it('refuses another application or a non-loopback redirect URI before showing the page', async () => {
    const requests: Record<string, string>[] = [{ client_id: '00000000-0000-4000-8000-000000000000' }, { redirect_uri: 'https://evil.test/cb' }];
    for (const extra of requests) {
      const res = await new BrowserDriver(idp.caCert).fetch(authorizeUrl(pkcePair().challenge, extra));
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(res.headers.location).toBeUndefined();
    }
  });

  it('hands the pick on with a single-use ticket that only the picked user\'s tenant honours', async () => {
    const { browser, action } = await openPage();
    const res = await browser.fetch(action, { method: 'POST', form: { tid: DEMO_CLINIC_TENANT_ID, oid: tessa?.oid ?? '' } });
    expect(res.status).toBe(303);
    const onward = new URL(String(res.headers.location), idp.url);
    expect(onward.pathname).toBe(`/${DEMO_CLINIC_TENANT_ID}/v2.0/auth`);
    expect(onward.searchParams.get('dev_pick')).toMatch(/^[A-Za-z0-9_-]{32}$/);

    // The ticket presented at the other tenant: that tenant shows its own page, signs nobody in, and the ticket is spent.
    const elsewhere = new URL(onward.href);
    elsewhere.pathname = `/${DEMO_MSP_TENANT_ID}/v2.0/auth`;
    const other = await new BrowserDriver(idp.caCert).follow(elsewhere.href);
    expect(other.res.status).toBe(200);
    expect(other.res.body).toContain('<h1>Sign in to Demo MSP</h1>');

    const replayed = await browser.follow(onward.href);
    expect(replayed.res.status).toBe(200);
    expect(replayed.res.body).toContain('<h1>Sign in to Demo Clinic</h1>');

    const forged = new URL(onward.href);
    forged.searchParams.set('dev_pick', 'A'.repeat(32));
    const guessed = await new BrowserDriver(idp.caCert).follow(forged.href);
    expect(guessed.res.body).toContain('<h1>Sign in to Demo Clinic</h1>');
  });

  it('cancel returns access_denied with the state to the application', async () => {
    const { browser, page } = await openPage();
    const cancel = /action="([^"]+\/cancel)"/.exec(page.res.body)?.[1] ?? '';
    const done = await browser.follow(new URL(cancel, page.url).href, { method: 'POST', form: {} });
    const back = new URL(done.url);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('state')).toBe('st-o');
    expect(back.searchParams.get('code')).toBeNull();
  });
});
