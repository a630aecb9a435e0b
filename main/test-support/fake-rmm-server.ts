import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { WebSocketServer, WebSocket } from 'ws';
import { ConsoleToServer, type ServerToConsole } from '../../protocol/console-messages';
import { certificateFingerprint } from '../server-trust';
import { X509Certificate } from 'node:crypto';
import * as fixtures from './console-fixtures';

/*
 * A tiny stand-in for the RMM server: real HTTPS with a self-signed certificate for 127.0.0.1,
 * the four console REST routes and /ws/console, recording what the console sent.
 */

export const OPERATOR_TOKEN = 'operator-token-for-tests';

export interface FakeRmmServer {
  url: URL;
  certPem: string;
  fingerprint: string;
  /** Every REST request, the Authorization header it carried, and its X-Step-Up proof if any. */
  requests: Array<{ path: string; authorization: string | undefined; stepUp?: string }>;
  /** Every parsed message consoles sent on /ws/console. */
  consoleMessages: ConsoleToServer[];
  wsConnections: number;
  push(message: ServerToConsole): void;
  /** Closes every console socket with this code, as the server does after `session.ended` (4001). */
  closeConsoles(code: number, reason: string): void;
  /** Drops every console socket, as a server restart would. */
  dropConsoles(): void;
  close(): Promise<void>;
}

/** Extra routes by exact path (query included), answered before the built-in ones. */
export type FakeRoutes = Record<string, (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void>;

export async function startFakeRmmServer(routes: FakeRoutes = {}): Promise<FakeRmmServer> {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  const requests: FakeRmmServer['requests'] = [];
  const consoleMessages: ConsoleToServer[] = [];
  let wsConnections = 0;

  const json = (res: import('node:http').ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = https.createServer({ key: pems.private, cert: pems.cert, minVersion: 'TLSv1.2' }, (req, res) => {
    const path = req.url ?? '/';
    const stepUp = req.headers['x-step-up'];
    requests.push({ path, authorization: req.headers.authorization, ...(typeof stepUp === 'string' ? { stepUp } : {}) });
    if (req.headers.authorization !== `Bearer ${OPERATOR_TOKEN}`) {
      return json(res, 401, { error: { code: 'unauthenticated', message: 'bad token' } });
    }
    const extra = routes[path];
    if (extra) return extra(req, res);
    const org = `/api/orgs/${fixtures.ORG_ID}`;
    if (path === '/api/orgs') return json(res, 200, { orgs: fixtures.orgs });
    if (path === `${org}/units`) return json(res, 200, { units: fixtures.units });
    if (path === `${org}/agents`) return json(res, 200, { agents: fixtures.agents });
    if (path === `${org}/agents/${fixtures.AGENT_A_ID}`) return json(res, 200, fixtures.agentADetail);
    if (path === `/api/orgs/${fixtures.OTHER_ORG_ID}/units`) return json(res, 200, { units: [{ id: 'not-a-uuid' }] });
    return json(res, 404, { error: { code: 'not_found', message: 'no such thing' } });
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (req.url !== '/ws/console' || req.headers.authorization !== `Bearer ${OPERATOR_TOKEN}`) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      wsConnections++;
      ws.on('message', (data) => {
        const parsed = ConsoleToServer.safeParse(JSON.parse(data.toString()));
        if (!parsed.success) return;
        consoleMessages.push(parsed.data);
        if (parsed.data.type === 'subscribe') ws.send(JSON.stringify({ type: 'subscribed', orgId: parsed.data.orgId }));
        if (parsed.data.type === 'ping') ws.send(JSON.stringify({ type: 'pong', id: parsed.data.id }));
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;

  return {
    url: new URL(`https://127.0.0.1:${port}`),
    certPem: pems.cert,
    fingerprint: certificateFingerprint(Buffer.from(new X509Certificate(pems.cert).raw)),
    requests,
    consoleMessages,
    get wsConnections() {
      return wsConnections;
    },
    push(message) {
      for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(JSON.stringify(message));
    },
    dropConsoles() {
      for (const client of wss.clients) client.terminate();
    },
    closeConsoles(code, reason) {
      for (const client of wss.clients) client.close(code, reason);
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
