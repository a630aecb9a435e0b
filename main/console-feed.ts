import WebSocket from 'ws';
import { ServerToConsole, type ConsoleToServer } from '../protocol/console-messages';
import type { Alert } from '../protocol/alerts';
import type { AgentDetail, AgentSummary } from '../protocol/api';
import type { ConnectionState, SessionEnded } from '../protocol/ipc-contract';
import { MAX_WS_MESSAGE_BYTES } from '../protocol/version';
import type { CredentialSource } from './credentials';
import { connectionError, type TrustResolver } from './server-trust';

/*
 * The console's live feed: one WebSocket to /ws/console that reconnects with jittered
 * exponential backoff and re-subscribes to the org the user is looking at. Every frame is
 * parsed with the protocol schema; anything else closes the connection. When the server ends
 * the socket's session (`session.ended`, then close 4001) the feed stops instead of
 * reconnecting and says so; the auth controller locks the console.
 */

/** The server's close code after `session.ended` (server/console/gateway.ts). */
export const SESSION_ENDED_CLOSE_CODE = 4001;

export type FeedEvent =
  | { type: 'agent.status'; agent: AgentSummary }
  | { type: 'agent.inventory'; agent: AgentDetail }
  | { type: 'alert'; alert: Alert }
  | { type: 'connection.state'; state: ConnectionState }
  /** The server ended this credential's session; the feed has stopped. */
  | { type: 'session.ended'; ended: Omit<SessionEnded, 'at'> }
  /** The upgrade was answered 401: the credential is not (or no longer) accepted. */
  | { type: 'credential.refused' };

export interface ConsoleFeed {
  start(): void;
  stop(): Promise<void>;
  /** Follow this org's live updates; replaces the previous one, survives reconnects. */
  subscribe(orgId: string): void;
  state(): ConnectionState;
  on(listener: (event: FeedEvent) => void): () => void;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ConsoleFeedOptions {
  serverUrl: URL;
  trust: TrustResolver;
  credentials: CredentialSource;
  backoff?: { initialMs: number; maxMs: number };
  /** A ping goes out this often; no pong before the next one means the link is dead. */
  pingIntervalMs?: number;
  timers?: Timers;
  random?: () => number;
}

const nodeTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export function consoleFeedUrl(serverUrl: URL): URL {
  const url = new URL('/ws/console', serverUrl);
  url.protocol = 'wss:';
  return url;
}

export function backoffDelay(attempt: number, backoff: { initialMs: number; maxMs: number }, random: () => number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** attempt);
  // "Equal jitter": never below half the ceiling, so a fleet of consoles spreads out but still backs off.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function createConsoleFeed(options: ConsoleFeedOptions): ConsoleFeed {
  const url = consoleFeedUrl(options.serverUrl);
  const backoff = options.backoff ?? { initialMs: 1_000, maxMs: 30_000 };
  const pingIntervalMs = options.pingIntervalMs ?? 25_000;
  const timers = options.timers ?? nodeTimers;
  const random = options.random ?? Math.random;
  const listeners = new Set<(event: FeedEvent) => void>();

  let current: ConnectionState = { state: 'offline', detail: 'not started' };
  let socket: WebSocket | undefined;
  let running = false;
  let attempt = 0;
  let orgId: string | undefined;
  let retryTimer: unknown;
  let pingTimer: unknown;
  let pingId = 0;
  let awaitingPong = false;

  const emit = (event: FeedEvent): void => {
    for (const listener of listeners) listener(event);
  };
  const setState = (state: ConnectionState): void => {
    if (state.state === current.state && state.detail === current.detail) return;
    current = state;
    emit({ type: 'connection.state', state });
  };
  const send = (message: ConsoleToServer): void => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  };

  const schedulePing = (): void => {
    pingTimer = timers.setTimeout(() => {
      if (awaitingPong) {
        socket?.terminate();
        return;
      }
      awaitingPong = true;
      send({ type: 'ping', id: pingId++ });
      schedulePing();
    }, pingIntervalMs);
  };

  const scheduleReconnect = (reason: string): void => {
    if (!running) return;
    const delay = backoffDelay(attempt++, backoff, random);
    setState({ state: 'offline', detail: `${reason}; retrying in ${Math.ceil(delay / 1000)} s` });
    retryTimer = timers.setTimeout(() => void connect(), delay);
  };

  const connect = async (): Promise<void> => {
    if (!running) return;
    setState({ state: 'connecting', detail: `connecting to ${url.host}` });
    let ws: WebSocket;
    try {
      const [tlsOptions, authorization] = await Promise.all([
        options.trust.tlsOptions(),
        options.credentials.authorizationHeader(),
      ]);
      if (!running) return;
      ws = new WebSocket(url, {
        ...tlsOptions,
        headers: { authorization },
        maxPayload: MAX_WS_MESSAGE_BYTES,
        handshakeTimeout: 15_000,
        perMessageDeflate: false,
        followRedirects: false,
      });
    } catch (error) {
      scheduleReconnect(connectionError(error).message);
      return;
    }
    socket = ws;
    let closeReason = 'connection lost';
    // The handshake's answer says more than the socket error that follows it.
    let reasonFromServer = false;
    let ended: Omit<SessionEnded, 'at'> | undefined;

    ws.on('open', () => {
      attempt = 0;
      awaitingPong = false;
      setState({ state: 'online', detail: `connected to ${url.host}` });
      if (orgId) send({ type: 'subscribe', orgId });
      schedulePing();
    });
    ws.on('message', (data, isBinary) => {
      const parsed = isBinary ? undefined : ServerToConsole.safeParse(safeJson(data.toString()));
      if (!parsed?.success) {
        closeReason = 'server sent an invalid message';
        ws.close(1002, 'invalid message');
        return;
      }
      const message = parsed.data;
      switch (message.type) {
        case 'pong':
          awaitingPong = false;
          break;
        case 'agent.status':
          emit({ type: 'agent.status', agent: message.agent });
          break;
        case 'agent.inventory':
          emit({ type: 'agent.inventory', agent: message.agent });
          break;
        case 'alert':
          emit({ type: 'alert', alert: message.alert });
          break;
        case 'session.ended':
          // Said before the close: tell at once rather than wait for the close handshake.
          ended = { kind: message.kind, reason: message.reason, by: message.by };
          endSession(ended);
          break;
        case 'error':
          closeReason = `server error ${message.code}: ${message.message}`;
          reasonFromServer = true;
          break;
        case 'subscribed':
          break;
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      closeReason = res.statusCode === 401 ? 'the server refused the credential' : `server answered ${res.statusCode}`;
      reasonFromServer = true;
      ws.terminate();
      if (res.statusCode === 401) emit({ type: 'credential.refused' });
    });
    ws.on('error', (error) => {
      const mapped = connectionError(error);
      if (mapped.code === 'tls_untrusted') options.trust.invalidate();
      if (!reasonFromServer) closeReason = mapped.message;
    });
    ws.on('close', (code) => {
      timers.clearTimeout(pingTimer);
      if (socket === ws) socket = undefined;
      if (code === SESSION_ENDED_CLOSE_CODE && !ended) {
        // The close without its message (lost, or cut short): still the end of the session.
        ended = { kind: 'revoked', reason: 'The server ended this session', by: null };
        endSession(ended);
      }
      if (ended) return;
      scheduleReconnect(closeReason);
    });
  };

  /** No reconnect with a credential the server has ended: stop here and let the listeners lock. */
  const endSession = (ended: Omit<SessionEnded, 'at'>): void => {
    if (!running) return;
    running = false;
    timers.clearTimeout(retryTimer);
    timers.clearTimeout(pingTimer);
    setState({ state: 'offline', detail: 'session ended' });
    emit({ type: 'session.ended', ended });
  };

  return {
    start() {
      if (running) return;
      running = true;
      attempt = 0;
      void connect();
    },
    async stop() {
      running = false;
      // The next start may be another user's session: it subscribes anew.
      orgId = undefined;
      timers.clearTimeout(retryTimer);
      timers.clearTimeout(pingTimer);
      const ws = socket;
      socket = undefined;
      if (ws && ws.readyState !== WebSocket.CLOSED) {
        await new Promise<void>((resolve) => {
          const fallback = timers.setTimeout(() => ws.terminate(), 2_000);
          ws.once('close', () => {
            timers.clearTimeout(fallback);
            resolve();
          });
          ws.close(1000, 'console closing');
        });
      }
      setState({ state: 'offline', detail: 'stopped' });
    },
    subscribe(next) {
      orgId = next;
      send({ type: 'subscribe', orgId: next });
    },
    state: () => current,
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
