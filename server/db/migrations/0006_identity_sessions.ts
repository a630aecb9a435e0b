import { sql, type Kysely } from 'kysely';

/*
 * Azure AD identities and server sessions (issue #4).
 *
 * - An org registers one Azure tenant (orgs.azure_tenant_id, unique across orgs) and the role a
 *   user first signing in from that tenant gets at the org root (orgs.default_role).
 * - A user's identity is (azure_tenant_id, azure_object_id): unique, never shared, both set or both
 *   empty (users made by the CLI or tests have none).
 * - Session lifetimes are per org: idle minutes and absolute minutes.
 * - sessions: the token is stored only as its SHA-256. Rows are read inside their org, and by
 *   their own user wherever they are (the user's own list); written only inside their org.
 *   Sessions are never deleted: an ended one keeps when, by whom and why.
 * - rmm_session_by_token maps a token hash to its session, user and the org's lifetimes before
 *   any org is known, like rmm_principal_by_token; the server (with its injectable clock)
 *   decides whether the session is still alive.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE orgs ADD COLUMN azure_tenant_id uuid UNIQUE`.execute(db);
  await sql`ALTER TABLE orgs ADD COLUMN default_role text NOT NULL DEFAULT 'viewer' CHECK (default_role IN ('tenant_admin', 'tech', 'viewer', 'provisioning'))`.execute(db);
  await sql`ALTER TABLE orgs ADD COLUMN session_idle_minutes integer NOT NULL DEFAULT 15 CHECK (session_idle_minutes BETWEEN 1 AND 1440)`.execute(db);
  await sql`ALTER TABLE orgs ADD COLUMN session_absolute_minutes integer NOT NULL DEFAULT 480 CHECK (session_absolute_minutes BETWEEN 5 AND 10080)`.execute(db);
  await sql`ALTER TABLE orgs ADD CONSTRAINT orgs_session_idle_within_absolute CHECK (session_idle_minutes <= session_absolute_minutes)`.execute(db);

  await sql`ALTER TABLE users ADD COLUMN azure_tenant_id uuid`.execute(db);
  await sql`ALTER TABLE users ADD COLUMN azure_object_id uuid`.execute(db);
  await sql`ALTER TABLE users ADD CONSTRAINT users_azure_identity_whole CHECK ((azure_tenant_id IS NULL) = (azure_object_id IS NULL))`.execute(db);
  await sql`CREATE UNIQUE INDEX users_azure_identity ON users (azure_tenant_id, azure_object_id) WHERE azure_tenant_id IS NOT NULL`.execute(db);

  await sql`
    CREATE TABLE sessions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES orgs(id),
      user_id uuid NOT NULL REFERENCES users(id),
      token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
      created_at timestamptz NOT NULL,
      last_activity_at timestamptz NOT NULL,
      user_agent text CHECK (length(user_agent) <= 300),
      ip text CHECK (length(ip) <= 100),
      ended_at timestamptz,
      ended_by uuid REFERENCES users(id),
      end_reason text CHECK (length(end_reason) <= 2000),
      CHECK ((ended_at IS NULL) = (end_reason IS NULL))
    )
  `.execute(db);
  await sql`CREATE INDEX sessions_org_open ON sessions (org_id, created_at) WHERE ended_at IS NULL`.execute(db);
  await sql`CREATE INDEX sessions_user ON sessions (user_id, created_at)`.execute(db);
  await sql`ALTER TABLE sessions ENABLE ROW LEVEL SECURITY`.execute(db);
  await sql`ALTER TABLE sessions FORCE ROW LEVEL SECURITY`.execute(db);
  await sql`CREATE POLICY org_or_own_read ON sessions FOR SELECT USING (org_id = rmm_current_org() OR user_id = rmm_current_user())`.execute(db);
  await sql`CREATE POLICY org_inserts ON sessions FOR INSERT WITH CHECK (org_id = rmm_current_org())`.execute(db);
  await sql`CREATE POLICY org_updates ON sessions FOR UPDATE USING (org_id = rmm_current_org()) WITH CHECK (org_id = rmm_current_org())`.execute(db);
  await sql`GRANT SELECT, INSERT, UPDATE ON sessions TO rmm_app`.execute(db);

  await sql`
    CREATE FUNCTION rmm_session_by_token(p_hash bytea)
    RETURNS TABLE (session_id uuid, org_id uuid, created_at timestamptz, last_activity_at timestamptz, ended_at timestamptz,
                   idle_minutes integer, absolute_minutes integer,
                   user_id uuid, display_name text, email text, platform_role text, home_org_id uuid, user_disabled boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ SELECT s.id, s.org_id, s.created_at, s.last_activity_at, s.ended_at,
              o.session_idle_minutes, o.session_absolute_minutes,
              u.id, u.display_name, u.email, u.platform_role, u.org_id, u.disabled_at IS NOT NULL
       FROM sessions s JOIN users u ON u.id = s.user_id JOIN orgs o ON o.id = s.org_id
       WHERE s.token_hash = p_hash $$
  `.execute(db);
  await sql`REVOKE ALL ON FUNCTION rmm_session_by_token(bytea) FROM PUBLIC`.execute(db);
  await sql`GRANT EXECUTE ON FUNCTION rmm_session_by_token(bytea) TO rmm_app`.execute(db);
}
