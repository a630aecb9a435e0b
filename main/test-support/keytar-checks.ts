import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TokenCacheContext } from '@azure/msal-node';
import { keytarSecretStore } from '../keytar-secret-store';
import type { SecretStore } from '../secret-store';
import { encryptedCachePlugin } from '../token-cache-plugin';

/*
 * The keytar SecretStore against a real Secret Service. Run by keytar-secret-store.test.ts in its
 * own process when the test process has a reachable keychain, or as a script in a child process
 * under `dbus-run-session` with a throwaway gnome-keyring when it has not. Each check throws on
 * failure; the script prints one JSON line `{ passed: [...] }` or `{ failed: "..." }`.
 */

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`keytar check failed: ${what}`);
}

/** True when a Secret Service answers and takes a write (an unlocked collection), within 5 s. */
export async function keychainReachable(store: SecretStore = keytarSecretStore()): Promise<{ reachable: boolean; reason: string }> {
  try {
    const account = `probe-${randomBytes(6).toString('hex')}`;
    const probe = store.set('rmm-console-test-probe', account, 'probe').then(() => store.delete('rmm-console-test-probe', account));
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 5 s')), 5000).unref());
    await Promise.race([probe, timeout]);
    return { reachable: true, reason: '' };
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
    return { reachable: false, reason: `${error instanceof Error ? error.message : String(error)} ${cause}`.trim() };
  }
}

export async function runKeytarChecks(store: SecretStore = keytarSecretStore()): Promise<string[]> {
  const passed: string[] = [];
  const service = `rmm-console-test-${randomBytes(6).toString('hex')}`;
  try {
    check((await store.get(service, 'alice')) === null, 'a missing secret reads as null');
    passed.push('missing → null');

    const secret = `${randomBytes(32).toString('base64')} é ✓`;
    await store.set(service, 'alice', secret);
    check((await store.get(service, 'alice')) === secret, 'round trip');
    passed.push('set → get round trip (base64 and non-ASCII)');

    await store.set(service, 'alice', 'replaced');
    check((await store.get(service, 'alice')) === 'replaced', 'set replaces');
    check((await store.get(service, 'bob')) === null, 'accounts are separate');
    check((await store.get(`${service}-other`, 'alice')) === null, 'services are separate');
    passed.push('set replaces; accounts and services are separate');

    check((await store.delete(service, 'alice')) === true, 'delete reports a removed secret');
    check((await store.get(service, 'alice')) === null, 'deleted secret is gone');
    check((await store.delete(service, 'alice')) === false, 'second delete reports nothing removed');
    passed.push('delete → gone; deleting again → false');

    const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-keytar-cache-'));
    try {
      const file = path.join(dir, 'msal-cache.bin');
      const snapshot = JSON.stringify({ Account: {}, IdToken: {}, AccessToken: {}, RefreshToken: { r: { secret: 'refresh-token-in-keytar-check' } }, AppMetadata: {} });
      let current = snapshot;
      const cache = { serialize: () => current, deserialize: (value: string) => { current = value; } };
      const plugin = encryptedCachePlugin({ file, secrets: store, keyService: service, keyAccount: 'cache-key' });
      await plugin.afterCacheAccess(new TokenCacheContext(cache, true));
      const key = await store.get(service, 'cache-key');
      check(key !== null && Buffer.from(key, 'base64').length === 32, 'the cache key is in the keychain');
      check(!readFileSync(file, 'latin1').includes('refresh-token-in-keytar-check'), 'the cache file holds no token');
      current = '';
      await encryptedCachePlugin({ file, secrets: store, keyService: service, keyAccount: 'cache-key' }).beforeCacheAccess(new TokenCacheContext(cache, false));
      check(current === snapshot, 'the cache reads back with the key from the keychain');
      passed.push('token cache key kept in the keychain; cache reads back');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await store.delete(service, 'alice').catch(() => false);
    await store.delete(service, 'cache-key').catch(() => false);
  }
  return passed;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runKeytarChecks().then(
    (passed) => {
      process.stdout.write(`${JSON.stringify({ passed })}\n`);
    },
    (error: unknown) => {
      process.stdout.write(`${JSON.stringify({ failed: error instanceof Error ? `${error.message} ${error.cause instanceof Error ? error.cause.message : ''}` : String(error) })}\n`);
      process.exitCode = 1;
    },
  );
}
