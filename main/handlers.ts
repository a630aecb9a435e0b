import { AgentDetail, AgentList, OrgList, UnitList } from '../protocol/api';
import {
  ipcEvents,
  type AppInfo,
  type IpcEventEnvelope,
  type IpcEventName,
  type IpcEventPayload,
  type IpcHandlerMap,
} from '../protocol/ipc-contract';
import { createAlertHandlers } from './alert-handlers';
import type { ApiClient } from './api-client';
import { createAuditHandlers } from './audit-handlers';
import type { AuditExporter } from './audit-export';
import type { AuthController } from './auth-controller';
import { createAuthHandlers } from './auth-handlers';
import type { ConsoleFeed } from './console-feed';
import { createMfaHandlers } from './mfa-handlers';
import { createOrgHandlers } from './org-handlers';
import { createScriptHandlers } from './script-handlers';
import { createSessionHandlers } from './session-handlers';
import type { StepUpStore } from './step-up-store';
import { createWorkspaceHandlers } from './workspace-handlers';

/*
 * The handler map: one function per IPC channel, built from node-testable services. Electron's
 * ipcMain and the browser host carry this same object; neither adds a channel of its own. In
 * sign-in mode the auth controller guards it: nothing but the sign-in screen's own channels
 * works without a session.
 */

export interface HandlerDeps {
  api: ApiClient;
  feed: ConsoleFeed;
  appInfo: AppInfo;
  exporter: AuditExporter;
  auth: AuthController;
  stepUps: StepUpStore;
}

export function createHandlers(deps: HandlerDeps): IpcHandlerMap {
  const { api, feed, stepUps } = deps;
  const org = (orgId: string): string => `/api/orgs/${encodeURIComponent(orgId)}`;
  return deps.auth.guard({
    'app.info': async () => deps.appInfo,
    'orgs.list': () => api.get('/api/orgs', OrgList),
    'units.list': ({ orgId }) => api.get(`${org(orgId)}/units`, UnitList),
    'agents.list': ({ orgId }) => api.get(`${org(orgId)}/agents`, AgentList),
    'agents.get': ({ orgId, agentId }) => api.get(`${org(orgId)}/agents/${encodeURIComponent(agentId)}`, AgentDetail),
    'console.subscribe': async ({ orgId }) => {
      feed.subscribe(orgId);
      return { orgId };
    },
    'connection.get': async () => feed.state(),
    ...createOrgHandlers(api, stepUps),
    ...createWorkspaceHandlers(api),
    ...createAuditHandlers(api, deps.exporter, stepUps),
    ...createAuthHandlers(deps.auth),
    ...createSessionHandlers(api, stepUps),
    ...createMfaHandlers(api, stepUps),
    ...createAlertHandlers(api),
    ...createScriptHandlers(api, stepUps),
  });
}

/** Where main pushes events for the renderer(s): Electron windows or browser-host sockets. */
export interface EventSink {
  emit<E extends IpcEventName>(event: E, payload: IpcEventPayload<E>): void;
}

export interface EventSource {
  subscribe(listener: (envelope: IpcEventEnvelope) => void): () => void;
}

/**
 * Fans events out to every listener after checking them against the contract, so a sink never
 * forwards a field the contract does not name.
 */
export function createEventHub(): EventSink & EventSource {
  const listeners = new Set<(envelope: IpcEventEnvelope) => void>();
  return {
    emit(event, payload) {
      const parsed = ipcEvents[event].safeParse(payload);
      if (!parsed.success) return;
      const envelope = { event, payload: parsed.data } as IpcEventEnvelope;
      for (const listener of listeners) listener(envelope);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Forwards the live feed to a sink; returns the function that stops forwarding. */
export function pipeFeedToSink(feed: ConsoleFeed, sink: EventSink): () => void {
  return feed.on((event) => {
    switch (event.type) {
      case 'agent.status':
        sink.emit('agent.status', { agent: event.agent });
        break;
      case 'agent.inventory':
        sink.emit('agent.inventory', { agent: event.agent });
        break;
      case 'alert':
        sink.emit('alert.raised', event.alert);
        break;
      case 'connection.state':
        sink.emit('connection.state', event.state);
        break;
      case 'session.ended':
      case 'credential.refused':
        // The auth controller's business: it locks and emits `auth.state`.
        break;
    }
  });
}
