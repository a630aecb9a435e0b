import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type AgentFlags, resolveAgentSettings } from './config';
import { enrollCommand, readAgentConfig } from './enroll';
import { createAgentLogger } from './logger';
import { startAgent } from './start-agent';
import type { ServerTrust } from './tls-trust';
import { AGENT_VERSION } from './version';

export const AGENT_HELP = `Usage: rmm agent --server https://HOST[:PORT] --token TOKEN [trust] [--heartbeat-log]
       rmm agent --config FILE [--heartbeat-log]
       rmm agent enroll --server https://HOST[:PORT] --token rmm_enr_... [trust] [--config FILE]

Runs the endpoint agent: an outbound-only WebSocket to wss://HOST[:PORT]/ws/agent that reports
inventory and heartbeats, and reconnects with backoff until stopped (SIGINT/SIGTERM).

Options:
  --server URL                  https:// URL of the RMM server          [env RMM_SERVER_URL]
  --token TOKEN                 credential this endpoint was enrolled with [env RMM_AGENT_TOKEN]
                                (prefer the environment: argv is visible to other local users)
  --server-fingerprint sha256:HEX
                                pin the server certificate (SHA-256 of its DER, 64 hex digits,
                                colons optional)                        [env RMM_SERVER_FINGERPRINT]
  --ca FILE                     trust server certificates issued by this PEM CA bundle
                                                                        [env RMM_CA_FILE]
  --config FILE                 run with the server, trust and credential that
                                'rmm agent enroll' wrote to FILE (instead of the flags above)
  --heartbeat-log               log every heartbeat at info level
  -h, --help                    show this help

Without --server-fingerprint or --ca the system CA store is used. Logs are JSON on stderr;
RMM_LOG_LEVEL sets the level (fatal, error, warn, info, debug, trace, silent; default info).

Exit codes: 0 stopped by signal, 2 bad usage, 3 replaced by another agent with the same token.
`;

export const EXIT_USAGE = 2;
export const EXIT_REPLACED = 3;

export interface CliIo {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Registers the stop signals; returns a function that removes the handlers again. */
  onStopSignal: (handler: () => void) => () => void;
}

const processIo: CliIo = {
  env: process.env,
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  onStopSignal: (handler) => {
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  },
};

/** `rmm agent ...`: returns the process exit code. */
export async function agentCommand(argv: string[], io: CliIo = processIo): Promise<number> {
  if (argv[0] === 'enroll') return enrollCommand(argv.slice(1), io);
  let flags;
  try {
    flags = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        server: { type: 'string' },
        token: { type: 'string' },
        'server-fingerprint': { type: 'string' },
        ca: { type: 'string' },
        config: { type: 'string' },
        'heartbeat-log': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    io.stderr(`rmm agent: ${error instanceof Error ? error.message : String(error)}\nTry 'rmm agent --help'.\n`);
    return EXIT_USAGE;
  }
  if (flags.help) {
    io.stdout(AGENT_HELP);
    return 0;
  }

  let settingsFlags: AgentFlags = flags;
  if (flags.config !== undefined) {
    // The file is the whole configuration: mixing it with connection flags would be ambiguous.
    const mixed = (['server', 'token', 'server-fingerprint', 'ca'] as const).filter((name) => flags[name] !== undefined);
    if (mixed.length > 0) {
      io.stderr(`rmm agent: --config cannot be combined with ${mixed.map((name) => `--${name}`).join(', ')}\n`);
      return EXIT_USAGE;
    }
    const read = await readAgentConfig(flags.config);
    if (!read.ok) {
      io.stderr(`rmm agent: --config: ${read.error}\n`);
      return EXIT_USAGE;
    }
    const { config } = read;
    settingsFlags = { ...settingsFlags, server: config.server, token: config.credential, 'server-fingerprint': config.serverFingerprint ?? undefined, ca: config.caFile ?? undefined };
  }
  const resolved = resolveAgentSettings(settingsFlags, io.env);
  if (!resolved.ok) {
    io.stderr(resolved.errors.map((error) => `rmm agent: ${error}\n`).join('') + "Try 'rmm agent --help'.\n");
    return EXIT_USAGE;
  }
  const { settings } = resolved;

  let trust: ServerTrust = { kind: 'system' };
  if (settings.serverFingerprint) trust = { kind: 'pin', sha256: settings.serverFingerprint };
  if (settings.ca) {
    const pem = await readFile(settings.ca, 'utf8').catch((error: unknown) => {
      io.stderr(`rmm agent: --ca (or RMM_CA_FILE): cannot read ${settings.ca}: ${String(error)}\n`);
      return null;
    });
    if (pem === null) return EXIT_USAGE;
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      io.stderr(`rmm agent: --ca (or RMM_CA_FILE): ${settings.ca} holds no PEM certificate\n`);
      return EXIT_USAGE;
    }
    trust = { kind: 'ca', pem };
  }

  const logger = createAgentLogger(settings.logLevel);
  logger.info({ version: AGENT_VERSION, server: settings.server, trust: trust.kind }, 'agent starting');
  const agent = startAgent({
    serverUrl: settings.server,
    token: settings.token,
    trust,
    logger,
    heartbeatLog: settings.heartbeatLog,
  });
  const removeSignalHandlers = io.onStopSignal(() => {
    logger.info('stop signal received; closing the connection');
    void agent.stop();
  });
  try {
    const exit = await agent.done;
    return exit.reason === 'replaced' ? EXIT_REPLACED : 0;
  } finally {
    removeSignalHandlers();
  }
}
