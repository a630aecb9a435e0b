import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TokenCacheContext } from '@azure/msal-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memorySecretStore, type SecretStore } from './secret-store';
import { encryptedCachePlugin, TOKEN_CACHE_KEY_ACCOUNT, TOKEN_CACHE_KEY_SERVICE, type CacheProblem } from './token-cache-plugin';

/*
 * The encrypted MSAL cache file on its own, with a stand-in for MSAL's serializable cache. The
 * same plugin under the real PublicClientApplication is exercised in sign-in-service.test.ts.
 */

const REFRESH = 'refresh-token-0123456789abcdef';
const ACCESS = 'eyJhbGciOiJSUzI1NiJ9.access-token-payload.signature';
const SNAPSHOT = JSON.stringify({ Account: { a: { username: 'tessa.admin@demo-clinic.test' } }, AccessToken: { t: { secret: ACCESS } }, RefreshToken: { r: { secret: REFRESH } }, IdToken: {}, AppMetadata: {} });
const EMPTY = { Account: {}, IdToken: {}, AccessToken: {}, RefreshToken: {}, AppMetadata: {} };

/** What MSAL hands the plugin: a cache it serializes and deserializes. */
function fakeCache(initial = '') {
  const cache = { current: initial, deserialized: [] as string[] };
  const serializable = {
    serialize: () => cache.current,
    deserialize: (value: string) => {
      cache.deserialized.push(value);
      cache.current = value;
    },
  };
  return { cache, context: (changed: boolean) => new TokenCacheContext(serializable, changed) };
}

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-cache-plugin-'));
  file = path.join(dir, 'nested', 'msal-cache.bin');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function flip(bytes: Buffer, index: number, mask: number): Buffer {
  bytes.writeUInt8(bytes.readUInt8(index) ^ mask, index);
  return bytes;
}

async function writeSnapshot(secrets: SecretStore, problems: CacheProblem[] = []): Promise<void> {
  const { context } = fakeCache(SNAPSHOT);
  await encryptedCachePlugin({ file, secrets, onProblem: (p) => problems.push(p) }).afterCacheAccess(context(true));
}

async function readBack(secrets: SecretStore, problems: CacheProblem[] = []): Promise<unknown> {
  const { cache, context } = fakeCache('stale in-memory cache');
  await encryptedCachePlugin({ file, secrets, onProblem: (p) => problems.push(p) }).beforeCacheAccess(context(false));
  expect(cache.deserialized).toHaveLength(1);
  return JSON.parse(cache.deserialized[0] ?? 'null');
}

describe('encrypted MSAL token cache', () => {
  it('encrypts at rest: the file (0600) holds no token or account string, the key (256 bits) is in the SecretStore, and it reads back', async () => {
    const secrets = memorySecretStore();
    await writeSnapshot(secrets);
    const sealed = readFileSync(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const asText = sealed.toString('latin1');
    for (const secret of [REFRESH, ACCESS, 'tessa.admin', 'RefreshToken', Buffer.from(REFRESH).toString('base64')]) expect(asText).not.toContain(secret);
    expect(sealed.subarray(0, 4).toString('ascii')).toBe('RMC1');
    const key = await secrets.get(TOKEN_CACHE_KEY_SERVICE, TOKEN_CACHE_KEY_ACCOUNT);
    expect(Buffer.from(key ?? '', 'base64')).toHaveLength(32);
    expect(secrets.size()).toBe(1);
    expect(await readBack(secrets)).toEqual(JSON.parse(SNAPSHOT));
  });

  it('reuses the key and a fresh IV on every write; nothing is written when MSAL reports no change', async () => {
    const secrets = memorySecretStore();
    await writeSnapshot(secrets);
    const key = await secrets.get(TOKEN_CACHE_KEY_SERVICE, TOKEN_CACHE_KEY_ACCOUNT);
    const first = readFileSync(file);
    await writeSnapshot(secrets);
    const second = readFileSync(file);
    expect(await secrets.get(TOKEN_CACHE_KEY_SERVICE, TOKEN_CACHE_KEY_ACCOUNT)).toBe(key);
    expect(second.subarray(4, 16).equals(first.subarray(4, 16))).toBe(false);

    const { context } = fakeCache('{"changed":"but not flagged"}');
    await encryptedCachePlugin({ file, secrets }).afterCacheAccess(context(false));
    expect(readFileSync(file).equals(second)).toBe(true);
  });

  it('creates one key when two writes race on first use', async () => {
    const secrets = memorySecretStore();
    const plugin = encryptedCachePlugin({ file, secrets });
    await Promise.all([plugin.afterCacheAccess(fakeCache(SNAPSHOT).context(true)), plugin.afterCacheAccess(fakeCache(SNAPSHOT).context(true))]);
    expect(secrets.size()).toBe(1);
    expect(await readBack(secrets)).toEqual(JSON.parse(SNAPSHOT));
  });

  it('gives MSAL an empty cache (replacing what it held) when there is no file yet, quietly', async () => {
    const problems: CacheProblem[] = [];
    expect(await readBack(memorySecretStore(), problems)).toEqual(EMPTY);
    expect(problems).toEqual([]);
  });

  it.each([
    ['a flipped ciphertext byte', (b: Buffer) => flip(b, b.length - 1, 1)],
    ['a flipped tag byte', (b: Buffer) => flip(b, 20, 0x80)],
    ['a flipped IV byte', (b: Buffer) => flip(b, 5, 1)],
    ['a truncated file', (b: Buffer) => b.subarray(0, 20)],
    ['an empty file', () => Buffer.alloc(0)],
    ['a plaintext cache put in its place', () => Buffer.from(SNAPSHOT)],
    ['another magic', (b: Buffer) => flip(b, 0, 0x10)],
  ])('tampering (%s) yields an empty cache, not a crash', async (_name, tamper) => {
    const secrets = memorySecretStore();
    await writeSnapshot(secrets);
    writeFileSync(file, tamper(Buffer.from(readFileSync(file))));
    const problems: CacheProblem[] = [];
    expect(await readBack(secrets, problems)).toEqual(EMPTY);
    expect(problems).toEqual([{ kind: 'unreadable', reason: 'undecryptable' }]);
  });

  it('a missing key yields an empty cache; the next write creates a new key and the old file is gone', async () => {
    const secrets = memorySecretStore();
    await writeSnapshot(secrets);
    const oldKey = await secrets.get(TOKEN_CACHE_KEY_SERVICE, TOKEN_CACHE_KEY_ACCOUNT);
    await secrets.delete(TOKEN_CACHE_KEY_SERVICE, TOKEN_CACHE_KEY_ACCOUNT);
    const problems: CacheProblem[] = [];
    expect(await readBack(secrets, problems)).toEqual(EMPTY);
    expect(problems).toEqual([{ kind: 'unreadable', reason: 'no_key' }]);

    await writeSnapshot(secrets);
    const newKey = await secrets.get(TOKEN_CACHE_KEY_SERVICE, TOKEN_CACHE_KEY_ACCOUNT);
    expect(newKey).not.toBe(oldKey);
    expect(await readBack(secrets)).toEqual(JSON.parse(SNAPSHOT));
  });

  it('another key (or a malformed one) in the keychain yields an empty cache', async () => {
    const secrets = memorySecretStore();
    await writeSnapshot(secrets);
    await secrets.set(TOKEN_CACHE_KEY_SERVICE, TOKEN_CACHE_KEY_ACCOUNT, randomBytes(32).toString('base64'));
    expect(await readBack(secrets)).toEqual(EMPTY);
    await secrets.set(TOKEN_CACHE_KEY_SERVICE, TOKEN_CACHE_KEY_ACCOUNT, 'c2hvcnQ=');
    const problems: CacheProblem[] = [];
    expect(await readBack(secrets, problems)).toEqual(EMPTY);
    expect(problems).toEqual([{ kind: 'unreadable', reason: 'no_key' }]);
  });

  it('an unreachable keychain: reading yields an empty cache, writing leaves no file; neither throws', async () => {
    const broken: SecretStore = {
      get: () => Promise.reject(new Error('Cannot autolaunch D-Bus')),
      set: () => Promise.reject(new Error('Cannot autolaunch D-Bus')),
      delete: () => Promise.reject(new Error('Cannot autolaunch D-Bus')),
    };
    const problems: CacheProblem[] = [];
    await writeSnapshot(broken, problems);
    expect(existsSync(file)).toBe(false);
    expect(problems).toEqual([{ kind: 'not_saved', reason: 'keychain_unavailable' }]);

    const secrets = memorySecretStore();
    await writeSnapshot(secrets);
    problems.length = 0;
    expect(await readBack(broken, problems)).toEqual(EMPTY);
    expect(problems).toEqual([{ kind: 'unreadable', reason: 'keychain_unavailable' }]);
  });
});
