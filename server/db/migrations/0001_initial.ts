import { sql, type Kysely } from 'kysely';

/*
 * Orgs, the unit tree and agents, with the application role and row-level security.
 *
 * rmm_app is the role every application query runs as: it owns nothing, cannot bypass RLS and
 * only gets the grants listed here. Tenant tables are filtered by rmm_current_org(), which is
 * NULL (so: no rows) unless withOrg() set it for the transaction.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rmm_app') THEN
        CREATE ROLE rmm_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
      END IF;
    END $$;
  `.execute(db);
  await sql`GRANT USAGE ON SCHEMA public TO rmm_app`.execute(db);

  await sql`
    CREATE FUNCTION rmm_current_org() RETURNS uuid LANGUAGE sql STABLE AS
    $$ SELECT NULLIF(current_setting('rmm.org_id', true), '')::uuid $$
  `.execute(db);

  // The directory of client organisations. Not tenant data (names only): the app reads it to
  // decide which orgs a principal may enter; everything inside an org is row-level secured.
  await sql`
    CREATE TABLE orgs (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      created_at timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);

  await sql`
    CREATE TABLE units (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES orgs(id),
      parent_id uuid,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      read_only boolean NOT NULL DEFAULT true,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (org_id, id),
      -- a parent is always in the same org
      FOREIGN KEY (org_id, parent_id) REFERENCES units (org_id, id),
      CHECK (parent_id IS NULL OR parent_id <> id)
    )
  `.execute(db);
  await sql`CREATE INDEX units_org_parent ON units (org_id, parent_id)`.execute(db);

  await sql`
    CREATE TABLE agents (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES orgs(id),
      unit_id uuid NOT NULL,
      credential_hash bytea NOT NULL UNIQUE CHECK (length(credential_hash) = 32),
      hostname text,
      os_name text,
      agent_version text,
      inventory jsonb,
      inventory_at timestamptz,
      online boolean NOT NULL DEFAULT false,
      connected_node text,
      last_seen_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (org_id, unit_id) REFERENCES units (org_id, id)
    )
  `.execute(db);
  await sql`CREATE INDEX agents_org_unit ON agents (org_id, unit_id)`.execute(db);
  await sql`CREATE INDEX agents_connected_node ON agents (connected_node) WHERE connected_node IS NOT NULL`.execute(db);

  for (const table of ['units', 'agents']) {
    await sql`ALTER TABLE ${sql.table(table)} ENABLE ROW LEVEL SECURITY`.execute(db);
    await sql`ALTER TABLE ${sql.table(table)} FORCE ROW LEVEL SECURITY`.execute(db);
    await sql`
      CREATE POLICY tenant_isolation ON ${sql.table(table)}
      USING (org_id = rmm_current_org()) WITH CHECK (org_id = rmm_current_org())
    `.execute(db);
  }

  await sql`GRANT SELECT, INSERT, UPDATE ON orgs TO rmm_app`.execute(db);
  await sql`GRANT SELECT, INSERT, UPDATE, DELETE ON units TO rmm_app`.execute(db);
  await sql`GRANT SELECT, INSERT, UPDATE, DELETE ON agents TO rmm_app`.execute(db);

  // Agent sign-in happens before the org is known: this definer function is the one narrow way
  // to map a credential hash to its agent and org. It returns nothing else.
  await sql`
    CREATE FUNCTION rmm_agent_by_credential(p_hash bytea)
    RETURNS TABLE (agent_id uuid, org_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ SELECT id, org_id FROM agents WHERE credential_hash = p_hash $$
  `.execute(db);
  // On start a node clears the presence it left behind after a crash, across orgs.
  await sql`
    CREATE FUNCTION rmm_reset_node_presence(p_node text)
    RETURNS integer LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ WITH gone AS (
         UPDATE agents SET online = false, connected_node = NULL
         WHERE connected_node = p_node RETURNING 1)
       SELECT count(*)::integer FROM gone $$
  `.execute(db);
  for (const fn of ['rmm_agent_by_credential(bytea)', 'rmm_reset_node_presence(text)']) {
    await sql.raw(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`).execute(db);
    await sql.raw(`GRANT EXECUTE ON FUNCTION ${fn} TO rmm_app`).execute(db);
  }
}
