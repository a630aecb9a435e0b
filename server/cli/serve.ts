import { ConfigError, loadServerConfig } from '../config';
import { startServer, StartupError } from '../server';
import { parseCommandArgs } from './args';

export const serveHelp = `Usage: rmm serve [options]

Runs the RMM server: HTTPS API, /ws/agent and /ws/console on one port.

Options (each also settable by environment or the JSON file in RMM_CONFIG_FILE):
  --host <addr>          listen address (RMM_HOST, default 127.0.0.1)
  --port <n>             listen port (RMM_PORT, default 8443; 0 picks a free one)
  --data-dir <dir>       data folder: PGlite database, TLS files, operator token
                         (RMM_DATA_DIR, default ./.rmm-data)
  --database-url <url>   PostgreSQL instead of PGlite (DATABASE_URL)
  --log-level <level>    fatal|error|warn|info|debug|trace|silent (RMM_LOG_LEVEL)
  -h, --help             show this help
`;

const options = {
  host: { type: 'string' },
  port: { type: 'string' },
  'data-dir': { type: 'string' },
  'database-url': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, options);
  if (values.help) {
    process.stdout.write(serveHelp);
    return 0;
  }
  let running;
  try {
    const config = loadServerConfig({
      host: values.host,
      port: values.port,
      dataDir: values['data-dir'],
      databaseUrl: values['database-url'],
      logLevel: values['log-level'],
    });
    running = await startServer(config);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StartupError) {
      process.stderr.write(`rmm serve: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  process.stderr.write(
    `RMM server listening on ${running.url}\n  certificate fingerprint: ${running.fingerprint}\n  operator token file:     ${running.operatorTokenFile}\n`,
  );
  await waitForSignal();
  await running.close();
  return 0;
}

export function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
