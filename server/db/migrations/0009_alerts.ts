import { sql, type Kysely } from 'kysely';

/*
 * Security alerts for an org's admins (issue #4: a backup code used, step-up locked after
 * repeated failures; docs/mfa.md "Alerts").
 *
 * - One row per alert, written in the transaction that records the event in the audit log, so an
 *   alert exists exactly when its audit entry does. The subject's and acknowledger's names are
 *   kept as they were then (like audit actors), so the row reads the same after a rename.
 * - org_id NULL: an alert about an MSP staff user. Like staff sessions (migration 0008), such rows
 *   are seen and written only in the platform scope (no org set), never inside any org; an org's
 *   rows only inside that org.
 * - Alerts are acknowledged, never deleted: no DELETE privilege.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE alerts (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid REFERENCES orgs(id),
      kind text NOT NULL CHECK (kind ~ '^[a-z][a-z_]*([.][a-z_]+)*$' AND length(kind) <= 100),
      created_at timestamptz NOT NULL,
      subject_user_id uuid REFERENCES users(id),
      subject_name text CHECK (length(subject_name) <= 200),
      message text NOT NULL CHECK (length(message) <= 1000),
      acknowledged_at timestamptz,
      acknowledged_by_user_id uuid REFERENCES users(id),
      acknowledged_by_name text CHECK (length(acknowledged_by_name) <= 200),
      CHECK ((subject_user_id IS NULL) = (subject_name IS NULL)),
      CHECK ((acknowledged_at IS NULL) = (acknowledged_by_user_id IS NULL) AND (acknowledged_at IS NULL) = (acknowledged_by_name IS NULL))
    )
  `.execute(db);
  await sql`CREATE INDEX alerts_org_created ON alerts (org_id, created_at DESC)`.execute(db);
  await sql`CREATE INDEX alerts_org_open ON alerts (org_id, created_at DESC) WHERE acknowledged_at IS NULL`.execute(db);
  await sql`ALTER TABLE alerts ENABLE ROW LEVEL SECURITY`.execute(db);
  await sql`ALTER TABLE alerts FORCE ROW LEVEL SECURITY`.execute(db);
  await sql`CREATE POLICY org_reads ON alerts FOR SELECT USING (org_id IS NOT DISTINCT FROM rmm_current_org())`.execute(db);
  await sql`CREATE POLICY org_inserts ON alerts FOR INSERT WITH CHECK (org_id IS NOT DISTINCT FROM rmm_current_org())`.execute(db);
  await sql`CREATE POLICY org_updates ON alerts FOR UPDATE USING (org_id IS NOT DISTINCT FROM rmm_current_org()) WITH CHECK (org_id IS NOT DISTINCT FROM rmm_current_org())`.execute(db);
  await sql`GRANT SELECT, INSERT, UPDATE ON alerts TO rmm_app`.execute(db);
}
