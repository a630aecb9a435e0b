import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino, type Logger } from 'pino';
import type { Inventory } from '../protocol/inventory';
import { classifyDisconnect, DEFAULT_BACKOFF, type BackoffPolicy, type DisconnectKind, nextRetry } from './backoff';
import { runConnection } from './connection';
import { mutualHandshake } from './handshake';
import { collectInventory } from './inventory';
import type { ServerTrust } from './tls-trust';

/*
 * The agent's lifetime: connect, keep connected, reconnect with backoff, stop on request or
 * when another agent with the same credential replaced this one. Used in-process by tests and the
 * demo launcher, and by `rmm agent`.
 */

export interface AgentOptions {
  /** https:// URL of the server; the agent connects to wss://<host>/ws/agent. */
  serverUrl: string | URL;
  token: string;
  trust: ServerTrust;
  logger?: Logger;
  /** Log every heartbeat at info level (otherwise debug). */
  heartbeatLog?: boolean;
  welcomeTimeoutMs?: number;
  inventoryCheckIntervalMs?: number;
  closeTimeoutMs?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  collectInventory?: () => Promise<Inventory>;
}

export interface AgentEvents {
  connecting: { attempt: number };
  connected: { agentId: string; heartbeatIntervalMs: number };
  inventory: { inventory: Inventory; reason: 'connect' | 'changed' };
  heartbeat: { seq: number };
  disconnected: {
    closeCode: number | null;
    kind: DisconnectKind;
    failure: string | null;
    /** Null when the agent will not reconnect. */
    retryInMs: number | null;
  };
  stopped: AgentExit;
}

export type AgentExit = { reason: 'stopped' } | { reason: 'replaced' };

export interface RunningAgent {
  /** Closes the connection with 1000 and resolves once the agent has stopped. */
  stop(): Promise<void>;
  on<K extends keyof AgentEvents>(event: K, listener: (payload: AgentEvents[K]) => void): () => void;
  /** Resolves when the agent stops, by request or because it was replaced. */
  readonly done: Promise<AgentExit>;
}

export class ServerUrlError extends Error {
  override readonly name = 'ServerUrlError';
}

/** Only https: the agent never talks to its server in clear text, not even on localhost. */
export function agentSocketUrl(serverUrl: string | URL): URL {
  let url: URL;
  try {
    url = new URL(serverUrl);
  } catch {
    throw new ServerUrlError(`server URL is not a valid URL: ${String(serverUrl)}`);
  }
  if (url.protocol !== 'https:') throw new ServerUrlError(`server URL must use https://, got ${url.protocol}//`);
  if (url.username || url.password) throw new ServerUrlError('server URL must not contain credentials');
  return new URL(`wss://${url.host}/ws/agent`);
}

export function startAgent(options: AgentOptions): RunningAgent {
  const url = agentSocketUrl(options.serverUrl);
  const logger = (options.logger ?? pino({ level: 'silent' })).child({ server: url.host });
  const policy = options.backoff ?? DEFAULT_BACKOFF;
  const random = options.random ?? Math.random;
  const welcomeTimeoutMs = options.welcomeTimeoutMs ?? 10_000;
  const listeners = new Map<keyof AgentEvents, Set<(payload: never) => void>>();
  const stopping = new AbortController();

  const emit = <K extends keyof AgentEvents>(event: K, payload: AgentEvents[K]) => {
    for (const listener of listeners.get(event) ?? []) {
      (listener as (payload: AgentEvents[K]) => void)(payload);
    }
  };

  const run = async (): Promise<AgentExit> => {
    // Let the caller attach listeners before the first event.
    await Promise.resolve();
    let attempt = 0;
    while (!stopping.signal.aborted) {
      emit('connecting', { attempt });
      logger.info({ attempt }, 'connecting');
      const outcome = await runConnection(
        {
          url,
          trust: options.trust,
          handshake: mutualHandshake(options.token, welcomeTimeoutMs),
          welcomeTimeoutMs,
          inventoryCheckIntervalMs: options.inventoryCheckIntervalMs ?? 5 * 60_000,
          closeTimeoutMs: options.closeTimeoutMs ?? 1_500,
          heartbeatLog: options.heartbeatLog ?? false,
          collectInventory: options.collectInventory ?? (() => collectInventory()),
          uptimeSeconds: () => Math.floor(os.uptime()),
          logger,
          onWelcome: (welcome) =>
            emit('connected', { agentId: welcome.agentId, heartbeatIntervalMs: welcome.heartbeatIntervalMs }),
          onInventory: (inventory, reason) => emit('inventory', { inventory, reason }),
          onHeartbeat: (seq) => emit('heartbeat', { seq }),
        },
        stopping.signal,
      );
      const kind = classifyDisconnect({
        closeCode: outcome.closeCode,
        serverError: outcome.serverError,
        trustFailure: outcome.trustFailure,
      });
      const facts = { closeCode: outcome.closeCode, closeReason: outcome.closeReason, failure: outcome.failure };
      if (stopping.signal.aborted) {
        emit('disconnected', { closeCode: outcome.closeCode, kind, failure: outcome.failure, retryInMs: null });
        break;
      }
      if (kind === 'replaced') {
        logger.error(facts, 'another agent connected with the same credential; this agent stops');
        emit('disconnected', { closeCode: outcome.closeCode, kind, failure: outcome.failure, retryInMs: null });
        return { reason: 'replaced' };
      }
      const plan = nextRetry(attempt, { kind, healthyForMs: outcome.welcomedForMs }, policy, random);
      attempt = plan.attempt;
      const advice =
        kind === 'rejected' ? 'server or TLS trust refused the agent; retrying slowly until an admin fixes it' : 'disconnected';
      logger[kind === 'rejected' ? 'error' : 'warn']({ ...facts, kind, retryInMs: plan.delayMs }, advice);
      emit('disconnected', { closeCode: outcome.closeCode, kind, failure: outcome.failure, retryInMs: plan.delayMs });
      await sleep(plan.delayMs, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
    return { reason: 'stopped' };
  };

  const done = run().then((exit) => {
    logger.info({ reason: exit.reason }, 'agent stopped');
    emit('stopped', exit);
    return exit;
  });

  return {
    done,
    async stop() {
      stopping.abort();
      await done;
    },
    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener as (payload: never) => void);
      return () => set.delete(listener as (payload: never) => void);
    },
  };
}
