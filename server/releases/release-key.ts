import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { parseReleasePublicKey, releaseKeyId } from '../../agent/release-signature';
import type { ServerContext } from '../context';

/*
 * The release public key of a running server (RMM_RELEASE_PUBLIC_KEY_FILE), read once. startServer
 * loads it before it listens, so a missing or wrong file stops the start instead of the first
 * request; absent when not configured: no build can be trusted.
 */

export interface ReleaseKey {
  key: KeyObject;
  keyId: string;
}

const keys = new WeakMap<ServerContext, ReleaseKey | null>();

/** Reads and checks the file; throws with the file named. */
export function loadReleaseKey(file: string): ReleaseKey {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`RMM_RELEASE_PUBLIC_KEY_FILE ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const key = parseReleasePublicKey(pem, `RMM_RELEASE_PUBLIC_KEY_FILE ${file}`);
  return { key, keyId: releaseKeyId(key) };
}

export function releaseKeyFor(server: ServerContext): ReleaseKey | null {
  let key = keys.get(server);
  if (key === undefined) {
    key = server.config.releasePublicKeyFile ? loadReleaseKey(server.config.releasePublicKeyFile) : null;
    keys.set(server, key);
  }
  return key;
}
