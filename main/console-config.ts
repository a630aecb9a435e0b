import { z } from 'zod';

/*
 * The console's one configuration loader: environment variables, validated with zod.
 * RMM_SERVER_URL plus exactly one trust source, and the operator token file that Azure AD
 * sign-in replaces later.
 */

const ConsoleEnv = z
  .object({
    RMM_SERVER_URL: z.url({ protocol: /^https$/ }),
    RMM_SERVER_FINGERPRINT: z.string().min(1).optional(),
    RMM_CA_FILE: z.string().min(1).optional(),
    RMM_OPERATOR_TOKEN_FILE: z.string().min(1),
  })
  .refine((env) => Boolean(env.RMM_SERVER_FINGERPRINT) !== Boolean(env.RMM_CA_FILE), {
    message: 'set exactly one of RMM_SERVER_FINGERPRINT or RMM_CA_FILE',
  });

export interface ConsoleConfig {
  serverUrl: URL;
  trust: { fingerprint?: string; caFile?: string };
  operatorTokenFile: string;
}

export function loadConsoleConfig(env: Record<string, string | undefined>): ConsoleConfig {
  const parsed = ConsoleEnv.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'env'}: ${issue.message}`);
    throw new Error(`console configuration invalid:\n  ${lines.join('\n  ')}`);
  }
  const { RMM_SERVER_URL, RMM_SERVER_FINGERPRINT, RMM_CA_FILE, RMM_OPERATOR_TOKEN_FILE } = parsed.data;
  return {
    serverUrl: new URL(RMM_SERVER_URL),
    trust: { fingerprint: RMM_SERVER_FINGERPRINT, caFile: RMM_CA_FILE },
    operatorTokenFile: RMM_OPERATOR_TOKEN_FILE,
  };
}
