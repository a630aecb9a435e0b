import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConsoleConfig } from '../../main/console-config';
import { createConsoleServicesFromFiles, type ConsoleServices } from '../../main/console-services';
import type { SecretStore } from '../../main/secret-store';
import { startBrowserHost } from './index';

/*
 * Runs the console without Electron: same services and handler map as the Electron shell,
 * configured from the same environment variables, served to a local browser.
 *   RMM_SERVER_URL=https://127.0.0.1:8443 RMM_SERVER_FINGERPRINT=... \
 *   RMM_OPERATOR_TOKEN_FILE=.rmm-data/operator-token npx tsx tools/browser-host/cli.ts
 * RMM_TOKEN_FILE signs in as another user; audit exports go to RMM_EXPORT_DIR (default ./rmm-exports).
 * With RMM_SIGN_IN_AUTHORITY and RMM_SIGN_IN_CLIENT_ID (+ RMM_SIGN_IN_CA_FILE for the dev provider)
 * the console signs in with Azure AD instead: it starts signed out, and the page opens the
 * provider's sign-in page in a new tab (AuthState.signInUrl). The encrypted MSAL cache goes to
 * RMM_SIGN_IN_CACHE_FILE (default ./.rmm-console/msal-cache.bin), its key to the OS keychain.
 */

export interface RunBrowserHostOptions {
  /** Sign-in mode: the MSAL cache key's store (default the OS keychain; tests: memorySecretStore()). */
  secrets?: SecretStore;
  /** Sign-in mode: the encrypted MSAL cache (default RMM_SIGN_IN_CACHE_FILE, else ./.rmm-console/msal-cache.bin). */
  cacheFile?: string;
  /** Default RMM_RENDERER_DIR, else dist/renderer. */
  rendererDir?: string;
  /** Default RMM_CONSOLE_PORT, else a free port. */
  port?: number;
  /** Default RMM_EXPORT_DIR, else ./rmm-exports. */
  exportDir?: string;
  /** Where the one-time link is printed (default console.log; tests: a no-op). */
  log?: (line: string) => void;
}

export interface RunningBrowserHost {
  /** Open this once: http://127.0.0.1:PORT/?token=... */
  url: string;
  origin: string;
  services: ConsoleServices;
  stop(): Promise<void>;
}

export async function runBrowserHost(env: Record<string, string | undefined>, options: RunBrowserHostOptions = {}): Promise<RunningBrowserHost> {
  const config = loadConsoleConfig(env);
  const signIn = config.signIn
    ? {
        config: config.signIn,
        cacheFile: path.resolve(options.cacheFile ?? config.signInCacheFile ?? path.join('.rmm-console', 'msal-cache.bin')),
        ...(options.secrets ? { secrets: options.secrets } : {}),
        // No browser to open from here: the page opens AuthState.signInUrl itself.
      }
    : undefined;
  const services = await createConsoleServicesFromFiles({
    serverUrl: config.serverUrl,
    caFile: config.trust.caFile,
    fingerprint: config.trust.fingerprint,
    ...(signIn ? { signIn } : { tokenFile: config.tokenFile }),
    host: 'browser-host',
    exports: { directory: path.resolve(options.exportDir ?? config.exportDir ?? 'rmm-exports') },
  });
  const rendererDir = options.rendererDir ?? env.RMM_RENDERER_DIR ?? fileURLToPath(new URL('../../dist/renderer', import.meta.url));
  const port = options.port ?? (env.RMM_CONSOLE_PORT ? Number(env.RMM_CONSOLE_PORT) : undefined);
  const host = await startBrowserHost({ handlers: services.handlers, events: services.events, rendererDir, port }).catch(async (error: unknown) => {
    await services.stop();
    throw error;
  });
  services.start();
  const log = options.log ?? ((line: string) => console.log(line));
  log(`RMM console (serving ${path.relative(process.cwd(), rendererDir) || '.'}${signIn ? ', Azure AD sign-in' : ''}): open once ${host.url}`);
  return {
    url: host.url,
    origin: host.origin,
    services,
    async stop() {
      await host.close();
      await services.stop();
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const running = await runBrowserHost(process.env).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
  const shutdown = (): void => void running.stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
