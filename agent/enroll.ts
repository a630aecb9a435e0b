import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TLSSocket } from 'node:tls';
import { z } from 'zod';
import { EnrolmentTokenValue, EnrolResponse } from '../protocol/enrolment';
import { ErrorBody } from '../protocol/errors';
import { formatFingerprint, isTrustFailure, parseFingerprint, type ServerTrust, TrustError, verifyPinnedPeer } from './tls-trust';

/*
 * `rmm agent enroll` (docs/agent.md "Enrolment"): exchanges a one-time enrolment token for this
 * endpoint's agent id and credential over the same pinned TLS the agent uses, and writes them
 * with the server URL and trust to the agent config file (mode 0600). `rmm agent --config FILE`
 * then runs from that file.
 *
 * The token is spent by the exchange, so everything that can fail locally is checked before it:
 * the flags, an existing config (refused unless --force), and that the config's directory takes
 * a new file (a 0600 placeholder is created first and becomes the config only after success).
 */

export const ENROLL_HELP = `Usage: rmm agent enroll --server https://HOST[:PORT] --token rmm_enr_... [trust] [--config FILE] [--force]

Enrols this endpoint: exchanges a one-time enrolment token (made in the console or with
POST /api/orgs/:orgId/enrolment-tokens) for the agent's credential, and writes the agent config.
Then run the agent with: rmm agent --config FILE

Options:
  --server URL                  https:// URL of the RMM server
  --token TOKEN                 the enrolment token (one-time; prefer RMM_ENROLMENT_TOKEN in the
                                environment: argv is visible to other local users)
  --fingerprint sha256:HEX      pin the server certificate (SHA-256 of its DER)
  --ca-file FILE                trust server certificates issued by this PEM CA bundle
  --config FILE                 where to write the config    [default ${defaultConfigPath()}]
  --force                       replace an existing enrolment in FILE
  -h, --help                    show this help

Without --fingerprint or --ca-file the system CA store is used. Exit codes: 0 enrolled,
1 refused by the server or unreachable, 2 bad usage or an existing config.
`;

export function defaultConfigPath(): string {
  return process.platform === 'win32'
    ? path.join(process.env.ProgramData ?? 'C:\\ProgramData', 'rmm', 'agent.json')
    : '/etc/rmm/agent.json';
}

/** The agent config file `rmm agent enroll` writes and `rmm agent --config` reads. */
export const AgentConfigFile = z
  .object({
    version: z.literal(1),
    server: z.url().refine((text) => text.startsWith('https://'), 'must be an https:// URL'),
    /** At most one of the two; neither: the system CA store. */
    serverFingerprint: z.string().refine((text) => parseFingerprint(text) !== null, 'must be sha256: followed by 64 hex digits').nullable(),
    caFile: z.string().min(1).nullable(),
    agentId: z.uuid(),
    orgId: z.uuid(),
    unitId: z.uuid(),
    credential: z.string().min(1).max(512),
    enrolledAt: z.iso.datetime(),
  })
  .strict()
  .refine((file) => !(file.serverFingerprint && file.caFile), { message: 'serverFingerprint and caFile cannot both be set' });
export type AgentConfigFile = z.infer<typeof AgentConfigFile>;

export type ConfigRead = { ok: true; config: AgentConfigFile } | { ok: false; error: string };

/** Reads and checks a config file; refuses one other local users can read (it holds the credential). */
export async function readAgentConfig(file: string): Promise<ConfigRead> {
  let text: string;
  try {
    if (process.platform !== 'win32' && ((await stat(file)).mode & 0o077) !== 0) {
      return { ok: false, error: `${file} is readable by other users; run chmod 600 ${file}` };
    }
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { ok: false, error: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: `${file} is not JSON` };
  }
  const parsed = AgentConfigFile.safeParse(json);
  if (!parsed.success) return { ok: false, error: `${file}: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'file'}: ${issue.message}`).join('; ')}` };
  return { ok: true, config: parsed.data };
}

export interface EnrollIo {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** This endpoint's name and OS as reported at enrolment. */
  hostname?: () => string;
}

export const EXIT_ENROLL_REFUSED = 1;
const EXIT_USAGE = 2;

const Flags = z.object({
  server: z.string({ error: 'is required' }).refine((text) => {
    try {
      return new URL(text).protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an https:// URL (plain http is refused)'),
  token: z.string({ error: 'is required' }).pipe(EnrolmentTokenValue),
  fingerprint: z.string().refine((text) => parseFingerprint(text) !== null, 'must be sha256: followed by 64 hex digits').optional(),
  'ca-file': z.string().min(1).optional(),
  config: z.string().min(1),
  force: z.boolean(),
});

const FLAG_NAMES: Record<string, string> = { token: '--token (or RMM_ENROLMENT_TOKEN)' };

/** `rmm agent enroll ...`: returns the exit code. */
export async function enrollCommand(argv: string[], io: EnrollIo): Promise<number> {
  const fail = (code: number, message: string) => {
    io.stderr(`rmm agent enroll: ${message}\n`);
    return code;
  };
  let values;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        server: { type: 'string' },
        token: { type: 'string' },
        fingerprint: { type: 'string' },
        'ca-file': { type: 'string' },
        config: { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    return fail(EXIT_USAGE, `${error instanceof Error ? error.message : String(error)}\nTry 'rmm agent enroll --help'.`);
  }
  if (values.help) {
    io.stdout(ENROLL_HELP);
    return 0;
  }
  const parsed = Flags.safeParse({
    server: values.server,
    token: values.token ?? io.env.RMM_ENROLMENT_TOKEN,
    fingerprint: values.fingerprint,
    'ca-file': values['ca-file'],
    config: values.config ?? io.env.RMM_AGENT_CONFIG ?? defaultConfigPath(),
    force: values.force ?? false,
  });
  if (!parsed.success) {
    // Messages name the flag and never echo the value: it may be the token.
    const lines = parsed.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? '');
      return `rmm agent enroll: ${FLAG_NAMES[field] ?? `--${field}`}: ${issue.message}\n`;
    });
    io.stderr(lines.join('') + "Try 'rmm agent enroll --help'.\n");
    return EXIT_USAGE;
  }
  const flags = parsed.data;
  if (flags.fingerprint && flags['ca-file']) return fail(EXIT_USAGE, '--fingerprint and --ca-file cannot be combined; choose one way to trust the server');

  let trust: ServerTrust = { kind: 'system' };
  const pin = flags.fingerprint ? parseFingerprint(flags.fingerprint) : null;
  if (pin) trust = { kind: 'pin', sha256: pin };
  const caFile = flags['ca-file'] ? path.resolve(flags['ca-file']) : null;
  if (caFile) {
    const pem = await readFile(caFile, 'utf8').catch(() => null);
    if (pem === null) return fail(EXIT_USAGE, `--ca-file: cannot read ${caFile}`);
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) return fail(EXIT_USAGE, `--ca-file: ${caFile} holds no PEM certificate`);
    trust = { kind: 'ca', pem };
  }

  const configFile = path.resolve(flags.config);
  const existing = await stat(configFile).then(() => true, () => false);
  if (existing && !flags.force) {
    return fail(EXIT_USAGE, `${configFile} already holds an enrolment; pass --force to replace it (the old agent keeps its record on the server until removed there)`);
  }
  // Prove the file can be written before the token is spent.
  let placeholder: string;
  try {
    await mkdir(path.dirname(configFile), { recursive: true, mode: 0o700 });
    placeholder = path.join(path.dirname(configFile), `.${path.basename(configFile)}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(placeholder, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
    await handle.close();
  } catch (error) {
    return fail(EXIT_USAGE, `cannot write ${configFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }

  try {
    const hostname = (io.hostname ?? os.hostname)().slice(0, 255) || 'unknown';
    const exchanged = await exchangeToken(new URL('/api/agents/enrol', flags.server), trust, { token: flags.token, hostname, os: `${os.type()} ${os.release()}`.slice(0, 200) });
    if (!exchanged.ok) return fail(EXIT_ENROLL_REFUSED, exchanged.error);
    const config: AgentConfigFile = {
      version: 1,
      server: new URL(flags.server).origin,
      serverFingerprint: pin ? formatFingerprint(pin) : null,
      caFile,
      agentId: exchanged.response.agentId,
      orgId: exchanged.response.orgId,
      unitId: exchanged.response.unitId,
      credential: exchanged.response.credential,
      enrolledAt: new Date().toISOString(),
    };
    const handle = await open(placeholder, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(config, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // link() refuses to replace a file that appeared meanwhile; --force replaces on purpose.
    if (flags.force) await rename(placeholder, configFile);
    else await link(placeholder, configFile);
    io.stdout(`Enrolled as agent ${config.agentId} (org ${config.orgId}, unit ${config.unitId}).\nConfig written to ${configFile}.\nStart the agent with: rmm agent --config ${configFile}\n`);
    return 0;
  } catch (error) {
    return fail(EXIT_ENROLL_REFUSED, `could not write ${configFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  } finally {
    await unlink(placeholder).catch(() => undefined);
  }
}

type Exchange = { ok: true; response: EnrolResponse } | { ok: false; error: string };

/** POSTs the token over TLS checked by `trust`; with a pin, no byte is written before the certificate matched. */
function exchangeToken(url: URL, trust: ServerTrust, body: { token: string; hostname: string; os: string }): Promise<Exchange> {
  const payload = JSON.stringify(body);
  return new Promise((resolve) => {
    const request = https.request(url, {
      method: 'POST',
      agent: false,
      minVersion: 'TLSv1.2',
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) },
      timeout: 30_000,
      ...(trust.kind === 'ca' ? { ca: trust.pem } : {}),
      ...(trust.kind === 'pin' ? { rejectUnauthorized: false } : {}),
    }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          // handled below as an unexpected answer
        }
        const status = response.statusCode ?? 0;
        if (status === 200) {
          const parsed = EnrolResponse.safeParse(json);
          resolve(parsed.success ? { ok: true, response: parsed.data } : { ok: false, error: 'the server answered with something that is not an enrolment' });
          return;
        }
        const refusal = ErrorBody.safeParse(json);
        resolve({
          ok: false,
          error: refusal.success
            ? `the server refused the enrolment: ${refusal.data.error.message} (${refusal.data.error.code}, HTTP ${status})`
            : `the server answered HTTP ${status}; is ${url.origin} an RMM server?`,
        });
      });
    });
    request.on('timeout', () => request.destroy(new Error('timed out after 30 s')));
    request.on('error', (error) => {
      resolve({
        ok: false,
        error: isTrustFailure(error)
          ? `the server's certificate is not trusted (${error.message}); check --fingerprint / --ca-file`
          : `cannot reach ${url.origin}: ${(error as NodeJS.ErrnoException).code ?? error.message}`,
      });
    });
    if (trust.kind !== 'pin') {
      request.end(payload);
      return;
    }
    request.once('socket', (socket) => {
      if (!(socket instanceof TLSSocket)) {
        request.destroy(new TrustError('pinned connection is not TLS'));
        return;
      }
      socket.once('secureConnect', () => {
        try {
          verifyPinnedPeer(socket, trust.sha256);
        } catch (error) {
          request.destroy(error instanceof Error ? error : new TrustError(String(error)));
          return;
        }
        request.end(payload);
      });
    });
  });
}
