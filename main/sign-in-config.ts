import { z } from 'zod';

/*
 * How the console signs in with Azure AD (Entra ID) or the dev identity provider, validated with
 * zod. From the environment:
 *   RMM_SIGN_IN_AUTHORITY  https://login.microsoftonline.com/organizations (production; or /<tenant id>),
 *                          https://127.0.0.1:8444/<tenant id>/v2.0 (dev provider)
 *   RMM_SIGN_IN_CLIENT_ID  the app registration's client id (a GUID)
 *   RMM_SIGN_IN_SCOPES     optional, space-separated; default api://<client id>/access_as_user
 *   RMM_SIGN_IN_CA_FILE    optional, the dev provider's certificate (tls/server-cert.pem)
 */

const Guid = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a GUID');
/** Microsoft's public cloud: MSAL validates it itself, so it needs no knownAuthorities entry. */
const MICROSOFT_HOSTS = new Set(['login.microsoftonline.com']);

export const SignInConfigInput = z
  .object({
    authority: z.url({ protocol: /^https$/ }).refine((value) => {
      const url = new URL(value);
      return !url.search && !url.hash && !url.username && !url.password && url.pathname.length > 1;
    }, 'must be an https authority with a tenant path and no query, fragment or credentials'),
    clientId: Guid,
    scopes: z.array(z.string().min(1).max(300).regex(/^\S+$/, 'a scope has no spaces')).min(1).max(10).optional(),
    caFile: z.string().min(1).optional(),
  })
  .strict();
export type SignInConfigInput = z.input<typeof SignInConfigInput>;

export interface SignInConfig {
  authority: string;
  clientId: string;
  scopes: string[];
  /** Hosts MSAL may trust without asking Microsoft (instance discovery): the dev provider's. */
  knownAuthorities: string[];
  caFile?: string;
}

export function parseSignInConfig(input: unknown): SignInConfig {
  const parsed = SignInConfigInput.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'sign-in'}: ${issue.message}`);
    throw new Error(`sign-in configuration invalid:\n  ${lines.join('\n  ')}`);
  }
  const { authority, clientId, scopes, caFile } = parsed.data;
  const url = new URL(authority);
  return {
    authority: url.href.replace(/\/$/, ''),
    clientId: clientId.toLowerCase(),
    scopes: scopes ?? [`api://${clientId.toLowerCase()}/access_as_user`],
    knownAuthorities: MICROSOFT_HOSTS.has(url.hostname) ? [] : [url.host],
    ...(caFile ? { caFile } : {}),
  };
}

/** The sign-in configuration from RMM_SIGN_IN_*; undefined when RMM_SIGN_IN_AUTHORITY is not set. */
export function loadSignInConfig(env: Record<string, string | undefined>): SignInConfig | undefined {
  if (!env.RMM_SIGN_IN_AUTHORITY) return undefined;
  const scopes = env.RMM_SIGN_IN_SCOPES?.split(/\s+/).filter(Boolean);
  return parseSignInConfig({
    authority: env.RMM_SIGN_IN_AUTHORITY,
    clientId: env.RMM_SIGN_IN_CLIENT_ID,
    ...(scopes && scopes.length > 0 ? { scopes } : {}),
    ...(env.RMM_SIGN_IN_CA_FILE ? { caFile: env.RMM_SIGN_IN_CA_FILE } : {}),
  });
}
