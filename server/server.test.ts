import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../agent/start-agent';
import { ErrorBody } from '../protocol/errors';
import { loadServerConfig } from './config';
import { startServer, StartupError } from './server';
import { getTestServer, type TestServer } from './test-support';

describe('the HTTPS server', () => {
  let t: TestServer;
  let orgId: string;
  let agentId: string;

  beforeAll(async () => {
    t = await getTestServer('pglite');
    orgId = (await t.buildOrg('Sunrise Care Home')).id;
    const unit = await t.buildUnit(orgId, 'Front desk');
    agentId = (await t.buildAgent(orgId, unit.id)).agentId;
  });
  afterAll(async () => t?.close());

  it('answers /health without credentials and sends HSTS on every response', async () => {
    const health = await t.request('/health', { token: null });
    expect(health.status).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    expect(health.headers['strict-transport-security']).toMatch(/max-age=\d{8}/);
    const denied = await t.request('/api/orgs', { token: null });
    expect(denied.headers['strict-transport-security']).toMatch(/max-age=/);
  });

  it('exposes the Prometheus metrics the operators alert on', async () => {
    await t.request('/api/orgs');
    const metrics = await t.request('/metrics', { token: null });
    expect(metrics.status).toBe(200);
    for (const name of ['rmm_agents_connected', 'rmm_http_requests_total', 'rmm_db_query_seconds']) {
      expect(metrics.text).toContain(`# TYPE ${name}`);
    }
    expect(metrics.text).toMatch(/rmm_http_requests_total\{method="GET",route="\/api\/orgs",status="200"\} \d+/);
  });

  it('serves an OpenAPI document generated from the route schemas', async () => {
    const doc = (await t.request('/api/openapi.json', { token: null })).json() as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/orgs', '/api/orgs/{orgId}/units', '/api/orgs/{orgId}/agents', '/api/orgs/{orgId}/agents/{agentId}']),
    );
    expect(JSON.stringify(doc.paths['/api/orgs/{orgId}/agents/{agentId}'])).toContain('inventory');
  });

  it('refuses API calls without the credential or with a wrong one', async () => {
    for (const token of [null, 'rmm_op_wrong', '']) {
      const response = await t.request('/api/orgs', { token });
      expect(response.status).toBe(401);
      expect(ErrorBody.parse(response.json()).error.code).toBe('unauthenticated');
    }
  });

  it('lists orgs, units and agents for the operator', async () => {
    const orgs = (await t.request('/api/orgs')).json() as { orgs: { id: string }[] };
    expect(orgs.orgs.map((o) => o.id)).toContain(orgId);
    const units = (await t.request(`/api/orgs/${orgId}/units`)).json() as { units: { name: string; readOnly: boolean }[] };
    expect(units.units).toEqual([expect.objectContaining({ name: 'Front desk', readOnly: true })]);
    const agents = (await t.request(`/api/orgs/${orgId}/agents`)).json() as { agents: { id: string; online: boolean }[] };
    expect(agents.agents).toEqual([expect.objectContaining({ id: agentId, online: false })]);
    const detail = await t.request(`/api/orgs/${orgId}/agents/${agentId}`);
    expect(detail.json()).toMatchObject({ id: agentId, inventory: null });
  });

  it('never returns the agent credential hash', async () => {
    const detail = await t.request(`/api/orgs/${orgId}/agents/${agentId}`);
    expect(detail.text).not.toMatch(/credential/i);
  });

  it('answers 404 not_found for unknown orgs, agents and routes, and an agent asked for under another org', async () => {
    const otherOrg = (await t.buildOrg('Other clinic')).id;
    for (const url of [`/api/orgs/${crypto.randomUUID()}/agents`, `/api/orgs/${orgId}/agents/${crypto.randomUUID()}`, `/api/orgs/${otherOrg}/agents/${agentId}`, '/api/nothing']) {
      const response = await t.request(url);
      expect(response.status, url).toBe(404);
      expect(ErrorBody.parse(response.json()).error.code).toBe('not_found');
    }
  });

  it('rejects malformed ids with validation_failed naming the field', async () => {
    const response = await t.request('/api/orgs/not-a-uuid/agents');
    expect(response.status).toBe(400);
    const body = ErrorBody.parse(response.json());
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.issues?.[0]?.path).toBe('params.orgId');
    const query = await t.request(`/api/orgs/${orgId}/agents?unitId=12`);
    expect(ErrorBody.parse(query.json()).error.issues?.[0]?.path).toBe('query.unitId');
  });

  it('answers a plain-HTTP request on the HTTPS port with 400 tls_required instead of a reset', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(t.server.port, '127.0.0.1', () => socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n'));
      let data = '';
      socket.on('data', (c) => (data += c.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1.1 400 Bad Request/);
    expect(reply).toContain('"code":"tls_required"');
  });

  it('refuses TLS 1.1 clients: TLS 1.2 is the floor', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const socket = tls.connect({ port: t.server.port, host: '127.0.0.1', ca: t.ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
      socket.on('secureConnect', () => {
        resolve(`connected with ${socket.getProtocol()}`);
        socket.destroy();
      });
      socket.on('error', (err) => resolve(`refused: ${err.message}`));
    });
    expect(outcome).toMatch(/^refused/);
  });

  it('offers TLS 1.3 to modern clients', async () => {
    const protocol = await new Promise<string | null>((resolve, reject) => {
      const socket = tls.connect({ port: t.server.port, host: '127.0.0.1', ca: t.ca, servername: 'localhost' }, () => {
        resolve(socket.getProtocol());
        socket.destroy();
      });
      socket.on('error', reject);
    });
    expect(protocol).toBe('TLSv1.3');
  });

  it('rejects a JSON body over the size cap with 413 payload_too_large', async () => {
    const response = await t.request('/api/orgs', { method: 'POST', body: { blob: 'x'.repeat(1_100_000) } });
    expect(response.status).toBe(413);
    expect(ErrorBody.parse(response.json()).error.code).toBe('payload_too_large');
  });
});

describe('starting the server', () => {
  it('refuses a non-loopback address without a configured certificate', async () => {
    const config = loadServerConfig({}, { RMM_HOST: '0.0.0.0', RMM_PORT: '0', RMM_DATA_DIR: '/tmp/rmm-never-used', RMM_LOG_LEVEL: 'silent' });
    await expect(startServer(config)).rejects.toThrow(StartupError);
    await expect(startServer(config)).rejects.toThrow(/RMM_TLS_CERT_FILE/);
  });
});

describe.each(['postgres'] as const)('the server on %s', (kind) => {
  it('serves the same API over PostgreSQL', async () => {
    const { databaseKinds } = await import('../tools/testing/postgres');
    if (!databaseKinds().includes(kind)) return;
    const t = await getTestServer(kind);
    try {
      const org = await t.buildOrg('PG clinic');
      const unit = await t.buildUnit(org.id, 'PG unit');
      const { credential } = await t.buildAgent(org.id, unit.id);
      const agent = startAgent({ serverUrl: t.server.url, token: credential, trust: { kind: 'pin', sha256: t.pin } });
      await new Promise<void>((resolve) => agent.on('inventory', () => resolve()));
      let agents: { agents: { online: boolean; hostname: string | null }[] } = { agents: [] };
      for (let i = 0; i < 100 && agents.agents[0]?.hostname == null; i++) {
        agents = (await t.request(`/api/orgs/${org.id}/agents`)).json() as typeof agents;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(agents.agents).toEqual([expect.objectContaining({ online: true, hostname: expect.any(String) })]);
      await agent.stop();
    } finally {
      await t.close();
    }
  });
});
