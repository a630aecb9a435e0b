import type { Logger } from 'pino';
import WebSocket, { type RawData } from 'ws';
import { AgentCloseCode, type AgentToServer, ServerToAgent } from '../protocol/agent-messages';
import type { ErrorCode } from '../protocol/errors';
import type { Inventory } from '../protocol/inventory';
import { MAX_WS_MESSAGE_BYTES } from '../protocol/version';
import { type Handshake, HandshakeRefused, type Welcome } from './handshake';
import { stableInventoryHash } from './inventory';
import { isTrustFailure, type ServerTrust, trustOptions } from './tls-trust';

/*
 * One connection, from TCP connect to close: TLS trust, handshake, then inventory and heartbeats.
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
    let onSessionMessage: ((message: ServerToAgent) => void) | null = null;

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

    const send = (message: AgentToServer): boolean => {
      if (ws.readyState !== WebSocket.OPEN) return false;
      const frame = JSON.stringify(message);
      if (Buffer.byteLength(frame) > MAX_WS_MESSAGE_BYTES) {
        logger.error({ type: message.type, bytes: Buffer.byteLength(frame) }, 'message too large to send; skipped');
        return false;
      }
      ws.send(frame);
      return true;
    };

    const protocolViolation = (reason: string) => {
      logger.warn({ reason }, 'server sent an invalid frame; dropping the connection');
      fail(`protocol violation: ${reason}`);
      end(AgentCloseCode.protocolError, 'invalid frame');
    };

    /** After `welcome` the only valid frame is an `error`, which ends the connection. */
    const onServerMessage = (message: ServerToAgent) => {
      if (message.type === 'welcome') return protocolViolation('second welcome');
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
      if (onSessionMessage) onSessionMessage(parsed.data);
      else inbox.push(parsed.data);
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
        .handshake({ send: (message) => void send(message), receive: (ms) => inbox.receive(ms) })
        .then((welcome) => {
          if (ws.readyState !== WebSocket.OPEN) return;
          welcomedAt = Date.now();
          params.onWelcome(welcome);
          // Frames that arrived right behind the welcome are handled like any later frame.
          onSessionMessage = onServerMessage;
          for (const message of inbox.drain()) onServerMessage(message);
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
      let seq = 0;
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
          const beat = { type: 'heartbeat', seq, uptimeSeconds: params.uptimeSeconds() } as const;
          if (!send(beat)) return;
          logger[params.heartbeatLog ? 'info' : 'debug']({ seq }, 'heartbeat');
          params.onHeartbeat(seq);
          seq += 1;
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
  private readonly queue: ServerToAgent[] = [];
  private waiter: { resolve: (message: ServerToAgent) => void; reject: (error: Error) => void } | null = null;
  private closedWith: Error | null = null;

  push(message: ServerToAgent): void {
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter) waiter.resolve(message);
    else this.queue.push(message);
  }

  receive(timeoutMs: number): Promise<ServerToAgent> {
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

  drain(): ServerToAgent[] {
    return this.queue.splice(0);
  }

  close(error: Error): void {
    this.closedWith = error;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(error);
  }
}
