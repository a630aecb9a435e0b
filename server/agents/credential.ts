import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { formatCredential, SECRET_BYTES } from '../../protocol/agent-auth';
import { currentKey, type KeyRing, openingKeys } from '../crypto/keys';
import { open, seal } from '../crypto/seal';

/*
 * An agent credential is `rmm_agt_<agentId>.<256-bit secret>`. The agent sends only the id; both
 * sides prove they hold the secret by HMAC (protocol/agent-auth.ts). The server must therefore
 * keep the secret itself, sealed with AES-256-GCM under a key derived from the master key and
 * bound to the agent id (a sealed secret copied into another agent's row does not open). Its
 * SHA-256 is kept too, in the column that identified agents before mutual authentication.
 */

export interface NewAgentCredential {
  agentId: string;
  credential: string;
  secretSealed: string;
  credentialHash: Buffer;
}

const aad = (agentId: string) => `agent-secret:${agentId}`;

export function newAgentCredential(keys: KeyRing): NewAgentCredential {
  const agentId = randomUUID();
  const secret = randomBytes(SECRET_BYTES);
  const credential = formatCredential(agentId, secret);
  return { agentId, credential, secretSealed: seal(currentKey(keys, 'rmm/agent-secret/v1'), secret, aad(agentId)), credentialHash: hashAgentCredential(credential) };
}

export function hashAgentCredential(credential: string): Buffer {
  return createHash('sha256').update(credential, 'utf8').digest();
}

/** Opens an agent's sealed secret; throws SealError when it does not open (tampered, moved, unknown key). */
export function openAgentSecret(keys: KeyRing, agentId: string, sealed: string): Uint8Array {
  return new Uint8Array(open(openingKeys(keys, 'rmm/agent-secret/v1'), sealed, aad(agentId)));
}
