import { sql, type Kysely } from 'kysely';

/*
 * Users, API tokens, grants on the unit tree, personal workspaces, and the hash-chained audit log.
 *
 * - users.org_id is the user's home org; NULL marks the MSP's own staff, who are visible (names
 *   only) inside every org because they act there. platform_role 'admin' is the MSP-wide role.
 * - A grant (user, role, unit) lives in the org of its unit; unit_id NULL means the org root.
 * - Workspace items belong to one user and are visible to nobody else, admins included, unless
 *   shared into a unit of the org the query is scoped to (rmm.user_id / rmm.org_id). Only the
 *   owner writes, deletes or shares them.
 * - audit_log is append-only for rmm_app (no UPDATE/DELETE grant, and a trigger); each org's
 *   entries form a SHA-256 chain whose head sits in audit_heads. Entries with org_id NULL are the
 *   platform chain (org creation, sign-in failures before an org is known).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION rmm_current_user() RETURNS uuid LANGUAGE sql STABLE AS
    $$ SELECT NULLIF(current_setting('rmm.user_id', true), '')::uuid $$
  `.execute(db);

  await sql`ALTER TABLE orgs ADD COLUMN audit_retention_days integer NOT NULL DEFAULT 2192 CHECK (audit_retention_days BETWEEN 2192 AND 36500)`.execute(db);

  await sql`
    CREATE TABLE users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid REFERENCES orgs(id),
      display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
      email text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
      platform_role text CHECK (platform_role IN ('admin')),
      created_at timestamptz NOT NULL DEFAULT now(),
      disabled_at timestamptz,
      CHECK (platform_role IS NULL OR org_id IS NULL)
    )
  `.execute(db);
  await sql`CREATE UNIQUE INDEX users_email ON users (lower(email))`.execute(db);

  await sql`
    CREATE TABLE api_tokens (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users(id),
      token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
      label text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz,
      revoked_at timestamptz
    )
  `.execute(db);

  await sql`
    CREATE TABLE grants (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES orgs(id),
      user_id uuid NOT NULL REFERENCES users(id),
      role text NOT NULL CHECK (role IN ('tenant_admin', 'tech', 'viewer', 'provisioning')),
      unit_id uuid,
      created_at timestamptz NOT NULL DEFAULT now(),
      created_by uuid REFERENCES users(id),
      FOREIGN KEY (org_id, unit_id) REFERENCES units (org_id, id),
      UNIQUE NULLS NOT DISTINCT (org_id, user_id, role, unit_id)
    )
  `.execute(db);
  await sql`CREATE INDEX grants_user ON grants (user_id)`.execute(db);

  await sql`
    CREATE TABLE workspace_items (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      owner_id uuid NOT NULL REFERENCES users(id),
      kind text NOT NULL CHECK (kind IN ('script', 'note')),
      title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
      language text CHECK (language IN ('bash', 'powershell', 'python', 'node')),
      body text NOT NULL CHECK (length(body) <= 262144),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK ((kind = 'script') = (language IS NOT NULL))
    )
  `.execute(db);
  await sql`CREATE INDEX workspace_items_owner ON workspace_items (owner_id)`.execute(db);

  await sql`
    CREATE TABLE workspace_shares (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES orgs(id),
      item_id uuid NOT NULL REFERENCES workspace_items(id) ON DELETE CASCADE,
      unit_id uuid NOT NULL,
      shared_by uuid NOT NULL REFERENCES users(id),
      created_at timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (org_id, unit_id) REFERENCES units (org_id, id),
      UNIQUE (item_id, unit_id)
    )
  `.execute(db);
  await sql`CREATE INDEX workspace_shares_org_unit ON workspace_shares (org_id, unit_id)`.execute(db);

  await sql`
    CREATE TABLE audit_log (
      id uuid PRIMARY KEY,
      org_id uuid REFERENCES orgs(id),
      seq bigint NOT NULL CHECK (seq > 0),
      time timestamptz NOT NULL,
      actor_type text NOT NULL CHECK (actor_type IN ('user', 'agent', 'system')),
      actor_id text,
      actor_name text NOT NULL,
      action text NOT NULL,
      target_type text,
      target_id text,
      outcome text NOT NULL CHECK (outcome IN ('success', 'denied', 'failed')),
      source_ip text,
      user_agent text,
      details jsonb NOT NULL,
      prev_hash text NOT NULL CHECK (length(prev_hash) = 64),
      hash text NOT NULL CHECK (length(hash) = 64),
      UNIQUE NULLS NOT DISTINCT (org_id, seq)
    )
  `.execute(db);
  await sql`CREATE INDEX audit_log_org_time ON audit_log (org_id, time, seq)`.execute(db);

  await sql`
    CREATE TABLE audit_heads (
      org_id uuid REFERENCES orgs(id),
      seq bigint NOT NULL,
      hash text NOT NULL CHECK (length(hash) = 64),
      UNIQUE NULLS NOT DISTINCT (org_id)
    )
  `.execute(db);

  await sql`
    CREATE TABLE audit_checkpoints (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid REFERENCES orgs(id),
      seq bigint NOT NULL,
      hash text NOT NULL CHECK (length(hash) = 64),
      purged_before timestamptz NOT NULL,
      purged_count integer NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);

  // Row-level security. Tenant tables: org_id = the transaction's org.
  const policies: Array<[string, string, string]> = [
    ['grants', 'org_id = rmm_current_org()', 'org_id = rmm_current_org()'],
    // Staff (org_id NULL) are visible everywhere; staff rows are written only outside any org.
    ['users', 'org_id = rmm_current_org() OR org_id IS NULL',
      'org_id = rmm_current_org() OR (org_id IS NULL AND rmm_current_org() IS NULL)'],
    ['api_tokens', 'user_id = rmm_current_user()', 'user_id = rmm_current_user()'],
    ['audit_log', 'org_id IS NOT DISTINCT FROM rmm_current_org()', 'org_id IS NOT DISTINCT FROM rmm_current_org()'],
    ['audit_heads', 'org_id IS NOT DISTINCT FROM rmm_current_org()', 'org_id IS NOT DISTINCT FROM rmm_current_org()'],
    ['audit_checkpoints', 'org_id IS NOT DISTINCT FROM rmm_current_org()', 'org_id IS NOT DISTINCT FROM rmm_current_org()'],
  ];
  for (const [table, using, check] of policies) {
    await sql`ALTER TABLE ${sql.table(table)} ENABLE ROW LEVEL SECURITY`.execute(db);
    await sql`ALTER TABLE ${sql.table(table)} FORCE ROW LEVEL SECURITY`.execute(db);
    await sql.raw(`CREATE POLICY tenant_isolation ON ${table} USING (${using}) WITH CHECK (${check})`).execute(db);
  }

  // Personal workspaces: one policy per command, because reading is wider than writing.
  // - An item is read by its owner, or by anyone in the org it is shared into (the app then
  //   checks the unit: scripts.read / notes.read there). Written and deleted by its owner only.
  // - A share is read inside its org, and by its owner wherever it is (their own item's list);
  //   created only by the item's owner inside the share's org; deleted inside its org (the app
  //   lets the owner or a units.manage holder on the unit do it).
  // The ownership check on a share is a function, not a subquery: a subquery on workspace_items
  // inside a workspace_shares policy, whose own policy reads workspace_shares, is refused by
  // PostgreSQL as infinite recursion; a function's query is rewritten on its own.
  await sql`
    CREATE FUNCTION rmm_owns_workspace_item(p_item uuid) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
    BEGIN
      RETURN EXISTS (SELECT 1 FROM workspace_items WHERE id = p_item AND owner_id = rmm_current_user());
    END $$
  `.execute(db);
  for (const table of ['workspace_items', 'workspace_shares']) {
    await sql`ALTER TABLE ${sql.table(table)} ENABLE ROW LEVEL SECURITY`.execute(db);
    await sql`ALTER TABLE ${sql.table(table)} FORCE ROW LEVEL SECURITY`.execute(db);
  }
  await sql.raw(`
    CREATE POLICY owner_or_shared_read ON workspace_items FOR SELECT USING (
      owner_id = rmm_current_user()
      OR EXISTS (SELECT 1 FROM workspace_shares s WHERE s.item_id = workspace_items.id AND s.org_id = rmm_current_org()))
  `).execute(db);
  await sql.raw(`CREATE POLICY owner_writes ON workspace_items FOR ALL USING (owner_id = rmm_current_user()) WITH CHECK (owner_id = rmm_current_user())`).execute(db);
  await sql.raw(`CREATE POLICY org_or_owner_read ON workspace_shares FOR SELECT USING (org_id = rmm_current_org() OR shared_by = rmm_current_user())`).execute(db);
  await sql.raw(`
    CREATE POLICY owner_shares ON workspace_shares FOR INSERT WITH CHECK (
      org_id = rmm_current_org() AND shared_by = rmm_current_user() AND rmm_owns_workspace_item(item_id))
  `).execute(db);
  await sql.raw(`CREATE POLICY org_unshares ON workspace_shares FOR DELETE USING (org_id = rmm_current_org())`).execute(db);

  await sql`GRANT SELECT, INSERT, UPDATE ON users TO rmm_app`.execute(db);
  await sql`GRANT SELECT, INSERT, UPDATE ON api_tokens TO rmm_app`.execute(db);
  await sql`GRANT SELECT, INSERT, DELETE ON grants TO rmm_app`.execute(db);
  await sql`GRANT SELECT, INSERT, UPDATE, DELETE ON workspace_items TO rmm_app`.execute(db);
  await sql`GRANT SELECT, INSERT, DELETE ON workspace_shares TO rmm_app`.execute(db);
  await sql`GRANT SELECT, INSERT ON audit_log TO rmm_app`.execute(db);
  await sql`GRANT SELECT, INSERT, UPDATE ON audit_heads TO rmm_app`.execute(db);
  await sql`GRANT SELECT ON audit_checkpoints TO rmm_app`.execute(db);

  // Append-only, even for a role that was granted more by mistake. Only the purge function
  // (owner, with rmm.audit_purge set for its own transaction) may delete, and only old rows.
  await sql`
    CREATE FUNCTION rmm_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' AND current_setting('rmm.audit_purge', true) = 'on' AND current_user <> 'rmm_app' THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$
  `.execute(db);
  await sql`CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION rmm_audit_append_only()`.execute(db);
  await sql`CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION rmm_audit_append_only()`.execute(db);

  // A grant's user is staff or a member of the grant's org. Definer: RLS would hide the other
  // org's user and let the check pass.
  await sql`
    CREATE FUNCTION rmm_grant_same_org() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DECLARE home uuid; found boolean;
    BEGIN
      SELECT true, org_id INTO found, home FROM users WHERE id = NEW.user_id;
      IF found AND home IS NOT NULL AND home <> NEW.org_id THEN
        RAISE EXCEPTION 'user % belongs to another org', NEW.user_id USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NEW;
    END $$
  `.execute(db);
  await sql`CREATE TRIGGER grants_same_org BEFORE INSERT OR UPDATE ON grants FOR EACH ROW EXECUTE FUNCTION rmm_grant_same_org()`.execute(db);

  // Sign-in happens before any org or user is known: map a token hash to its user, nothing more.
  await sql`
    CREATE FUNCTION rmm_principal_by_token(p_hash bytea)
    RETURNS TABLE (token_id uuid, user_id uuid, display_name text, email text, platform_role text, home_org_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ SELECT t.id, u.id, u.display_name, u.email, u.platform_role, u.org_id
       FROM api_tokens t JOIN users u ON u.id = t.user_id
       WHERE t.token_hash = p_hash AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
         AND u.disabled_at IS NULL $$
  `.execute(db);
  // Which orgs a user holds grants in, across orgs: decides what the org switcher offers.
  await sql`
    CREATE FUNCTION rmm_grants_of_user(p_user uuid)
    RETURNS TABLE (grant_id uuid, org_id uuid, role text, unit_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ SELECT id, org_id, role, unit_id FROM grants WHERE user_id = p_user $$
  `.execute(db);
  // Retention: delete the org's entries older than p_before (a prefix of its chain), keep the
  // last deleted entry's (seq, hash) as a checkpoint the remaining chain is verified from.
  await sql`
    CREATE FUNCTION rmm_audit_purge(p_org uuid, p_before timestamptz)
    RETURNS TABLE (purged integer, checkpoint_seq bigint, checkpoint_hash text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DECLARE last_seq bigint; last_hash text; n integer;
    BEGIN
      IF p_org IS DISTINCT FROM rmm_current_org() THEN
        RAISE EXCEPTION 'purge must run inside the org it purges' USING ERRCODE = 'insufficient_privilege';
      END IF;
      SELECT seq, hash INTO last_seq, last_hash FROM audit_log
        WHERE org_id IS NOT DISTINCT FROM p_org AND time < p_before ORDER BY seq DESC LIMIT 1;
      IF last_seq IS NULL THEN
        RETURN QUERY SELECT 0, NULL::bigint, NULL::text;
        RETURN;
      END IF;
      PERFORM set_config('rmm.audit_purge', 'on', true);
      DELETE FROM audit_log WHERE org_id IS NOT DISTINCT FROM p_org AND seq <= last_seq;
      GET DIAGNOSTICS n = ROW_COUNT;
      PERFORM set_config('rmm.audit_purge', 'off', true);
      INSERT INTO audit_checkpoints (org_id, seq, hash, purged_before, purged_count) VALUES (p_org, last_seq, last_hash, p_before, n);
      RETURN QUERY SELECT n, last_seq, last_hash;
    END $$
  `.execute(db);
  for (const fn of ['rmm_principal_by_token(bytea)', 'rmm_grants_of_user(uuid)', 'rmm_audit_purge(uuid, timestamptz)', 'rmm_grant_same_org()']) {
    await sql.raw(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`).execute(db);
  }
  for (const fn of ['rmm_principal_by_token(bytea)', 'rmm_grants_of_user(uuid)', 'rmm_audit_purge(uuid, timestamptz)']) {
    await sql.raw(`GRANT EXECUTE ON FUNCTION ${fn} TO rmm_app`).execute(db);
  }
}
