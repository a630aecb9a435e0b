import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startAgent, type RunningAgent } from '../../agent/start-agent';
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import {
  agentProof,
  deriveSessionKey,
  formatCredential,
  FrameChannel,
  fromBase64Url,
  newNonce,
  parseCredential,
  secretKey,
  toBase64Url,
  verifyServerProof,
} from '../../protocol/agent-auth';
import { ServerToAgent } from '../../protocol/agent-messages';
import { withOrg } from '../db/database';
import { setAgentHandshakeTimeout } from './gateway';
import { PROTOCOL_VERSION } from '../../protocol/version';
import { getTestServer, type TestServer } from '../test-support';

/** A raw agent-side socket for speaking (and mis-speaking) the protocol by hand. */
function rawAgentSocket(t: TestServer) {
  const ws = new WebSocket(`${t.server.url.replace('https:', 'wss:')}/ws/agent`, { ca: t.ca, maxPayload: 10 * 1024 * 1024 });
  const messages: ServerToAgent[] = [];
  const raws: unknown[] = [];
  ws.on('message', (data) => {
    const raw: unknown = JSON.parse(data.toString());
    raws.push(raw);
    messages.push(ServerToAgent.parse(raw));
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return { ws, messages, raws, opened, closed };
}
type RawSocket = ReturnType<typeof rawAgentSocket>;

const helloFor = (agentId: string, nonceA: Uint8Array, protocolVersion = PROTOCOL_VERSION) =>
  JSON.stringify({ type: 'hello', protocolVersion, agentVersion: '0.1.0', agentId, nonceA: toBase64Url(nonceA) });

function v1(credential: string): { agentId: string; secret: Uint8Array } {
  const parsed = parseCredential(credential);
  if (parsed.kind !== 'v1') throw new Error('not a v1 credential');
  return parsed;
}

async function nth(socket: RawSocket, n: number): Promise<ServerToAgent> {
  await eventually(async () => socket.messages.length > n);
  const message = socket.messages[n];
  if (!message) throw new Error('no message');
  return message;
}

/**
 * The agent side of the handshake by hand. `secret` is what this "agent" believes; `replay`
 * sends recorded hello and proof frames instead of fresh ones.
 */
async function handshake(t: TestServer, agentId: string, secret: Uint8Array, replay?: { hello: string; proof: string }) {
  const socket = rawAgentSocket(t);
  await socket.opened;
  const nonceA = newNonce();
  const hello = replay?.hello ?? helloFor(agentId, nonceA);
  socket.ws.send(hello);
  const challenge = await nth(socket, 0);
  if (challenge.type !== 'challenge') return { socket, challenge, serverProved: false, channel: null, hello, proof: '' };
  const key = await secretKey(secret);
  const inputs = { agentId, nonceA: replay ? fromBase64Url((JSON.parse(replay.hello) as { nonceA: string }).nonceA) : nonceA, nonceS: fromBase64Url(challenge.nonceS) };
  const serverProved = await verifyServerProof(key, inputs, fromBase64Url(challenge.serverProof));
  const proof = replay?.proof ?? JSON.stringify({ type: 'proof', agentProof: toBase64Url(await agentProof(key, inputs)) });
  socket.ws.send(proof);
  const reply = await nth(socket, 1);
  let channel: FrameChannel | null = null;
  if (reply.type === 'welcome') {
    channel = new FrameChannel(await deriveSessionKey(secret, inputs.nonceA, inputs.nonceS), 'toServer');
    expect((await channel.check(socket.raws[1])).ok).toBe(true);
  }
  return { socket, challenge, serverProved, channel, hello, proof };
}

async function connected(t: TestServer, credential: string) {
  const { agentId, secret } = v1(credential);
  const done = await handshake(t, agentId, secret);
  if (!done.channel) throw new Error(`handshake failed: ${JSON.stringify(done.socket.messages)}`);
  return { socket: done.socket, channel: done.channel };
}

async function agentState(t: TestServer, orgId: string, agentId: string) {
  return (await t.request(`/api/orgs/${orgId}/agents/${agentId}`)).json() as { online: boolean; hostname: string | null; inventory: unknown };
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the agent endpoint', () => {
  let t: TestServer;
  let orgId: string;
  let unitId: string;

  beforeAll(async () => {
    t = await getTestServer('pglite');
    orgId = (await t.buildOrg('Lakeside Clinic')).id;
    unitId = (await t.buildUnit(orgId, 'Reception')).id;
  });
  afterAll(async () => t?.close());

  it('shows a real agent online with its inventory, and offline once it stops', async () => {
    const { agentId, credential } = await t.buildAgent(orgId, unitId);
    const agent: RunningAgent = startAgent({ serverUrl: t.server.url, token: credential, trust: { kind: 'pin', sha256: t.pin } });
    try {
      await eventually(async () => (await agentState(t, orgId, agentId)).hostname !== null);
      const state = await agentState(t, orgId, agentId);
      expect(state.online).toBe(true);
      expect(state.inventory).toMatchObject({ hostname: expect.any(String), cpu: { cores: expect.any(Number) } });
      await expect(t.server.context.metrics.agentsConnected.get()).resolves.toMatchObject({ values: [{ value: 1 }] });
    } finally {
      await agent.stop();
    }
    await eventually(async () => !(await agentState(t, orgId, agentId)).online, 2000);
  });

  it('marks an agent offline when its heartbeats stop, within one heartbeat interval', async () => {
    const { agentId, credential } = await t.buildAgent(orgId, unitId);
    const { socket } = await connected(t, credential);
    await eventually(async () => (await agentState(t, orgId, agentId)).online);
    const silentSince = Date.now();
    // The socket stays open but says nothing more (a hung agent).
    const closed = await socket.closed;
    expect(closed.code).toBe(4410);
    expect(Date.now() - silentSince).toBeLessThan(1500); // interval 1000 ms in tests
    await eventually(async () => !(await agentState(t, orgId, agentId)).online, 2000);
  });

  it('refuses a wrong agent proof with agent_auth_failed and close 4401, after proving nothing itself', async () => {
    const { agentId } = await t.buildAgent(orgId, unitId);
    const { socket, challenge, serverProved, channel } = await handshake(t, agentId, randomBytes(32));
    expect(challenge.type).toBe('challenge');
    expect(serverProved).toBe(false); // the server's proof is for the real secret, not ours
    expect(channel).toBeNull();
    expect((await socket.closed).code).toBe(4401);
    expect(socket.messages[1]).toEqual({ type: 'error', code: 'agent_auth_failed', message: 'Agent authentication failed' });
    expect((await agentState(t, orgId, agentId)).online).toBe(false);
  });

  it('answers an unknown agent id exactly like a wrong proof: a challenge, then the same error', async () => {
    const { agentId, secret } = v1(formatCredential(randomUUID(), randomBytes(32)));
    const { socket, challenge } = await handshake(t, agentId, secret);
    expect(challenge).toMatchObject({ type: 'challenge', nonceS: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), serverProof: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect((await socket.closed).code).toBe(4401);
    expect(socket.messages[1]).toEqual({ type: 'error', code: 'agent_auth_failed', message: 'Agent authentication failed' });
  });

  it('refuses a replayed handshake: recorded hello and proof fail against a fresh server nonce', async () => {
    const { agentId, credential } = await t.buildAgent(orgId, unitId);
    const { secret } = v1(credential);
    const genuine = await handshake(t, agentId, secret);
    expect(genuine.channel).not.toBeNull();
    genuine.socket.ws.close(1000);
    await genuine.socket.closed;
    const replayed = await handshake(t, agentId, secret, { hello: genuine.hello, proof: genuine.proof });
    expect(replayed.challenge.type === 'challenge' && genuine.challenge.type === 'challenge' && replayed.challenge.nonceS !== genuine.challenge.nonceS).toBe(true);
    expect((await replayed.socket.closed).code).toBe(4401);
    expect(replayed.socket.messages[1]).toMatchObject({ type: 'error', code: 'agent_auth_failed' });
  });

  it('tells an agent provisioned before mutual authentication (hash only) to re-enrol', async () => {
    const { agentId } = await t.buildAgent(orgId, unitId);
    await withOrg(t.database.db, orgId, (tx) => sql`UPDATE agents SET secret_sealed = NULL WHERE id = ${agentId}`.execute(tx));
    const socket = rawAgentSocket(t);
    await socket.opened;
    socket.ws.send(helloFor(agentId, newNonce()));
    expect((await socket.closed).code).toBe(4401);
    expect(socket.messages).toEqual([expect.objectContaining({ type: 'error', code: 'agent_reenrol_required' })]);
  });

  it('time-boxes the handshake: a hello without a proof is closed with 4408', async () => {
    setAgentHandshakeTimeout(t.server.context, 300);
    try {
      const { agentId } = await t.buildAgent(orgId, unitId);
      const socket = rawAgentSocket(t);
      await socket.opened;
      socket.ws.send(helloFor(agentId, newNonce()));
      expect((await socket.closed).code).toBe(4408);
      expect(socket.messages.map((m) => m.type === 'error' ? m.code : m.type)).toEqual(['challenge', 'protocol_handshake_timeout']);
    } finally {
      setAgentHandshakeTimeout(t.server.context, 10_000);
    }
  });

  it.each([
    ['a replayed frame', async (ws: WebSocket, channel: FrameChannel) => {
      const beat = JSON.stringify(await channel.seal({ type: 'heartbeat', uptimeSeconds: 1 }));
      ws.send(beat);
      ws.send(beat);
    }],
    ['a skipped seq (reordered)', async (ws: WebSocket, channel: FrameChannel) => {
      await channel.seal({ type: 'heartbeat', uptimeSeconds: 1 });
      ws.send(JSON.stringify(await channel.seal({ type: 'heartbeat', uptimeSeconds: 2 })));
    }],
    ['an altered frame (bad MAC)', async (ws: WebSocket, channel: FrameChannel) => {
      const beat = await channel.seal({ type: 'heartbeat', uptimeSeconds: 1 });
      ws.send(JSON.stringify({ ...beat, uptimeSeconds: 99 }));
    }],
    ['a frame MACed with the wrong direction label (reflection)', async (ws: WebSocket, channel: FrameChannel, key: CryptoKey) => {
      void channel;
      ws.send(JSON.stringify(await new FrameChannel(key, 'toAgent').seal({ type: 'heartbeat', uptimeSeconds: 1 })));
    }],
  ] as const)('drops the connection (4403) on %s', async (_label, attack) => {
    const { agentId, credential } = await t.buildAgent(orgId, unitId);
    const { secret } = v1(credential);
    const done = await handshake(t, agentId, secret);
    if (!done.channel || done.challenge.type !== 'challenge') throw new Error('handshake failed');
    const nonceA = fromBase64Url((JSON.parse(done.hello) as { nonceA: string }).nonceA);
    const sessionKey = await deriveSessionKey(secret, nonceA, fromBase64Url(done.challenge.nonceS));
    await attack(done.socket.ws, done.channel, sessionKey);
    expect((await done.socket.closed).code).toBe(4403);
    await eventually(async () => !(await agentState(t, orgId, agentId)).online, 2000);
  });

  it('refuses an unknown protocol version, telling the agent what it supports', async () => {
    const { agentId } = await t.buildAgent(orgId, unitId);
    const socket = rawAgentSocket(t);
    await socket.opened;
    socket.ws.send(helloFor(agentId, newNonce(), 99));
    expect((await socket.closed).code).toBe(4426);
    expect(socket.messages[0]).toMatchObject({ type: 'error', code: 'protocol_unsupported_version', supportedVersions: [1] });
  });

  it.each([
    ['invalid JSON', '{"type":"hello",'],
    ['an unknown message type', JSON.stringify({ type: 'run-anything', cmd: 'rm -rf /' })],
    ['a hello with a missing field', JSON.stringify({ type: 'hello', protocolVersion: 1 })],
    ['a JSON array', '[]'],
  ])('closes with a protocol error on %s, and keeps serving others', async (_label, frame) => {
    const socket = rawAgentSocket(t);
    await socket.opened;
    socket.ws.send(frame);
    expect((await socket.closed).code).toBe(4400);
    expect(socket.messages[0]).toMatchObject({ type: 'error', code: 'protocol_invalid_message' });
    expect((await t.request('/health', { token: null })).status).toBe(200);
  });

  it('refuses anything but hello before the handshake', async () => {
    const socket = rawAgentSocket(t);
    await socket.opened;
    socket.ws.send(JSON.stringify({ type: 'heartbeat', seq: 1, mac: 'A'.repeat(43), uptimeSeconds: 1 }));
    expect((await socket.closed).code).toBe(4400);
    expect(socket.messages[0]).toMatchObject({ type: 'error', code: 'protocol_unexpected_message' });
  });

  it('refuses binary frames', async () => {
    const socket = rawAgentSocket(t);
    await socket.opened;
    socket.ws.send(Buffer.from([1, 2, 3]));
    expect((await socket.closed).code).toBe(4400);
  });

  it('drops a connection that sends a message over the size limit (1009)', async () => {
    const socket = rawAgentSocket(t);
    await socket.opened;
    socket.ws.send(JSON.stringify({ type: 'hello', pad: 'x'.repeat(300 * 1024) }));
    expect((await socket.closed).code).toBe(1009);
    expect((await t.request('/health', { token: null })).status).toBe(200);
  });

  it('rejects an inventory that does not match the schema without storing it', async () => {
    const { agentId, credential } = await t.buildAgent(orgId, unitId);
    const { socket, channel } = await connected(t, credential);
    socket.ws.send(JSON.stringify(await channel.seal({ type: 'inventory', inventory: { hostname: '<script>', cpu: 'lots' } })));
    expect((await socket.closed).code).toBe(4400);
    expect((await agentState(t, orgId, agentId)).inventory).toBeNull();
  });

  it('lets the newest connection of one credential win and tells the older one why', async () => {
    const { agentId, credential } = await t.buildAgent(orgId, unitId);
    const { socket: first, channel: firstChannel } = await connected(t, credential);
    const { socket: second } = await connected(t, credential);
    expect((await first.closed).code).toBe(4409);
    expect(first.messages).toContainEqual(expect.objectContaining({ type: 'error', code: 'agent_replaced' }));
    // Even the goodbye is sealed: seq 2, after the welcome.
    expect((await firstChannel.check(first.raws[2])).ok).toBe(true);
    // The older connection closing must not mark the agent offline while the newer one holds it.
    await new Promise((r) => setTimeout(r, 200));
    expect((await agentState(t, orgId, agentId)).online).toBe(true);
    second.ws.close(1000);
    await second.closed;
  });

  // Last on purpose: it uses up this address's failure budget.
  it('refuses further handshakes from an address after 30 failures within a minute', async () => {
    const { agentId, credential } = await t.buildAgent(orgId, unitId);
    let refusedAt = -1;
    for (let attempt = 0; attempt < 40 && refusedAt < 0; attempt += 1) {
      const { socket } = await handshake(t, agentId, randomBytes(32));
      await socket.closed;
      if (socket.messages.some((m) => m.type === 'error' && m.code === 'rate_limited')) refusedAt = attempt;
    }
    expect(refusedAt).toBeGreaterThan(0);
    // Even the right secret is turned away now, before any challenge.
    const { agentId: id, secret } = v1(credential);
    const blocked = await handshake(t, id, secret);
    expect(blocked.challenge).toMatchObject({ type: 'error', code: 'rate_limited' });
    expect((await blocked.socket.closed).code).toBe(4401);
  });

  it('answers upgrades on unknown paths with 404', async () => {
    const ws = new WebSocket(`${t.server.url.replace('https:', 'wss:')}/ws/other`, { ca: t.ca });
    const status = await new Promise<number | undefined>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.on('error', () => resolve(undefined));
    });
    expect(status).toBe(404);
  });
});
