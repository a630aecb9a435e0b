import type { Tx } from '../db/database';
import { hashAgentCredential, newAgentCredential } from './credential';

/**
 * Registers an agent in a unit and returns its credential, which is shown once and never stored.
 * The enrolment-token exchange (issue #5) will call this after checking the token.
 */
export async function provisionAgent(tx: Tx, target: { orgId: string; unitId: string }): Promise<{ agentId: string; credential: string }> {
  const credential = newAgentCredential();
  const row = await tx
    .insertInto('agents')
    .values({ org_id: target.orgId, unit_id: target.unitId, credential_hash: hashAgentCredential(credential), created_at: new Date() })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { agentId: row.id, credential };
}
