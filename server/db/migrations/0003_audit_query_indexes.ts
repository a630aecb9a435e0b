import { sql, type Kysely } from 'kysely';

/*
 * Indexes for the audit viewer's filters. Its pages are "newest first within one org, matching a
 * filter", keyset on seq: each index leads with org_id and the filtered column and ends with seq,
 * so a rare action or one actor's entries are found without walking the whole log backwards.
 * (org_id, seq) itself is the unique constraint's index; (org_id, time, seq) serves time ranges.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX audit_log_org_action ON audit_log (org_id, action, seq)`.execute(db);
  await sql`CREATE INDEX audit_log_org_actor_id ON audit_log (org_id, actor_id, seq)`.execute(db);
  await sql`CREATE INDEX audit_log_org_actor_name ON audit_log (org_id, actor_name, seq)`.execute(db);
  await sql`CREATE INDEX audit_log_org_target ON audit_log (org_id, target_type, target_id, seq)`.execute(db);
  await sql`CREATE INDEX audit_log_org_outcome ON audit_log (org_id, outcome, seq)`.execute(db);
}
