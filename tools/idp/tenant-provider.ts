import Provider, { errors, interactionPolicy, type Configuration, type JWK, type KoaContextWithOIDC } from 'oidc-provider';
import type { Clock } from '../../server/clock';
import type { DevIdpMemoryStore } from './memory-store';
import type { DevIdpTenant } from './tenants';

/*
 * One oidc-provider per tenant, mounted at /<tenantId>/v2.0 so its issuer, discovery document and
 * JWKS are the tenant's own, as in Entra ID. Access tokens are JWTs for the one API (resource
 * indicator `api://<api client id>`), reshaped like Entra's v2.0 access tokens: `scp` without the
 * resource prefix, `tid`, `oid`, `name`, `preferred_username`, `azp`, `ver`.
 */

export const API_SCOPE_NAME = 'access_as_user';
/**
 * The authorization request parameter by which the organizations page (organizations.ts) hands
 * the user picked there to the tenant's login step, as a single-use ticket.
 */
export const PICK_TICKET_PARAM = 'dev_pick';

export interface TenantProviderOptions {
  tenant: DevIdpTenant;
  issuer: string;
  clientId: string;
  apiClientId: string;
  accessTokenTtlSeconds: number;
  signingKey: JWK;
  cookieKeys: string[];
  store: DevIdpMemoryStore;
  clock: Clock;
  /** Path of the login page for an interaction, below the tenant's mount. */
  interactionPath: (uid: string) => string;
}

export function apiAudience(apiClientId: string): string {
  return `api://${apiClientId}`;
}

/** Entra ID accepts any port (and path) on a loopback redirect URI of a public client. */
export function isLoopbackRedirect(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' || url.hash !== '' || url.username !== '' || url.password !== '') return false;
  return url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
}

/**
 * The login page on every sign-in (switching demo users is the point), except right after it; and
 * no consent page, not even the one oidc-provider shows native clients by default (Entra skips it
 * for an admin-consented app).
 */
function pickUserEveryTime(): interactionPolicy.DefaultPolicy {
  const policy = interactionPolicy.base();
  const consent = policy.get('consent');
  consent?.checks.remove('native_client_prompt');
  consent?.checks.remove('consent_prompt');
  policy.get('login')?.checks.add(new interactionPolicy.Check('dev_pick_user', 'the dev provider lists its users on every sign-in', (ctx) => !ctx.oidc.result?.login));
  return policy;
}

/**
 * Entra issues a refresh token whenever `offline_access` is asked. oidc-provider follows OIDC Core
 * and drops `offline_access` unless the request says `prompt=consent`, so authorization requests
 * are given that prompt (`none` excepted); the consent step it names is never shown (see above).
 * `login` and `select_account` need nothing: the login page shows on every sign-in anyway.
 */
export function withEntraPrompt(pathAndQuery: string): string {
  const [pathname = '', query = ''] = pathAndQuery.split(/\?(.*)/s);
  const params = new URLSearchParams(query);
  if (pathname !== '/auth' || params.get('prompt') === 'none') return pathAndQuery;
  params.set('prompt', 'consent');
  return `${pathname}?${params.toString()}`;
}

export function createTenantProvider(opts: TenantProviderOptions): Provider {
  const { tenant, clock } = opts;
  const audience = apiAudience(opts.apiClientId);
  const epoch = () => Math.floor(clock.now().getTime() / 1000);
  const userByOid = new Map(tenant.users.map((u) => [u.oid, u]));

  const configuration: Configuration = {
    adapter: opts.store.adapterFor,
    jwks: { keys: [opts.signingKey] },
    cookies: { keys: opts.cookieKeys },
    clients: [
      {
        client_id: opts.clientId,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://localhost', 'http://127.0.0.1'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    pkce: { required: () => true },
    extraParams: [PICK_TICKET_PARAM],
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', 'oid', 'tid'],
      email: ['email'],
    },
    conformIdTokenClaims: false,
    findAccount: (_ctx, sub) => {
      const user = userByOid.get(sub);
      if (!user) return undefined;
      return {
        accountId: user.oid,
        claims: () => ({ sub: user.oid, oid: user.oid, tid: tenant.id, name: user.name, preferred_username: user.email, email: user.email }),
      };
    },
    interactions: { url: (_ctx, interaction) => opts.interactionPath(interaction.uid), policy: pickUserEveryTime() },
    // Consent-free, like an admin-consented first-party app: every sign-in gets a grant for what
    // the console asked (OIDC scopes and the API's scope).
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { client, session, params } = ctx.oidc;
      const accountId = session?.accountId;
      if (!client || !accountId) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId });
      const requested = typeof params?.scope === 'string' ? params.scope.split(' ') : [];
      grant.addOIDCScope(requested.filter((s) => !s.includes('/')).join(' '));
      for (const indicator of Object.keys(ctx.oidc.resourceServers ?? {})) {
        grant.addResourceScope(indicator, `${audience}/${API_SCOPE_NAME}`);
      }
      await grant.save();
      return grant;
    },
    // Entra issues a refresh token to a public client whenever offline_access is asked; the OIDC
    // rule that drops offline_access without prompt=consent does not apply there.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== audience) throw new errors.InvalidTarget();
          return {
            scope: `${audience}/${API_SCOPE_NAME}`,
            audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: opts.accessTokenTtlSeconds,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    formats: {
      customizers: {
        jwt: (_ctx, token, jwt) => {
          const user = 'accountId' in token ? userByOid.get(token.accountId) : undefined;
          const granted = typeof token.scope === 'string' ? token.scope.split(' ') : [];
          const now = epoch();
          const { payload } = jwt;
          delete payload.scope;
          delete payload.client_id;
          Object.assign(payload, {
            aud: audience,
            iss: opts.issuer,
            tid: tenant.id,
            oid: user?.oid,
            sub: user?.oid,
            name: user?.name,
            preferred_username: user?.email,
            azp: opts.clientId,
            scp: granted.map((s) => (s.startsWith(`${audience}/`) ? s.slice(audience.length + 1) : s)).join(' '),
            ver: '2.0',
            iat: now,
            nbf: now,
            exp: now + opts.accessTokenTtlSeconds,
          });
        },
      },
    },
    ttl: {
      AccessToken: opts.accessTokenTtlSeconds,
      AuthorizationCode: 120,
      IdToken: 3600,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 14 * 24 * 3600,
      RefreshToken: 14 * 24 * 3600,
    },
    renderError: (ctx, out) => {
      ctx.type = 'application/json';
      ctx.body = out;
    },
  };

  const provider = new Provider(opts.issuer, configuration);
  provider.Client.prototype.redirectUriAllowed = isLoopbackRedirect;
  return provider;
}
