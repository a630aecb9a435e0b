import { readFile } from 'node:fs/promises';
import { ConsoleError } from './console-error';
import { keytarSecretStore } from './keytar-secret-store';
import type { SecretStore } from './secret-store';
import type { TrustResolver } from './server-trust';
import type { SignInConfig } from './sign-in-config';
import { createSignInService, type SignInService } from './sign-in-service';

/*
 * The sign-in service as the console hosts start it: the dev provider's CA read from the
 * configured file, the token cache key in the OS keychain (keytar) unless a store is given.
 * Electron passes `shell.openExternal` (sign-in-electron.ts); the browser host its own opener.
 */

export async function startSignInService(options: {
  config: SignInConfig;
  serverUrl: URL;
  trust: TrustResolver;
  cacheFile: string;
  openBrowser(url: string): Promise<void>;
  secrets?: SecretStore;
}): Promise<SignInService> {
  let caPem: string | undefined;
  if (options.config.caFile) {
    try {
      caPem = await readFile(options.config.caFile, 'utf8');
    } catch (error) {
      throw new ConsoleError('bad_request', `cannot read the identity provider's CA file ${options.config.caFile}`, { cause: error });
    }
    if (!caPem.includes('-----BEGIN CERTIFICATE-----')) throw new ConsoleError('bad_request', `${options.config.caFile} holds no PEM certificate`);
  }
  return createSignInService({
    config: options.config,
    ...(caPem ? { caPem } : {}),
    serverUrl: options.serverUrl,
    trust: options.trust,
    secrets: options.secrets ?? keytarSecretStore(),
    cacheFile: options.cacheFile,
    openBrowser: options.openBrowser,
  });
}
