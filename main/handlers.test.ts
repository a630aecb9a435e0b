import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generate } from 'selfsigned';
import type { IpcEventEnvelope } from '../protocol/ipc-contract';
import type { FeedEvent } from './console-feed';
import { createConsoleServices, type ConsoleServices } from './console-services';
import { staticBearerToken } from './credentials';
import { dispatchIpc } from './ipc-dispatch';
import * as fixtures from './test-support/console-fixtures';
import { OPERATOR_TOKEN, startFakeRmmServer, type FakeRmmServer } from './test-support/fake-rmm-server';
import type { ServerTrust } from './server-trust';

let server: FakeRmmServer;
const running: ConsoleServices[] = [];

beforeAll(async () => {
  server = await startFakeRmmServer();
});

afterAll(async () => {
  await Promise.all(running.map((services) => services.stop()));
  await server.close();
});

function services(trust: ServerTrust, token = OPERATOR_TOKEN, url = server.url): ConsoleServices {
  const created = createConsoleServices({
    serverUrl: url,
    trust,
    credentials: staticBearerToken(token),
    host: 'browser-host',
    feed: { backoff: { initialMs: 20, maxMs: 100 }, pingIntervalMs: 60_000 },
  });
  running.push(created);
  return created;
}

const pinned = (): ServerTrust => ({ kind: 'fingerprint', sha256: server.fingerprint });

describe('handler map against the server over pinned HTTPS', () => {
  it('lists orgs, units and agents and reads one agent, presenting the operator token', async () => {
    const { handlers } = services(pinned());
    const before = server.requests.length;

    expect(await dispatchIpc(handlers, 'orgs.list', {})).toEqual({ ok: true, value: { orgs: fixtures.orgs } });
    expect(await dispatchIpc(handlers, 'units.list', { orgId: fixtures.ORG_ID })).toEqual({
      ok: true,
      value: { units: fixtures.units },
    });
    expect(await dispatchIpc(handlers, 'agents.list', { orgId: fixtures.ORG_ID })).toEqual({
      ok: true,
      value: { agents: fixtures.agents },
    });
    expect(
      await dispatchIpc(handlers, 'agents.get', { orgId: fixtures.ORG_ID, agentId: fixtures.AGENT_A_ID }),
    ).toEqual({ ok: true, value: fixtures.agentADetail });

    const seen = server.requests.slice(before);
    expect(seen.map((r) => r.path)).toEqual([
      '/api/orgs',
      `/api/orgs/${fixtures.ORG_ID}/units`,
      `/api/orgs/${fixtures.ORG_ID}/agents`,
      `/api/orgs/${fixtures.ORG_ID}/agents/${fixtures.AGENT_A_ID}`,
    ]);
    expect(new Set(seen.map((r) => r.authorization))).toEqual(new Set([`Bearer ${OPERATOR_TOKEN}`]));
  });

  it('trusts the server through a CA file as well', async () => {
    const { handlers } = services({ kind: 'ca', caPem: server.certPem });
    const result = await dispatchIpc(handlers, 'orgs.list', {});
    expect(result.ok).toBe(true);
  });

  it('refuses a server whose certificate does not match the pin, before sending the token', async () => {
    const { handlers } = services({ kind: 'fingerprint', sha256: 'AB'.repeat(32) });
    const before = server.requests.length;
    const result = await dispatchIpc(handlers, 'orgs.list', {});
    expect(result).toMatchObject({ ok: false, error: { code: 'tls_untrusted' } });
    expect(server.requests.length).toBe(before);
  });

  it('refuses a server not signed by the configured CA, before sending the token', async () => {
    const other = await generate([{ name: 'commonName', value: '127.0.0.1' }], { keySize: 2048, algorithm: 'sha256' });
    const { handlers } = services({ kind: 'ca', caPem: other.cert });
    const before = server.requests.length;
    const result = await dispatchIpc(handlers, 'orgs.list', {});
    expect(result).toMatchObject({ ok: false, error: { code: 'tls_untrusted' } });
    expect(server.requests.length).toBe(before);
  });

  it('maps the server error body to its code', async () => {
    const { handlers } = services(pinned());
    const result = await dispatchIpc(handlers, 'agents.get', { orgId: fixtures.ORG_ID, agentId: fixtures.AGENT_B_ID });
    expect(result).toEqual({ ok: false, error: { code: 'not_found', message: 'no such thing' } });
  });

  it('reports a refused credential as unauthenticated', async () => {
    const { handlers } = services(pinned(), 'wrong-token');
    const result = await dispatchIpc(handlers, 'orgs.list', {});
    expect(result).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
  });

  it('refuses an answer that does not match the protocol schema', async () => {
    const { handlers } = services(pinned());
    const result = await dispatchIpc(handlers, 'units.list', { orgId: fixtures.OTHER_ORG_ID });
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_response' } });
  });

  it('rejects a malformed request without calling the server', async () => {
    const { handlers } = services(pinned());
    const before = server.requests.length;
    const result = await dispatchIpc(handlers, 'agents.get', { orgId: fixtures.ORG_ID, agentId: '../../admin' });
    expect(result).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    expect(await dispatchIpc(handlers, 'orgs.list', { extra: true })).toMatchObject({
      ok: false,
      error: { code: 'validation_failed' },
    });
    expect(server.requests.length).toBe(before);
  });

  it('says the server is unreachable when nothing listens', async () => {
    const { handlers } = services({ kind: 'ca', caPem: server.certPem }, OPERATOR_TOKEN, new URL('https://127.0.0.1:1'));
    const result = await dispatchIpc(handlers, 'orgs.list', {});
    expect(result).toMatchObject({ ok: false, error: { code: 'server_unreachable' } });
  });
});

describe('live feed over /ws/console', () => {
  it('subscribes, forwards agent events and resubscribes after the server drops it', async () => {
    const console = services(pinned());
    const events: IpcEventEnvelope[] = [];
    console.events.subscribe((envelope) => events.push(envelope));
    const connectionsBefore = server.wsConnections;
    console.start();

    await vi.waitFor(() => expect(console.feed.state().state).toBe('online'));
    expect(await dispatchIpc(console.handlers, 'console.subscribe', { orgId: fixtures.ORG_ID })).toEqual({
      ok: true,
      value: { orgId: fixtures.ORG_ID },
    });
    await vi.waitFor(() =>
      expect(server.consoleMessages).toContainEqual({ type: 'subscribe', orgId: fixtures.ORG_ID }),
    );

    server.push({ type: 'agent.status', agent: { ...fixtures.agentA, online: false } });
    await vi.waitFor(() =>
      expect(events).toContainEqual({ event: 'agent.status', payload: { agent: { ...fixtures.agentA, online: false } } }),
    );
    server.push({ type: 'agent.inventory', agent: fixtures.agentADetail });
    await vi.waitFor(() =>
      expect(events).toContainEqual({ event: 'agent.inventory', payload: { agent: fixtures.agentADetail } }),
    );

    const subscribesBefore = server.consoleMessages.filter((m) => m.type === 'subscribe').length;
    server.dropConsoles();
    await vi.waitFor(() => expect(events.some((e) => e.event === 'connection.state' && e.payload.state === 'offline')).toBe(true));
    await vi.waitFor(() => expect(server.wsConnections).toBeGreaterThanOrEqual(connectionsBefore + 2));
    await vi.waitFor(() =>
      expect(server.consoleMessages.filter((m) => m.type === 'subscribe').length).toBe(subscribesBefore + 1),
    );
    expect(await dispatchIpc(console.handlers, 'connection.get', {})).toMatchObject({
      ok: true,
      value: { state: 'online' },
    });
  });

  it('keeps retrying with backoff while the server refuses the credential', async () => {
    const console = services(pinned(), 'wrong-token');
    const states: Array<{ state: string; detail: string }> = [];
    console.events.subscribe((envelope) => {
      if (envelope.event === 'connection.state') states.push(envelope.payload);
    });
    console.start();
    await vi.waitFor(() => expect(states.filter((s) => s.state === 'connecting').length).toBeGreaterThanOrEqual(2));
    expect(states.some((s) => s.state === 'online')).toBe(false);
    expect(states.find((s) => s.state === 'offline')?.detail).toMatch(/refused the credential; retrying in/);
    await console.stop();
    expect(console.feed.state()).toEqual({ state: 'offline', detail: 'stopped' });
  });

  it('forwards alerts, and stops for good when the server ends the session (message, or the 4001 close alone)', async () => {
    const first = services(pinned());
    const events: IpcEventEnvelope[] = [];
    const feedEvents: FeedEvent[] = [];
    first.events.subscribe((envelope) => events.push(envelope));
    first.feed.on((event) => feedEvents.push(event));
    first.start();
    await vi.waitFor(() => expect(first.feed.state().state).toBe('online'));

    const alert = {
      id: randomUUID(),
      orgId: fixtures.ORG_ID,
      kind: 'mfa.backup_code_used' as const,
      createdAt: new Date().toISOString(),
      subject: { userId: randomUUID(), name: 'Dana Tech' },
      message: 'Dana Tech used a backup code (7 left)',
      acknowledgedAt: null,
      acknowledgedBy: null,
    };
    server.push({ type: 'alert', alert });
    await vi.waitFor(() => expect(events).toContainEqual({ event: 'alert.raised', payload: alert }));

    const by = { userId: randomUUID(), name: 'Ada Admin' };
    server.push({ type: 'session.ended', kind: 'revoked', reason: 'Laptop reported stolen', by });
    await vi.waitFor(() => expect(feedEvents).toContainEqual({ type: 'session.ended', ended: { kind: 'revoked', reason: 'Laptop reported stolen', by } }));
    server.closeConsoles(4001, 'session ended');
    await vi.waitFor(() => expect(first.feed.state()).toEqual({ state: 'offline', detail: 'session ended' }));
    const connections = server.wsConnections;
    await new Promise((resolve) => setTimeout(resolve, 300)); // backoff here is 20-100 ms: a reconnect would have happened
    expect(server.wsConnections).toBe(connections);
    expect(feedEvents.filter((e) => e.type === 'session.ended')).toHaveLength(1);
    // The session's end is the auth controller's to tell (auth.state); it is no IPC event of its own.
    expect(events.map((e) => e.event)).not.toContain('session.ended');

    const second = services(pinned());
    const secondEvents: FeedEvent[] = [];
    second.feed.on((event) => secondEvents.push(event));
    second.start();
    await vi.waitFor(() => expect(second.feed.state().state).toBe('online'));
    server.closeConsoles(4001, 'session ended');
    await vi.waitFor(() => expect(secondEvents).toContainEqual({ type: 'session.ended', ended: { kind: 'revoked', reason: 'The server ended this session', by: null } }));
    expect(second.feed.state()).toEqual({ state: 'offline', detail: 'session ended' });
  });
});
