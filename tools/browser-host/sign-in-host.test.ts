import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { AuthState } from '../../protocol/ipc-contract';
import { memorySecretStore } from '../../main/secret-store';
import { getTestServer, type TestServer } from '../../server/test-support';
import { BrowserDriver } from '../idp/browser-driver';
import { startDevIdp, type DevIdp } from '../idp/dev-idp';
import { DEMO_CLIENT_ID, DEMO_CLINIC_TENANT_ID, DEMO_TENANTS } from '../idp/tenants';
import { runBrowserHost, type RunningBrowserHost } from './cli';

/*
 * The browser host in Azure AD sign-in mode as `runBrowserHost(env, options)` starts it (what
 * `npm start` and the Chromium e2e use): RMM_SIGN_IN_* from the environment, the real MSAL
 * against the dev provider, a real server. Over the page's own bridge: signed out at first and
 * nothing but the sign-in channels answer; `auth.signIn` publishes the provider's page in
 * `auth.state.signInUrl` (the page opens it in a new tab; here BrowserDriver plays that tab and
 * posts the answer to MSAL's loopback listener), then the console is signed in as that user;
 * sign-out ends it.
 */

const tessa = DEMO_TENANTS[0]?.users.find((u) => u.label === 'tenant_admin');

describe('browser host in sign-in mode', () => {
  let idp: DevIdp;
  let t: TestServer;
  let dir: string;
  let orgId: string;
  let host: RunningBrowserHost;
  let cookie = '';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-host-sign-in-'));
    idp = await startDevIdp({ port: 0, dataDir: path.join(dir, 'idp') });
    t = await getTestServer('pglite', { authAuthorityBase: idp.url, authAudience: `api://${DEMO_CLIENT_ID}`, authCaFile: idp.caCertFile });
    orgId = (await t.buildOrg('Demo Clinic (browser host)')).id;
    const registered = await t.request(`/api/orgs/${orgId}/identity`, {
      method: 'PUT',
      body: { azureTenantId: DEMO_CLINIC_TENANT_ID, defaultRole: 'viewer', sessionIdleMinutes: 15, sessionAbsoluteMinutes: 480 },
      headers: { 'x-step-up': await t.stepUp(t.token, 'org.security_settings') },
    });
    expect(registered.status, registered.text).toBe(200);
    const rendererDir = path.join(dir, 'renderer');
    mkdirRenderer(rendererDir);
    const caFile = path.join(dir, 'server-ca.pem');
    writeFileSync(caFile, t.ca);
    host = await runBrowserHost(
      {
        RMM_SERVER_URL: t.server.url,
        RMM_CA_FILE: caFile,
        RMM_SIGN_IN_AUTHORITY: idp.issuer(DEMO_CLINIC_TENANT_ID),
        RMM_SIGN_IN_CLIENT_ID: DEMO_CLIENT_ID,
        RMM_SIGN_IN_CA_FILE: idp.caCertFile,
      },
      { secrets: memorySecretStore(), cacheFile: path.join(dir, 'msal-cache.bin'), rendererDir, exportDir: path.join(dir, 'exports'), log: () => undefined },
    );
    cookie = await exchangeToken(host.url);
  });

  afterAll(async () => {
    await host?.stop();
    await t?.close();
    await idp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts signed out, signs in through the provider page it publishes, and signs out', async () => {
    if (!tessa) throw new Error('no demo tenant admin');
    const bridge = await openBridge(host.origin, cookie);
    try {
      expect(await bridge.invoke('auth.state', {})).toMatchObject({ ok: true, value: { mode: 'sign-in', state: 'signed-out', session: null } });
      expect(await bridge.invoke('orgs.list', {})).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
      expect(await bridge.invoke('app.info', {})).toMatchObject({ ok: true, value: { host: 'browser-host' } });

      const signingIn = bridge.invoke('auth.signIn', {});
      await vi.waitFor(() => expect(bridge.states.find((s) => s.state === 'signing-in' && s.signInUrl)).toBeDefined(), { timeout: 10_000 });
      const url = bridge.states.find((s) => s.signInUrl)?.signInUrl ?? '';
      expect(url.startsWith(`${idp.issuer(DEMO_CLINIC_TENANT_ID)}/`)).toBe(true);

      // The new tab: the provider's page, the user's row, the form post to MSAL's loopback listener.
      const signedIn = await new BrowserDriver(idp.caCert).signIn(url, tessa.oid);
      if (!('redirect' in signedIn)) throw new Error(`provider refused: ${signedIn.refused.status}`);
      const target = new URL(`${signedIn.redirect.origin}${signedIn.redirect.pathname}`);
      target.hostname = '127.0.0.1';
      void fetch(target, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: signedIn.redirect.searchParams.toString() }).then((r) => r.text(), () => undefined);

      expect(await signingIn).toMatchObject({ ok: true, value: { state: 'signed-in', account: { name: tessa.name }, session: { orgId, idleMinutes: 15 }, signInUrl: null } });
      expect(await bridge.invoke('me.get', {})).toMatchObject({ ok: true, value: { user: { displayName: 'Tessa Admin', orgId } } });
      await vi.waitFor(() => expect(host.services.feed.state().state).toBe('online'));
      // The session token never reaches the page.
      expect(JSON.stringify(bridge.frames)).not.toMatch(/rmm_ses_/);

      expect(await bridge.invoke('auth.signOut', {})).toMatchObject({ ok: true, value: { state: 'signed-out', account: null } });
      expect(await bridge.invoke('orgs.list', {})).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    } finally {
      bridge.close();
    }
  });
});

/** A renderer is not needed for the bridge; the host only wants a folder with a page. */
function mkdirRenderer(rendererDir: string): void {
  mkdirSync(rendererDir, { recursive: true });
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><html><head><title>t</title></head><body></body></html>');
}

/** The one-time link, as the browser follows it: answers the session cookie. */
function exchangeToken(url: string): Promise<string> {
  const parsed = new URL(url);
  return new Promise((resolve, reject) => {
    http
      .get({ host: parsed.hostname, port: parsed.port, path: `${parsed.pathname}${parsed.search}`, headers: { host: parsed.host } }, (res) => {
        res.resume();
        resolve((res.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '');
      })
      .on('error', reject);
  });
}

interface Bridge {
  invoke(channel: string, request: unknown): Promise<unknown>;
  states: AuthState[];
  frames: unknown[];
  close(): void;
}

async function openBridge(origin: string, cookie: string): Promise<Bridge> {
  const ws = new WebSocket(`${origin.replace('http', 'ws')}/bridge`, { headers: { origin, cookie } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const pending = new Map<number, (result: unknown) => void>();
  const states: AuthState[] = [];
  const frames: unknown[] = [];
  let nextId = 1;
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { id?: number; result?: unknown; event?: string; payload?: unknown };
    frames.push(frame);
    if (typeof frame.id === 'number') pending.get(frame.id)?.(frame.result);
    if (frame.event === 'auth.state') states.push(frame.payload as AuthState);
  });
  return {
    invoke(channel, request) {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, channel, request }));
      });
    },
    states,
    frames,
    close: () => ws.close(),
  };
}
