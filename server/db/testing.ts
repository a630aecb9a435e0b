import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, sql } from 'kysely';
import pg from 'pg';
import { createPostgresTestDatabase } from '../../tools/testing/postgres';
import { migrationNames } from './migrations/index';
import { openDatabase, runMigrations, type DatabaseHandle, type DatabaseKind } from './database';
import { PGliteDialect } from './pglite-dialect';

/*
 * Fresh, migrated databases for tests. PGlite takes seconds to initialise but under one to load
 * a prepared data folder, so the migrated state is built once and cached as a template dump
 * (keyed by the migration list, shared by all test workers through the temp folder).
 */

const templateKey = createHash('sha256').update(readMigrationSources()).digest('hex').slice(0, 16);
const templatePath = path.join(os.tmpdir(), `rmm-pglite-template-${templateKey}.tar`);
let templateBlob: Promise<Blob> | undefined;

function readMigrationSources(): string {
  const dir = path.join(import.meta.dirname, 'migrations');
  return migrationNames.map((name) => readFileSync(path.join(dir, `${name}.ts`), 'utf8')).join('\n');
}

async function buildTemplate(): Promise<Blob> {
  if (existsSync(templatePath)) return new Blob([readFileSync(templatePath)]);
  const pglite = new PGlite();
  const owner = new Kysely<unknown>({ dialect: new PGliteDialect(pglite) });
  await runMigrations(owner);
  const dump = await pglite.dumpDataDir('none');
  await owner.destroy();
  const tmp = `${templatePath}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()));
  renameSync(tmp, templatePath); // atomic: concurrent workers never read half a file
  return dump;
}

export interface TestDatabase extends DatabaseHandle {
  /** A connection as the owner (superuser), for tests that must see past RLS or tamper with rows. */
  ownerQuery(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
}

export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  if (kind === 'pglite') {
    templateBlob ??= buildTemplate();
    const handle = await openDatabase({ pgliteLoad: await templateBlob, migrate: true });
    // The same single session serves as owner: briefly reset the role inside its own lease.
    const ownerQuery = async (text: string, params: unknown[] = []) =>
      handle.db.connection().execute(async (conn) => {
        await sql`RESET ROLE`.execute(conn);
        try {
          const result = await conn.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, params));
          return result.rows;
        } finally {
          await sql`SET ROLE rmm_app`.execute(conn);
        }
      });
    return { ...handle, ownerQuery };
  }

  const database = await createPostgresTestDatabase();
  const handle = await openDatabase({ databaseUrl: database.url, migrate: true });
  const owner = new pg.Pool({ connectionString: database.url, max: 2 });
  return {
    ...handle,
    ownerQuery: async (text, params = []) => (await owner.query(text, params)).rows as Record<string, unknown>[],
    close: async () => {
      await handle.close();
      await owner.end();
      await database.drop();
    },
  };
}
