import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per server instance (tests run several servers in one process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rmm_process_' });
  return {
    registry,
    agentsConnected: new Gauge({ name: 'rmm_agents_connected', help: 'Agents with an authenticated connection to this node', registers: [registry] }),
    consolesConnected: new Gauge({ name: 'rmm_consoles_connected', help: 'Console WebSocket connections to this node', registers: [registry] }),
    httpRequests: new Counter({
      name: 'rmm_http_requests_total',
      help: 'HTTP requests by method, route pattern and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpSeconds: new Histogram({
      name: 'rmm_http_request_seconds',
      help: 'HTTP request duration by route pattern',
      labelNames: ['route'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    dbQuerySeconds: new Histogram({
      name: 'rmm_db_query_seconds',
      help: 'Database query duration',
      labelNames: ['outcome'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    agentEnrolments: new Counter({
      name: 'rmm_agent_enrolments_total',
      help: 'Enrolment token exchanges by outcome (enrolled, invalid, used, expired, revoked, rate_limited)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    wsMessages: new Counter({
      name: 'rmm_ws_messages_total',
      help: 'WebSocket messages received by endpoint and outcome',
      labelNames: ['endpoint', 'outcome'] as const,
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
