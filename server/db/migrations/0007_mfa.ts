import { sql, type Kysely } from 'kysely';

/*
 * TOTP MFA, backup codes and step-up proofs (issue #4). All three tables belong to one user and are
 * visible only with rmm.user_id set to that user (like api_tokens).
 *
 * - mfa_totp: the confirmed secret and a pending one during (re-)enrolment, both sealed with
 *   AES-256-GCM under a key derived from the master key (never the base32 text); the last time
 *   step used (replay refusal) and the step-up lockout after repeated failures.
 * - mfa_backup_codes: HMAC-SHA256 of each code under a derived key; used_at marks a spent code.
 * - mfa_step_up_proofs: SHA-256 of a proof token, the one action it allows, its expiry and use.
 * - rmm_mfa_reset(user): an admin's reset, allowed only for a user whose home org is the
 *   transaction's org (definer: the admin cannot see the user's MFA rows through RLS).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE mfa_totp (
      user_id uuid PRIMARY KEY REFERENCES users(id),
      secret_sealed text CHECK (secret_sealed ~ '^v[0-9]+\\.'),
      pending_sealed text CHECK (pending_sealed ~ '^v[0-9]+\\.'),
      confirmed_at timestamptz,
      last_used_step bigint,
      locked_until timestamptz,
      updated_at timestamptz NOT NULL,
      CHECK ((secret_sealed IS NULL) = (confirmed_at IS NULL))
    )
  `.execute(db);
  await sql`
    CREATE TABLE mfa_backup_codes (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users(id),
      code_hash bytea NOT NULL CHECK (length(code_hash) = 32),
      created_at timestamptz NOT NULL,
      used_at timestamptz,
      UNIQUE (user_id, code_hash)
    )
  `.execute(db);
  await sql`
    CREATE TABLE mfa_step_up_proofs (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users(id),
      action text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
      token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      used_at timestamptz
    )
  `.execute(db);
  await sql`CREATE INDEX mfa_step_up_proofs_user ON mfa_step_up_proofs (user_id, expires_at)`.execute(db);

  for (const table of ['mfa_totp', 'mfa_backup_codes', 'mfa_step_up_proofs']) {
    await sql`ALTER TABLE ${sql.table(table)} ENABLE ROW LEVEL SECURITY`.execute(db);
    await sql`ALTER TABLE ${sql.table(table)} FORCE ROW LEVEL SECURITY`.execute(db);
    await sql.raw(`CREATE POLICY own_rows ON ${table} USING (user_id = rmm_current_user()) WITH CHECK (user_id = rmm_current_user())`).execute(db);
    await sql.raw(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO rmm_app`).execute(db);
  }

  await sql`
    CREATE FUNCTION rmm_mfa_reset(p_user uuid) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DECLARE had boolean;
    BEGIN
      IF rmm_current_org() IS NULL OR NOT EXISTS (SELECT 1 FROM users WHERE id = p_user AND org_id = rmm_current_org()) THEN
        RAISE EXCEPTION 'MFA reset must run inside the user''s home org' USING ERRCODE = 'insufficient_privilege';
      END IF;
      SELECT EXISTS (SELECT 1 FROM mfa_totp WHERE user_id = p_user AND secret_sealed IS NOT NULL) INTO had;
      DELETE FROM mfa_totp WHERE user_id = p_user;
      DELETE FROM mfa_backup_codes WHERE user_id = p_user;
      DELETE FROM mfa_step_up_proofs WHERE user_id = p_user;
      RETURN had;
    END $$
  `.execute(db);
  await sql`REVOKE ALL ON FUNCTION rmm_mfa_reset(uuid) FROM PUBLIC`.execute(db);
  await sql`GRANT EXECUTE ON FUNCTION rmm_mfa_reset(uuid) TO rmm_app`.execute(db);
}
