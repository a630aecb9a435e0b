import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserDriver, pkcePair } from './browser-driver';
import { startDevIdp, type DevIdp } from './dev-idp';
import { escapeHtml, renderLoginPage, renderOrganizationsLoginPage, renderProblemPage } from './login-page';
import { DEMO_CLIENT_ID, DEMO_CLINIC_TENANT_ID, DEMO_STAFF_ADMIN, DEMO_TENANTS } from './tenants';

const hostile = '<script>alert(1)</script>"\'&';

describe('login page rendering', () => {
  it('escapes every interpolated value', () => {
    const html = renderLoginPage({
      tenant: { id: DEMO_CLINIC_TENANT_ID, name: hostile, users: [{ oid: DEMO_STAFF_ADMIN.oid, name: hostile, email: 'a@b.test', label: hostile }] },
      clientId: DEMO_CLIENT_ID,
      actionPath: '/x/"><script>/login',
      cancelPath: '/x/cancel',
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain('action="/x/&#34;&#62;&#60;script&#62;/login"');
    expect(html).toContain(escapeHtml(hostile));
    expect(renderProblemPage(hostile)).not.toContain('<script>');
  });

  it('escapes every interpolated value of the organizations page too', () => {
    const html = renderOrganizationsLoginPage({
      tenants: [{ id: DEMO_CLINIC_TENANT_ID, name: hostile, users: [{ oid: DEMO_STAFF_ADMIN.oid, name: hostile, email: 'a@b.test', label: hostile }] }],
      clientId: DEMO_CLIENT_ID,
      actionPath: '/x/"><script>/login',
      cancelPath: '/x/cancel',
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain(`<h2>${escapeHtml(hostile)}</h2>`);
    expect(html).toContain('action="/x/&#34;&#62;&#60;script&#62;/login"');
  });

  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`<>&"'`)).toBe('&#60;&#62;&#38;&#34;&#39;');
  });
});

describe('login page served', () => {
  let idp: DevIdp;
  beforeAll(async () => {
    idp = await startDevIdp({ port: 0 });
  });
  afterAll(async () => {
    await idp.close();
  });

  async function openLoginPage() {
    const url = new URL(`${idp.issuer(DEMO_CLINIC_TENANT_ID)}/auth`);
    const params = { client_id: DEMO_CLIENT_ID, response_type: 'code', redirect_uri: 'http://127.0.0.1:5000/cb', scope: 'openid profile', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const driver = new BrowserDriver(idp.caCert);
    return { driver, ...(await driver.follow(url.href)) };
  }

  it('lists the tenant users only, says it is a dev provider, and sends a strict CSP', async () => {
    const { res } = await openLoginPage();
    expect(res.status).toBe(200);
    for (const user of DEMO_TENANTS[0]?.users ?? []) expect(res.body).toContain(user.email);
    expect(res.body).not.toContain(DEMO_STAFF_ADMIN.email);
    expect(res.body).toContain('no password is asked');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('script-src');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('refuses a login post without the interaction cookie', async () => {
    const { res, url } = await openLoginPage();
    const action = /action="([^"]+\/login)"/.exec(res.body)?.[1] ?? '';
    const stranger = new BrowserDriver(idp.caCert);
    const posted = await stranger.fetch(new URL(action, url).href, { method: 'POST', form: { oid: DEMO_TENANTS[0]?.users[0]?.oid ?? '' } });
    expect(posted.status).toBe(400);
    expect(posted.headers.location).toBeUndefined();
  });

  it('refuses an oversized login form and a GET on the login action', async () => {
    const { res, url, driver } = await openLoginPage();
    const action = new URL(/action="([^"]+\/login)"/.exec(res.body)?.[1] ?? '', url).href;
    expect((await driver.fetch(action)).status).toBe(405);
    const oversized = await driver.fetch(action, { method: 'POST', form: { oid: DEMO_TENANTS[0]?.users[0]?.oid ?? '', pad: 'x'.repeat(5000) } });
    expect(oversized.status).toBe(400);
    expect(oversized.headers.location).toBeUndefined();
  });
});
