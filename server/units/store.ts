import type { Unit } from '../../protocol/api';
import type { Tx } from '../db/database';
import type { UnitRow } from '../db/schema';

export function toUnit(row: UnitRow): Unit {
  return {
    id: row.id,
    orgId: row.org_id,
    parentId: row.parent_id,
    name: row.name,
    readOnly: row.read_only,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

/** Units of the transaction's org (row-level security scopes it), parents before children by name. */
export async function listUnits(tx: Tx): Promise<Unit[]> {
  const rows = await tx.selectFrom('units').selectAll().orderBy('name').orderBy('id').execute();
  return rows.map(toUnit);
}

export async function createUnit(tx: Tx, unit: { orgId: string; parentId: string | null; name: string }): Promise<Unit> {
  const row = await tx
    .insertInto('units')
    .values({ org_id: unit.orgId, parent_id: unit.parentId, name: unit.name })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toUnit(row);
}

export async function setUnitReadOnly(tx: Tx, unitId: string, readOnly: boolean): Promise<Unit | undefined> {
  const row = await tx.updateTable('units').set({ read_only: readOnly }).where('id', '=', unitId).returningAll().executeTakeFirst();
  return row && toUnit(row);
}

export async function renameUnit(tx: Tx, unitId: string, name: string): Promise<Unit | undefined> {
  const row = await tx.updateTable('units').set({ name }).where('id', '=', unitId).returningAll().executeTakeFirst();
  return row && toUnit(row);
}
