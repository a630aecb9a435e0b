import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchChromium, watchPageProblems } from '../testing/chromium';
import { httpsRequest, pkcePair } from './browser-driver';
import { startDevIdp, type DevIdp } from './dev-idp';
import { DEMO_CLIENT_ID, DEMO_CLINIC_TENANT_ID, DEMO_MSP_TENANT_ID, DEMO_STAFF_ADMIN, DEMO_TENANTS } from './tenants';

/*
 * The login pages (a tenant's, and the organizations page of every tenant) in a real Chromium:
 * their CSP lets the page render and the form post, and the
 * redirect chain (query) or the self-submitting form (form_post, what MSAL asks) reaches the
 * console's loopback listener with a code that redeems for the chosen user's token.
 */

const skip = existsSync(chromiumPath) ? undefined : `no Chromium at ${chromiumPath}`;

/** The console's loopback listener: records what reaches it, by GET query or POSTed form. */
function startLoopback(): Promise<{ server: Server; url: string; received: Promise<URLSearchParams> }> {
  let deliver: (params: URLSearchParams) => void = () => undefined;
  const received = new Promise<URLSearchParams>((resolve) => (deliver = resolve));
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const query = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams;
      deliver(req.method === 'POST' ? new URLSearchParams(body) : query);
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>done</title><p>signed in</p>');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`, received })));
}

describe.skipIf(skip !== undefined)('dev provider login page in Chromium', () => {
  let idp: DevIdp;
  let browser: Browser;
  beforeAll(async () => {
    idp = await startDevIdp({ port: 0 });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await idp.close();
  });

  const theo = DEMO_TENANTS[0]?.users.find((u) => u.label === 'tech');
  const cases = [
    { authority: 'tenant', responseMode: 'query', user: theo, tenantId: DEMO_CLINIC_TENANT_ID, title: 'Sign in to Demo Clinic' },
    { authority: 'tenant', responseMode: 'form_post', user: theo, tenantId: DEMO_CLINIC_TENANT_ID, title: 'Sign in to Demo Clinic' },
    // The organizations page lists every tenant's users; the click continues at the user's tenant.
    { authority: 'organizations', responseMode: 'query', user: theo, tenantId: DEMO_CLINIC_TENANT_ID, title: 'Sign in' },
    { authority: 'organizations', responseMode: 'form_post', user: DEMO_STAFF_ADMIN, tenantId: DEMO_MSP_TENANT_ID, title: 'Sign in' },
  ] as const;

  it.each(cases)('signs $user.name in by a click at the $authority authority, with no page problems (response mode $responseMode)', async ({ authority, responseMode, user, tenantId, title }) => {
    if (!user) throw new Error('no demo user');
    const loopback = await startLoopback();
    // The dev certificate is not in Chromium's store; e2e tests trust it the same way.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await context.newPage();
      const problems = watchPageProblems(page);
      const { verifier, challenge } = pkcePair();
      const base = authority === 'tenant' ? idp.issuer(tenantId) : idp.organizationsAuthority;
      const authorize = new URL(`${base}/auth`);
      const params = { client_id: DEMO_CLIENT_ID, response_type: 'code', response_mode: responseMode, redirect_uri: loopback.url, scope: `openid profile offline_access api://${DEMO_CLIENT_ID}/access_as_user`, code_challenge: challenge, code_challenge_method: 'S256', state: 's1' };
      for (const [k, v] of Object.entries(params)) authorize.searchParams.set(k, v);

      await page.goto(authorize.href);
      expect(await page.title()).toBe(title);
      await page.getByRole('button', { name: new RegExp(user.name) }).click();
      const got = await loopback.received;
      await page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/cb/);
      expect(got.get('state')).toBe('s1');

      const res = await httpsRequest(`${base}/token`, {
        ca: idp.caCert,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: DEMO_CLIENT_ID, grant_type: 'authorization_code', code: got.get('code') ?? '', redirect_uri: loopback.url, code_verifier: verifier }).toString(),
      });
      const token = decodeJwt(String((JSON.parse(res.body) as { access_token: unknown }).access_token));
      expect(token).toMatchObject({ oid: user.oid, tid: tenantId, iss: idp.issuer(tenantId), scp: 'access_as_user' });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
      loopback.server.close();
    }
  });
});
