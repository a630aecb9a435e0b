import { createRequire } from 'node:module';
import { ConsoleError } from './console-error';
import type { SecretStore } from './secret-store';

/*
 * SecretStore in the OS keychain through keytar: the macOS Keychain, Windows Credential Manager,
 * or the freedesktop Secret Service (gnome-keyring, KWallet) over D-Bus on Linux. keytar is a
 * native addon, loaded on first use so that modules which only need the interface never load it.
 * Failures (no D-Bus session, a locked keyring) surface as ConsoleError `internal` with the cause
 * attached; callers decide whether that is fatal (the token cache treats it as "no key").
 */

type Keytar = typeof import('keytar');

let loaded: Keytar | undefined;

function keytar(): Keytar {
  if (!loaded) {
    try {
      loaded = createRequire(import.meta.url)('keytar') as Keytar;
    } catch (error) {
      throw new ConsoleError('internal', 'the OS keychain module (keytar) could not be loaded', { cause: error });
    }
  }
  return loaded;
}

async function keychain<T>(what: string, run: (k: Keytar) => Promise<T>): Promise<T> {
  const k = keytar();
  try {
    return await run(k);
  } catch (error) {
    throw new ConsoleError('internal', `the OS keychain refused to ${what}`, { cause: error });
  }
}

export function keytarSecretStore(): SecretStore {
  return {
    get: (service, account) => keychain('read a secret', (k) => k.getPassword(service, account)),
    set: (service, account, secret) => keychain('store a secret', (k) => k.setPassword(service, account, secret)),
    delete: (service, account) => keychain('delete a secret', (k) => k.deletePassword(service, account)),
  };
}
