import type { Org } from '../../protocol/api';
import type { Db, Tx } from '../db/database';
import type { OrgRow } from '../db/schema';

export function toOrg(row: OrgRow): Org {
  return { id: row.id, name: row.name, createdAt: new Date(row.created_at).toISOString() };
}

export async function listOrgs(db: Db): Promise<Org[]> {
  const rows = await db.selectFrom('orgs').selectAll().orderBy('name').orderBy('id').execute();
  return rows.map(toOrg);
}

export async function findOrg(db: Db | Tx, orgId: string): Promise<Org | undefined> {
  const row = await db.selectFrom('orgs').selectAll().where('id', '=', orgId).executeTakeFirst();
  return row && toOrg(row);
}

export async function createOrg(db: Db | Tx, name: string): Promise<Org> {
  const row = await db.insertInto('orgs').values({ name }).returningAll().executeTakeFirstOrThrow();
  return toOrg(row);
}

export async function orgSettings(db: Db | Tx, orgId: string): Promise<{ auditRetentionDays: number } | undefined> {
  const row = await db.selectFrom('orgs').select('audit_retention_days').where('id', '=', orgId).executeTakeFirst();
  return row && { auditRetentionDays: row.audit_retention_days };
}

export async function updateOrgSettings(tx: Tx, orgId: string, settings: { auditRetentionDays: number }): Promise<void> {
  await tx.updateTable('orgs').set({ audit_retention_days: settings.auditRetentionDays }).where('id', '=', orgId).execute();
}
