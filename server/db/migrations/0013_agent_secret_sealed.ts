import { sql, type Kysely } from 'kysely';

/*
 * Mutual authentication (issue #5, docs/agent.md): the server must hold the agent's secret to prove
 * itself and to check the agent's HMAC proof, so the secret is kept sealed (AES-256-GCM under a key
 * derived from the master key, associated data `agent-secret:<agentId>`), like the MFA secrets.
 *
 * Agents provisioned before this migration have only credential_hash: a SHA-256 cannot key an
 * HMAC, so they get `agent_reenrol_required` and must be enrolled again. credential_hash stays
 * (NOT NULL, unique) and new agents fill both.
 *
 * The handshake runs before the org is known: rmm_agent_for_handshake(id) is the one definer
 * function that maps an agent id to its org and sealed secret, and returns nothing else; the
 * bearer lookup rmm_agent_by_credential(hash) is dropped.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE agents ADD COLUMN secret_sealed text CHECK (secret_sealed ~ '^v[0-9]+\\.')`.execute(db);
  await sql`
    CREATE FUNCTION rmm_agent_for_handshake(p_agent uuid)
    RETURNS TABLE (org_id uuid, secret_sealed text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ SELECT org_id, secret_sealed FROM agents WHERE id = p_agent $$
  `.execute(db);
  await sql`REVOKE ALL ON FUNCTION rmm_agent_for_handshake(uuid) FROM PUBLIC`.execute(db);
  await sql`GRANT EXECUTE ON FUNCTION rmm_agent_for_handshake(uuid) TO rmm_app`.execute(db);
  // The bearer lookup it replaces: one cross-org path fewer.
  await sql`DROP FUNCTION rmm_agent_by_credential(bytea)`.execute(db);
}
