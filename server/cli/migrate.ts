import path from 'node:path';
import { ConfigError, loadServerConfig } from '../config';
import { MigrationError, openDatabase } from '../db/database';
import { parseCommandArgs } from './args';

export const migrateHelp = `Usage: rmm migrate [options]

Applies pending database migrations (forward only) and exits. The server also applies them at
start. PGlite data folders are used by one process at a time: stop the server first.

Options:
  --data-dir <dir>       data folder holding the PGlite database (RMM_DATA_DIR, default ./.rmm-data)
  --database-url <url>   PostgreSQL instead of PGlite (DATABASE_URL); connect as the schema owner
  -h, --help             show this help
`;

export async function migrateCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { 'data-dir': { type: 'string' }, 'database-url': { type: 'string' } });
  if (values.help) {
    process.stdout.write(migrateHelp);
    return 0;
  }
  try {
    const config = loadServerConfig({ dataDir: values['data-dir'], databaseUrl: values['database-url'] });
    const handle = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: path.join(config.dataDir, 'pglite'), migrate: true });
    await handle.close();
    const where = config.databaseUrl ? 'PostgreSQL' : `PGlite at ${path.join(config.dataDir, 'pglite')}`;
    process.stdout.write(
      handle.migrations.applied.length === 0
        ? `${where}: already up to date\n`
        : `${where}: applied ${handle.migrations.applied.length} migration(s): ${handle.migrations.applied.join(', ')}\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`rmm migrate: ${err.message}\n`);
      return 2;
    }
    if (err instanceof MigrationError) {
      process.stderr.write(`rmm migrate: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
