import type { Grant } from '../../protocol/access';
import type { GrantRole } from '../../protocol/permissions';
import { pgErrorCode, PG_FOREIGN_KEY_VIOLATION, PG_UNIQUE_VIOLATION, type Tx } from '../db/database';
import type { GrantRow } from '../db/schema';
import { ConflictError, NotFoundError } from '../errors';

export function toGrant(row: GrantRow): Grant {
  return { id: row.id, orgId: row.org_id, userId: row.user_id, role: row.role, unitId: row.unit_id, createdAt: new Date(row.created_at).toISOString() };
}

export async function listGrants(tx: Tx): Promise<Grant[]> {
  const rows = await tx.selectFrom('grants').selectAll().orderBy('created_at').orderBy('id').execute();
  return rows.map(toGrant);
}

export async function findGrant(tx: Tx, grantId: string): Promise<Grant | undefined> {
  const row = await tx.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirst();
  return row && toGrant(row);
}

export async function createGrant(tx: Tx, grant: { orgId: string; userId: string; role: GrantRole; unitId: string | null; createdBy: string | null }): Promise<Grant> {
  try {
    const row = await tx.insertInto('grants').values({
      org_id: grant.orgId,
      user_id: grant.userId,
      role: grant.role,
      unit_id: grant.unitId,
      created_by: grant.createdBy,
    }).returningAll().executeTakeFirstOrThrow();
    return toGrant(row);
  } catch (err) {
    if (pgErrorCode(err) === PG_UNIQUE_VIOLATION) throw ConflictError('The user already holds this role on this unit');
    // The user is another org's member (trigger) or does not exist (foreign key).
    if (pgErrorCode(err) === PG_FOREIGN_KEY_VIOLATION) throw NotFoundError('No such user in this organisation');
    throw err;
  }
}

export async function deleteGrant(tx: Tx, grantId: string): Promise<boolean> {
  const result = await tx.deleteFrom('grants').where('id', '=', grantId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
