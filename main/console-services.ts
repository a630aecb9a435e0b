import type { AppInfo } from '../protocol/ipc-contract';
import { createApiClient } from './api-client';
import { createConsoleFeed, type ConsoleFeed } from './console-feed';
import { operatorTokenFile, type CredentialSource } from './credentials';
import { createEventHub, createHandlers, pipeFeedToSink, type EventSource } from './handlers';
import { createTrustResolver, loadServerTrust, type ServerTrust } from './server-trust';
import type { IpcHandlerMap } from '../protocol/ipc-contract';

/*
 * Wires the console's services from configuration. Electron's main and the browser host CLI
 * both start here, so they run the same code against the server.
 */

export interface ConsoleServices {
  handlers: IpcHandlerMap;
  events: EventSource;
  feed: ConsoleFeed;
  /** Connects the live feed. */
  start(): void;
  stop(): Promise<void>;
}

export interface ConsoleServicesOptions {
  serverUrl: URL;
  trust: ServerTrust;
  credentials: CredentialSource;
  host: AppInfo['host'];
  version?: string;
  feed?: { backoff?: { initialMs: number; maxMs: number }; pingIntervalMs?: number };
}

export function createConsoleServices(options: ConsoleServicesOptions): ConsoleServices {
  const trust = createTrustResolver(options.trust, options.serverUrl);
  const api = createApiClient({ serverUrl: options.serverUrl, trust, credentials: options.credentials });
  const feed = createConsoleFeed({
    serverUrl: options.serverUrl,
    trust,
    credentials: options.credentials,
    backoff: options.feed?.backoff,
    pingIntervalMs: options.feed?.pingIntervalMs,
  });
  const hub = createEventHub();
  const unpipe = pipeFeedToSink(feed, hub);
  const handlers = createHandlers({
    api,
    feed,
    appInfo: {
      name: 'RMM Console',
      version: options.version ?? '0.1.0',
      serverOrigin: options.serverUrl.origin,
      host: options.host,
    },
  });
  return {
    handlers,
    events: hub,
    feed,
    start: () => feed.start(),
    async stop() {
      await feed.stop();
      unpipe();
    },
  };
}

/** Convenience for the common case: server URL, a CA file or fingerprint, a token file. */
export async function createConsoleServicesFromFiles(options: {
  serverUrl: URL;
  caFile?: string;
  fingerprint?: string;
  operatorTokenFile: string;
  host: AppInfo['host'];
  version?: string;
}): Promise<ConsoleServices> {
  const trust = await loadServerTrust({ caFile: options.caFile, fingerprint: options.fingerprint });
  return createConsoleServices({
    serverUrl: options.serverUrl,
    trust,
    credentials: operatorTokenFile(options.operatorTokenFile),
    host: options.host,
    version: options.version,
  });
}
