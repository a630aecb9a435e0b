import { AuthError, InteractionRequiredAuthError, LogLevel, PublicClientApplication, type AccountInfo, type AuthenticationResult } from '@azure/msal-node';
import { ConsoleError } from './console-error';
import type { CredentialSource } from './credentials';
import { networkClientTrusting } from './msal-network';
import type { SecretStore } from './secret-store';
import type { TrustResolver } from './server-trust';
import { createSessionExchange, type ServerSession, type SessionExchange } from './session-exchange';
import type { SignInConfig } from './sign-in-config';
import { encryptedCachePlugin, type CacheProblem } from './token-cache-plugin';

/*
 * The console's sign-in (issue #4): MSAL Node's PublicClientApplication signs the user in to Azure
 * AD (or the dev provider) in the system browser with the loopback redirect, and the access token
 * is exchanged for a server session whose token is the console's credential. The session token is
 * kept in memory only; MSAL's cache (refresh token, account) is persisted encrypted
 * (token-cache-plugin.ts) so a restarted console can open a new server session without the
 * browser (`renew`). Nothing here renews on its own: a session the server ended (idle timeout,
 * revocation) stays ended until the UI asks, so automatic logoff means what it says.
 */

export interface SignedInAccount {
  /** Azure tenant id and object id: the identity the server keys the user on. */
  tenantId: string;
  objectId: string;
  username: string;
  name: string | null;
}

export interface SignInState {
  account: SignedInAccount;
  session: Omit<ServerSession, 'sessionToken'>;
}

export interface SignInService {
  /** The server session token as an Authorization header; `unauthenticated` when there is none. */
  readonly credentials: CredentialSource;
  /** Interactive sign-in in the browser, then a new server session. */
  signIn(): Promise<SignInState>;
  /**
   * A new server session from MSAL's cache without the browser (acquireTokenSilent with the
   * refresh token): after a
   * restart, or to re-establish an ended session when the UI decides to. `interaction_required`
   * cases (no account, refresh token expired or revoked) throw `unauthenticated`.
   */
  renew(): Promise<SignInState>;
  /** The account MSAL's cache holds (null: a sign-in is needed); does not touch the server. */
  cachedAccount(): Promise<SignedInAccount | null>;
  /** Ends the server session, removes the account from MSAL's cache, forgets the session token. */
  signOut(): Promise<void>;
  /** Forgets the session token only (the server ended it, or the console locked itself). */
  forgetSession(): void;
  current(): SignInState | null;
}

export interface SignInServiceOptions {
  config: SignInConfig;
  /** Contents of config.caFile, when set (the dev provider's certificate). */
  caPem?: string;
  serverUrl: URL;
  trust: TrustResolver;
  secrets: SecretStore;
  /** Where the encrypted MSAL cache lives, e.g. `<userData>/msal-cache.bin`. */
  cacheFile: string;
  /** Shows the sign-in page: Electron `shell.openExternal`, the browser host a new tab. */
  openBrowser(url: string): Promise<void>;
  /** Page shown in the browser once the code reached the console. */
  successTemplate?: string;
  errorTemplate?: string;
  onCacheProblem?: (problem: CacheProblem) => void;
  /**
   * How long an interactive sign-in may wait for the browser (default 5 minutes). After that the
   * sign-in fails (`unauthenticated`) and another may start; a browser that completes later opens
   * no server session (MSAL Node 6 cannot cancel its listener: it closes on the next redirect).
   */
  interactiveTimeoutMs?: number;
  /** Tests: replace the server calls. */
  exchange?: SessionExchange;
}

/** Provider answers to a refresh that only a new interactive sign-in can fix (refresh token refused, expired, revoked). */
const SIGN_IN_AGAIN = new Set(['invalid_grant', 'interaction_required', 'login_required', 'consent_required', 'no_tokens_found']);

const SUCCESS_PAGE = '<!doctype html><meta charset="utf-8"><title>Signed in</title><p>You are signed in to the RMM console. You can close this tab.</p>';
const ERROR_PAGE = '<!doctype html><meta charset="utf-8"><title>Sign-in failed</title><p>The sign-in did not complete. Return to the RMM console and try again.</p>';

export function createSignInService(options: SignInServiceOptions): SignInService {
  const { config } = options;
  if (config.caFile && !options.caPem) throw new ConsoleError('bad_request', 'sign-in: the CA file is configured but its contents were not given');
  const authorityOrigin = new URL(config.authority).origin;
  const pca = new PublicClientApplication({
    auth: { clientId: config.clientId, authority: config.authority, knownAuthorities: config.knownAuthorities },
    cache: { cachePlugin: encryptedCachePlugin({ file: options.cacheFile, secrets: options.secrets, onProblem: options.onCacheProblem }) },
    system: {
      ...(options.caPem ? { networkClient: networkClientTrusting(options.caPem) } : {}),
      loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => undefined },
    },
  });
  const exchange = options.exchange ?? createSessionExchange({ serverUrl: options.serverUrl, trust: options.trust });

  let state: { token: string; view: SignInState } | null = null;
  let interactive: Promise<SignInState> | null = null;

  async function openSession(result: AuthenticationResult): Promise<SignInState> {
    if (!result.account) throw new ConsoleError('unauthenticated', 'the identity provider returned no account');
    const session = await exchange.signIn(result.accessToken);
    const { sessionToken, ...rest } = session;
    const view: SignInState = { account: accountOf(result.account), session: rest };
    state = { token: sessionToken, view };
    return view;
  }

  async function onlyAccount(): Promise<AccountInfo | null> {
    const accounts = await pca.getTokenCache().getAllAccounts();
    return accounts[0] ?? null;
  }

  const credentials: CredentialSource = {
    async authorizationHeader() {
      if (!state) throw new ConsoleError('unauthenticated', 'not signed in');
      return `Bearer ${state.token}`;
    },
  };

  return {
    credentials,
    signIn() {
      if (interactive) return Promise.reject(new ConsoleError('conflict', 'a sign-in is already in progress'));
      const run = (async () => {
        const acquiring = pca.acquireTokenInteractive({
          scopes: config.scopes,
          successTemplate: options.successTemplate ?? SUCCESS_PAGE,
          errorTemplate: options.errorTemplate ?? ERROR_PAGE,
          openBrowser: async (url) => {
            // Only ever the configured authority's page, whatever MSAL was told by discovery.
            if (new URL(url).origin !== authorityOrigin) throw new ConsoleError('bad_request', 'sign-in URL outside the configured authority');
            await options.openBrowser(url);
          },
        });
        const result = await withTimeout(acquiring, options.interactiveTimeoutMs ?? 300_000).catch((error: unknown) => {
          throw new ConsoleError('unauthenticated', `sign-in did not complete: ${messageOf(error)}`, { cause: error });
        });
        // One console, one user: other accounts left in the cache are dropped.
        const cache = pca.getTokenCache();
        for (const other of await cache.getAllAccounts()) {
          if (result.account && other.homeAccountId !== result.account.homeAccountId) await cache.removeAccount(other);
        }
        return openSession(result);
      })();
      interactive = run;
      return run.finally(() => {
        interactive = null;
      });
    },
    async renew() {
      const account = await onlyAccount();
      if (!account) throw new ConsoleError('unauthenticated', 'no cached account: sign in');
      let result: AuthenticationResult;
      try {
        // Always through the refresh token, never a cached access token: the provider is asked
        // each time, so a user disabled or a grant revoked there opens no new server session.
        result = await pca.acquireTokenSilent({ account, scopes: config.scopes, forceRefresh: true });
      } catch (error) {
        if (error instanceof InteractionRequiredAuthError || (error instanceof AuthError && SIGN_IN_AGAIN.has(error.errorCode))) throw new ConsoleError('unauthenticated', 'the identity provider asks for an interactive sign-in', { cause: error });
        throw new ConsoleError('idp_unavailable', `silent sign-in failed: ${messageOf(error)}`, { cause: error });
      }
      return openSession(result);
    },
    async cachedAccount() {
      const account = await onlyAccount();
      return account ? accountOf(account) : null;
    },
    async signOut() {
      const ending = state;
      state = null;
      const cache = pca.getTokenCache();
      for (const account of await cache.getAllAccounts()) await cache.removeAccount(account);
      if (ending) await exchange.signOut(ending.token);
    },
    forgetSession() {
      state = null;
    },
    current: () => state?.view ?? null,
  };
}

/** The promise's outcome, or a rejection after `ms`; a late outcome of the promise is dropped. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the browser within ${Math.round(ms / 1000)} s`)), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function accountOf(account: AccountInfo): SignedInAccount {
  const claims = account.idTokenClaims ?? {};
  return {
    tenantId: typeof claims.tid === 'string' ? claims.tid : account.tenantId,
    objectId: typeof claims.oid === 'string' ? claims.oid : account.localAccountId,
    username: account.username,
    name: account.name ?? null,
  };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message.slice(0, 300);
  return 'unknown error';
}
