import { z } from 'zod';
import { LogLevel } from './logger';
import { parseFingerprint } from './tls-trust';

/*
 * `rmm agent` settings from flags and environment, validated with zod. A flag wins over its
 * environment variable; trust flags replace trust variables as a pair, so `--ca` on the command
 * line is not refused because RMM_SERVER_FINGERPRINT happens to be set in the service's env.
 */

const optionalText = z.preprocess((value) => (value === '' ? undefined : value), z.string().optional());

export const AgentEnv = z.object({
  RMM_SERVER_URL: optionalText,
  RMM_AGENT_TOKEN: optionalText,
  RMM_SERVER_FINGERPRINT: optionalText,
  RMM_CA_FILE: optionalText,
  RMM_LOG_LEVEL: z.preprocess((value) => (value === '' ? undefined : value), LogLevel.optional()),
});
export type AgentEnv = z.infer<typeof AgentEnv>;

export interface AgentFlags {
  server?: string;
  token?: string;
  'server-fingerprint'?: string;
  ca?: string;
  'heartbeat-log'?: boolean;
}

const required = (what: string) => ({
  error: (issue: { input: unknown }) => (issue.input === undefined ? 'is required' : `must be ${what}`),
});

const AgentSettings = z
  .object({
    server: z.string(required('a URL')).refine(isHttpsUrl, 'must be an https:// URL (plain http is refused)'),
    token: z
      .string(required('a string'))
      .min(1, 'is required')
      .max(512, 'is longer than 512 characters')
      // A trailing newline from an env file is the usual culprit; say so instead of failing auth.
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces or line breaks'),
    serverFingerprint: z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (text === undefined) return undefined;
        const pin = parseFingerprint(text);
        if (!pin) ctx.addIssue({ code: 'custom', message: 'must be sha256: followed by 64 hex digits' });
        return pin ?? undefined;
      }),
    ca: z.string().min(1).optional(),
    heartbeatLog: z.boolean(),
    logLevel: LogLevel.default('info'),
  })
  .refine((settings) => !(settings.serverFingerprint && settings.ca), {
    path: ['ca'],
    message: 'cannot be combined with --server-fingerprint; choose one way to trust the server',
  });
export type AgentSettings = z.infer<typeof AgentSettings>;

function isHttpsUrl(text: string): boolean {
  try {
    return new URL(text).protocol === 'https:';
  } catch {
    return false;
  }
}

const FIELD_NAMES: Record<string, string> = {
  server: '--server (or RMM_SERVER_URL)',
  token: '--token (or RMM_AGENT_TOKEN)',
  serverFingerprint: '--server-fingerprint (or RMM_SERVER_FINGERPRINT)',
  ca: '--ca (or RMM_CA_FILE)',
  heartbeatLog: '--heartbeat-log',
  logLevel: 'RMM_LOG_LEVEL',
};

export type SettingsResult = { ok: true; settings: AgentSettings } | { ok: false; errors: string[] };

export function resolveAgentSettings(flags: AgentFlags, rawEnv: Record<string, string | undefined>): SettingsResult {
  const env = AgentEnv.safeParse(rawEnv);
  if (!env.success) {
    return { ok: false, errors: env.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) };
  }
  const trustFromFlags = flags['server-fingerprint'] !== undefined || flags.ca !== undefined;
  const settings = AgentSettings.safeParse({
    server: flags.server ?? env.data.RMM_SERVER_URL,
    token: flags.token ?? env.data.RMM_AGENT_TOKEN,
    serverFingerprint: trustFromFlags ? flags['server-fingerprint'] : env.data.RMM_SERVER_FINGERPRINT,
    ca: trustFromFlags ? flags.ca : env.data.RMM_CA_FILE,
    heartbeatLog: flags['heartbeat-log'] ?? false,
    logLevel: env.data.RMM_LOG_LEVEL,
  });
  if (settings.success) return { ok: true, settings: settings.data };
  return {
    ok: false,
    // Messages name the flag and never echo the value: it may be the token.
    errors: settings.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? '');
      return `${FIELD_NAMES[field] ?? field}: ${issue.message}`;
    }),
  };
}
