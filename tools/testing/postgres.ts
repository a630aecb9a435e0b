// What a database test needs from the throwaway PostgreSQL cluster that the `unit` project's
// globalSetup starts (see docs/testing.md). Typical use:
//
//   describe.each(databaseKinds())("agent store on %s", (kind) => {
//     let db: TestDatabase;
//     beforeAll(async () => { db = await openTestDatabase(kind); });   // your own factory
//   });
//
// A PostgreSQL test should call createPostgresTestDatabase() so each file gets its own database
// and files can run in parallel against the one cluster.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the superuser on the throwaway cluster, or null when PostgreSQL is unavailable. */
    postgresUrl: string | null;
    /** Why postgresUrl is null. */
    postgresSkipReason: string | null;
  }
}

export type DatabaseKind = "pglite" | "postgres";

/** The throwaway cluster's superuser URL, or undefined when PostgreSQL tests are skipped. */
export function testPostgresUrl(): string | undefined {
  return inject("postgresUrl") ?? undefined;
}

let warned = false;

/** The database kinds this run can test: always PGlite, PostgreSQL when the cluster is up. */
export function databaseKinds(): DatabaseKind[] {
  if (testPostgresUrl() !== undefined) return ["pglite", "postgres"];
  if (process.env.CI === "true") {
    throw new Error("CI=true but no PostgreSQL was provided to the tests (is globalSetup configured?)");
  }
  if (!warned) {
    warned = true;
    const reason = inject("postgresSkipReason") ?? "no PostgreSQL URL was provided";
    console.warn(`[postgres] SKIPPING the PostgreSQL variant (${reason}); testing PGlite only.`);
  }
  return ["pglite"];
}

export interface PostgresTestDatabase {
  /** URL of a fresh, empty database owned by the cluster's superuser. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates a fresh database on the throwaway cluster (a few hundred ms); drop() it in afterAll. */
export async function createPostgresTestDatabase(prefix = "rmm_test"): Promise<PostgresTestDatabase> {
  const adminUrl = testPostgresUrl();
  if (adminUrl === undefined) throw new Error("no PostgreSQL for this run: guard the test with databaseKinds()");
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      await withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

async function withAdmin(url: string, work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}
