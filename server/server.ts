import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createAgentGateway } from './agents/gateway';
import { resetNodePresence } from './agents/store';
import { principalForToken } from './auth/api-token';
import { ensureBootstrapAdmin } from './auth/bootstrap';
import { loadOrCreateOperatorToken, operatorTokenPath } from './auth/operator-token';
import type { Principal } from './auth/principal';
import { systemClock, type Clock } from './clock';
import { isLoopbackHost, type ServerConfig } from './config';
import { createConsoleGateway } from './console/gateway';
import { loadOrCreateMasterKey, parseMasterKey } from './crypto/master-key';
import type { ServerContext } from './context';
import { openDatabase, type DatabaseHandle } from './db/database';
import { createEventBus } from './events/bus';
import { createApp } from './http/app';
import { createLogger, type Logger } from './logger';
import { createMetrics } from './metrics';
import { createMfaLimits, type MfaLimitOptions } from './mfa/limits';
import { alertRoutes } from './alerts/routes';
import { mfaRoutes } from './mfa/routes';
import { agentRoutes } from './agents/routes';
import { enrolmentRoutes } from './agents/enrolment-routes';
import { auditRoutes } from './audit/routes';
import { identityRoutes } from './identity/routes';
import { createSessionService, type SessionService, type SessionServiceOptions } from './sessions/service';
import { sessionRoutes } from './sessions/routes';
import { SESSION_TOKEN_PREFIX } from './sessions/store';
import { grantRoutes } from './grants/routes';
import { orgRoutes } from './orgs/routes';
import { loadReleaseKey } from './releases/release-key';
import { releaseRoutes } from './releases/routes';
import { scriptRoutes } from './scripts/routes';
import { unitRoutes } from './units/routes';
import { userRoutes } from './users/routes';
import { workspaceRoutes } from './workspace/routes';
import { loadOrCreateCertificate } from './tls/certificate';
import { createTlsOnlyListener } from './tls/plaintext-guard';

export const apiRoutes = [...orgRoutes, ...unitRoutes, ...userRoutes, ...grantRoutes, ...agentRoutes, ...enrolmentRoutes, ...workspaceRoutes, ...auditRoutes, ...mfaRoutes, ...identityRoutes, ...sessionRoutes, ...alertRoutes, ...scriptRoutes, ...releaseRoutes];

export interface RunningServer {
  url: string;
  port: number;
  /** `sha256:<hex>` of the TLS certificate, for pinning. */
  fingerprint: string;
  certFile: string;
  operatorTokenFile: string;
  context: ServerContext;
  /** Server sessions (Azure AD sign-in): tests sweep and flush them with a moved clock. */
  sessions: SessionService;
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  /** Use this database instead of opening one from the config (tests hand in a prepared one). */
  database?: DatabaseHandle;
  /** MFA attempt limits (tests shrink them). */
  mfaLimits?: MfaLimitOptions;
  /** Session activity write and expiry sweep intervals (tests shrink them). */
  sessions?: SessionServiceOptions;
}

export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? createLogger(config.logLevel);
  if (!isLoopbackHost(config.host) && !config.tlsCertFile) {
    throw new StartupError(
      `Refusing to listen on ${config.host} with the generated self-signed certificate: set RMM_TLS_CERT_FILE and RMM_TLS_KEY_FILE for a non-loopback address`,
    );
  }

  if (config.releasePublicKeyFile) {
    // Checked before anything starts: a wrong key file should stop the start, not the first upload.
    try {
      loadReleaseKey(config.releasePublicKeyFile);
    } catch (err) {
      throw new StartupError((err as Error).message);
    }
  }

  const metrics = createMetrics();
  const certificate = await loadOrCreateCertificate({ dataDir: config.dataDir, certFile: config.tlsCertFile, keyFile: config.tlsKeyFile }, clock);
  const database =
    options.database ??
    (await openDatabase({
      databaseUrl: config.databaseUrl,
      pgliteDir: path.join(config.dataDir, 'pglite'),
      migrate: true,
      onQuery: (seconds) => metrics.dbQuerySeconds.observe({ outcome: 'ok' }, seconds),
    }));

  const masterKey = loadOrCreateMasterKey({ masterKey: config.masterKey, dataDir: config.dataDir });
  const context: ServerContext = {
    config, db: database.db, dbKind: database.kind, clock, log, metrics, bus: createEventBus(),
    keys: { current: masterKey, previous: (config.masterKeysPrevious?.split(',') ?? []).map((key) => parseMasterKey(key, 'RMM_MASTER_KEYS_PREVIOUS')) },
    mfaLimits: createMfaLimits(options.mfaLimits),
  };
  const cleared = await resetNodePresence(database.db, config.nodeId);
  if (cleared > 0) log.info({ cleared }, 'cleared presence left by a previous run of this node');

  const operatorToken = loadOrCreateOperatorToken(config.dataDir);
  await ensureBootstrapAdmin(database.db, clock, operatorToken);
  const sessions = createSessionService(context, options.sessions);
  sessions.start();
  // A session token (Azure AD sign-in) or an API token, told apart by prefix.
  const authenticate = async (authorization: string | undefined): Promise<Principal | undefined> => {
    const match = /^Bearer (\S+)$/.exec(authorization ?? '');
    const presented = match?.[1];
    if (!presented) return undefined;
    return presented.startsWith(SESSION_TOKEN_PREFIX) ? sessions.authenticate(presented) : principalForToken(database.db, presented);
  };

  const app = createApp(context, apiRoutes, authenticate);
  const agents = createAgentGateway(context);
  const consoles = createConsoleGateway(context, authenticate);

  const httpsServer = https.createServer({ cert: certificate.cert, key: certificate.key, minVersion: 'TLSv1.2' }, app.callback());
  httpsServer.on('upgrade', (req, socket, head) => {
    const pathname = new URL(req.url ?? '/', 'https://localhost').pathname;
    if (pathname === '/ws/agent') agents.handleUpgrade(req, socket, head);
    else if (pathname === '/ws/console') consoles.handleUpgrade(req, socket, head);
    else socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  httpsServer.on('tlsClientError', (err) => log.debug({ err: err.message }, 'TLS handshake failed'));
  const listener = createTlsOnlyListener(httpsServer);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(config.port, config.host, () => resolve());
  });
  const port = (listener.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `https://${hostForUrl}:${port}`;
  log.info({ url, db: database.kind, fingerprint: certificate.fingerprint, migrations: 'migrations' in database ? database.migrations : undefined }, 'server listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    fingerprint: certificate.fingerprint,
    certFile: certificate.certFile,
    operatorTokenFile: operatorTokenPath(config.dataDir),
    context,
    sessions,
    close() {
      closing ??= (async () => {
        listener.close();
        await Promise.all([agents.close(), consoles.close(), sessions.stop()]);
        httpsServer.closeAllConnections();
        httpsServer.close();
        if (!options.database) await database.close();
        log.info('server stopped');
      })();
      return closing;
    },
  };
}
