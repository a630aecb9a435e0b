import { sql, type Kysely } from 'kysely';

/*
 * Enrolment tokens (issue #5, docs/agent.md "Enrolment"): one-time secrets an operator makes for a
 * unit and hands to an installer, which `rmm agent enroll` exchanges for an agent credential.
 *
 * - A tenant table like units: org_id, RLS on org_id = rmm_current_org(), the unit tied to the
 *   same org by a composite foreign key. Only the SHA-256 of the token is kept (like api_tokens).
 * - The exchange happens before any org is known, so the lookup is a SECURITY DEFINER function
 *   (like rmm_principal_by_token) that maps a hash to its row and, when the token is still good,
 *   marks it used in the same statement sequence under a row lock: of two simultaneous exchanges
 *   the second waits for the first's transaction and then finds the token used. It returns why a
 *   token is refused, and the org, so refusals of a found token go to that org's audit chain.
 * - rmm_app may UPDATE only revoked_at/revoked_by (revoke) and used_by_agent_id (filled right
 *   after the claim, in the claiming transaction); a trigger keeps used/revoked final.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE enrolment_tokens (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES orgs(id),
      unit_id uuid NOT NULL,
      token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
      label text CHECK (length(label) BETWEEN 1 AND 200),
      created_by uuid NOT NULL REFERENCES users(id),
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
      used_at timestamptz,
      used_by_agent_id uuid REFERENCES agents(id),
      revoked_at timestamptz,
      revoked_by uuid REFERENCES users(id),
      FOREIGN KEY (org_id, unit_id) REFERENCES units (org_id, id),
      CHECK ((revoked_at IS NULL) = (revoked_by IS NULL)),
      CHECK (used_by_agent_id IS NULL OR used_at IS NOT NULL)
    )
  `.execute(db);
  await sql`CREATE INDEX enrolment_tokens_org_created ON enrolment_tokens (org_id, created_at DESC)`.execute(db);

  await sql`ALTER TABLE enrolment_tokens ENABLE ROW LEVEL SECURITY`.execute(db);
  await sql`ALTER TABLE enrolment_tokens FORCE ROW LEVEL SECURITY`.execute(db);
  await sql`
    CREATE POLICY tenant_isolation ON enrolment_tokens
    USING (org_id = rmm_current_org()) WITH CHECK (org_id = rmm_current_org())
  `.execute(db);

  await sql`
    CREATE FUNCTION rmm_enrolment_token_final() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'enrolment tokens are never deleted' USING ERRCODE = 'insufficient_privilege';
      END IF;
      IF (NEW.id, NEW.org_id, NEW.unit_id, NEW.token_hash, NEW.label, NEW.created_by, NEW.created_at, NEW.expires_at)
         IS DISTINCT FROM (OLD.id, OLD.org_id, OLD.unit_id, OLD.token_hash, OLD.label, OLD.created_by, OLD.created_at, OLD.expires_at)
         OR (OLD.used_at IS NOT NULL AND NEW.used_at IS DISTINCT FROM OLD.used_at)
         OR (OLD.used_by_agent_id IS NOT NULL AND NEW.used_by_agent_id IS DISTINCT FROM OLD.used_by_agent_id)
         OR (OLD.revoked_at IS NOT NULL AND (NEW.revoked_at, NEW.revoked_by) IS DISTINCT FROM (OLD.revoked_at, OLD.revoked_by)) THEN
        RAISE EXCEPTION 'enrolment token % may only be used or revoked, once', OLD.id USING ERRCODE = 'insufficient_privilege';
      END IF;
      RETURN NEW;
    END $$
  `.execute(db);
  await sql`CREATE TRIGGER enrolment_tokens_final BEFORE UPDATE OR DELETE ON enrolment_tokens FOR EACH ROW EXECUTE FUNCTION rmm_enrolment_token_final()`.execute(db);

  // The exchange: find the token by hash and, if it is still good, claim it. 'invalid' rows carry no org.
  await sql`
    CREATE FUNCTION rmm_enrolment_token_claim(p_hash bytea, p_at timestamptz)
    RETURNS TABLE (status text, token_id uuid, org_id uuid, unit_id uuid)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DECLARE t enrolment_tokens%ROWTYPE;
    BEGIN
      SELECT * INTO t FROM enrolment_tokens e WHERE e.token_hash = p_hash FOR UPDATE;
      IF NOT FOUND THEN
        RETURN QUERY SELECT 'invalid'::text, NULL::uuid, NULL::uuid, NULL::uuid;
        RETURN;
      END IF;
      IF t.revoked_at IS NOT NULL THEN
        RETURN QUERY SELECT 'revoked'::text, t.id, t.org_id, t.unit_id;
      ELSIF t.used_at IS NOT NULL THEN
        RETURN QUERY SELECT 'used'::text, t.id, t.org_id, t.unit_id;
      ELSIF t.expires_at <= p_at THEN
        RETURN QUERY SELECT 'expired'::text, t.id, t.org_id, t.unit_id;
      ELSE
        UPDATE enrolment_tokens e SET used_at = p_at WHERE e.id = t.id;
        RETURN QUERY SELECT 'ok'::text, t.id, t.org_id, t.unit_id;
      END IF;
    END $$
  `.execute(db);
  for (const fn of ['rmm_enrolment_token_claim(bytea, timestamptz)', 'rmm_enrolment_token_final()']) {
    await sql.raw(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`).execute(db);
  }
  await sql`GRANT EXECUTE ON FUNCTION rmm_enrolment_token_claim(bytea, timestamptz) TO rmm_app`.execute(db);

  await sql`GRANT SELECT, INSERT ON enrolment_tokens TO rmm_app`.execute(db);
  await sql`GRANT UPDATE (revoked_at, revoked_by, used_by_agent_id) ON enrolment_tokens TO rmm_app`.execute(db);
}
