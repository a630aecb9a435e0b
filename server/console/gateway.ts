import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Alert } from '../../protocol/alerts';
import { ConsoleToServer, type ServerToConsole } from '../../protocol/console-messages';
import { MAX_WS_MESSAGE_BYTES } from '../../protocol/version';
import type { Principal } from '../auth/principal';
import type { ServerContext } from '../context';
import { AppError } from '../errors';
import type { ServerEvent } from '../events/bus';
import { loadOrgContext, type OrgContext } from '../access/org-access';

interface ConsoleConnection {
  ws: WebSocket;
  principal: Principal;
  orgId?: string;
  /** What the principal may do in the subscribed org, resolved at subscribe time. */
  org?: OrgContext;
}

/** Agents of units the caller holds agents.read on; a unit made after subscribing follows the org-level grant. */
function seesAgent(org: OrgContext, unitId: string): boolean {
  return org.can('agents.read', unitId) || (!org.access.units.has(unitId) && org.can('agents.read', null));
}

/** WebSocket close code after a `session.ended` message (4000–4999: application codes). */
export const SESSION_ENDED_CLOSE_CODE = 4001;

export interface ConsoleGateway {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): Promise<void>;
}

/**
 * /ws/console: live updates for signed-in consoles. Authenticated at the upgrade (no anonymous
 * socket is ever opened); a console sees events of the one org it subscribed to and may enter,
 * plus the security alerts its user may read in any org (pushAlert).
 */
export function createConsoleGateway(server: ServerContext, authenticate: (authorization: string | undefined) => Promise<Principal | undefined>): ConsoleGateway {
  const { log, metrics, bus } = server;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE_BYTES, perMessageDeflate: false });
  const connections = new Set<ConsoleConnection>();

  const send = (conn: ConsoleConnection, message: ServerToConsole) => {
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify(message));
  };

  const unsubscribe = bus.subscribe((event: ServerEvent) => {
    if (event.type === 'session.ended') {
      endSessionSockets(event);
      return;
    }
    if (event.type === 'alert.raised') {
      pushAlert(event.alert).catch((err: unknown) => log.error({ err, alertId: event.alert.id }, 'could not push an alert to consoles'));
      return;
    }
    if (event.type !== 'agent.status' && event.type !== 'agent.inventory') return;
    for (const conn of connections) {
      if (conn.orgId !== event.orgId || !conn.org || !seesAgent(conn.org, event.agent.unitId)) continue;
      send(conn, event.type === 'agent.status' ? { type: 'agent.status', agent: event.agent } : { type: 'agent.inventory', agent: event.agent });
    }
  });

  /**
   * An alert goes to every console whose user may read alerts in the alert's org (alerts.read
   * there, resolved as for routes), whatever org that console is subscribed to: an admin working
   * in one client still hears of a lockout in another. Alerts about MSP staff (no org) go to MSP
   * admins only. Access is resolved afresh, once per user, so a grant revoked a moment ago counts.
   */
  async function pushAlert(alert: Alert): Promise<void> {
    const verdicts = new Map<string, Promise<boolean>>();
    const mayRead = (principal: Principal): Promise<boolean> => {
      if (alert.orgId === null) return Promise.resolve(principal.platformAdmin);
      const orgId = alert.orgId;
      let verdict = verdicts.get(principal.userId);
      if (!verdict) {
        verdict = loadOrgContext(server.db, principal, orgId).then(
          (org) => org.can('alerts.read', null),
          (err: unknown) => {
            if (err instanceof AppError) return false; // not a member of that org: 404 for routes, nothing here
            throw err;
          },
        );
        verdicts.set(principal.userId, verdict);
      }
      return verdict;
    };
    await Promise.all([...connections].map(async (conn) => {
      if (await mayRead(conn.principal)) send(conn, { type: 'alert', alert });
    }));
  }

  // Sessions ended lately: a socket whose upgrade was authenticated just before its session
  // ended registers after the event went out, and is closed on arrival instead.
  const recentlyEnded = new Map<string, { event: Extract<ServerEvent, { type: 'session.ended' }>; at: number }>();

  /** A revoked, signed-out or expired session: say who and why, then close its sockets. */
  function endSessionSockets(event: Extract<ServerEvent, { type: 'session.ended' }>): void {
    const now = Date.now();
    for (const [id, entry] of recentlyEnded) if (now - entry.at > 60_000) recentlyEnded.delete(id);
    recentlyEnded.set(event.sessionId, { event, at: now });
    for (const conn of connections) {
      if (conn.principal.sessionId !== event.sessionId) continue;
      send(conn, { type: 'session.ended', kind: event.kind, reason: event.reason, by: event.by });
      conn.ws.close(SESSION_ENDED_CLOSE_CODE, 'session ended');
      connections.delete(conn);
    }
    metrics.consolesConnected.set(connections.size);
  }

  async function onMessage(conn: ConsoleConnection, raw: string): Promise<void> {
    let message: ConsoleToServer;
    try {
      const result = ConsoleToServer.safeParse(JSON.parse(raw));
      if (!result.success) throw new Error(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
      message = result.data;
    } catch (err) {
      metrics.wsMessages.inc({ endpoint: 'console', outcome: 'protocol_invalid_message' });
      send(conn, { type: 'error', code: 'protocol_invalid_message', message: `Invalid message: ${(err as Error).message}` });
      return;
    }
    metrics.wsMessages.inc({ endpoint: 'console', outcome: message.type });
    switch (message.type) {
      case 'ping':
        send(conn, { type: 'pong', id: message.id });
        return;
      case 'subscribe':
        try {
          conn.org = await loadOrgContext(server.db, conn.principal, message.orgId);
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          send(conn, { type: 'error', code: err.code, message: err.message });
          return;
        }
        conn.orgId = message.orgId;
        send(conn, { type: 'subscribed', orgId: message.orgId });
        return;
    }
  }

  wss.on('connection', (ws: WebSocket, _req: IncomingMessage, principal: Principal) => {
    const conn: ConsoleConnection = { ws, principal };
    connections.add(conn);
    metrics.consolesConnected.set(connections.size);
    const ended = principal.sessionId ? recentlyEnded.get(principal.sessionId) : undefined;
    if (ended) endSessionSockets(ended.event);
    let queue = Promise.resolve();
    ws.on('message', (data, isBinary) => {
      if (!connections.has(conn)) return; // its session ended; the socket is closing
      if (isBinary) {
        send(conn, { type: 'error', code: 'protocol_invalid_message', message: 'Binary frames are not part of the protocol' });
        return;
      }
      queue = queue.then(() => onMessage(conn, data.toString())).catch((err: unknown) => log.error({ err }, 'console message failed'));
    });
    ws.on('error', (err) => log.warn({ err: err.message }, 'console socket error'));
    ws.on('close', () => {
      connections.delete(conn);
      metrics.consolesConnected.set(connections.size);
    });
  });

  return {
    handleUpgrade(req, socket, head) {
      authenticate(req.headers.authorization)
        .then((principal) => {
          if (!principal) {
            const body = JSON.stringify({ error: { code: 'unauthenticated', message: 'Authentication required' } });
            socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
            return;
          }
          wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req, principal));
        })
        .catch((err: unknown) => {
          log.error({ err }, 'console authentication failed');
          socket.destroy();
        });
    },
    async close() {
      unsubscribe();
      for (const conn of connections) conn.ws.close(1001, 'server shutting down');
      wss.close();
    },
  };
}
