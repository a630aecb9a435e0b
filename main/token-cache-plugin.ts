import { createCipheriv, createDecipheriv, randomBytes as nodeRandomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ICachePlugin, TokenCacheContext } from '@azure/msal-node';
import type { SecretStore } from './secret-store';

/*
 * MSAL's token cache, persisted in one file encrypted with AES-256-GCM under a random 256-bit key
 * kept in the SecretStore (the OS keychain), created on the first write. The file holds no token
 * in the clear. Anything wrong on reading (no file, no key, a keychain that cannot be reached, a
 * tampered or truncated file, another key) gives MSAL an empty cache, so the user signs in again:
 * never a crash, never a half-trusted cache. Files are written 0600 and replaced atomically.
 *
 * File layout: "RMC1" | iv (12 bytes) | tag (16 bytes) | ciphertext; the magic is also the AAD.
 */

const MAGIC = Buffer.from('RMC1', 'ascii');
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** What MSAL deserializes as "nothing cached" (it replaces the in-memory cache). */
const EMPTY_CACHE = JSON.stringify({ Account: {}, IdToken: {}, AccessToken: {}, RefreshToken: {}, AppMetadata: {} });

export const TOKEN_CACHE_KEY_SERVICE = 'rmm-console';
export const TOKEN_CACHE_KEY_ACCOUNT = 'msal-token-cache-key';

export interface EncryptedCacheOptions {
  file: string;
  secrets: SecretStore;
  /** Keychain entry of the key; defaults to rmm-console / msal-token-cache-key. */
  keyService?: string;
  keyAccount?: string;
  randomBytes?: (size: number) => Buffer;
  /** Told why a cache was dropped or not written (never a token). Default: nothing. */
  onProblem?: (problem: CacheProblem) => void;
}

export type CacheProblem =
  | { kind: 'unreadable'; reason: 'no_key' | 'keychain_unavailable' | 'undecryptable' | 'io_error' }
  | { kind: 'not_saved'; reason: 'keychain_unavailable' | 'io_error' };

export function encryptedCachePlugin(options: EncryptedCacheOptions): ICachePlugin {
  const service = options.keyService ?? TOKEN_CACHE_KEY_SERVICE;
  const account = options.keyAccount ?? TOKEN_CACHE_KEY_ACCOUNT;
  const random = options.randomBytes ?? nodeRandomBytes;
  const report = options.onProblem ?? (() => undefined);
  /** Creating the key once per process even when MSAL writes twice at the same time. */
  let creating: Promise<Buffer> | undefined;

  const storedKey = async (): Promise<Buffer | null> => {
    const value = await options.secrets.get(service, account);
    if (value === null) return null;
    const key = Buffer.from(value, 'base64');
    return key.length === KEY_BYTES ? key : null;
  };

  const keyForWriting = async (): Promise<Buffer> => {
    const existing = await storedKey();
    if (existing) return existing;
    creating ??= (async () => {
      const key = random(KEY_BYTES);
      await options.secrets.set(service, account, key.toString('base64'));
      return key;
    })().finally(() => {
      creating = undefined;
    });
    return creating;
  };

  async function load(): Promise<string> {
    let sealed: Buffer;
    try {
      sealed = await readFile(options.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') report({ kind: 'unreadable', reason: 'io_error' });
      return EMPTY_CACHE;
    }
    let key: Buffer | null;
    try {
      key = await storedKey();
    } catch {
      report({ kind: 'unreadable', reason: 'keychain_unavailable' });
      return EMPTY_CACHE;
    }
    if (!key) {
      report({ kind: 'unreadable', reason: 'no_key' });
      return EMPTY_CACHE;
    }
    const opened = open(sealed, key);
    if (opened === null) {
      report({ kind: 'unreadable', reason: 'undecryptable' });
      return EMPTY_CACHE;
    }
    return opened;
  }

  async function save(serialized: string): Promise<void> {
    let key: Buffer;
    try {
      key = await keyForWriting();
    } catch {
      report({ kind: 'not_saved', reason: 'keychain_unavailable' });
      return;
    }
    const iv = random(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(MAGIC);
    const body = Buffer.concat([cipher.update(serialized, 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([MAGIC, iv, cipher.getAuthTag(), body]);
    const temporary = `${options.file}.${process.pid}.${random(4).toString('hex')}.tmp`;
    try {
      await mkdir(path.dirname(options.file), { recursive: true, mode: 0o700 });
      await writeFile(temporary, sealed, { mode: 0o600 });
      await chmod(temporary, 0o600);
      await rename(temporary, options.file);
    } catch {
      report({ kind: 'not_saved', reason: 'io_error' });
    }
  }

  return {
    async beforeCacheAccess(context: TokenCacheContext) {
      context.tokenCache.deserialize(await load());
    },
    async afterCacheAccess(context: TokenCacheContext) {
      if (context.cacheHasChanged) await save(context.tokenCache.serialize());
    },
  };
}

/** The plaintext, or null when the file is not ours, truncated, altered or sealed with another key. */
function open(sealed: Buffer, key: Buffer): string | null {
  const headerBytes = MAGIC.length + IV_BYTES + TAG_BYTES;
  if (sealed.length < headerBytes || !sealed.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(MAGIC.length, MAGIC.length + IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(MAGIC);
    decipher.setAuthTag(sealed.subarray(MAGIC.length + IV_BYTES, headerBytes));
    const text = Buffer.concat([decipher.update(sealed.subarray(headerBytes)), decipher.final()]).toString('utf8');
    JSON.parse(text);
    return text;
  } catch {
    return null;
  }
}
