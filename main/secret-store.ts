/*
 * Where the console keeps small secrets (today: the key of the encrypted MSAL token cache). The
 * real store is the OS keychain through keytar (keytar-secret-store.ts); tests of other modules
 * use the in-memory one. Secrets are addressed like keytar's: a service name and an account.
 */

export interface SecretStore {
  /** The secret, or null when none is stored. */
  get(service: string, account: string): Promise<string | null>;
  /** Stores (or replaces) the secret. */
  set(service: string, account: string, secret: string): Promise<void>;
  /** Removes the secret; false when there was none. */
  delete(service: string, account: string): Promise<boolean>;
}

/** A SecretStore in a Map: for tests, and for nothing that must survive the process. */
export function memorySecretStore(): SecretStore & { size(): number } {
  const secrets = new Map<string, string>();
  const keyOf = (service: string, account: string) => JSON.stringify([service, account]);
  return {
    get: async (service, account) => secrets.get(keyOf(service, account)) ?? null,
    async set(service, account, secret) {
      secrets.set(keyOf(service, account), secret);
    },
    delete: async (service, account) => secrets.delete(keyOf(service, account)),
    size: () => secrets.size,
  };
}
