import { sql, type Kysely } from 'kysely';

/*
 * The org script library (issue #5, docs/scripts.md): scripts and their immutable versions.
 *
 * - Tenant tables like units: org_id on both, RLS on org_id = rmm_current_org(). A script's unit
 *   and a version's script are tied to the same org by composite foreign keys.
 * - A version's content (body, parameters, timeout, sha256, author) never changes, and a decision
 *   is final. Two walls: rmm_app may UPDATE only the decision columns (column grants), and a
 *   trigger refuses, for every role, a change of content, a second decision, or a DELETE. The
 *   sha256 is unique per org, so a hash names exactly one version (what jobs dispatch by).
 * - On scripts, rmm_app may UPDATE only latest_version (the counter that numbers new versions);
 *   name, language and unit are fixed, since the language is part of every version's hash.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE scripts (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES orgs(id),
      unit_id uuid,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      language text NOT NULL CHECK (language IN ('bash', 'powershell', 'python', 'node')),
      latest_version integer NOT NULL DEFAULT 1 CHECK (latest_version >= 1),
      created_by uuid NOT NULL REFERENCES users(id),
      created_at timestamptz NOT NULL,
      UNIQUE (org_id, id),
      FOREIGN KEY (org_id, unit_id) REFERENCES units (org_id, id)
    )
  `.execute(db);
  await sql`CREATE INDEX scripts_org_unit ON scripts (org_id, unit_id)`.execute(db);

  await sql`
    CREATE TABLE script_versions (
      org_id uuid NOT NULL REFERENCES orgs(id),
      script_id uuid NOT NULL,
      version integer NOT NULL CHECK (version >= 1),
      body text NOT NULL CHECK (length(body) BETWEEN 1 AND 65536),
      parameters jsonb NOT NULL CHECK (jsonb_typeof(parameters) = 'array'),
      timeout_seconds integer NOT NULL CHECK (timeout_seconds BETWEEN 1 AND 86400),
      sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
      author_id uuid NOT NULL REFERENCES users(id),
      author_name text NOT NULL CHECK (length(author_name) <= 200),
      created_at timestamptz NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
      decided_by uuid REFERENCES users(id),
      decided_by_name text CHECK (length(decided_by_name) <= 200),
      decided_at timestamptz,
      reason text CHECK (length(reason) BETWEEN 1 AND 2000),
      PRIMARY KEY (script_id, version),
      UNIQUE (org_id, sha256),
      FOREIGN KEY (org_id, script_id) REFERENCES scripts (org_id, id),
      CHECK ((status = 'pending') = (decided_at IS NULL)),
      CHECK ((decided_at IS NULL) = (decided_by IS NULL) AND (decided_at IS NULL) = (decided_by_name IS NULL) AND (decided_at IS NULL) = (reason IS NULL)),
      -- separation of duties, in the data too
      CHECK (decided_by IS NULL OR decided_by <> author_id)
    )
  `.execute(db);
  await sql`CREATE INDEX script_versions_org_pending ON script_versions (org_id, created_at) WHERE status = 'pending'`.execute(db);

  for (const table of ['scripts', 'script_versions']) {
    await sql`ALTER TABLE ${sql.table(table)} ENABLE ROW LEVEL SECURITY`.execute(db);
    await sql`ALTER TABLE ${sql.table(table)} FORCE ROW LEVEL SECURITY`.execute(db);
    await sql`
      CREATE POLICY tenant_isolation ON ${sql.table(table)}
      USING (org_id = rmm_current_org()) WITH CHECK (org_id = rmm_current_org())
    `.execute(db);
  }

  await sql`
    CREATE FUNCTION rmm_script_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'script versions are never deleted' USING ERRCODE = 'insufficient_privilege';
      END IF;
      IF (NEW.org_id, NEW.script_id, NEW.version, NEW.body, NEW.parameters, NEW.timeout_seconds, NEW.sha256, NEW.author_id, NEW.author_name, NEW.created_at)
         IS DISTINCT FROM
         (OLD.org_id, OLD.script_id, OLD.version, OLD.body, OLD.parameters, OLD.timeout_seconds, OLD.sha256, OLD.author_id, OLD.author_name, OLD.created_at) THEN
        RAISE EXCEPTION 'script version %/% is immutable: edit the script to make a new version', OLD.script_id, OLD.version USING ERRCODE = 'insufficient_privilege';
      END IF;
      IF OLD.status <> 'pending' THEN
        RAISE EXCEPTION 'script version %/% was already %', OLD.script_id, OLD.version, OLD.status USING ERRCODE = 'insufficient_privilege';
      END IF;
      RETURN NEW;
    END $$
  `.execute(db);
  await sql`CREATE TRIGGER script_versions_immutable BEFORE UPDATE OR DELETE ON script_versions FOR EACH ROW EXECUTE FUNCTION rmm_script_version_immutable()`.execute(db);

  await sql`
    CREATE FUNCTION rmm_script_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'scripts are never deleted' USING ERRCODE = 'insufficient_privilege';
      END IF;
      IF (NEW.id, NEW.org_id, NEW.unit_id, NEW.name, NEW.language, NEW.created_by, NEW.created_at)
         IS DISTINCT FROM (OLD.id, OLD.org_id, OLD.unit_id, OLD.name, OLD.language, OLD.created_by, OLD.created_at)
         OR NEW.latest_version < OLD.latest_version THEN
        RAISE EXCEPTION 'script % may only gain versions', OLD.id USING ERRCODE = 'insufficient_privilege';
      END IF;
      RETURN NEW;
    END $$
  `.execute(db);
  await sql`CREATE TRIGGER scripts_fixed BEFORE UPDATE OR DELETE ON scripts FOR EACH ROW EXECUTE FUNCTION rmm_script_fixed()`.execute(db);

  await sql`GRANT SELECT, INSERT ON scripts, script_versions TO rmm_app`.execute(db);
  await sql`GRANT UPDATE (latest_version) ON scripts TO rmm_app`.execute(db);
  await sql`GRANT UPDATE (status, decided_by, decided_by_name, decided_at, reason) ON script_versions TO rmm_app`.execute(db);
}
