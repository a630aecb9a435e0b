import { EventEmitter } from 'node:events';
import type { Alert } from '../../protocol/alerts';
import type { AgentDetail, AgentSummary } from '../../protocol/api';
import type { SessionEndKind } from '../../protocol/identity';

/**
 * Changes consoles want to see live. In-process for one node; several nodes will carry the same
 * events over PostgreSQL LISTEN/NOTIFY behind this interface.
 */
export type ServerEvent =
  | { type: 'agent.status'; orgId: string; agent: AgentSummary }
  | { type: 'agent.inventory'; orgId: string; agent: AgentDetail }
  /** A session was revoked, signed out or ran out: its console sockets are told and closed. */
  | { type: 'session.ended'; orgId: string | null; sessionId: string; kind: SessionEndKind; reason: string; by: { userId: string; name: string } | null }
  /** A security alert was stored (server/alerts): pushed to the consoles of those who may read it (alert.orgId null: MSP staff). */
  | { type: 'alert.raised'; alert: Alert };

export interface EventBus {
  publish(event: ServerEvent): void;
  subscribe(listener: (event: ServerEvent) => void): () => void;
}

export function createEventBus(): EventBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    publish: (event) => emitter.emit('event', event),
    subscribe: (listener) => {
      emitter.on('event', listener);
      return () => emitter.off('event', listener);
    },
  };
}
