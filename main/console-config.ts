import { z } from 'zod';

/*
 * The console's one configuration loader: environment variables, validated with zod.
 * RMM_SERVER_URL plus exactly one trust source, and the API token file the console signs in
 * with until Azure AD sign-in replaces it: RMM_TOKEN_FILE (any user's token), else
 * RMM_OPERATOR_TOKEN_FILE (the bootstrap operator's). RMM_EXPORT_DIR is where audit exports go
 * when there is no save dialog (the browser host).
 */

const ConsoleEnv = z
  .object({
    RMM_SERVER_URL: z.url({ protocol: /^https$/ }),
    RMM_SERVER_FINGERPRINT: z.string().min(1).optional(),
    RMM_CA_FILE: z.string().min(1).optional(),
    RMM_TOKEN_FILE: z.string().min(1).optional(),
    RMM_OPERATOR_TOKEN_FILE: z.string().min(1).optional(),
    RMM_EXPORT_DIR: z.string().min(1).optional(),
  })
  .refine((env) => Boolean(env.RMM_SERVER_FINGERPRINT) !== Boolean(env.RMM_CA_FILE), {
    message: 'set exactly one of RMM_SERVER_FINGERPRINT or RMM_CA_FILE',
  })
  .refine((env) => Boolean(env.RMM_TOKEN_FILE ?? env.RMM_OPERATOR_TOKEN_FILE), {
    message: 'set RMM_TOKEN_FILE (or RMM_OPERATOR_TOKEN_FILE for the bootstrap operator)',
  });

export interface ConsoleConfig {
  serverUrl: URL;
  trust: { fingerprint?: string; caFile?: string };
  /** The API token file the console presents: RMM_TOKEN_FILE, else the operator's. */
  tokenFile: string;
  exportDir?: string;
}

export function loadConsoleConfig(env: Record<string, string | undefined>): ConsoleConfig {
  const parsed = ConsoleEnv.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'env'}: ${issue.message}`);
    throw new Error(`console configuration invalid:\n  ${lines.join('\n  ')}`);
  }
  const { RMM_SERVER_URL, RMM_SERVER_FINGERPRINT, RMM_CA_FILE, RMM_TOKEN_FILE, RMM_OPERATOR_TOKEN_FILE, RMM_EXPORT_DIR } = parsed.data;
  return {
    serverUrl: new URL(RMM_SERVER_URL),
    trust: { fingerprint: RMM_SERVER_FINGERPRINT, caFile: RMM_CA_FILE },
    tokenFile: RMM_TOKEN_FILE ?? RMM_OPERATOR_TOKEN_FILE ?? '',
    exportDir: RMM_EXPORT_DIR,
  };
}
