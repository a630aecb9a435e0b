import { z } from 'zod';
import { loadSignInConfig, type SignInConfig } from './sign-in-config';

/*
 * The console's one configuration loader: environment variables, validated with zod.
 * RMM_SERVER_URL plus exactly one trust source, and how the console signs in: Azure AD when
 * RMM_SIGN_IN_AUTHORITY is set (sign-in-config.ts; RMM_SIGN_IN_CACHE_FILE is where the
 * encrypted MSAL cache goes), otherwise an API token file: RMM_TOKEN_FILE (any user's token),
 * else RMM_OPERATOR_TOKEN_FILE (the bootstrap operator's). RMM_EXPORT_DIR is where audit exports
 * go when there is no save dialog (the browser host).
 */

const ConsoleEnv = z
  .object({
    RMM_SERVER_URL: z.url({ protocol: /^https$/ }),
    RMM_SERVER_FINGERPRINT: z.string().min(1).optional(),
    RMM_CA_FILE: z.string().min(1).optional(),
    RMM_TOKEN_FILE: z.string().min(1).optional(),
    RMM_OPERATOR_TOKEN_FILE: z.string().min(1).optional(),
    RMM_EXPORT_DIR: z.string().min(1).optional(),
    RMM_SIGN_IN_AUTHORITY: z.string().min(1).optional(),
    RMM_SIGN_IN_CACHE_FILE: z.string().min(1).optional(),
  })
  .refine((env) => Boolean(env.RMM_SERVER_FINGERPRINT) !== Boolean(env.RMM_CA_FILE), {
    message: 'set exactly one of RMM_SERVER_FINGERPRINT or RMM_CA_FILE',
  })
  .refine((env) => Boolean(env.RMM_SIGN_IN_AUTHORITY ?? env.RMM_TOKEN_FILE ?? env.RMM_OPERATOR_TOKEN_FILE), {
    message: 'set RMM_SIGN_IN_AUTHORITY (Azure AD sign-in), or RMM_TOKEN_FILE (or RMM_OPERATOR_TOKEN_FILE for the bootstrap operator)',
  });

export interface ConsoleConfig {
  serverUrl: URL;
  trust: { fingerprint?: string; caFile?: string };
  /** The API token file the console presents: RMM_TOKEN_FILE, else the operator's ('' in sign-in mode without one). */
  tokenFile: string;
  exportDir?: string;
  /** Azure AD sign-in (RMM_SIGN_IN_*); when set the token file is not used. */
  signIn?: SignInConfig;
  /** RMM_SIGN_IN_CACHE_FILE: the encrypted MSAL cache; the host picks a default when unset. */
  signInCacheFile?: string;
}

export function loadConsoleConfig(env: Record<string, string | undefined>): ConsoleConfig {
  const parsed = ConsoleEnv.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'env'}: ${issue.message}`);
    throw new Error(`console configuration invalid:\n  ${lines.join('\n  ')}`);
  }
  const { RMM_SERVER_URL, RMM_SERVER_FINGERPRINT, RMM_CA_FILE, RMM_TOKEN_FILE, RMM_OPERATOR_TOKEN_FILE, RMM_EXPORT_DIR, RMM_SIGN_IN_CACHE_FILE } = parsed.data;
  const signIn = loadSignInConfig(env);
  return {
    serverUrl: new URL(RMM_SERVER_URL),
    trust: { fingerprint: RMM_SERVER_FINGERPRINT, caFile: RMM_CA_FILE },
    tokenFile: RMM_TOKEN_FILE ?? RMM_OPERATOR_TOKEN_FILE ?? '',
    exportDir: RMM_EXPORT_DIR,
    ...(signIn ? { signIn } : {}),
    ...(RMM_SIGN_IN_CACHE_FILE ? { signInCacheFile: RMM_SIGN_IN_CACHE_FILE } : {}),
  };
}
