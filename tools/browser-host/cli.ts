import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConsoleConfig } from '../../main/console-config';
import { createConsoleServicesFromFiles } from '../../main/console-services';
import { startBrowserHost } from './index';

/*
 * Runs the console without Electron: same services and handler map as the Electron shell,
 * configured from the same environment variables, served to a local browser.
 *   RMM_SERVER_URL=https://127.0.0.1:8443 RMM_SERVER_FINGERPRINT=... \
 *   RMM_OPERATOR_TOKEN_FILE=.rmm-data/operator-token npx tsx tools/browser-host/cli.ts
 * RMM_TOKEN_FILE signs in as another user; audit exports go to RMM_EXPORT_DIR (default ./rmm-exports).
 */

export async function runBrowserHost(env: Record<string, string | undefined>): Promise<() => Promise<void>> {
  const config = loadConsoleConfig(env);
  const services = await createConsoleServicesFromFiles({
    serverUrl: config.serverUrl,
    caFile: config.trust.caFile,
    fingerprint: config.trust.fingerprint,
    tokenFile: config.tokenFile,
    host: 'browser-host',
    exports: { directory: path.resolve(config.exportDir ?? 'rmm-exports') },
  });
  const rendererDir =
    env.RMM_RENDERER_DIR ?? fileURLToPath(new URL('../../dist/renderer', import.meta.url));
  const host = await startBrowserHost({
    handlers: services.handlers,
    events: services.events,
    rendererDir,
    port: env.RMM_CONSOLE_PORT ? Number(env.RMM_CONSOLE_PORT) : undefined,
  });
  services.start();
  console.log(`RMM console (serving ${path.relative(process.cwd(), rendererDir) || '.'}): open once ${host.url}`);
  return async () => {
    await host.close();
    await services.stop();
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const stop = await runBrowserHost(process.env).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
  const shutdown = (): void => void stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
