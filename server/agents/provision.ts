import type { Tx } from '../db/database';
import type { KeyRing } from '../crypto/keys';
import { newAgentCredential } from './credential';

/**
 * Registers an agent in a unit and returns its credential, which is shown once. The server keeps
 * the secret sealed under `keys` (the handshake needs it, see credential.ts) and its hash.
 */
export async function provisionAgent(tx: Tx, target: { orgId: string; unitId: string }, keys: KeyRing): Promise<{ agentId: string; credential: string }> {
  const made = newAgentCredential(keys);
  await tx
    .insertInto('agents')
    .values({
      id: made.agentId,
      org_id: target.orgId,
      unit_id: target.unitId,
      credential_hash: made.credentialHash,
      secret_sealed: made.secretSealed,
      created_at: new Date(),
    })
    .execute();
  return { agentId: made.agentId, credential: made.credential };
}
