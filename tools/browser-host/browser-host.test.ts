import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { IpcHandlerMap } from '../../protocol/ipc-contract';
import { CONTENT_SECURITY_POLICY } from '../../main/content-security-policy';
import { createEventHub } from '../../main/handlers';
import * as fixtures from '../../main/test-support/console-fixtures';
import { fixtureAgentHandlers } from '../../main/test-support/handler-map';
import { injectBridge, resolveStatic, startBrowserHost, type BrowserHost } from './index';

const handlers: IpcHandlerMap = fixtureAgentHandlers('browser-host');

let dir: string;
let host: BrowserHost;
const hub = createEventHub();
let cookie = '';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(pathAndQuery: string, headers: Record<string, string> = {}): Promise<Answer> {
  const { port } = new URL(host.origin);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: pathAndQuery, method: 'GET', headers: { host: `127.0.0.1:${port}`, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function openBridge(headers: Record<string, string>): Promise<WebSocket> {
  const ws = new WebSocket(`${host.origin.replace('http', 'ws')}/bridge`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function nextFrame(ws: WebSocket): Promise<unknown> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(data.toString()))));
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rmm-renderer-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><html><head><title>t</title></head><body></body></html>');
  writeFileSync(path.join(dir, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(path.join(dir, 'notice.html'), '<!doctype html><html><head><title>n</title></head><body></body></html>');
  host = await startBrowserHost({ handlers, events: hub, rendererDir: dir });
});

afterAll(async () => {
  await host.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('browser host access', () => {
  it('listens on loopback and prints a one-time token URL', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
  });

  it('refuses everything without the session cookie', async () => {
    expect((await get('/')).status).toBe(401);
    expect((await get('/assets/app.js')).status).toBe(401);
    expect((await get('/bridge.js')).status).toBe(401);
  });

  it('exchanges the token once for an HttpOnly SameSite=Strict cookie, and refuses a second use', async () => {
    const token = new URL(host.url).search;
    expect((await get(`/${token.replace('token=', 'token=x')}`)).status).toBe(403);

    const first = await get(`/${token}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    const setCookie = first.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    cookie = setCookie.split(';')[0] ?? '';

    const second = await get(`/${token}`);
    expect(second.status).toBe(403);
    expect(second.headers['set-cookie']).toBeUndefined();
  });

  it('serves the renderer with the CSP and the bridge script injected', async () => {
    const page = await get('/', { cookie });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).toContain('<script src="./bridge.js"></script>');
    expect((await get('/bridge.js', { cookie })).body).toContain("Object.defineProperty(window, 'rmm'");
    expect((await get('/assets/app.js', { cookie })).status).toBe(200);
  });

  it('serves the session-ended notice page with the same headers and no bridge', async () => {
    const ended = Buffer.from(JSON.stringify({ kind: 'revoked', reason: 'Lost laptop', by: null, at: new Date().toISOString() })).toString('base64url');
    const page = await get(`/notice.html?ended=${ended}`, { cookie });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.body).not.toContain('bridge.js');
    expect((await get(`/notice.html?ended=${ended}`)).status).toBe(401);
  });

  it('refuses a wrong cookie, another Host header and paths outside the renderer', async () => {
    expect((await get('/', { cookie: 'rmm_host_session=guess' })).status).toBe(401);
    expect((await get('/', { cookie, host: 'localhost' })).status).toBe(421);
    expect((await get('/', { cookie, host: 'rebind.evil.example' })).status).toBe(421);
    expect((await get('/%2e%2e/%2e%2e/etc/passwd', { cookie })).status).toBe(404);
    expect(resolveStatic('/srv/r', '/../../etc/passwd')).toBe('/srv/r/etc/passwd');
    expect(resolveStatic('/srv/r', '/%2e%2e%2fx')).toBe(path.join('/srv/r', 'x'));
  });
});

describe('browser host bridge', () => {
  it('refuses the upgrade without the cookie or with a foreign Origin', async () => {
    await expect(openBridge({ origin: host.origin })).rejects.toThrow(/403/);
    await expect(openBridge({ origin: 'http://evil.example', cookie })).rejects.toThrow(/403/);
    await expect(openBridge({ cookie })).rejects.toThrow(/403/);
  });

  it('carries contract calls, errors and pushed events, and nothing else', async () => {
    const ws = await openBridge({ origin: host.origin, cookie });

    ws.send(JSON.stringify({ id: 1, channel: 'orgs.list', request: {} }));
    expect(await nextFrame(ws)).toEqual({ id: 1, result: { ok: true, value: { orgs: fixtures.orgs } } });

    ws.send(JSON.stringify({ id: 2, channel: 'shell.exec', request: { cmd: 'id' } }));
    expect(await nextFrame(ws)).toMatchObject({ id: 2, result: { ok: false, error: { code: 'unknown_channel' } } });

    ws.send(JSON.stringify({ id: 3, channel: 'constructor', request: {} }));
    expect(await nextFrame(ws)).toMatchObject({ id: 3, result: { ok: false, error: { code: 'unknown_channel' } } });

    ws.send(JSON.stringify({ id: 4, channel: 'agents.get', request: { orgId: 'x' } }));
    expect(await nextFrame(ws)).toMatchObject({ id: 4, result: { ok: false, error: { code: 'validation_failed' } } });

    const pushed = nextFrame(ws);
    hub.emit('agent.status', { agent: { ...fixtures.agentA, online: false } });
    expect(await pushed).toEqual({ event: 'agent.status', payload: { agent: { ...fixtures.agentA, online: false } } });

    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send('not json');
    expect(await closed).toBe(1008);
  });
});

describe('bridge injection', () => {
  it('puts the bridge before the end of head so it runs before the module script', () => {
    expect(injectBridge('<html><head><script type="module" src="./a.js"></script></head></html>')).toBe(
      '<html><head><script type="module" src="./a.js"></script>  <script src="./bridge.js"></script>\n  </head></html>',
    );
  });
});
