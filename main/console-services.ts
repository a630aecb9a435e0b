import type { AppInfo, IpcHandlerMap, SessionEnded } from '../protocol/ipc-contract';
import { createApiClient } from './api-client';
import { createAuditExporter, exportFolder, noExportDestination, type AuditExporter, type ExportDestination } from './audit-export';
import { createAuthController, type AuthClock, type AuthController, type AuthMode } from './auth-controller';
import { createConsoleFeed, type ConsoleFeed } from './console-feed';
import { ConsoleError } from './console-error';
import { apiTokenFile, type CredentialSource } from './credentials';
import { createEventHub, createHandlers, pipeFeedToSink, type EventSource } from './handlers';
import type { SecretStore } from './secret-store';
import { createTrustResolver, loadServerTrust, type ServerTrust } from './server-trust';
import type { SignInConfig } from './sign-in-config';
import { createSignInPages, type SignInPages } from './sign-in-pages';
import type { SignInService } from './sign-in-service';
import { startSignInService } from './sign-in-setup';
import { createStepUpStore, type StepUpStore } from './step-up-store';

/*
 * Wires the console's services from configuration. Electron's main and the browser host CLI
 * both start here, so they run the same code against the server. Two ways to sign in: an API
 * token (`credentials`: automation and tests, always signed in) or Azure AD (`signIn`: the auth
 * controller's lifecycle, see auth-controller.ts).
 */

export interface ConsoleServices {
  handlers: IpcHandlerMap;
  events: EventSource;
  feed: ConsoleFeed;
  exporter: AuditExporter;
  auth: AuthController;
  stepUps: StepUpStore;
  /** api-token: connects the live feed; sign-in: reads the cached account (the feed follows the session). */
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

/** Azure AD sign-in: the service, and the pages relay its `openBrowser` was given. */
export interface SignInWiring {
  service: SignInService;
  pages: SignInPages;
}

export interface ConsoleServicesOptions {
  serverUrl: URL;
  trust: ServerTrust;
  /** api-token mode: the credential every call presents. Give this or `signIn`. */
  credentials?: CredentialSource;
  /** sign-in mode. */
  signIn?: SignInWiring;
  host: AppInfo['host'];
  version?: string;
  feed?: { backoff?: { initialMs: number; maxMs: number }; pingIntervalMs?: number };
  exports?: ExportOptions;
  /** Tests: time for the idle lock and heartbeats. */
  clock?: AuthClock;
  heartbeatIntervalMs?: number;
  /** A session ended without the user signing out (Electron opens the notice window from here). */
  onSessionEnded?: (ended: SessionEnded) => void;
}

export function createConsoleServices(options: ConsoleServicesOptions): ConsoleServices {
  const credentials = options.signIn?.service.credentials ?? options.credentials;
  if (!credentials || (options.signIn && options.credentials)) {
    throw new ConsoleError('bad_request', 'give either credentials (API token) or signIn (Azure AD)');
  }
  const trust = createTrustResolver(options.trust, options.serverUrl);
  const api = createApiClient({ serverUrl: options.serverUrl, trust, credentials });
  const feed = createConsoleFeed({
    serverUrl: options.serverUrl,
    trust,
    credentials,
    backoff: options.feed?.backoff,
    pingIntervalMs: options.feed?.pingIntervalMs,
  });
  const hub = createEventHub();
  const unpipe = pipeFeedToSink(feed, hub);
  const stepUps = createStepUpStore(options.clock ? { now: () => options.clock?.now() ?? new Date() } : {});
  const exports = options.exports;
  const exporter = createAuditExporter({
    api,
    events: hub,
    destination: exports?.chooseFile ?? (exports?.directory ? exportFolder(exports.directory) : noExportDestination),
    progressIntervalMs: exports?.progressIntervalMs,
  });
  const mode: AuthMode = options.signIn ? { kind: 'sign-in', service: options.signIn.service, pages: options.signIn.pages } : { kind: 'api-token' };
  const auth = createAuthController({
    mode,
    api,
    feed,
    stepUps,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
    onEnded: (ended) => options.onSessionEnded?.(ended),
  });
  const unwatch = auth.on((state) => {
    hub.emit('auth.state', state);
    // No export outlives the session it was started with.
    if (state.state !== 'signed-in') void exporter.stop();
  });
  const handlers = createHandlers({
    api,
    feed,
    exporter,
    auth,
    stepUps,
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
    auth,
    stepUps,
    start: () => void auth.start(),
    async stop() {
      auth.stop();
      unwatch();
      await exporter.stop();
      await feed.stop();
      unpipe();
    },
  };
}

/** Azure AD sign-in as the hosts configure it (loadSignInConfig(env) and where MSAL's cache lives). */
export interface SignInSetup {
  config: SignInConfig;
  /** The encrypted MSAL cache, e.g. `<userData>/msal-cache.bin`. */
  cacheFile: string;
  /** Default: the OS keychain (keytar). */
  secrets?: SecretStore;
  /** Also show the provider's page here (Electron: the system browser); the URL is in AuthState.signInUrl either way. */
  openExternal?: (url: string) => Promise<void>;
}

/**
 * Convenience for the common case: server URL, a CA file or fingerprint, and either `signIn`
 * (Azure AD: the console starts signed out) or a token file: the console is then the owner of
 * `tokenFile` (any user's API token), by default the bootstrap operator's `operatorTokenFile`.
 */
export async function createConsoleServicesFromFiles(options: {
  serverUrl: URL;
  caFile?: string;
  fingerprint?: string;
  tokenFile?: string;
  operatorTokenFile?: string;
  signIn?: SignInSetup;
  host: AppInfo['host'];
  version?: string;
  exports?: ExportOptions;
  onSessionEnded?: (ended: SessionEnded) => void;
}): Promise<ConsoleServices> {
  const trust = await loadServerTrust({ caFile: options.caFile, fingerprint: options.fingerprint });
  const common = { serverUrl: options.serverUrl, trust, host: options.host, version: options.version, exports: options.exports, onSessionEnded: options.onSessionEnded };
  if (options.signIn) {
    const pages = createSignInPages(options.signIn.openExternal);
    const service = await startSignInService({
      config: options.signIn.config,
      serverUrl: options.serverUrl,
      trust: createTrustResolver(trust, options.serverUrl),
      cacheFile: options.signIn.cacheFile,
      openBrowser: pages.open,
      ...(options.signIn.secrets ? { secrets: options.signIn.secrets } : {}),
    });
    return createConsoleServices({ ...common, signIn: { service, pages } });
  }
  const tokenFile = options.tokenFile ?? options.operatorTokenFile;
  if (!tokenFile) throw new ConsoleError('unauthenticated', 'no API token file: give tokenFile or operatorTokenFile');
  return createConsoleServices({ ...common, credentials: apiTokenFile(tokenFile) });
}
