import { sql, type Kysely } from 'kysely';

/*
 * MSP staff sign in through Azure AD too (issue #4, docs/identity.md "MSP staff").
 *
 * - A staff session belongs to no org: sessions.org_id is NULL. Row-level security shows and
 *   accepts such rows only in the platform scope (no org set), and to their own user; never inside
 *   any org, so no client org lists, revokes or even counts staff sessions.
 * - Staff session lifetimes are the platform's: 15 minutes idle, 8 hours absolute (the defaults
 *   orgs start with). rmm_session_by_token returns them for staff sessions.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE sessions ALTER COLUMN org_id DROP NOT NULL`.execute(db);
  await sql`DROP POLICY org_or_own_read ON sessions`.execute(db);
  await sql`DROP POLICY org_inserts ON sessions`.execute(db);
  await sql`DROP POLICY org_updates ON sessions`.execute(db);
  await sql`CREATE POLICY org_or_own_read ON sessions FOR SELECT USING (org_id IS NOT DISTINCT FROM rmm_current_org() OR user_id = rmm_current_user())`.execute(db);
  await sql`CREATE POLICY org_inserts ON sessions FOR INSERT WITH CHECK (org_id IS NOT DISTINCT FROM rmm_current_org())`.execute(db);
  await sql`CREATE POLICY org_updates ON sessions FOR UPDATE USING (org_id IS NOT DISTINCT FROM rmm_current_org()) WITH CHECK (org_id IS NOT DISTINCT FROM rmm_current_org())`.execute(db);
  await sql`CREATE INDEX sessions_staff_open ON sessions (created_at) WHERE ended_at IS NULL AND org_id IS NULL`.execute(db);

  await sql`
    CREATE OR REPLACE FUNCTION rmm_session_by_token(p_hash bytea)
    RETURNS TABLE (session_id uuid, org_id uuid, created_at timestamptz, last_activity_at timestamptz, ended_at timestamptz,
                   idle_minutes integer, absolute_minutes integer,
                   user_id uuid, display_name text, email text, platform_role text, home_org_id uuid, user_disabled boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ SELECT s.id, s.org_id, s.created_at, s.last_activity_at, s.ended_at,
              coalesce(o.session_idle_minutes, 15), coalesce(o.session_absolute_minutes, 480),
              u.id, u.display_name, u.email, u.platform_role, u.org_id, u.disabled_at IS NOT NULL
       FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN orgs o ON o.id = s.org_id
       WHERE s.token_hash = p_hash
         AND (s.org_id IS NOT NULL OR u.org_id IS NULL) $$
  `.execute(db);
  await sql`REVOKE ALL ON FUNCTION rmm_session_by_token(bytea) FROM PUBLIC`.execute(db);
  await sql`GRANT EXECUTE ON FUNCTION rmm_session_by_token(bytea) TO rmm_app`.execute(db);
}
