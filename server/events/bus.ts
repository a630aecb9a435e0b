import { EventEmitter } from 'node:events';
import type { AgentDetail, AgentSummary } from '../../protocol/api';

/**
 * Changes consoles want to see live. In-process for one node; several nodes will carry the same
 * events over PostgreSQL LISTEN/NOTIFY behind this interface.
 */
export type ServerEvent =
  | { type: 'agent.status'; orgId: string; agent: AgentSummary }
  | { type: 'agent.inventory'; orgId: string; agent: AgentDetail };

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
