import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchChromium, watchPageProblems } from '../testing/chromium';
import { httpsRequest, pkcePair } from './browser-driver';
import { startDevIdp, type DevIdp } from './dev-idp';
import { DEMO_CLIENT_ID, DEMO_CLINIC_TENANT_ID, DEMO_TENANTS } from './tenants';

/*
 * The login page in a real Chromium: its CSP lets the page render and the form post, and the
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

  it.each(['query', 'form_post'])('signs Theo Tech in by a click, with no page problems (response mode %s)', async (responseMode) => {
    const theo = DEMO_TENANTS[0]?.users.find((u) => u.label === 'tech');
    if (!theo) throw new Error('no demo tech');
    const loopback = await startLoopback();
    // The dev certificate is not in Chromium's store; e2e tests trust it the same way.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await context.newPage();
      const problems = watchPageProblems(page);
      const { verifier, challenge } = pkcePair();
      const authorize = new URL(`${idp.issuer(DEMO_CLINIC_TENANT_ID)}/auth`);
      const params = { client_id: DEMO_CLIENT_ID, response_type: 'code', response_mode: responseMode, redirect_uri: loopback.url, scope: `openid profile offline_access api://${DEMO_CLIENT_ID}/access_as_user`, code_challenge: challenge, code_challenge_method: 'S256', state: 's1' };
      for (const [k, v] of Object.entries(params)) authorize.searchParams.set(k, v);

      await page.goto(authorize.href);
      expect(await page.title()).toBe('Sign in to Demo Clinic');
      await page.getByRole('button', { name: /Theo Tech/ }).click();
      const got = await loopback.received;
      await page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/cb/);
      expect(got.get('state')).toBe('s1');

      const res = await httpsRequest(`${idp.issuer(DEMO_CLINIC_TENANT_ID)}/token`, {
        ca: idp.caCert,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: DEMO_CLIENT_ID, grant_type: 'authorization_code', code: got.get('code') ?? '', redirect_uri: loopback.url, code_verifier: verifier }).toString(),
      });
      const token = decodeJwt(String((JSON.parse(res.body) as { access_token: unknown }).access_token));
      expect(token).toMatchObject({ oid: theo.oid, tid: DEMO_CLINIC_TENANT_ID, scp: 'access_as_user' });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
      loopback.server.close();
    }
  });
});
