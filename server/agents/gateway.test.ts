import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startAgent, type RunningAgent } from '../../agent/start-agent';
import { ServerToAgent } from '../../protocol/agent-messages';
import { PROTOCOL_VERSION } from '../../protocol/version';
import { getTestServer, type TestServer } from '../test-support';

/** A raw agent-side socket for speaking (and mis-speaking) the protocol by hand. */
function rawAgentSocket(t: TestServer) {
  const ws = new WebSocket(`${t.server.url.replace('https:', 'wss:')}/ws/agent`, { ca: t.ca, maxPayload: 10 * 1024 * 1024 });
  const messages: ServerToAgent[] = [];
  ws.on('message', (data) => messages.push(ServerToAgent.parse(JSON.parse(data.toString()))));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return { ws, messages, opened, closed };
}

const hello = (token: string, protocolVersion = PROTOCOL_VERSION) => JSON.stringify({ type: 'hello', protocolVersion, agentVersion: '0.1.0', token });

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
    const socket = rawAgentSocket(t);
    await socket.opened;
    socket.ws.send(hello(credential));
    await eventually(async () => (await agentState(t, orgId, agentId)).online);
    const silentSince = Date.now();
    // The socket stays open but says nothing more (a hung agent).
    const closed = await socket.closed;
    expect(closed.code).toBe(4410);
    expect(Date.now() - silentSince).toBeLessThan(1500); // interval 1000 ms in tests
    await eventually(async () => !(await agentState(t, orgId, agentId)).online, 2000);
  });

  it('refuses an unknown credential with agent_auth_failed and close 4401', async () => {
    const socket = rawAgentSocket(t);
    await socket.opened;
    socket.ws.send(hello('rmm_agt_forged'));
    expect((await socket.closed).code).toBe(4401);
    expect(socket.messages).toEqual([expect.objectContaining({ type: 'error', code: 'agent_auth_failed' })]);
  });

  it('refuses an unknown protocol version, telling the agent what it supports', async () => {
    const { credential } = await t.buildAgent(orgId, unitId);
    const socket = rawAgentSocket(t);
    await socket.opened;
    socket.ws.send(hello(credential, 99));
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
    socket.ws.send(JSON.stringify({ type: 'heartbeat', seq: 0, uptimeSeconds: 1 }));
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
    const socket = rawAgentSocket(t);
    await socket.opened;
    socket.ws.send(hello(credential));
    await eventually(async () => socket.messages.some((m) => m.type === 'welcome'));
    socket.ws.send(JSON.stringify({ type: 'inventory', inventory: { hostname: '<script>', cpu: 'lots' } }));
    expect((await socket.closed).code).toBe(4400);
    expect((await agentState(t, orgId, agentId)).inventory).toBeNull();
  });

  it('lets the newest connection of one credential win and tells the older one why', async () => {
    const { agentId, credential } = await t.buildAgent(orgId, unitId);
    const first = rawAgentSocket(t);
    await first.opened;
    first.ws.send(hello(credential));
    await eventually(async () => first.messages.some((m) => m.type === 'welcome'));
    const second = rawAgentSocket(t);
    await second.opened;
    second.ws.send(hello(credential));
    expect((await first.closed).code).toBe(4409);
    expect(first.messages).toContainEqual(expect.objectContaining({ type: 'error', code: 'agent_replaced' }));
    await eventually(async () => second.messages.some((m) => m.type === 'welcome'));
    // The older connection closing must not mark the agent offline while the newer one holds it.
    await new Promise((r) => setTimeout(r, 200));
    expect((await agentState(t, orgId, agentId)).online).toBe(true);
    second.ws.close(1000);
    await second.closed;
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
