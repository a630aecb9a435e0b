import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { AgentCloseCode, AgentToServer, type ServerToAgent } from '../../protocol/agent-messages';
import type { ErrorCode } from '../../protocol/errors';
import { MAX_WS_MESSAGE_BYTES, PROTOCOL_VERSION, SUPPORTED_AGENT_PROTOCOL_VERSIONS } from '../../protocol/version';
import type { ServerContext } from '../context';
import { withOrg } from '../db/database';
import { hashAgentCredential } from './credential';
import { findAgentByCredential, markConnected, markDisconnected, resetNodePresence, saveInventory, touchLastSeen } from './store';

const HANDSHAKE_TIMEOUT_MS = 10_000;

interface AgentConnection {
  ws: WebSocket;
  ip: string;
  agentId?: string;
  orgId?: string;
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

  function send(conn: AgentConnection, message: ServerToAgent): void {
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify(message));
  }

  function refuse(conn: AgentConnection, code: ErrorCode, message: string, closeCode: number, extra: Partial<Extract<ServerToAgent, { type: 'error' }>> = {}): void {
    metrics.wsMessages.inc({ endpoint: 'agent', outcome: code });
    log.warn({ ip: conn.ip, agentId: conn.agentId, code }, `agent connection refused: ${message}`);
    send(conn, { type: 'error', code, message, ...extra });
    conn.ws.close(closeCode, code);
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
    const found = await findAgentByCredential(server.db, hashAgentCredential(message.token));
    if (!found) {
      refuse(conn, 'agent_auth_failed', 'Unknown agent credential', AgentCloseCode.authFailed);
      return;
    }
    if (conn.closed) return;
    conn.agentId = found.agentId;
    conn.orgId = found.orgId;

    const previous = online.get(found.agentId);
    online.set(found.agentId, conn);
    metrics.agentsConnected.set(online.size);
    if (previous && previous !== conn) {
      log.warn({ agentId: found.agentId, previousIp: previous.ip, ip: conn.ip }, 'agent credential connected twice; closing the older connection');
      send(previous, { type: 'error', code: 'agent_replaced', message: 'Another connection with this credential took over' });
      previous.ws.close(AgentCloseCode.replaced, 'replaced');
    }

    const agent = await withOrg(server.db, found.orgId, (tx) => markConnected(tx, found.agentId, clock.now(), config.nodeId, message.agentVersion));
    send(conn, {
      type: 'welcome',
      protocolVersion: PROTOCOL_VERSION,
      agentId: found.agentId,
      heartbeatIntervalMs: beatEveryMs,
      serverTime: clock.now().toISOString(),
    });
    armLiveness(conn);
    log.info({ agentId: found.agentId, orgId: found.orgId, ip: conn.ip, agentVersion: message.agentVersion }, 'agent connected');
    bus.publish({ type: 'agent.status', orgId: found.orgId, agent });
  }

  async function onMessage(conn: AgentConnection, message: AgentToServer): Promise<void> {
    if (!conn.agentId || !conn.orgId) {
      if (message.type !== 'hello') {
        refuse(conn, 'protocol_unexpected_message', `Expected hello, got ${message.type}`, AgentCloseCode.protocolError);
        return;
      }
      await onHello(conn, message);
      return;
    }
    const { agentId, orgId } = conn;
    switch (message.type) {
      case 'hello':
        refuse(conn, 'protocol_unexpected_message', 'hello was already received', AgentCloseCode.protocolError);
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
    try {
      if (isBinary) throw new Error('binary frames are not part of the protocol');
      const result = AgentToServer.safeParse(JSON.parse(data.toString()));
      if (!result.success) throw new Error(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
      parsed = result.data;
    } catch (err) {
      refuse(conn, 'protocol_invalid_message', `Invalid message: ${(err as Error).message}`, AgentCloseCode.protocolError);
      return;
    }
    metrics.wsMessages.inc({ endpoint: 'agent', outcome: parsed.type });
    conn.queue = conn.queue
      .then(() => (conn.closed && parsed.type !== 'hello' ? undefined : onMessage(conn, parsed)))
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
    const conn: AgentConnection = { ws, ip: req.socket.remoteAddress ?? 'unknown', queue: Promise.resolve(), closed: false };
    const handshake = setTimeout(() => {
      if (!conn.agentId) refuse(conn, 'protocol_handshake_timeout', 'No hello within the handshake time', AgentCloseCode.handshakeTimeout);
    }, HANDSHAKE_TIMEOUT_MS);
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
