import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startAgent } from '../../agent/start-agent';
import { ServerToConsole } from '../../protocol/console-messages';
import { getTestServer, type TestServer } from '../test-support';

function consoleSocket(t: TestServer, token: string | null = t.token) {
  const ws = new WebSocket(`${t.server.url.replace('https:', 'wss:')}/ws/console`, {
    ca: t.ca,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  const messages: ServerToConsole[] = [];
  ws.on('message', (data) => messages.push(ServerToConsole.parse(JSON.parse(data.toString()))));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = async (predicate: (m: ServerToConsole) => boolean, timeoutMs = 5000): Promise<ServerToConsole> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = messages.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching console message; got ${JSON.stringify(messages)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { ws, messages, opened, next };
}

describe('the console endpoint', () => {
  let t: TestServer;
  let orgA: string;
  let orgB: string;
  let unitA: string;
  let unitB: string;

  beforeAll(async () => {
    t = await getTestServer('pglite');
    orgA = (await t.buildOrg('Clinic A')).id;
    orgB = (await t.buildOrg('Clinic B')).id;
    unitA = (await t.buildUnit(orgA, 'A')).id;
    unitB = (await t.buildUnit(orgB, 'B')).id;
  });
  afterAll(async () => t?.close());

  it('refuses the upgrade without a valid credential (401, no socket)', async () => {
    for (const token of [null, 'rmm_op_forged']) {
      const socket = consoleSocket(t, token);
      await expect(socket.opened).rejects.toThrow(/401/);
    }
  });

  it('streams agent status and inventory of the subscribed org only', async () => {
    const watcher = consoleSocket(t);
    await watcher.opened;
    watcher.ws.send(JSON.stringify({ type: 'subscribe', orgId: orgA }));
    await watcher.next((m) => m.type === 'subscribed');

    const inA = await t.buildAgent(orgA, unitA);
    const inB = await t.buildAgent(orgB, unitB);
    const agents = [inA, inB].map((a) => startAgent({ serverUrl: t.server.url, token: a.credential, trust: { kind: 'pin', sha256: t.pin } }));
    try {
      const status = await watcher.next((m) => m.type === 'agent.status' && m.agent.id === inA.agentId && m.agent.online);
      expect(status).toMatchObject({ agent: { orgId: orgA, unitId: unitA } });
      await watcher.next((m) => m.type === 'agent.inventory' && m.agent.id === inA.agentId);
      // Org B's agent is fully connected too, so its events had every chance to leak.
      for (let i = 0; i < 100; i++) {
        const b = (await t.request(`/api/orgs/${orgB}/agents/${inB.agentId}`)).json() as { hostname: string | null };
        if (b.hostname !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await Promise.all(agents.map((a) => a.stop()));
    }
    await watcher.next((m) => m.type === 'agent.status' && m.agent.id === inA.agentId && !m.agent.online);
    const leaked = watcher.messages.filter((m) => (m.type === 'agent.status' || m.type === 'agent.inventory') && m.agent.orgId !== orgA);
    expect(leaked).toEqual([]);
    watcher.ws.close();
  });

  it('answers an unknown org with not_found and keeps the connection', async () => {
    const socket = consoleSocket(t);
    await socket.opened;
    socket.ws.send(JSON.stringify({ type: 'subscribe', orgId: crypto.randomUUID() }));
    await socket.next((m) => m.type === 'error' && m.code === 'not_found');
    socket.ws.send(JSON.stringify({ type: 'ping', id: 7 }));
    await socket.next((m) => m.type === 'pong' && m.id === 7);
    socket.ws.close();
  });

  it('answers malformed messages with protocol_invalid_message', async () => {
    const socket = consoleSocket(t);
    await socket.opened;
    socket.ws.send('{oops');
    socket.ws.send(JSON.stringify({ type: 'subscribe', orgId: 'not-a-uuid' }));
    await socket.next((m) => m.type === 'error' && m.code === 'protocol_invalid_message');
    await new Promise((r) => setTimeout(r, 100));
    expect(socket.messages.filter((m) => m.type === 'error')).toHaveLength(2);
    socket.ws.close();
  });

  it('sends a tech only the events of agents in the units granted to them', async () => {
    const site = (await t.buildUnit(orgA, 'Site')).id;
    const desk = (await t.buildUnit(orgA, 'Desk', site)).id;
    const sibling = (await t.buildUnit(orgA, 'Sibling')).id;
    const tech = await t.buildUser({ orgId: orgA, role: 'tech', unitId: site });
    const watcher = consoleSocket(t, tech.token);
    await watcher.opened;
    watcher.ws.send(JSON.stringify({ type: 'subscribe', orgId: orgA }));
    await watcher.next((m) => m.type === 'subscribed');

    const below = await t.buildAgent(orgA, desk);
    const beside = await t.buildAgent(orgA, sibling);
    const agents = [beside, below].map((a) => startAgent({ serverUrl: t.server.url, token: a.credential, trust: { kind: 'pin', sha256: t.pin } }));
    try {
      await watcher.next((m) => m.type === 'agent.inventory' && m.agent.id === below.agentId);
      for (let i = 0; i < 100; i++) {
        const other = (await t.request(`/api/orgs/${orgA}/agents/${beside.agentId}`)).json() as { hostname: string | null };
        if (other.hostname !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await Promise.all(agents.map((a) => a.stop()));
    }
    await watcher.next((m) => m.type === 'agent.status' && m.agent.id === below.agentId && !m.agent.online);
    const leaked = watcher.messages.filter((m) => (m.type === 'agent.status' || m.type === 'agent.inventory') && m.agent.id === beside.agentId);
    expect(leaked).toEqual([]);
    watcher.ws.close();
  });

  it('answers a member asking for another org with not_found, like an org that does not exist', async () => {
    const member = await t.buildUser({ orgId: orgA, role: 'tenant_admin', unitId: null });
    const socket = consoleSocket(t, member.token);
    await socket.opened;
    socket.ws.send(JSON.stringify({ type: 'subscribe', orgId: orgB }));
    await socket.next((m) => m.type === 'error' && m.code === 'not_found');
    socket.ws.close();
  });
});
