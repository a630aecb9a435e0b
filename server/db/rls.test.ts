import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../../tools/testing/postgres';
import { provisionAgent } from '../agents/provision';
import { createOrg } from '../orgs/store';
import { createUnit } from '../units/store';
import { withOrg } from './database';
import { createTestDatabase, type TestDatabase } from './testing';

describe.each(databaseKinds())('tenant isolation on %s', (kind) => {
  let database: TestDatabase;
  let orgA: string;
  let orgB: string;
  let unitB: string;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    const { db } = database;
    orgA = (await createOrg(db, 'Clinic A')).id;
    orgB = (await createOrg(db, 'Clinic B')).id;
    const unitA = (await withOrg(db, orgA, (tx) => createUnit(tx, { orgId: orgA, parentId: null, name: 'A site' }))).id;
    unitB = (await withOrg(db, orgB, (tx) => createUnit(tx, { orgId: orgB, parentId: null, name: 'B site' }))).id;
    await withOrg(db, orgA, (tx) => provisionAgent(tx, { orgId: orgA, unitId: unitA }));
    await withOrg(db, orgB, (tx) => provisionAgent(tx, { orgId: orgB, unitId: unitB }));
  });
  afterAll(async () => database?.close());

  it('runs application queries as rmm_app, which cannot bypass row-level security', async () => {
    const result = await sql<{ who: string; bypass: boolean; superuser: boolean }>`
      SELECT current_user AS who, rolbypassrls AS bypass, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user
    `.execute(database.db);
    expect(result.rows[0]).toEqual({ who: 'rmm_app', bypass: false, superuser: false });
  });

  it('a query with no org set sees no tenant rows at all', async () => {
    const units = await database.db.selectFrom('units').selectAll().execute();
    const agents = await database.db.selectFrom('agents').selectAll().execute();
    expect(units).toEqual([]);
    expect(agents).toEqual([]);
  });

  it('raw SQL scoped to org A cannot read, update or delete org B rows in any tenant table', async () => {
    const tables = await database.ownerQuery(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
       WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace AND a.attname = 'org_id' ORDER BY 1`,
    );
    const names = tables.map((t) => String(t.name));
    expect(names).toEqual(expect.arrayContaining(['agents', 'units']));
    for (const table of names) {
      const ownRows = await withOrg(database.db, orgA, async (tx) => {
        const seen = await sql<{ org_id: string }>`SELECT org_id FROM ${sql.table(table)}`.execute(tx);
        const updated = await sql`UPDATE ${sql.table(table)} SET org_id = org_id WHERE org_id = ${orgB}`.execute(tx);
        const deleted = await sql`DELETE FROM ${sql.table(table)} WHERE org_id = ${orgB}`.execute(tx);
        return { seen: seen.rows, updated: Number(updated.numAffectedRows ?? 0n), deleted: Number(deleted.numAffectedRows ?? 0n) };
      });
      expect(ownRows.seen.every((r) => r.org_id === orgA), `${table}: saw another org's rows`).toBe(true);
      expect(ownRows.seen.length, `${table}: should see its own rows`).toBeGreaterThan(0);
      expect(ownRows.updated, `${table}: updated org B rows`).toBe(0);
      expect(ownRows.deleted, `${table}: deleted org B rows`).toBe(0);
    }
    const bRows = await database.ownerQuery(`SELECT count(*)::int AS n FROM agents WHERE org_id = $1`, [orgB]);
    expect(bRows[0]?.n).toBe(1);
  });

  it('every table with org_id has row-level security enabled and forced with a policy', async () => {
    const rows = await database.ownerQuery(
      `SELECT c.relname AS name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
              (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
       FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
       WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace AND a.attname = 'org_id'`,
    );
    for (const row of rows) expect(row, String(row.name)).toMatchObject({ enabled: true, forced: true, policies: expect.any(Number) });
    expect(rows.every((r) => Number(r.policies) > 0)).toBe(true);
  });

  it('org A cannot insert a row claiming to belong to org B', async () => {
    await expect(
      withOrg(database.db, orgA, (tx) => createUnit(tx, { orgId: orgB, parentId: null, name: 'smuggled' })),
    ).rejects.toThrow(/row-level security/);
  });

  it('a unit cannot hang under a parent of another org', async () => {
    await expect(
      withOrg(database.db, orgA, (tx) => createUnit(tx, { orgId: orgA, parentId: unitB, name: 'cross-org child' })),
    ).rejects.toThrow(/foreign key/);
  });

  it('the app role cannot drop RLS or alter tables it does not own', async () => {
    await expect(sql`ALTER TABLE agents DISABLE ROW LEVEL SECURITY`.execute(database.db)).rejects.toThrow(/must be owner/);
  });
});
