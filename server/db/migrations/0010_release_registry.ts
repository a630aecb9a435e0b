import { sql, type Kysely } from 'kysely';

/*
 * The trusted-build registry for signed agent updates (issue #5, docs/agent.md "Signed agent
 * updates"): the SHA-256 of every agent build the MSP has approved, with the signed manifest it
 * was approved from (`manifest`: manifest, signature and key id, as the agents will receive it).
 *
 * - A platform table: builds belong to the MSP, not to a client org, so there is no org_id.
 *   Row-level security shows and accepts rows only in the platform scope (no org set), never
 *   inside any org, like staff sessions and alerts (migrations 0008, 0009).
 * - Append-only for the app: SELECT and INSERT, no UPDATE or DELETE (withdrawing a build is a
 *   change of its own, still to come).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE trusted_builds (
      sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
      version text NOT NULL CHECK (version ~ '^[0-9]{1,9}[.][0-9]{1,9}[.][0-9]{1,9}$'),
      size bigint NOT NULL CHECK (size > 0),
      key_id text NOT NULL CHECK (key_id ~ '^[0-9a-f]{64}$'),
      manifest jsonb NOT NULL,
      added_by uuid NOT NULL REFERENCES users(id),
      added_at timestamptz NOT NULL
    )
  `.execute(db);
  await sql`CREATE INDEX trusted_builds_added ON trusted_builds (added_at DESC)`.execute(db);
  await sql`ALTER TABLE trusted_builds ENABLE ROW LEVEL SECURITY`.execute(db);
  await sql`ALTER TABLE trusted_builds FORCE ROW LEVEL SECURITY`.execute(db);
  await sql`CREATE POLICY platform_reads ON trusted_builds FOR SELECT USING (rmm_current_org() IS NULL)`.execute(db);
  await sql`CREATE POLICY platform_inserts ON trusted_builds FOR INSERT WITH CHECK (rmm_current_org() IS NULL)`.execute(db);
  await sql`GRANT SELECT, INSERT ON trusted_builds TO rmm_app`.execute(db);
}
