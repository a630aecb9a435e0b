import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';
import { WebSocketServer, type WebSocket } from 'ws';
import { AgentToServer } from '../../protocol/agent-messages';
import { MAX_WS_MESSAGE_BYTES, PROTOCOL_VERSION } from '../../protocol/version';
import { certificateFingerprint } from '../tls-trust';

/*
 * The server side of /ws/agent, small enough to script per test: what to answer to `hello` is a
 * function, and everything the agent sends is recorded per connection.
 */

export interface TestCertificate {
  cert: string;
  key: string;
  /** SHA-256 of the certificate's DER. */
  sha256: Buffer;
}

export async function makeCertificate(options: { ca?: { cert: string; key: string } } = {}): Promise<TestCertificate> {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }],
    ...(options.ca ? { ca: options.ca } : {}),
  });
  const sha256 = certificateFingerprint(new X509Certificate(pems.cert).raw);
  return { cert: pems.cert, key: pems.private, sha256 };
}

export async function makeCertificateAuthority(): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: 'RMM test CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

export interface AgentSession {
  socket: WebSocket;
  received: AgentToServer[];
  /** Frames that did not match the protocol schema. */
  invalid: string[];
  closed: Promise<{ code: number; reason: string }>;
}

/** What the server does with a valid hello: reply with frames, and optionally close. */
export type HelloHandler = (
  hello: Extract<AgentToServer, { type: 'hello' }>,
  session: AgentSession,
  index: number,
) => void;

export const welcome = (heartbeatIntervalMs = 1_000) =>
  JSON.stringify({
    type: 'welcome',
    protocolVersion: PROTOCOL_VERSION,
    agentId: '3f1c2b9a-7d4e-4f3a-9c1b-2a6e8d5f0b17',
    heartbeatIntervalMs,
    serverTime: new Date().toISOString(),
  });

export const acceptHello =
  (heartbeatIntervalMs = 1_000): HelloHandler =>
  (_hello, session) =>
    session.socket.send(welcome(heartbeatIntervalMs));

export class AgentTestServer {
  readonly sessions: AgentSession[] = [];
  /** Upgrade requests seen, whether or not a session followed. */
  upgrades = 0;
  /** TCP connections accepted (proves the agent reached the server at all). */
  tcpConnections = 0;
  onHello: HelloHandler;
  private readonly waiters: Array<() => void> = [];

  private constructor(
    private readonly server: Server,
    readonly certificate: TestCertificate,
    onHello: HelloHandler,
  ) {
    this.onHello = onHello;
  }

  static async start(
    certificate: TestCertificate,
    onHello: HelloHandler = acceptHello(),
    options: { autoPong?: boolean } = {},
  ): Promise<AgentTestServer> {
    const server = createServer({ cert: certificate.cert, key: certificate.key });
    const test = new AgentTestServer(server, certificate, onHello);
    server.on('connection', () => {
      test.tcpConnections += 1;
    });
    server.on('upgrade', () => {
      test.upgrades += 1;
    });
    const wss = new WebSocketServer({
      server,
      path: '/ws/agent',
      maxPayload: MAX_WS_MESSAGE_BYTES,
      autoPong: options.autoPong ?? true,
    });
    wss.on('connection', (socket) => test.accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return test;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resolves once `predicate` holds, checked after every frame and connection. */
  async until(predicate: () => boolean, timeoutMs = 4_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error('condition not reached in time');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 25);
      });
    }
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.socket.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: WebSocket): void {
    let closedResolve: (value: { code: number; reason: string }) => void = () => undefined;
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      closedResolve = resolve;
    });
    const session: AgentSession = { socket, received: [], invalid: [], closed };
    const index = this.sessions.push(session) - 1;
    socket.on('close', (code, reason) => {
      closedResolve({ code, reason: reason.toString() });
      this.notify();
    });
    socket.on('message', (data) => {
      const parsed = AgentToServer.safeParse(JSON.parse(String(data)));
      if (!parsed.success) {
        session.invalid.push(String(data));
        this.notify();
        return;
      }
      const message = parsed.data;
      session.received.push(message);
      if (message.type === 'hello') this.onHello(message, session, index);
      this.notify();
    });
    this.notify();
  }

  private notify(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
