import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url, newNonce, secretKey, serverProof, toBase64Url } from '../protocol/agent-auth';
import { AgentCloseCode } from '../protocol/agent-messages';
import { Inventory } from '../protocol/inventory';
import { MAX_WS_MESSAGE_BYTES, PROTOCOL_VERSION } from '../protocol/version';
import { type AgentOptions, type AgentEvents, type RunningAgent, startAgent } from './start-agent';
import {
  acceptHello,
  type AgentSession,
  AgentTestServer,
  makeCertificate,
  makeCertificateAuthority,
  TEST_AGENT_ID,
  TEST_CREDENTIAL,
  TEST_SECRET,
  type TestCertificate, welcome } from './test-support/agent-server';
import { AGENT_VERSION } from './version';

const TOKEN = TEST_CREDENTIAL;

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
  it('says hello first with its protocol version, agent version, id and a fresh nonce, never the secret', async () => {
    server = await AgentTestServer.start(certificate, () => undefined, { handshake: 'manual' });
    const started = agent({ welcomeTimeoutMs: 200 });
    const disconnects = collect(started, 'disconnected');
    await server.until(() => server.sessions.length >= 2 && server.sessions.every((session) => session.received.length >= 1));
    const hellos = server.sessions.map((session) => first(session.received));
    expect(hellos[0]).toEqual({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      agentVersion: AGENT_VERSION,
      agentId: TEST_AGENT_ID,
      nonceA: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    const [a, b] = hellos;
    expect(a?.type === 'hello' && b?.type === 'hello' && a.nonceA !== b.nonceA).toBe(true);
    expect(JSON.stringify(hellos)).not.toContain(TEST_CREDENTIAL.split('.')[1]);
    expect(first(disconnects).failure).toMatch(/did not answer/);
  });

  it('sends a schema-valid inventory after welcome, then heartbeats at the welcomed cadence', async () => {
    server = await AgentTestServer.start(certificate, acceptHello(100));
    agent();
    await server.until(() => (server.sessions[0]?.received.length ?? 0) >= 6);
    const session = first(server.sessions);
    expect(session.invalid).toEqual([]);
    await server.until(() => (server.sessions[0]?.received.length ?? 0) >= 7);
    expect(session.received.map((message) => message.type)).toEqual([
      'hello', 'proof', 'inventory', 'heartbeat', 'heartbeat', 'heartbeat', 'heartbeat',
    ]);
    expect(session.rejected).toEqual([]);
    const inventory = session.received[2];
    expect(inventory?.type === 'inventory' && Inventory.safeParse(inventory.inventory).success).toBe(true);
    // Every session frame is numbered per direction from 1, inventory included.
    const seqs = session.received.flatMap((message) => (message.type === 'heartbeat' || message.type === 'inventory' ? [message.seq] : []));
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
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
    await server.until(() => (server.sessions[1]?.received.length ?? 0) >= 3);
    expect(server.sessions[1]?.received.map((message) => message.type)).toEqual(['hello', 'proof', 'inventory']);
    expect(first(disconnects)).toMatchObject({ kind: 'transient', closeCode: 1006 });
  });

  it('backs off to the slowest pace when the server refuses the credential', async () => {
    server = await AgentTestServer.start(
      certificate,
      (_hello, session) => {
        session.socket.send(JSON.stringify({ type: 'error', code: 'agent_auth_failed', message: 'unknown token' }));
        session.socket.close(AgentCloseCode.authFailed, 'auth failed');
      },
      { handshake: 'manual' },
    );
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
    server = await AgentTestServer.start(
      certificate,
      (_hello, session) => {
        session.socket.send(JSON.stringify({ type: 'error', code: 'protocol_unsupported_version', message: 'no', supportedVersions: [2] }));
        session.socket.close(AgentCloseCode.unsupportedVersion, 'unsupported');
      },
      { handshake: 'manual' },
    );
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
    server = await AgentTestServer.start(certificate, (_hello, session) => session.socket.send(frame), { handshake: 'manual' });
    const disconnects = collect(agent(), 'disconnected');
    const closed = await new Promise<{ code: number }>((resolve) => {
      void server.until(() => server.sessions.length >= 1).then(() => resolve(first(server.sessions).closed));
    });
    expect(closed.code).toBe(AgentCloseCode.protocolError);
    await server.until(() => disconnects.length >= 1);
    expect(first(disconnects).failure).toMatch(/protocol violation/);
  });

  it('drops the connection on a frame larger than the protocol allows', async () => {
    server = await AgentTestServer.start(certificate, (_hello, session) => session.socket.send('x'.repeat(MAX_WS_MESSAGE_BYTES + 1)), {
      handshake: 'manual',
    });
    const disconnects = collect(agent(), 'disconnected');
    await server.until(() => disconnects.length >= 1);
    expect(first(disconnects).failure).toMatch(/max payload size exceeded/i);
    expect((await first(server.sessions).closed).code).toBe(1009);
  });

  it('gives up on a server that never answers hello and tries again', async () => {
    server = await AgentTestServer.start(certificate, () => undefined, { handshake: 'manual' });
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
    await server.until(() => (server.sessions[0]?.received.length ?? 0) >= 3);
    const before = Date.now();
    await started.stop();
    expect(Date.now() - before).toBeLessThan(2_000);
    expect(await first(server.sessions).closed).toEqual({ code: 1000, reason: 'agent stopping' });
    await expect(started.done).resolves.toEqual({ reason: 'stopped' });
  });

  it('stops while waiting to reconnect without waiting out the backoff', async () => {
    server = await AgentTestServer.start(certificate, (_hello, session) => session.socket.close(AgentCloseCode.authFailed), { handshake: 'manual' });
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

describe('agent mutual authentication', () => {
  it('refuses a server without its secret before sending anything but hello', async () => {
    const wrong = new Uint8Array(32).fill(7);
    server = await AgentTestServer.start(certificate, acceptHello(), { secret: wrong });
    const started = agent({ random: () => 0 });
    const disconnects = collect(started, 'disconnected');
    const connected = collect(started, 'connected');
    await server.until(() => disconnects.length >= 1);
    expect(first(disconnects)).toMatchObject({ kind: 'rejected', failure: expect.stringMatching(/server not authenticated/) });
    expect(connected).toEqual([]);
    const session = first(server.sessions);
    expect((await session.closed).code).toBe(AgentCloseCode.authFailed);
    // No proof: a server that cannot prove itself learns nothing it could relay.
    expect(session.received.map((message) => message.type)).toEqual(['hello']);
  });

  it('refuses a replayed challenge from an earlier connection (fresh nonce every time)', async () => {
    let recorded: string | null = null;
    const genuineChallenge = async (hello: { agentId: string; nonceA: string }) => {
      const nonceS = newNonce();
      const proof = await serverProof(await secretKey(TEST_SECRET), { agentId: hello.agentId, nonceA: fromBase64Url(hello.nonceA), nonceS });
      return JSON.stringify({ type: 'challenge', nonceS: toBase64Url(nonceS), serverProof: toBase64Url(proof) });
    };
    server = await AgentTestServer.start(
      certificate,
      (hello, session) => {
        if (recorded) return session.ws.send(recorded);
        void genuineChallenge(hello).then((challenge) => {
          recorded = challenge;
          session.ws.send(challenge);
          setTimeout(() => session.ws.close(1000), 50);
        });
      },
      { handshake: 'manual' },
    );
    const disconnects = collect(agent(), 'disconnected');
    await server.until(() => disconnects.length >= 2);
    // The genuine challenge was answered; the replayed one is not (it proves nothing for the new nonce).
    expect(first(server.sessions).received.map((message) => message.type)).toEqual(['hello', 'proof']);
    expect(disconnects[1]).toMatchObject({ kind: 'rejected', failure: expect.stringMatching(/server not authenticated/) });
    expect(server.sessions[1]?.received.map((message) => message.type)).toEqual(['hello']);
  });

  it.each([
    ['a replayed frame', 'bad_seq', (session: AgentSession, welcomeFrame: string) => {
      // The exact bytes of the (valid) welcome once more.
      session.ws.send(welcomeFrame);
    }],
    ['a skipped seq (reordered)', 'bad_seq', async (session: AgentSession) => {
      await sealed(session, { type: 'error', code: 'internal', message: 'first' });
      session.ws.send(JSON.stringify(await sealed(session, { type: 'error', code: 'internal', message: 'second' })));
    }],
    ['an altered frame (bad MAC)', 'bad_mac', async (session: AgentSession) => {
      const frame = await sealed(session, { type: 'error', code: 'internal', message: 'genuine' });
      session.ws.send(JSON.stringify({ ...frame, message: 'forged' }));
    }],
    ['an unsealed frame after welcome', 'no_seq', (session: AgentSession) => {
      session.ws.send(JSON.stringify({ type: 'error', code: 'internal', message: 'unsealed' }));
    }],
  ] as const)('drops the connection on %s', async (_name, reason, attack) => {
    server = await AgentTestServer.start(certificate, (_hello, session, index) => {
      void sealed(session, JSON.parse(welcome(60_000)) as Record<string, unknown>).then((frame) => {
        const welcomeFrame = JSON.stringify(frame);
        session.ws.send(welcomeFrame);
        if (index === 0) setTimeout(() => void attack(session, welcomeFrame), 50);
      });
    });
    const started = agent();
    const disconnects = collect(started, 'disconnected');
    await server.until(() => disconnects.length >= 1);
    expect(first(disconnects)).toMatchObject({ kind: 'transient', failure: `frame rejected: ${reason}` });
    expect((await first(server.sessions).closed).code).toBe(AgentCloseCode.frameRejected);
  });

  it('refuses a credential from before mutual authentication with agent_reenrol_required, sending nothing', async () => {
    server = await AgentTestServer.start(certificate);
    const started = agent({ token: `rmm_agt_${'A'.repeat(43)}` });
    const disconnects = collect(started, 'disconnected');
    await server.until(() => disconnects.length >= 1);
    expect(first(disconnects)).toMatchObject({ kind: 'rejected', failure: 'refused: agent_reenrol_required' });
    expect(first(server.sessions).received).toEqual([]);
  });
});

/** Seals a frame as the test server's session would; call order is seq order. */
function sealed(session: AgentSession, frame: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (!session.channel) throw new Error('no session yet');
  return session.channel.seal(frame);
}

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
