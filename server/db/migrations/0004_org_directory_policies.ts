import { sql, type Kysely } from 'kysely';

/*
 * The org directory (`orgs`) stays readable by the app role everywhere (names, to decide which
 * orgs a principal may enter), but its settings can only be changed from inside the org: an
 * UPDATE scoped to org A cannot touch org B's retention or any later security setting. New orgs
 * are created outside any org (the route allows MSP admins only); orgs are never deleted.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE orgs ENABLE ROW LEVEL SECURITY`.execute(db);
  await sql`ALTER TABLE orgs FORCE ROW LEVEL SECURITY`.execute(db);
  await sql`CREATE POLICY directory_read ON orgs FOR SELECT USING (true)`.execute(db);
  await sql`CREATE POLICY directory_insert ON orgs FOR INSERT WITH CHECK (rmm_current_org() IS NULL)`.execute(db);
  await sql`CREATE POLICY settings_in_own_org ON orgs FOR UPDATE USING (id = rmm_current_org()) WITH CHECK (id = rmm_current_org())`.execute(db);
}
