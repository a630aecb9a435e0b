import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { IpcEventEnvelope } from '../protocol/ipc-contract';
import { createConsoleServices, type ConsoleServices } from './console-services';
import { staticBearerToken } from './credentials';
import { dispatchIpc } from './ipc-dispatch';
import { createStepUpStore } from './step-up-store';
import * as fixtures from './test-support/console-fixtures';
import { OPERATOR_TOKEN, startFakeRmmServer, type FakeRmmServer } from './test-support/fake-rmm-server';
import { manualClock } from './test-support/manual-clock';

/*
 * Step-up proofs in main: `mfa.stepUp` keeps the proof and tells the renderer only the action
 * and expiry; the channel of that action sends it once as X-Step-Up; it is never sent with
 * another action's call, never twice, never after it expired, and never crosses IPC.
 */

const MINUTE = 60_000;
const STAFF_SESSION = randomUUID();
const MEMBER = randomUUID();
const issued: string[] = [];
let server: FakeRmmServer;
let dir: string;
const running: ConsoleServices[] = [];

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>));
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Like the server: a route with `stepUp` refuses without a proof, and a proof is good once for its action. */
function needsProof(action: string, answer: (res: ServerResponse) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const proof = req.headers['x-step-up'];
    if (typeof proof !== 'string') return json(res, 403, { error: { code: 'step_up_required', message: `Confirm with your second factor (${action})` } });
    if (!proof.startsWith(`proof:${action}:`) || !issued.includes(proof)) return json(res, 403, { error: { code: 'step_up_invalid', message: 'That confirmation is not valid' } });
    issued.splice(issued.indexOf(proof), 1);
    answer(res);
  };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-step-up-'));
  server = await startFakeRmmServer({
    '/api/me/mfa/step-up': (req, res) =>
      void readJson(req).then((body) => {
        if (body.code === '000000') return json(res, 403, { error: { code: 'mfa_code_invalid', message: 'Wrong code' } });
        const proof = `proof:${String(body.action)}:${randomUUID()}`;
        issued.push(proof);
        json(res, 200, { action: body.action, proof, expiresAt: new Date(Date.now() + 5 * MINUTE).toISOString() });
      }),
    [`/api/staff/sessions/${STAFF_SESSION}/revoke`]: needsProof('sessions.revoke_other', (res) => json(res, 200, { id: STAFF_SESSION, endedAt: new Date().toISOString() })),
    '/api/me/mfa/backup-codes': needsProof('mfa.backup_codes', (res) => json(res, 200, { backupCodes: Array.from({ length: 10 }, (_, i) => `AAAAA-BBBB${i}`) })),
    [`/api/orgs/${fixtures.ORG_ID}/users/${MEMBER}/mfa/reset`]: needsProof('mfa.reset', (res) => json(res, 200, { userId: MEMBER, hadMfa: true })),
    [`/api/orgs/${fixtures.ORG_ID}/audit/export?format=jsonl`]: needsProof('audit.export', (res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-audit-entries': '1' });
      res.end('{"seq":1}\n');
    }),
  });
});

afterAll(async () => {
  await Promise.all(running.map((services) => services.stop()));
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function consoleServices(options: { clock?: ReturnType<typeof manualClock> } = {}) {
  const services = createConsoleServices({
    serverUrl: server.url,
    trust: { kind: 'fingerprint', sha256: server.fingerprint },
    credentials: staticBearerToken(OPERATOR_TOKEN),
    host: 'browser-host',
    exports: { directory: path.join(dir, randomUUID()), progressIntervalMs: 0 },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  running.push(services);
  const events: IpcEventEnvelope[] = [];
  services.events.subscribe((envelope) => events.push(envelope));
  return { services, events, call: (channel: Parameters<typeof dispatchIpc>[1], request: unknown) => dispatchIpc(services.handlers, channel, request) };
}

const sentWith = (pathname: string) => server.requests.filter((r) => r.path === pathname).map((r) => r.stepUp ?? null);

describe('step-up proofs over the handler map', () => {
  it('keeps the proof in main and sends it once with its own action’s call', async () => {
    const { call, events } = consoleServices();
    const revoke = `/api/staff/sessions/${STAFF_SESSION}/revoke`;
    const before = sentWith(revoke).length;

    expect(await call('sessions.staffRevoke', { sessionId: STAFF_SESSION, reason: 'Offboarded' })).toMatchObject({ ok: false, error: { code: 'step_up_required' } });
    const granted = await call('mfa.stepUp', { action: 'sessions.revoke_other', code: '123456' });
    expect(granted).toEqual({ ok: true, value: { action: 'sessions.revoke_other', expiresAt: expect.any(String) } });
    const proof = issued.find((p) => p.startsWith('proof:sessions.revoke_other:')) ?? '';
    expect(JSON.stringify(granted)).not.toContain(proof);

    expect(await call('sessions.staffRevoke', { sessionId: STAFF_SESSION, reason: 'Offboarded' })).toMatchObject({ ok: true, value: { id: STAFF_SESSION } });
    // Single use: the retry carries nothing and is refused again.
    expect(await call('sessions.staffRevoke', { sessionId: STAFF_SESSION, reason: 'Offboarded' })).toMatchObject({ ok: false, error: { code: 'step_up_required' } });
    expect(sentWith(revoke).slice(before)).toEqual([null, proof, null]);
    expect(JSON.stringify(events)).not.toContain('proof:');
  });

  it('never sends a proof with another action’s call', async () => {
    const { call, services } = consoleServices();
    await call('mfa.stepUp', { action: 'mfa.reset', code: '123456' });
    const before = server.requests.length;
    expect(await call('mfa.regenerateBackupCodes', {})).toMatchObject({ ok: false, error: { code: 'step_up_required' } });
    expect(await call('audit.export', { orgId: fixtures.ORG_ID, format: 'jsonl' })).toMatchObject({ ok: false, error: { code: 'step_up_required' } });
    expect(server.requests.slice(before).map((r) => r.stepUp ?? null)).toEqual([null, null]);
    // Still held for its own action.
    expect(services.stepUps.held()).toEqual(['mfa.reset']);
    expect(await call('mfa.reset', { orgId: fixtures.ORG_ID, userId: MEMBER })).toEqual({ ok: true, value: { userId: MEMBER, hadMfa: true } });
    expect(services.stepUps.held()).toEqual([]);
  });

  it('drops an expired proof instead of sending it', async () => {
    const clock = manualClock(new Date());
    const { call, services } = consoleServices({ clock });
    await call('mfa.stepUp', { action: 'mfa.backup_codes', backupCode: 'ABCDE-FGHJK' });
    expect(services.stepUps.held()).toEqual(['mfa.backup_codes']);
    clock.advance(5 * MINUTE + 1_000);
    const before = server.requests.length;
    expect(await call('mfa.regenerateBackupCodes', {})).toMatchObject({ ok: false, error: { code: 'step_up_required' } });
    expect(server.requests.slice(before).map((r) => r.stepUp ?? null)).toEqual([null]);
  });

  it('an export asks for step-up in place (no file, no progress), then runs with the proof', async () => {
    const { call, events } = consoleServices();
    const refused = await call('audit.export', { orgId: fixtures.ORG_ID, format: 'jsonl' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'step_up_required' } });
    expect(events.filter((e) => e.event === 'audit.exportProgress')).toEqual([]);

    await call('mfa.stepUp', { action: 'audit.export', code: '123456' });
    const started = await call('audit.export', { orgId: fixtures.ORG_ID, format: 'jsonl' });
    if (!started.ok) throw new Error(started.error.message);
    const { file } = started.value as { file: string };
    await vi.waitFor(() => expect(events.find((e) => e.event === 'audit.exportProgress' && e.payload.state === 'done')).toBeDefined());
    expect(existsSync(file)).toBe(true);
    expect(readdirSync(path.dirname(file))).toEqual([path.basename(file)]);
    expect(JSON.stringify(events)).not.toContain('proof:');
  });

  it('refuses to send a proof that could split the header', async () => {
    const { call, services } = consoleServices();
    services.stepUps.keep({ action: 'mfa.reset', proof: 'abc\r\nX-Evil: 1', expiresAt: new Date(Date.now() + MINUTE).toISOString() });
    const before = server.requests.length;
    expect(await call('mfa.reset', { orgId: fixtures.ORG_ID, userId: MEMBER })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(server.requests.length).toBe(before);
  });

  it('a wrong code keeps nothing', async () => {
    const { call, services } = consoleServices();
    expect(await call('mfa.stepUp', { action: 'grants.change', code: '000000' })).toMatchObject({ ok: false, error: { code: 'mfa_code_invalid' } });
    expect(services.stepUps.held()).toEqual([]);
    expect(await call('mfa.stepUp', { action: 'grants.change' })).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    expect(await call('mfa.stepUp', { action: 'grants.change', code: '123456', backupCode: 'ABCDE-FGHJK' })).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
  });
});

describe('step-up store', () => {
  it('takes a proof once, replaces an older one for the same action, forgets all on clear', () => {
    let now = new Date('2025-03-01T09:00:00Z');
    const store = createStepUpStore({ now: () => now });
    const at = (minutes: number) => new Date(now.getTime() + minutes * MINUTE).toISOString();
    store.keep({ action: 'grants.change', proof: 'a', expiresAt: at(5) });
    store.keep({ action: 'grants.change', proof: 'b', expiresAt: at(5) });
    expect(store.forChannel('grants.create')).toEqual({ stepUp: 'b' });
    expect(store.forChannel('grants.revoke')).toEqual({});
    store.keep({ action: 'audit.export', proof: 'c', expiresAt: at(5) });
    store.keep({ action: 'org.security_settings', proof: 'd', expiresAt: at(1) });
    now = new Date(now.getTime() + MINUTE);
    expect(store.held()).toEqual(['audit.export']);
    expect(store.take('org.security_settings')).toBeUndefined();
    store.clear();
    expect(store.take('audit.export')).toBeUndefined();
  });
});
