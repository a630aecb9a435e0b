import type { AppInfo, IpcHandlerMap } from '../protocol/ipc-contract';
import { createApiClient } from './api-client';
import { createAuditExporter, exportFolder, noExportDestination, type AuditExporter, type ExportDestination } from './audit-export';
import { createConsoleFeed, type ConsoleFeed } from './console-feed';
import { ConsoleError } from './console-error';
import { apiTokenFile, type CredentialSource } from './credentials';
import { createEventHub, createHandlers, pipeFeedToSink, type EventSource } from './handlers';
import { createTrustResolver, loadServerTrust, type ServerTrust } from './server-trust';

/*
 * Wires the console's services from configuration. Electron's main and the browser host CLI
 * both start here, so they run the same code against the server.
 */

export interface ConsoleServices {
  handlers: IpcHandlerMap;
  events: EventSource;
  feed: ConsoleFeed;
  exporter: AuditExporter;
  /** Connects the live feed. */
  start(): void;
  /** Disconnects the feed and cancels running exports (their partial files are removed). */
  stop(): Promise<void>;
}

export interface ExportOptions {
  /** Asks where to save (Electron: a save dialog); null means the user chose nothing. */
  chooseFile?: ExportDestination;
  /** Otherwise: write exports into this folder (browser host, tests), e.g. `<dataDir>/exports`. */
  directory?: string;
  progressIntervalMs?: number;
}

export interface ConsoleServicesOptions {
  serverUrl: URL;
  trust: ServerTrust;
  credentials: CredentialSource;
  host: AppInfo['host'];
  version?: string;
  feed?: { backoff?: { initialMs: number; maxMs: number }; pingIntervalMs?: number };
  exports?: ExportOptions;
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
  const exports = options.exports;
  const exporter = createAuditExporter({
    api,
    events: hub,
    destination: exports?.chooseFile ?? (exports?.directory ? exportFolder(exports.directory) : noExportDestination),
    progressIntervalMs: exports?.progressIntervalMs,
  });
  const handlers = createHandlers({
    api,
    feed,
    exporter,
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
    exporter,
    start: () => feed.start(),
    async stop() {
      await exporter.stop();
      await feed.stop();
      unpipe();
    },
  };
}

/**
 * Convenience for the common case: server URL, a CA file or fingerprint, a token file. The
 * console signs in as the owner of `tokenFile` (any user's API token, until Azure AD sign-in),
 * by default the bootstrap operator's `operatorTokenFile`.
 */
export async function createConsoleServicesFromFiles(options: {
  serverUrl: URL;
  caFile?: string;
  fingerprint?: string;
  tokenFile?: string;
  operatorTokenFile?: string;
  host: AppInfo['host'];
  version?: string;
  exports?: ExportOptions;
}): Promise<ConsoleServices> {
  const tokenFile = options.tokenFile ?? options.operatorTokenFile;
  if (!tokenFile) throw new ConsoleError('unauthenticated', 'no API token file: give tokenFile or operatorTokenFile');
  const trust = await loadServerTrust({ caFile: options.caFile, fingerprint: options.fingerprint });
  return createConsoleServices({
    serverUrl: options.serverUrl,
    trust,
    credentials: apiTokenFile(tokenFile),
    host: options.host,
    version: options.version,
    exports: options.exports,
  });
}
