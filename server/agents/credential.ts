import { createHash, randomBytes } from 'node:crypto';

/*
 * Agent credentials are 256-bit random secrets. The server keeps only their SHA-256: a secret
 * this long needs no slow hash, and a stolen database row cannot be replayed as a credential.
 */
const PREFIX = 'rmm_agt_';

export function newAgentCredential(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

export function hashAgentCredential(credential: string): Buffer {
  return createHash('sha256').update(credential, 'utf8').digest();
}
