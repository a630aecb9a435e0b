import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * Server configuration: defaults < config file (JSON, `RMM_CONFIG_FILE`) < environment < CLI flags.
 * Every source is validated by one schema; errors name the offending key as the user wrote it.
 */
export const ServerConfig = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(8443),
    dataDir: z.string().min(1).default('./.rmm-data'),
    /** PostgreSQL connection string; unset means the embedded PGlite database in the data folder. */
    databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL').optional(),
    tlsCertFile: z.string().min(1).optional(),
    tlsKeyFile: z.string().min(1).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** An agent silent this long is marked offline; agents are told to beat three times per interval. */
    heartbeatIntervalMs: z.coerce.number().int().min(200).max(600_000).default(15_000),
    /** Identifies this process among several sharing one database (presence is per node). */
    nodeId: z.string().min(1).max(128).default('node-1'),
    /** Base64 of the 32-byte master key secrets at rest are derived from; unset: `<dataDir>/master.key`, created on first start (docs/mfa.md). */
    masterKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'must be base64 of 32 bytes').optional(),
    /** Comma-separated previous master keys, still accepted for opening after a rotation (docs/mfa.md). */
    masterKeysPrevious: z.string().regex(/^[A-Za-z0-9+/]{43}=(,[A-Za-z0-9+/]{43}=)*$/, 'must be comma-separated base64 keys of 32 bytes').optional(),
    /** Azure AD sign-in (docs/identity.md): tokens must come from `<base>/<tid>/v2.0`. */
    authAuthorityBase: z.url({ protocol: /^https$/ }).default('https://login.microsoftonline.com'),
    /** The API's audience (`aud`): the app registration's client id or Application ID URI. Unset: Azure AD sign-in is off. */
    authAudience: z.string().min(1).max(400).optional(),
    /** The delegated scope access tokens must carry in `scp`. */
    authScope: z.string().min(1).max(200).default('access_as_user'),
    /** Extra CA certificate (PEM file) trusted for the identity provider: the dev provider's self-signed one. */
    authCaFile: z.string().min(1).optional(),
    /** The MSP's own Azure tenant id: its tokens sign in linked staff users (no org), never client orgs. Unset: no staff sign-in. */
    authStaffTenant: z.uuid().transform((id) => id.toLowerCase()).optional(),
    /** PEM file of the release public key (`rmm release keygen`): builds are trusted only when signed by it. Unset: none can be added. */
    releasePublicKeyFile: z.string().min(1).optional(),
  })
  .strict()
  .refine((c) => (c.tlsCertFile === undefined) === (c.tlsKeyFile === undefined), {
    message: 'tlsCertFile and tlsKeyFile must be set together',
    path: ['tlsCertFile'],
  });
export type ServerConfig = z.infer<typeof ServerConfig>;
export type ServerConfigInput = z.input<typeof ServerConfig>;

/** Environment variable for each key, so error messages can name what the user actually set. */
const envNames: Record<keyof ServerConfig, string> = {
  host: 'RMM_HOST',
  port: 'RMM_PORT',
  dataDir: 'RMM_DATA_DIR',
  databaseUrl: 'DATABASE_URL',
  tlsCertFile: 'RMM_TLS_CERT_FILE',
  tlsKeyFile: 'RMM_TLS_KEY_FILE',
  logLevel: 'RMM_LOG_LEVEL',
  heartbeatIntervalMs: 'RMM_HEARTBEAT_INTERVAL_MS',
  nodeId: 'RMM_NODE_ID',
  masterKey: 'RMM_MASTER_KEY',
  masterKeysPrevious: 'RMM_MASTER_KEYS_PREVIOUS',
  authAuthorityBase: 'RMM_AUTH_AUTHORITY_BASE',
  authAudience: 'RMM_AUTH_AUDIENCE',
  authScope: 'RMM_AUTH_SCOPE',
  authCaFile: 'RMM_AUTH_CA_FILE',
  authStaffTenant: 'RMM_AUTH_STAFF_TENANT',
  releasePublicKeyFile: 'RMM_RELEASE_PUBLIC_KEY_FILE',
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Origin = Partial<Record<keyof ServerConfig, string>>;

export function loadServerConfig(
  overrides: Partial<Record<keyof ServerConfig, string | number>> = {},
  env: NodeJS.ProcessEnv = process.env,
): ServerConfig {
  const origin: Origin = {};
  const merged: Record<string, unknown> = {};

  const file = env.RMM_CONFIG_FILE;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`RMM_CONFIG_FILE ${file}: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`RMM_CONFIG_FILE ${file}: must contain a JSON object`);
    }
    for (const [key, value] of Object.entries(parsed)) {
      merged[key] = value;
      origin[key as keyof ServerConfig] = `${key} in ${file}`;
    }
  }
  for (const [key, name] of Object.entries(envNames) as [keyof ServerConfig, string][]) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      merged[key] = value;
      origin[key] = name;
    }
  }
  for (const [key, value] of Object.entries(overrides) as [keyof ServerConfig, string | number | undefined][]) {
    if (value !== undefined) {
      merged[key] = value;
      origin[key] = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    }
  }

  const result = ServerConfig.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const name = origin[key as keyof ServerConfig] ?? (key ? key : 'config');
      return issue.code === 'unrecognized_keys'
        ? `config: unknown key(s) ${issue.keys.join(', ')}`
        : `${name}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return { ...result.data, dataDir: path.resolve(result.data.dataDir) };
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
