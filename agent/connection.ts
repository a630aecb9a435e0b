import type { Logger } from 'pino';
import WebSocket, { type RawData } from 'ws';
import type { FrameChannel } from '../protocol/agent-auth';
import { AgentCloseCode, type AgentToServer, ServerToAgent, type Unsealed } from '../protocol/agent-messages';
import type { ErrorCode } from '../protocol/errors';
import type { Inventory } from '../protocol/inventory';
import { MAX_WS_MESSAGE_BYTES } from '../protocol/version';
import { type Handshake, HandshakeRefused, type Received, ServerNotAuthenticated, type Welcome } from './handshake';
import { stableInventoryHash } from './inventory';
import { isTrustFailure, type ServerTrust, trustOptions } from './tls-trust';

/*
 * One connection, from TCP connect to close: TLS trust, mutual handshake, then inventory and
 * heartbeats, every frame numbered and MACed under the session key (FrameChannel).
 * It resolves with what happened; deciding whether and when to reconnect is the caller's job.
 */

export interface ConnectionParams {
  url: URL;
  trust: ServerTrust;
  handshake: Handshake;
  welcomeTimeoutMs: number;
  inventoryCheckIntervalMs: number;
  /** How long a graceful close may take before the socket is cut. */
  closeTimeoutMs: number;
  heartbeatLog: boolean;
  collectInventory: () => Promise<Inventory>;
  uptimeSeconds: () => number;
  logger: Logger;
  onWelcome: (welcome: Welcome) => void;
  onInventory: (inventory: Inventory, reason: 'connect' | 'changed') => void;
  onHeartbeat: (seq: number) => void;
}

export interface ConnectionOutcome {
  closeCode: number | null;
  closeReason: string;
  /** Error code from the server's `error` frame, if it sent one. */
  serverError: ErrorCode | null;
  /** Why the agent ended or lost the connection, if it knows. */
  failure: string | null;
  trustFailure: boolean;
  /** Time between `welcome` and close; 0 if the handshake never completed. */
  welcomedForMs: number;
}

/** A misbehaving server could otherwise make the agent spin sending heartbeats. */
const MIN_HEARTBEAT_INTERVAL_MS = 100;
/** Missed pong replies, counted in heartbeat intervals, before the connection is presumed dead. */
const PONG_TIMEOUT_INTERVALS = 3;

export function runConnection(params: ConnectionParams, signal: AbortSignal): Promise<ConnectionOutcome> {
  const { logger } = params;
  return new Promise((resolve) => {
    const outcome: ConnectionOutcome = {
      closeCode: null,
      closeReason: '',
      serverError: null,
      failure: null,
      trustFailure: false,
      welcomedForMs: 0,
    };
    let welcomedAt: number | null = null;
    let heartbeatTimer: NodeJS.Timeout | undefined;
    let inventoryTimer: NodeJS.Timeout | undefined;
    let closeTimer: NodeJS.Timeout | undefined;
    const inbox = new Inbox();
    let channel: FrameChannel | null = null;
    /** Sealing and checking are async; these chains keep frames in seq order both ways. */
    let outbox: Promise<void> = Promise.resolve();
    let incoming: Promise<void> = Promise.resolve();

    const ws = new WebSocket(params.url, {
      ...trustOptions(params.trust),
      maxPayload: MAX_WS_MESSAGE_BYTES,
      handshakeTimeout: params.welcomeTimeoutMs,
      // Compression buys little for small JSON frames and widens the attack surface.
      perMessageDeflate: false,
      followRedirects: false,
    });

    const fail = (reason: string) => {
      outcome.failure ??= reason;
    };

    const end = (code: number, reason: string) => {
      if (ws.readyState === WebSocket.CONNECTING) {
        ws.terminate();
        return;
      }
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.close(code, reason);
      closeTimer ??= setTimeout(() => ws.terminate(), params.closeTimeoutMs);
    };

    /** Handshake frames go out as they are; there is no session key yet. */
    const sendPlain = (message: AgentToServer) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
    };

    /** Session frames: numbered and MACed, sent in order. */
    const send = (message: Unsealed<AgentToServer>): boolean => {
      const session = channel;
      if (ws.readyState !== WebSocket.OPEN || !session) return false;
      // seq and mac add well under 128 bytes.
      const bytes = Buffer.byteLength(JSON.stringify(message)) + 128;
      if (bytes > MAX_WS_MESSAGE_BYTES) {
        logger.error({ type: message.type, bytes }, 'message too large to send; skipped');
        return false;
      }
      const sealed = session.seal(message);
      outbox = outbox.then(async () => {
        const frame = await sealed;
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
      });
      return true;
    };

    let rejected = false;
    const frameRejected = (reason: string) => {
      rejected = true;
      logger.error({ reason }, 'server frame failed its integrity check (replayed, reordered or altered); dropping the connection');
      fail(`frame rejected: ${reason}`);
      end(AgentCloseCode.frameRejected, reason);
    };

    /** Every frame after the handshake: check seq and MAC first, in arrival order. */
    const onSessionFrame = (session: FrameChannel, received: Received) => {
      incoming = incoming.then(async () => {
        // Nothing after a rejected frame is trusted, even if it would check.
        if (rejected) return;
        const check = await session.check(received.raw);
        if (!check.ok) return frameRejected(check.reason);
        onServerMessage(received.message);
      });
    };

    const protocolViolation = (reason: string) => {
      logger.warn({ reason }, 'server sent an invalid frame; dropping the connection');
      fail(`protocol violation: ${reason}`);
      end(AgentCloseCode.protocolError, 'invalid frame');
    };

    /** After `welcome` the only valid frame is an `error`, which ends the connection. */
    const onServerMessage = (message: ServerToAgent) => {
      if (message.type !== 'error') return protocolViolation(`unexpected ${message.type}`);
      outcome.serverError = message.code;
      logger.error({ code: message.code }, `server reported an error: ${message.message}`);
      fail(`server error: ${message.code}`);
      end(1000, 'server error');
    };

    const onAbort = () => end(1000, 'agent stopping');
    signal.addEventListener('abort', onAbort, { once: true });

    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return protocolViolation('binary frame');
      let json: unknown;
      try {
        json = JSON.parse(rawText(data));
      } catch {
        return protocolViolation('frame is not JSON');
      }
      const parsed = ServerToAgent.safeParse(json);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
        return protocolViolation(`frame does not match the protocol (${issues.slice(0, 5).join('; ')})`);
      }
      const received = { message: parsed.data, raw: json };
      if (channel) onSessionFrame(channel, received);
      else inbox.push(received);
    });

    ws.on('error', (error: Error) => {
      if (isTrustFailure(error)) outcome.trustFailure = true;
      fail(error.message);
    });

    ws.on('close', (code: number, reason: Buffer) => {
      outcome.closeCode = code;
      outcome.closeReason = reason.toString('utf8');
      outcome.welcomedForMs = welcomedAt === null ? 0 : Date.now() - welcomedAt;
      inbox.close(new Error('connection closed'));
      clearInterval(heartbeatTimer);
      clearInterval(inventoryTimer);
      clearTimeout(closeTimer);
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    });

    ws.on('open', () => {
      logger.debug('TLS and WebSocket established; authenticating');
      params
        .handshake({ send: sendPlain, receive: (ms) => inbox.receive(ms) })
        .then(({ welcome, channel: session }) => {
          if (ws.readyState !== WebSocket.OPEN) return;
          welcomedAt = Date.now();
          params.onWelcome(welcome);
          // Frames that arrived right behind the welcome are handled like any later frame.
          channel = session;
          for (const received of inbox.drain()) onSessionFrame(session, received);
          void startSession(welcome);
        })
        .catch((error: unknown) => {
          if (ws.readyState !== WebSocket.OPEN) return;
          if (error instanceof HandshakeRefused) {
            outcome.serverError = error.code;
            logger.error({ code: error.code }, `server refused the agent: ${error.message}`);
            fail(`refused: ${error.code}`);
            end(1000, 'refused');
            return;
          }
          if (error instanceof ServerNotAuthenticated) {
            // Counted like a TLS trust failure: retrying soon cannot help.
            outcome.trustFailure = true;
            logger.error(`server failed mutual authentication; disconnecting: ${error.message}`);
            fail(`server not authenticated: ${error.message}`);
            end(AgentCloseCode.authFailed, 'server not authenticated');
            return;
          }
          fail(error instanceof Error ? error.message : String(error));
          end(AgentCloseCode.handshakeTimeout, 'no welcome');
        });
    });

    let lastInventoryHash: string | null = null;
    const reportInventory = async (reason: 'connect' | 'changed') => {
      let inventory: Inventory;
      try {
        inventory = await params.collectInventory();
      } catch (error) {
        logger.error({ err: error }, 'could not collect inventory');
        return;
      }
      const hash = stableInventoryHash(inventory);
      if (reason === 'changed' && hash === lastInventoryHash) return;
      if (send({ type: 'inventory', inventory })) {
        lastInventoryHash = hash;
        logger.info({ reason }, 'inventory sent');
        params.onInventory(inventory, reason);
      }
    };

    const startSession = async (welcome: Welcome) => {
      logger.info({ agentId: welcome.agentId, heartbeatIntervalMs: welcome.heartbeatIntervalMs }, 'connected');
      await reportInventory('connect');
      if (ws.readyState !== WebSocket.OPEN) return;
      let beats = 0;
      const intervalMs = Math.max(MIN_HEARTBEAT_INTERVAL_MS, welcome.heartbeatIntervalMs);
      // Heartbeats get no reply, so a silently dead path (NAT timeout, pulled cable) would go
      // unnoticed for minutes; WebSocket pings, which every server answers, reveal it.
      let lastPongAt = Date.now();
      ws.on('pong', () => {
        lastPongAt = Date.now();
      });
      heartbeatTimer = setInterval(
        () => {
          if (Date.now() - lastPongAt > PONG_TIMEOUT_INTERVALS * intervalMs) {
            logger.warn('server stopped answering pings; dropping the connection');
            fail('server stopped answering pings');
            ws.terminate();
            return;
          }
          ws.ping();
          if (!send({ type: 'heartbeat', uptimeSeconds: params.uptimeSeconds() })) return;
          logger[params.heartbeatLog ? 'info' : 'debug']({ beat: beats }, 'heartbeat');
          params.onHeartbeat(beats);
          beats += 1;
        },
        intervalMs,
      );
      inventoryTimer = setInterval(() => void reportInventory('changed'), params.inventoryCheckIntervalMs);
    };
  });
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return Buffer.from(new Uint8Array(data)).toString('utf8');
}

/** Frames that arrive while the handshake is waiting for them. */
class Inbox {
  private readonly queue: Received[] = [];
  private waiter: { resolve: (message: Received) => void; reject: (error: Error) => void } | null = null;
  private closedWith: Error | null = null;

  push(message: Received): void {
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter) waiter.resolve(message);
    else this.queue.push(message);
  }

  receive(timeoutMs: number): Promise<Received> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`server did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  drain(): Received[] {
    return this.queue.splice(0);
  }

  close(error: Error): void {
    this.closedWith = error;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(error);
  }
}
