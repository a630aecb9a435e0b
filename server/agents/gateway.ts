import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  deriveSessionKey,
  FrameChannel,
  fromBase64Url,
  newNonce,
  SECRET_BYTES,
  secretKey,
  serverProof,
  toBase64Url,
  verifyAgentProof,
} from '../../protocol/agent-auth';
import { AgentCloseCode, AgentToServer, type ServerToAgent, type Unsealed } from '../../protocol/agent-messages';
import type { ErrorCode } from '../../protocol/errors';
import { MAX_WS_MESSAGE_BYTES, PROTOCOL_VERSION, SUPPORTED_AGENT_PROTOCOL_VERSIONS } from '../../protocol/version';
import type { ServerContext } from '../context';
import { withOrg } from '../db/database';
import { openAgentSecret } from './credential';
import { findAgentForHandshake, markConnected, markDisconnected, resetNodePresence, saveInventory, touchLastSeen } from './store';

const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Failed handshakes per source address before further attempts are refused for the window. */
const HANDSHAKE_FAILURES = { points: 30, durationSeconds: 60 };

/** Between `challenge` and `proof`: what the proof is checked against. */
interface PendingHandshake {
  agentId: string;
  /** Null for an unknown agent id: the handshake runs on with a random secret and fails at the proof. */
  orgId: string | null;
  secret: Uint8Array;
  key: CryptoKey;
  nonceA: Uint8Array;
  nonceS: Uint8Array;
  agentVersion: string;
}

const handshakeTimeouts = new WeakMap<ServerContext, number>();

/** Shortens a running server's handshake time box (tests). */
export function setAgentHandshakeTimeout(server: ServerContext, ms: number): void {
  handshakeTimeouts.set(server, ms);
}

interface AgentConnection {
  ws: WebSocket;
  ip: string;
  /** Set once the agent's proof verified (the session is authenticated). */
  agentId?: string;
  orgId?: string;
  pending?: PendingHandshake;
  /** Seals outgoing and checks incoming frames once the handshake is done. */
  channel?: FrameChannel;
  /** Sealed frames go out one after another, in seq order. */
  outbox: Promise<void>;
  /** Messages are handled one at a time per connection, in arrival order. */
  queue: Promise<void>;
  liveness?: NodeJS.Timeout;
  closed: boolean;
}

export interface AgentGateway {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  connectedAgentIds(): string[];
  close(): Promise<void>;
}

/**
 * /ws/agent. Agents speak first; until `hello` is verified nothing else is accepted. Every frame is
 * parsed by the protocol schema; a bad frame closes the connection with a protocol error, never
 * the server. Presence (online, connected node, last seen) lives in the agents table so every
 * node and console sees the same state.
 */
export function createAgentGateway(server: ServerContext): AgentGateway {
  const { config, log, metrics, bus, clock } = server;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE_BYTES, perMessageDeflate: false });
  const online = new Map<string, AgentConnection>();
  const seen = new Map<string, string>(); // agentId -> orgId, heartbeats since the last flush
  const closing = new Set<Promise<void>>();
  const failedHandshakes = new RateLimiterMemory({ points: HANDSHAKE_FAILURES.points, duration: HANDSHAKE_FAILURES.durationSeconds });
  // The configured interval is the promise: a silent agent shows offline within it. Agents beat
  // three times per interval, so two lost heartbeats never flap an agent offline.
  const livenessMs = config.heartbeatIntervalMs;
  const beatEveryMs = Math.max(100, Math.round(config.heartbeatIntervalMs / 3));

  const flushTimer = setInterval(() => void flushLastSeen(), config.heartbeatIntervalMs);
  flushTimer.unref();

  async function flushLastSeen(): Promise<void> {
    if (seen.size === 0) return;
    const byOrg = new Map<string, string[]>();
    for (const [agentId, orgId] of seen) byOrg.set(orgId, [...(byOrg.get(orgId) ?? []), agentId]);
    seen.clear();
    const at = clock.now();
    for (const [orgId, agentIds] of byOrg) {
      await withOrg(server.db, orgId, (tx) => touchLastSeen(tx, agentIds, at)).catch((err: unknown) => log.error({ err }, 'last-seen flush failed'));
    }
  }

  /** In a session every frame is numbered and MACed; before it (challenge, refusals) none can be. */
  function send(conn: AgentConnection, message: Unsealed<ServerToAgent>): void {
    const { channel } = conn;
    if (!channel) {
      if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify(message));
      return;
    }
    const sealed = channel.seal(message);
    conn.outbox = conn.outbox.then(async () => {
      const frame = await sealed;
      if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify(frame));
    });
  }

  /** Closes after whatever is queued in the outbox went out. */
  function close(conn: AgentConnection, closeCode: number, reason: string): void {
    conn.outbox = conn.outbox.then(() => conn.ws.close(closeCode, reason));
  }

  function refuse(conn: AgentConnection, code: ErrorCode, message: string, closeCode: number, extra: Partial<Extract<ServerToAgent, { type: 'error' }>> = {}): void {
    metrics.wsMessages.inc({ endpoint: 'agent', outcome: code });
    log.warn({ ip: conn.ip, agentId: conn.agentId ?? conn.pending?.agentId, code }, `agent connection refused: ${message}`);
    send(conn, { type: 'error', code, message, ...extra });
    close(conn, closeCode, code);
  }

  function handshakeFailed(conn: AgentConnection, code: 'agent_auth_failed' | 'agent_reenrol_required', message: string): void {
    failedHandshakes.consume(conn.ip).catch(() => undefined);
    refuse(conn, code, message, AgentCloseCode.authFailed);
  }

  function armLiveness(conn: AgentConnection): void {
    clearTimeout(conn.liveness);
    conn.liveness = setTimeout(() => {
      log.info({ agentId: conn.agentId }, 'agent missed its heartbeat; marking offline');
      conn.ws.close(AgentCloseCode.heartbeatTimeout, 'heartbeat timeout');
      // A peer that vanished without a FIN never completes the close handshake.
      setTimeout(() => conn.ws.terminate(), 1000).unref();
    }, livenessMs);
  }

  async function onHello(conn: AgentConnection, message: Extract<AgentToServer, { type: 'hello' }>): Promise<void> {
    if (!SUPPORTED_AGENT_PROTOCOL_VERSIONS.includes(message.protocolVersion)) {
      refuse(conn, 'protocol_unsupported_version', `Protocol version ${message.protocolVersion} is not supported`, AgentCloseCode.unsupportedVersion, {
        supportedVersions: [...SUPPORTED_AGENT_PROTOCOL_VERSIONS],
      });
      return;
    }
    const failures = await failedHandshakes.get(conn.ip);
    if (failures && failures.consumedPoints >= HANDSHAKE_FAILURES.points) {
      refuse(conn, 'rate_limited', 'Too many failed handshakes from this address; try again later', AgentCloseCode.authFailed);
      return;
    }
    const found = await findAgentForHandshake(server.db, message.agentId);
    if (found && found.secretSealed === null) {
      // Provisioned before mutual authentication: only a hash is stored, which cannot key an HMAC.
      handshakeFailed(conn, 'agent_reenrol_required', 'This agent was provisioned before mutual authentication; enrol it again');
      return;
    }
    let secret: Uint8Array | null = null;
    if (found?.secretSealed) {
      try {
        secret = openAgentSecret(server.keys, message.agentId, found.secretSealed);
      } catch (err) {
        log.error({ agentId: message.agentId, reason: (err as Error).message }, 'a stored agent secret does not open');
      }
    }
    // An unknown id (or a secret that does not open) runs the same steps with a random secret and
    // fails at the proof with the same error: the answer tells nothing about which ids exist.
    const orgId = secret ? (found?.orgId ?? null) : null;
    const effective = secret ?? new Uint8Array(randomBytes(SECRET_BYTES));
    const key = await secretKey(effective);
    const nonceA = fromBase64Url(message.nonceA);
    const nonceS = newNonce();
    const proof = await serverProof(key, { agentId: message.agentId, nonceA, nonceS });
    if (conn.closed) return;
    conn.pending = { agentId: message.agentId, orgId, secret: effective, key, nonceA, nonceS, agentVersion: message.agentVersion };
    send(conn, { type: 'challenge', nonceS: toBase64Url(nonceS), serverProof: toBase64Url(proof) });
  }

  async function onProof(conn: AgentConnection, pending: PendingHandshake, message: Extract<AgentToServer, { type: 'proof' }>): Promise<void> {
    conn.pending = undefined;
    const valid = await verifyAgentProof(pending.key, pending, fromBase64Url(message.agentProof));
    if (!valid || pending.orgId === null) {
      handshakeFailed(conn, 'agent_auth_failed', 'Agent authentication failed');
      return;
    }
    const sessionKey = await deriveSessionKey(pending.secret, pending.nonceA, pending.nonceS);
    if (conn.closed) return;
    const found = { agentId: pending.agentId, orgId: pending.orgId };
    conn.channel = new FrameChannel(sessionKey, 'toAgent');
    conn.agentId = found.agentId;
    conn.orgId = found.orgId;

    const previous = online.get(found.agentId);
    online.set(found.agentId, conn);
    metrics.agentsConnected.set(online.size);
    if (previous && previous !== conn) {
      log.warn({ agentId: found.agentId, previousIp: previous.ip, ip: conn.ip }, 'agent credential connected twice; closing the older connection');
      send(previous, { type: 'error', code: 'agent_replaced', message: 'Another connection with this credential took over' });
      close(previous, AgentCloseCode.replaced, 'replaced');
    }

    const agent = await withOrg(server.db, found.orgId, (tx) => markConnected(tx, found.agentId, clock.now(), config.nodeId, pending.agentVersion));
    send(conn, {
      type: 'welcome',
      protocolVersion: PROTOCOL_VERSION,
      agentId: found.agentId,
      heartbeatIntervalMs: beatEveryMs,
      serverTime: clock.now().toISOString(),
    });
    armLiveness(conn);
    log.info({ agentId: found.agentId, orgId: found.orgId, ip: conn.ip, agentVersion: pending.agentVersion }, 'agent connected (mutually authenticated)');
    bus.publish({ type: 'agent.status', orgId: found.orgId, agent });
  }

  async function onMessage(conn: AgentConnection, message: AgentToServer, raw: unknown): Promise<void> {
    if (!conn.channel || !conn.agentId || !conn.orgId) {
      const { pending } = conn;
      if (!pending && message.type === 'hello') return onHello(conn, message);
      if (pending && message.type === 'proof') return onProof(conn, pending, message);
      refuse(conn, 'protocol_unexpected_message', `Expected ${pending ? 'proof' : 'hello'}, got ${message.type}`, AgentCloseCode.protocolError);
      return;
    }
    const check = await conn.channel.check(raw);
    if (!check.ok) {
      // Replayed, reordered, skipped or altered: nothing after this frame can be trusted.
      metrics.wsMessages.inc({ endpoint: 'agent', outcome: 'frame_rejected' });
      log.warn({ ip: conn.ip, agentId: conn.agentId, reason: check.reason, type: message.type }, 'agent frame failed its integrity check; dropping the connection');
      conn.closed = true;
      conn.ws.close(AgentCloseCode.frameRejected, check.reason);
      return;
    }
    const { agentId, orgId } = conn;
    switch (message.type) {
      case 'hello':
      case 'proof':
        refuse(conn, 'protocol_unexpected_message', `${message.type} after the handshake`, AgentCloseCode.protocolError);
        return;
      case 'heartbeat':
        armLiveness(conn);
        seen.set(agentId, orgId);
        return;
      case 'inventory': {
        armLiveness(conn);
        const agent = await withOrg(server.db, orgId, (tx) => saveInventory(tx, agentId, message.inventory, clock.now()));
        bus.publish({ type: 'agent.inventory', orgId, agent });
        return;
      }
    }
  }

  function onFrame(conn: AgentConnection, data: RawData, isBinary: boolean): void {
    let parsed: AgentToServer;
    let raw: unknown;
    try {
      if (isBinary) throw new Error('binary frames are not part of the protocol');
      raw = JSON.parse(data.toString());
      const result = AgentToServer.safeParse(raw);
      if (!result.success) throw new Error(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
      parsed = result.data;
    } catch (err) {
      refuse(conn, 'protocol_invalid_message', `Invalid message: ${(err as Error).message}`, AgentCloseCode.protocolError);
      return;
    }
    metrics.wsMessages.inc({ endpoint: 'agent', outcome: parsed.type });
    conn.queue = conn.queue
      .then(() => (conn.closed ? undefined : onMessage(conn, parsed, raw)))
      .catch((err: unknown) => {
        log.error({ err, agentId: conn.agentId }, 'agent message handling failed');
        refuse(conn, 'internal', 'Server error handling the message', 1011);
      });
  }

  async function onClose(conn: AgentConnection, code: number): Promise<void> {
    conn.closed = true;
    clearTimeout(conn.liveness);
    await conn.queue;
    const { agentId, orgId } = conn;
    if (!agentId || !orgId || online.get(agentId) !== conn) return;
    online.delete(agentId);
    seen.delete(agentId);
    metrics.agentsConnected.set(online.size);
    log.info({ agentId, code }, 'agent disconnected');
    try {
      const agent = await withOrg(server.db, orgId, (tx) => markDisconnected(tx, agentId, clock.now(), config.nodeId));
      if (agent) bus.publish({ type: 'agent.status', orgId, agent });
    } catch (err) {
      log.error({ err, agentId }, 'could not record agent disconnect');
    }
  }

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const conn: AgentConnection = { ws, ip: req.socket.remoteAddress ?? 'unknown', queue: Promise.resolve(), outbox: Promise.resolve(), closed: false };
    const handshake = setTimeout(() => {
      if (!conn.channel) {
        failedHandshakes.consume(conn.ip).catch(() => undefined);
        refuse(conn, 'protocol_handshake_timeout', 'The handshake did not complete within the handshake time', AgentCloseCode.handshakeTimeout);
      }
    }, handshakeTimeouts.get(server) ?? HANDSHAKE_TIMEOUT_MS);
    ws.on('message', (data, isBinary) => onFrame(conn, data, isBinary));
    ws.on('error', (err) => {
      // ws closes with 1009 itself when a frame exceeds maxPayload.
      metrics.wsMessages.inc({ endpoint: 'agent', outcome: 'socket_error' });
      log.warn({ ip: conn.ip, agentId: conn.agentId, err: err.message }, 'agent socket error');
    });
    ws.on('close', (code) => {
      clearTimeout(handshake);
      const done = onClose(conn, code);
      closing.add(done);
      void done.finally(() => closing.delete(done));
    });
  });

  return {
    handleUpgrade(req, socket, head) {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
    connectedAgentIds: () => [...online.keys()],
    async close() {
      clearInterval(flushTimer);
      await flushLastSeen();
      const sockets = [...wss.clients].map(
        (ws) =>
          new Promise<void>((resolve) => {
            ws.once('close', () => resolve());
            ws.close(AgentCloseCode.shuttingDown, 'server shutting down');
            setTimeout(() => {
              ws.terminate();
              resolve();
            }, 2000).unref();
          }),
      );
      await Promise.all(sockets);
      await Promise.all([...closing]);
      // Whatever close handlers could not record, the node's presence reset does.
      await resetNodePresence(server.db, config.nodeId).catch((err: unknown) => log.error({ err }, 'presence reset failed'));
      online.clear();
      metrics.agentsConnected.set(0);
      wss.close();
    },
  };
}
