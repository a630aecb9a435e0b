import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  deriveSessionKey,
  formatCredential,
  FrameChannel,
  fromBase64Url,
  newNonce,
  secretKey,
  serverProof,
  toBase64Url,
  verifyAgentProof,
} from '../../protocol/agent-auth';
import { AgentCloseCode, AgentToServer } from '../../protocol/agent-messages';
import { MAX_WS_MESSAGE_BYTES, PROTOCOL_VERSION } from '../../protocol/version';
import { certificateFingerprint } from '../tls-trust';

/*
 * The server side of /ws/agent, small enough to script per test: what to answer to `hello` is a
 * function, and everything the agent sends is recorded per connection. By default the server runs
 * the mutual handshake itself with TEST_SECRET and calls the handler once the agent's proof
 * verified, with a socket that seals (numbers and MACs) what the handler sends; with
 * `handshake: 'manual'` the handler gets the hello and a plain socket.
 */

export const TEST_AGENT_ID = '3f1c2b9a-7d4e-4f3a-9c1b-2a6e8d5f0b17';
export const TEST_SECRET = new Uint8Array(32).map((_, i) => i + 1);
export const TEST_CREDENTIAL = formatCredential(TEST_AGENT_ID, TEST_SECRET);

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

/** What the handler sends through: sealed after an automatic handshake, plain otherwise. */
export interface SessionSocket {
  send(text: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

export interface AgentSession {
  socket: SessionSocket;
  /** The WebSocket itself, for frames the agent must reject (unsealed, replayed, altered). */
  ws: WebSocket;
  /** Set after an automatic handshake: seals like the server would (seq +1 each call). */
  channel: FrameChannel | null;
  received: AgentToServer[];
  /** Frames after the handshake that failed their seq/MAC check, by reason. */
  rejected: string[];
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
    agentId: TEST_AGENT_ID,
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
    private readonly handshake: 'auto' | 'manual',
    private readonly secret: Uint8Array,
  ) {
    this.onHello = onHello;
  }

  static async start(
    certificate: TestCertificate,
    onHello: HelloHandler = acceptHello(),
    options: {
      autoPong?: boolean;
      handshake?: 'auto' | 'manual';
      /** The secret this server believes the agent has (a wrong one plays a server without it). */
      secret?: Uint8Array;
    } = {},
  ): Promise<AgentTestServer> {
    const server = createServer({ cert: certificate.cert, key: certificate.key });
    const test = new AgentTestServer(server, certificate, onHello, options.handshake ?? 'auto', options.secret ?? TEST_SECRET);
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
    let outbox: Promise<void> = Promise.resolve();
    let incoming: Promise<void> = Promise.resolve();
    const plain: SessionSocket = {
      send: (text) => {
        outbox = outbox.then(() => socket.send(text));
      },
      close: (code, reason) => {
        outbox = outbox.then(() => socket.close(code, reason));
      },
      terminate: () => socket.terminate(),
    };
    const session: AgentSession = { socket: plain, ws: socket, channel: null, received: [], rejected: [], invalid: [], closed };
    const index = this.sessions.push(session) - 1;
    let hello: Extract<AgentToServer, { type: 'hello' }> | null = null;
    let pending: { key: CryptoKey; nonceA: Uint8Array; nonceS: Uint8Array } | null = null;
    socket.on('close', (code, reason) => {
      closedResolve({ code, reason: reason.toString() });
      this.notify();
    });
    const handle = async (data: string) => {
      let raw: unknown;
      try {
        raw = JSON.parse(data);
      } catch {
        session.invalid.push(data);
        return;
      }
      const parsed = AgentToServer.safeParse(raw);
      if (!parsed.success) {
        session.invalid.push(data);
        return;
      }
      const message = parsed.data;
      if (session.channel) {
        const check = await session.channel.check(raw);
        if (!check.ok) {
          session.rejected.push(check.reason);
          return;
        }
      }
      session.received.push(message);
      if (message.type === 'hello' && this.handshake === 'manual') this.onHello(message, session, index);
      else if (message.type === 'hello') {
        hello = message;
        const key = await secretKey(this.secret);
        const nonceA = fromBase64Url(message.nonceA);
        const nonceS = newNonce();
        pending = { key, nonceA, nonceS };
        const proof = await serverProof(key, { agentId: message.agentId, nonceA, nonceS });
        socket.send(JSON.stringify({ type: 'challenge', nonceS: toBase64Url(nonceS), serverProof: toBase64Url(proof) }));
      } else if (message.type === 'proof' && pending && hello) {
        const inputs = { agentId: hello.agentId, ...pending };
        pending = null;
        if (!(await verifyAgentProof(inputs.key, inputs, fromBase64Url(message.agentProof)))) {
          socket.send(JSON.stringify({ type: 'error', code: 'agent_auth_failed', message: 'Agent authentication failed' }));
          socket.close(AgentCloseCode.authFailed, 'agent_auth_failed');
          return;
        }
        const channel = new FrameChannel(await deriveSessionKey(this.secret, inputs.nonceA, inputs.nonceS), 'toAgent');
        session.channel = channel;
        session.socket = {
          send: (text) => {
            const sealed = channel.seal(JSON.parse(text) as Record<string, unknown>);
            outbox = outbox.then(async () => socket.send(JSON.stringify(await sealed)));
          },
          close: plain.close,
          terminate: plain.terminate,
        };
        this.onHello(hello, session, index);
      }
    };
    socket.on('message', (data) => {
      incoming = incoming.then(() => handle(String(data))).finally(() => this.notify());
    });
    this.notify();
  }

  private notify(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
