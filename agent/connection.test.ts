import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentCloseCode } from '../protocol/agent-messages';
import { Inventory } from '../protocol/inventory';
import { MAX_WS_MESSAGE_BYTES, PROTOCOL_VERSION } from '../protocol/version';
import { type AgentOptions, type AgentEvents, type RunningAgent, startAgent } from './start-agent';
import {
  acceptHello,
  AgentTestServer,
  makeCertificate,
  makeCertificateAuthority,
  type TestCertificate, welcome } from './test-support/agent-server';
import { AGENT_VERSION } from './version';

const TOKEN = 'enrol-token-0123456789abcdef';

let certificate: TestCertificate;
let server: AgentTestServer;
const running: RunningAgent[] = [];

beforeAll(async () => {
  certificate = await makeCertificate();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((agent) => agent.stop()));
  await server.close();
});

function agent(overrides: Partial<AgentOptions> = {}): RunningAgent {
  const started = startAgent({
    serverUrl: server.url,
    token: TOKEN,
    trust: { kind: 'pin', sha256: certificate.sha256 },
    welcomeTimeoutMs: 1_000,
    backoff: { baseMs: 20, capMs: 200, healthyAfterMs: 30_000 },
    ...overrides,
  });
  running.push(started);
  return started;
}

function collect<K extends keyof AgentEvents>(started: RunningAgent, event: K): AgentEvents[K][] {
  const seen: AgentEvents[K][] = [];
  started.on(event, (payload) => seen.push(payload));
  return seen;
}

function first<T>(items: readonly T[]): T {
  const item = items[0];
  if (item === undefined) throw new Error('expected at least one item');
  return item;
}

describe('agent connection', () => {
  it('says hello first with its protocol version, agent version and token', async () => {
    server = await AgentTestServer.start(certificate);
    agent();
    await server.until(() => server.sessions.length === 1 && first(server.sessions).received.length >= 1);
    expect(first(first(server.sessions).received)).toEqual({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      agentVersion: AGENT_VERSION,
      token: TOKEN,
    });
  });

  it('sends a schema-valid inventory after welcome, then heartbeats at the welcomed cadence', async () => {
    server = await AgentTestServer.start(certificate, acceptHello(100));
    agent();
    await server.until(() => (server.sessions[0]?.received.length ?? 0) >= 6);
    const session = first(server.sessions);
    expect(session.invalid).toEqual([]);
    expect(session.received.map((message) => message.type)).toEqual([
      'hello', 'inventory', 'heartbeat', 'heartbeat', 'heartbeat', 'heartbeat',
    ]);
    const inventory = session.received[1];
    expect(inventory?.type === 'inventory' && Inventory.safeParse(inventory.inventory).success).toBe(true);
    const seqs = session.received.flatMap((message) => (message.type === 'heartbeat' ? [message.seq] : []));
    expect(seqs).toEqual([0, 1, 2, 3]);
  });

  it('spaces heartbeats by the interval the server asked for', async () => {
    server = await AgentTestServer.start(certificate, acceptHello(150));
    const started = agent();
    const stamps: number[] = [];
    started.on('heartbeat', () => stamps.push(Date.now()));
    await server.until(() => stamps.length >= 4);
    const gaps = stamps.slice(1).map((stamp, index) => stamp - (stamps[index] ?? stamp));
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(130);
      expect(gap).toBeLessThan(1_000);
    }
  });

  it('reconnects and says hello again after the server drops the connection', async () => {
    server = await AgentTestServer.start(certificate, (_hello, session, index) => {
      session.socket.send(welcome(1_000));
      if (index === 0) setTimeout(() => session.socket.terminate(), 50);
    });
    const started = agent();
    const disconnects = collect(started, 'disconnected');
    await server.until(() => (server.sessions[1]?.received.length ?? 0) >= 2);
    expect(server.sessions[1]?.received.map((message) => message.type)).toEqual(['hello', 'inventory']);
    expect(first(disconnects)).toMatchObject({ kind: 'transient', closeCode: 1006 });
  });

  it('backs off to the slowest pace when the server refuses the credential', async () => {
    server = await AgentTestServer.start(certificate, (_hello, session) => {
      session.socket.send(JSON.stringify({ type: 'error', code: 'agent_auth_failed', message: 'unknown token' }));
      session.socket.close(AgentCloseCode.authFailed, 'auth failed');
    });
    const started = agent({ random: () => 0 });
    const disconnects = collect(started, 'disconnected');
    const stamps: number[] = [];
    started.on('connecting', () => stamps.push(Date.now()));
    await server.until(() => server.sessions.length >= 2);
    expect(first(disconnects)).toMatchObject({ kind: 'rejected', retryInMs: 100 });
    expect((stamps[1] ?? 0) - (stamps[0] ?? 0)).toBeGreaterThanOrEqual(100);
    expect(first(server.sessions).received.map((message) => message.type)).toEqual(['hello']);
  });

  it('treats an unsupported protocol version as a refusal too', async () => {
    server = await AgentTestServer.start(certificate, (_hello, session) => {
      session.socket.send(
        JSON.stringify({ type: 'error', code: 'protocol_unsupported_version', message: 'no', supportedVersions: [2] }),
      );
      session.socket.close(AgentCloseCode.unsupportedVersion, 'unsupported');
    });
    const disconnects = collect(agent(), 'disconnected');
    await server.until(() => disconnects.length >= 1);
    expect(first(disconnects).kind).toBe('rejected');
  });

  it('stops for good when replaced by another agent with the same credential', async () => {
    server = await AgentTestServer.start(certificate, (_hello, session) => {
      session.socket.send(welcome(1_000));
      setTimeout(() => session.socket.close(AgentCloseCode.replaced, 'replaced'), 50);
    });
    const started = agent();
    await expect(started.done).resolves.toEqual({ reason: 'replaced' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.sessions).toHaveLength(1);
  });

  it.each([
    ['a frame that is not JSON', 'not json'],
    ['a frame that does not match the schema', JSON.stringify({ type: 'welcome', agentId: 'x' })],
    ['an unknown message type', JSON.stringify({ type: 'run-script', script: 'rm -rf /' })],
  ])('drops the connection on %s', async (_name, frame) => {
    server = await AgentTestServer.start(certificate, (_hello, session) => session.socket.send(frame));
    const disconnects = collect(agent(), 'disconnected');
    const closed = await new Promise<{ code: number }>((resolve) => {
      void server.until(() => server.sessions.length >= 1).then(() => resolve(first(server.sessions).closed));
    });
    expect(closed.code).toBe(AgentCloseCode.protocolError);
    await server.until(() => disconnects.length >= 1);
    expect(first(disconnects).failure).toMatch(/protocol violation/);
  });

  it('drops the connection on a frame larger than the protocol allows', async () => {
    server = await AgentTestServer.start(certificate, (_hello, session) =>
      session.socket.send('x'.repeat(MAX_WS_MESSAGE_BYTES + 1)),
    );
    const disconnects = collect(agent(), 'disconnected');
    await server.until(() => disconnects.length >= 1);
    expect(first(disconnects).failure).toMatch(/max payload size exceeded/i);
    expect((await first(server.sessions).closed).code).toBe(1009);
  });

  it('gives up on a server that never answers hello and tries again', async () => {
    server = await AgentTestServer.start(certificate, () => undefined);
    const disconnects = collect(agent({ welcomeTimeoutMs: 200 }), 'disconnected');
    await server.until(() => server.sessions.length >= 2);
    expect(first(disconnects)).toMatchObject({ kind: 'transient', failure: expect.stringMatching(/did not answer/) });
  });

  it('drops a connection whose server stopped answering pings, and reconnects', async () => {
    server = await AgentTestServer.start(certificate, acceptHello(100), { autoPong: false });
    const disconnects = collect(agent(), 'disconnected');
    await server.until(() => disconnects.length >= 1 && server.sessions.length >= 2);
    expect(first(disconnects)).toMatchObject({ kind: 'transient', failure: 'server stopped answering pings' });
  });

  it('closes with 1000 on stop, promptly', async () => {
    server = await AgentTestServer.start(certificate);
    const started = agent();
    await server.until(() => (server.sessions[0]?.received.length ?? 0) >= 2);
    const before = Date.now();
    await started.stop();
    expect(Date.now() - before).toBeLessThan(2_000);
    expect(await first(server.sessions).closed).toEqual({ code: 1000, reason: 'agent stopping' });
    await expect(started.done).resolves.toEqual({ reason: 'stopped' });
  });

  it('stops while waiting to reconnect without waiting out the backoff', async () => {
    server = await AgentTestServer.start(certificate, (_hello, session) => session.socket.close(AgentCloseCode.authFailed));
    const started = agent({ backoff: { baseMs: 60_000, capMs: 60_000, healthyAfterMs: 30_000 } });
    await server.until(() => server.sessions.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = Date.now();
    await started.stop();
    expect(Date.now() - before).toBeLessThan(500);
  });

  it('re-sends the inventory only when its stable parts change', async () => {
    server = await AgentTestServer.start(certificate);
    let calls = 0;
    const base: Inventory = {
      hostname: 'clinic-pc-1',
      os: { platform: 'linux', name: 'Debian GNU/Linux 12 (bookworm)', release: '12', arch: 'x64' },
      kernel: '6.1.0 #1 SMP',
      cpu: { model: 'Test CPU', cores: 4 },
      memory: { totalBytes: 8e9, freeBytes: 4e9 },
      disks: [],
      uptimeSeconds: 100,
      ips: [],
    };
    const collectInventory = async (): Promise<Inventory> => {
      calls += 1;
      // Calls 1-3: only the noisy fields move. From call 4 on: the host was renamed.
      const noise = { memory: { totalBytes: 8e9, freeBytes: 4e9 - calls }, uptimeSeconds: 100 + calls };
      return { ...base, ...noise, hostname: calls >= 4 ? 'clinic-pc-2' : base.hostname };
    };
    const started = agent({ collectInventory, inventoryCheckIntervalMs: 40 });
    const sent = collect(started, 'inventory');
    await server.until(() => calls >= 6);
    expect(sent.map((event) => [event.reason, event.inventory.hostname])).toEqual([
      ['connect', 'clinic-pc-1'],
      ['changed', 'clinic-pc-2'],
    ]);
  });
});

describe('agent TLS trust', () => {
  it('refuses a server whose certificate does not match the pin, before sending anything', async () => {
    server = await AgentTestServer.start(certificate);
    const other = await makeCertificate();
    const disconnects = collect(agent({ trust: { kind: 'pin', sha256: other.sha256 } }), 'disconnected');
    await server.until(() => disconnects.length >= 1);
    expect(first(disconnects)).toMatchObject({ kind: 'rejected', failure: expect.stringMatching(/does not match the pinned/) });
    await server.until(() => server.tcpConnections >= 1);
    expect(server.upgrades).toBe(0);
    expect(server.sessions).toHaveLength(0);
  });

  it('connects when the certificate matches the pin', async () => {
    server = await AgentTestServer.start(certificate);
    const connected = collect(agent(), 'connected');
    await server.until(() => connected.length >= 1);
    expect(first(connected).heartbeatIntervalMs).toBe(1_000);
  });

  it('connects to a server whose certificate chains to the CA it was given', async () => {
    const authority = await makeCertificateAuthority();
    server = await AgentTestServer.start(await makeCertificate({ ca: authority }));
    const connected = collect(agent({ trust: { kind: 'ca', pem: authority.cert } }), 'connected');
    await server.until(() => connected.length >= 1);
  });

  it('refuses a certificate from another CA than the one it was given', async () => {
    server = await AgentTestServer.start(certificate);
    const authority = await makeCertificateAuthority();
    const disconnects = collect(agent({ trust: { kind: 'ca', pem: authority.cert } }), 'disconnected');
    await server.until(() => disconnects.length >= 1);
    expect(first(disconnects).kind).toBe('rejected');
    expect(server.upgrades).toBe(0);
  });

  it('refuses an untrusted self-signed certificate when nothing is pinned', async () => {
    server = await AgentTestServer.start(certificate);
    const disconnects = collect(agent({ trust: { kind: 'system' } }), 'disconnected');
    await server.until(() => disconnects.length >= 1);
    expect(first(disconnects).kind).toBe('rejected');
    expect(server.upgrades).toBe(0);
  });
});
