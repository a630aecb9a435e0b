import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, sql, type LogEvent, type Transaction } from 'kysely';
import pg from 'pg';
import { migrationProvider } from './migrations/index';
import { PGliteDialect } from './pglite-dialect';
import { lockPgliteDir } from './pglite-lock';
import type { Database } from './schema';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
export type DatabaseKind = 'pglite' | 'postgres';

export interface DatabaseHandle {
  kind: DatabaseKind;
  /** Runs every query as rmm_app: no BYPASSRLS, owns nothing. */
  db: Db;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** PostgreSQL URL; when absent, PGlite. */
  databaseUrl?: string | undefined;
  /** PGlite data folder; when absent with no URL, an in-memory database (tests). */
  pgliteDir?: string | undefined;
  /** A prepared PGlite data folder dump to start from (test templates). */
  pgliteLoad?: Blob | File | undefined;
  onQuery?: (seconds: number, event: LogEvent) => void;
  /** Apply pending migrations before handing out the app connection (the server does). */
  migrate?: boolean;
}

export interface MigrationReport {
  applied: string[];
}

export class MigrationError extends Error {
  constructor(message: string, readonly migration?: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

export async function runMigrations(owner: Kysely<unknown>): Promise<MigrationReport> {
  const migrator = new Migrator({ db: owner, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new MigrationError(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${reason}`, failed?.migrationName);
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}

function queryLogger(onQuery: OpenOptions['onQuery']) {
  if (!onQuery) return undefined;
  return (event: LogEvent) => onQuery(event.queryDurationMillis / 1000, event);
}

/**
 * Opens the database the way the server uses it: migrations as the owner, then every
 * application query as rmm_app so row-level security always applies.
 */
export async function openDatabase(options: OpenOptions): Promise<DatabaseHandle & { migrations: MigrationReport }> {
  const log = queryLogger(options.onQuery);
  if (options.databaseUrl) {
    let migrations: MigrationReport = { applied: [] };
    if (options.migrate) {
      const owner = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: options.databaseUrl, max: 1 }) }) });
      try {
        migrations = await runMigrations(owner);
      } finally {
        await owner.destroy();
      }
    }
    // The role is set in the startup packet: a connection that cannot become rmm_app fails to
    // open, so no application query can ever run as the login role.
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10, options: '-c role=rmm_app' });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), ...(log ? { log } : {}) });
    return { kind: 'postgres', db, migrations, close: () => db.destroy() };
  }

  let unlock: () => void = () => undefined;
  if (options.pgliteDir) {
    mkdirSync(path.dirname(options.pgliteDir), { recursive: true });
    unlock = lockPgliteDir(options.pgliteDir);
  }
  let db: Kysely<Database> | undefined;
  let migrations: MigrationReport = { applied: [] };
  try {
    const pglite = options.pgliteLoad
      ? new PGlite({ dataDir: options.pgliteDir, loadDataDir: options.pgliteLoad })
      : new PGlite(options.pgliteDir);
    await pglite.waitReady;
    // PGlite is a single session: migrate as its superuser, then drop to rmm_app for good.
    await pglite.exec('RESET ROLE');
    db = new Kysely<Database>({ dialect: new PGliteDialect(pglite), ...(log ? { log } : {}) });
    if (options.migrate) migrations = await runMigrations(db as unknown as Kysely<unknown>);
    await sql`SET ROLE rmm_app`.execute(db);
  } catch (err) {
    await db?.destroy();
    unlock();
    throw err;
  }
  const opened = db;
  return {
    kind: 'pglite',
    db: opened,
    migrations,
    close: async () => {
      try {
        await opened.destroy();
      } finally {
        unlock();
      }
    },
  };
}

/**
 * Runs `fn` in a transaction scoped to one org: row-level security shows and accepts only that
 * org's rows. The setting is transaction-local, so it cannot leak to the next user of the connection.
 */
export async function withOrg<T>(db: Db, orgId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return withScope(db, { orgId }, fn);
}

export interface Scope {
  /** The org row-level security shows; null or absent: none (platform rows only). */
  orgId?: string | null;
  /** The signed-in user: their personal workspace and API tokens become visible. */
  userId?: string | null;
}

/** A transaction scoped to an org and/or a user. Both settings are transaction-local. */
export async function withScope<T>(db: Db, scope: Scope, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (tx) => {
    await setScope(tx, { orgId: scope.orgId ?? null, userId: scope.userId ?? null });
    return fn(tx);
  });
}

/**
 * Moves a running transaction to another scope (e.g. to record an entry in a new org's chain in
 * the transaction that made the org). A key left out keeps its current value; null clears it.
 */
export async function setScope(tx: Tx, scope: Scope): Promise<void> {
  const settings = [];
  if (scope.orgId !== undefined) settings.push(sql`set_config('rmm.org_id', ${scope.orgId ?? ''}, true)`);
  if (scope.userId !== undefined) settings.push(sql`set_config('rmm.user_id', ${scope.userId ?? ''}, true)`);
  if (settings.length > 0) await sql`SELECT ${sql.join(settings)}`.execute(tx);
}

/** PostgreSQL's SQLSTATE of a failed query (both drivers expose it as `code`), to map constraint violations to API errors. */
export function pgErrorCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';
