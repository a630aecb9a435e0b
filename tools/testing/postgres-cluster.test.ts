import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { createPostgresTestDatabase, databaseKinds, testPostgresUrl, type PostgresTestDatabase } from "./postgres";

const hasPostgres = databaseKinds().includes("postgres");

async function query<Row extends pg.QueryResultRow>(url: string, sql: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf(!hasPostgres)("the throwaway PostgreSQL cluster", () => {
  const created: PostgresTestDatabase[] = [];
  afterAll(async () => {
    await Promise.all(created.map((db) => db.drop()));
  });

  it("accepts a password login as rmm_owner on 127.0.0.1", async () => {
    const url = testPostgresUrl() ?? "";
    expect(url).toMatch(/^postgres:\/\/rmm_owner:[^@]+@127\.0\.0\.1:\d+\/postgres$/);
    const [row] = await query<{ version: string; user: string }>(url, "select version() as version, current_user as user");
    expect(row?.version).toMatch(/^PostgreSQL \d+/);
    expect(row?.user).toBe("rmm_owner");
  });

  it("refuses a wrong password", async () => {
    const url = new URL(testPostgresUrl() ?? "");
    url.password = "wrong";
    await expect(query(url.toString(), "select 1")).rejects.toThrow(/password authentication failed/);
  });

  it("gives each test file its own database", async () => {
    const a = await createPostgresTestDatabase();
    const b = await createPostgresTestDatabase();
    created.push(a, b);
    await query(a.url, "create table marker (id int)");
    const [row] = await query<{ exists: boolean }>(b.url, "select to_regclass('marker') is not null as exists");
    expect(row?.exists).toBe(false);
  });
});
