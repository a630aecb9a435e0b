import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { keytarSecretStore } from '../../main/keytar-secret-store';
import { memorySecretStore, type SecretStore } from '../../main/secret-store';
import { TOKEN_CACHE_KEY_ACCOUNT, TOKEN_CACHE_KEY_SERVICE } from '../../main/token-cache-plugin';
import { GrantRole } from '../../protocol/permissions';
import { parseCommandArgs, UsageError } from '../../server/cli/args';
import { waitForSignal } from '../../server/cli/serve';
import { ConfigError, loadServerConfig } from '../../server/config';
import { startServer, StartupError, type RunningServer } from '../../server/server';
import { runBrowserHost } from '../browser-host/cli';
import { startDevIdp, type DevIdp } from '../idp/dev-idp';
import { DEMO_CLINIC_TENANT_ID, DEMO_MSP_TENANT_ID } from '../idp/tenants';
import { demoAuthConfig, demoIdpDataDir, demoSignInEnv, wireDemoIdentity } from './identity';
import { DEMO_USERS, demoTokenFile, seedDemo } from './seed';

export const demoHelp = `Usage: rmm demo [options]     (what 'npm start' runs)

Runs the whole system locally on the embedded database: the dev identity provider (Azure AD
sign-in for the Demo Clinic's users and the MSP's Sam Staff), the server, one agent process
enrolled in the demo clinic, and the console (the Electron window if Electron's binary is
installed, otherwise the browser host, whose one-time URL is printed). The console signs in
through the dev provider: "Sign in with Microsoft", then pick any demo user on its page.
Ctrl-C stops everything.

Options:
  --data-dir <dir>       data folder (RMM_DATA_DIR, default ./.rmm-data)
  --port <n>             server port (RMM_PORT, default 8443)
  --idp-port <n>         dev identity provider port (default 8444; 0: a free one)
  --console-port <n>     browser-host port (RMM_CONSOLE_PORT, default: a free one)
  --as <who>             no sign-in (automation): the console uses the API token of the demo user
                         with this role (tenant_admin, tech, viewer, provisioning), or of the MSP
                         admin 'operator'
  --no-console           run server and agent only
  -h, --help             show this help

Logs go to <data-dir>/logs/{server,agent}.log; audit exports from the browser console to
<data-dir>/exports. The demo users' API tokens are in <data-dir>/demo-users/<role>.token.
`;

const root = fileURLToPath(new URL('../../', import.meta.url));
/** `--as operator`: the bootstrap MSP admin's API token (what the console used before sign-in). */
const OPERATOR = 'operator';

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    'data-dir': { type: 'string' },
    port: { type: 'string' },
    'console-port': { type: 'string' },
    'idp-port': { type: 'string' },
    'no-console': { type: 'boolean' },
    as: { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(demoHelp);
    return 0;
  }
  const role = values.as === undefined || values.as === OPERATOR ? undefined : GrantRole.safeParse(values.as);
  if (role && !role.success) throw new UsageError(`--as: '${values.as}' is not a role (${GrantRole.options.join(', ')}) nor '${OPERATOR}'`);
  const idpPort = parsePort(values['idp-port'] ?? '8444', '--idp-port');
  const started = performance.now();
  let server: RunningServer;
  let idp: DevIdp;
  let idpReadyMs = 0;
  let logDir: string;
  try {
    const loaded = loadServerConfig({ dataDir: values['data-dir'], port: values.port });
    logDir = path.join(loaded.dataDir, 'logs');
    mkdirSync(logDir, { recursive: true });
    // Provider and server start side by side (the server reads the provider's certificate only at
    // the first sign-in); with --idp-port 0 the provider's URL is known only once it listens.
    const idpDataDir = demoIdpDataDir(loaded.dataDir);
    const idpStarted = startDevIdp({ port: idpPort, dataDir: idpDataDir }).then((running) => {
      idpReadyMs = Math.round(performance.now() - started);
      return running;
    });
    const idpUrl = idpPort === 0 ? (await idpStarted).url : `https://127.0.0.1:${idpPort}`;
    const logger = pino({ level: loaded.logLevel }, pino.destination({ dest: path.join(logDir, 'server.log'), sync: false }));
    const [idpOutcome, serverOutcome] = await Promise.allSettled([idpStarted, startServer({ ...loaded, ...demoAuthConfig(idpUrl, idpDataDir) }, { logger })]);
    if (idpOutcome.status === 'rejected' || serverOutcome.status === 'rejected') {
      if (idpOutcome.status === 'fulfilled') await idpOutcome.value.close();
      if (serverOutcome.status === 'fulfilled') await serverOutcome.value.close();
      throw idpOutcome.status === 'rejected' ? idpOutcome.reason : (serverOutcome as PromiseRejectedResult).reason;
    }
    idp = idpOutcome.value;
    server = serverOutcome.value;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StartupError) {
      process.stderr.write(`rmm demo: ${err.message}\n`);
      return 2;
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`rmm demo: port already in use (${(err as Error).message}); stop the other server or pass --port / --idp-port\n`);
      return 2;
    }
    throw err;
  }
  const { config, db, bus } = server.context;
  say(`identity ${idp.url}  (dev Azure AD, ready after ${idpReadyMs} ms: Demo Clinic tenant ${DEMO_CLINIC_TENANT_ID}, MSP staff tenant ${DEMO_MSP_TENANT_ID})`);
  say(`server   ${server.url}  (PGlite in ${path.relative(process.cwd(), config.dataDir) || '.'}, TLS ${server.fingerprint.slice(0, 23)}…)`);

  const demo = await seedDemo(db, config.dataDir, server.context.keys);
  const firstOnline = new Promise<string>((resolve) => {
    const off = bus.subscribe((event) => {
      if (event.type === 'agent.inventory' && event.agent.id === demo.agentId) {
        off();
        resolve(event.agent.hostname ?? event.agent.id);
      }
    });
  });
  const agent = spawnAgent(server, demo.credential, path.join(logDir, 'agent.log'));
  // While the agent process boots: the clinic's tenant, the demo users' and Sam Staff's Azure identities.
  await wireDemoIdentity(db, demo.orgId);
  void firstOnline.then((hostname) => say(`agent    ${hostname} online after ${Math.round(performance.now() - started)} ms (log: ${path.join(logDir, 'agent.log')})`));

  let stopConsole: () => Promise<void> = async () => undefined;
  if (!values['no-console']) {
    const mode: ConsoleMode = role?.success
      ? { kind: 'token', tokenFile: demoTokenFile(config.dataDir, role.data), who: DEMO_USERS.find((u) => u.role === role.data)?.name ?? role.data }
      : values.as === OPERATOR
        ? { kind: 'token', tokenFile: server.operatorTokenFile, who: 'Operator (MSP admin)' }
        : { kind: 'sign-in', idp };
    stopConsole = await startConsole(server, values['console-port'], demoConsoleEnv(server, config.dataDir, mode), mode);
  }
  say('Press Ctrl-C to stop.');

  const exited = new Promise<void>((resolve) => agent.once('exit', () => resolve()));
  const reason = await Promise.race([waitForSignal().then((s) => `received ${s}`), exited.then(() => 'the agent process exited')]);
  say(`stopping (${reason})…`);
  await stopConsole();
  agent.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  await server.close();
  await idp.close();
  say('stopped.');
  return 0;
}

function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new UsageError(`${flag}: '${value}' is not a port number`);
  return port;
}

function say(line: string): void {
  process.stdout.write(`[rmm demo] ${line}\n`);
}

/** The agent is a separate process, as on a real endpoint. Its token travels in the environment, never argv. */
function spawnAgent(server: RunningServer, credential: string, logFile: string): ChildProcess {
  const child = spawn(process.execPath, [path.join(root, 'bin/rmm.js'), 'agent', '--server', server.url, '--server-fingerprint', server.fingerprint], {
    env: { ...process.env, RMM_AGENT_TOKEN: credential },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.pipe(createWriteStream(logFile, { flags: 'a' }));
  return child;
}

function electronBinary(): string | undefined {
  try {
    const binary = createRequire(import.meta.url)('electron') as unknown;
    return typeof binary === 'string' && existsSync(binary) ? binary : undefined;
  } catch {
    return undefined; // the package is there but its binary was never downloaded
  }
}

/** The console signs in through the dev provider, or (`--as`, automation) presents an API token file. */
export type ConsoleMode = { kind: 'sign-in'; idp: Pick<DevIdp, 'url' | 'organizationsAuthority' | 'caCertFile' | 'tenants'> } | { kind: 'token'; tokenFile: string; who: string };

/** What the console `npm start` starts is configured with (main/console-config.ts reads it). */
export function demoConsoleEnv(server: { url: string; fingerprint: string }, dataDir: string, mode: ConsoleMode): Record<string, string> {
  const common = { RMM_SERVER_URL: server.url, RMM_SERVER_FINGERPRINT: server.fingerprint, RMM_EXPORT_DIR: path.join(dataDir, 'exports') };
  return mode.kind === 'sign-in' ? { ...common, ...demoSignInEnv(mode.idp, dataDir) } : { ...common, RMM_TOKEN_FILE: mode.tokenFile };
}

/** The environment minus console settings the demo sets itself, so a shell's own cannot mix in. */
function withoutConsoleSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !/^RMM_(SIGN_IN_|TOKEN_FILE$|OPERATOR_TOKEN_FILE$|CA_FILE$|SERVER_)/.test(key)));
}

/** The lines that tell how to sign in: the button, the demo users, the provider's certificate. */
function signInHelp(idp: Extract<ConsoleMode, { kind: 'sign-in' }>['idp']): string[] {
  const users = idp.tenants.map((t) => `${t.name}: ${t.users.map((u) => u.name).join(', ')}`).join('; ');
  return [
    `then "Sign in with Microsoft" and pick any demo user on the dev identity provider's page`,
    `(${users}).`,
    `The browser warns once about the provider's self-signed certificate: proceed to ${idp.url},`,
    `or trust ${shortPath(idp.caCertFile)} in the browser for good.`,
  ];
}

/** Relative to the working folder when inside it, else absolute. */
function shortPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** The OS keychain keeps the MSAL cache's key; where there is none (no D-Bus session), this run keeps it in memory. */
async function demoSecrets(): Promise<{ secrets?: SecretStore; note?: string }> {
  try {
    await keytarSecretStore().get(TOKEN_CACHE_KEY_SERVICE, TOKEN_CACHE_KEY_ACCOUNT);
    return {};
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    return { secrets: memorySecretStore(), note: `no OS keychain here (${cause}): the sign-in lasts until Ctrl-C` };
  }
}

async function startConsole(server: RunningServer, consolePort: string | undefined, consoleEnv: Record<string, string>, mode: ConsoleMode): Promise<() => Promise<void>> {
  const electron = electronBinary();
  const electronMain = path.join(root, 'dist-electron/main.js');
  if (electron && existsSync(electronMain)) {
    const child = spawn(electron, [root], { env: { ...withoutConsoleSettings(process.env), ...consoleEnv }, stdio: 'inherit' });
    if (mode.kind === 'token') say(`console  Electron window started, signed in as ${mode.who}`);
    else for (const [i, line] of ['Electron window started;', ...signInHelp(mode.idp)].entries()) say(`${i === 0 ? 'console ' : '        '} ${line}`);
    return async () => {
      child.kill('SIGTERM');
    };
  }

  const rendererDir = path.join(root, 'dist/renderer');
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    say('console  not started: dist/renderer is missing; run `npm run build` (npm start does it for you)');
    return async () => undefined;
  }
  const keychain = mode.kind === 'sign-in' ? await demoSecrets() : {};
  const port = consolePort ?? process.env.RMM_CONSOLE_PORT;
  const host = await runBrowserHost({ ...consoleEnv, ...(port ? { RMM_CONSOLE_PORT: port } : {}) }, {
    rendererDir,
    log: () => undefined,
    ...(keychain.secrets ? { secrets: keychain.secrets } : {}),
  });
  if (mode.kind === 'token') {
    say(`console  Electron is not installed here; open the browser console as ${mode.who} (one-time link):`);
    say(`         ${host.url}`);
  } else {
    say('console  Electron is not installed here; open the browser console (one-time link):');
    say(`         ${host.url}`);
    for (const line of signInHelp(mode.idp)) say(`         ${line}`);
    if (keychain.note) say(`         (${keychain.note})`);
  }
  return () => host.stop();
}
