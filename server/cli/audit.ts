import { createWriteStream, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { appendAudit, type AuditActor } from '../audit/log';
import { auditExportStream, planAuditExport } from '../audit/export';
import { purgeExpiredAudit } from '../audit/retention';
import { verifyAllAuditChains, verifyAuditChain, type ChainReport } from '../audit/verify';
import { systemClock } from '../clock';
import { ConfigError, loadServerConfig } from '../config';
import { openDatabase, withOrg, type DatabaseHandle, type Db } from '../db/database';
import { DatabaseLockedError } from '../db/pglite-lock';
import { parseCommandArgs, UsageError } from './args';

const dbOptions = `Database (as the server's configuration):
  --data-dir <dir>       data folder holding the PGlite database (RMM_DATA_DIR, default ./.rmm-data)
  --database-url <url>   PostgreSQL instead of PGlite (DATABASE_URL)
  -h, --help             show this help

PGlite data folders can be opened by one process at a time: stop the server first (PostgreSQL
has no such limit).`;

const verifyHelp = `Usage: rmm audit verify [--org <org id> | --all]

Walks each audit chain entry by entry and checks every hash, link and sequence number, from the
newest purge checkpoint (itself checked against the audit.purged entry that recorded it) to the
chain's recorded head. Without --org: every org and the platform chain (--all).

${dbOptions}

Exit status: 0 every chain verified; 1 a chain is broken (each broken chain is named on stderr
with its first bad entry); 2 bad usage, or the database could not be opened.
`;

const exportHelp = `Usage: rmm audit export --org <org id> --format jsonl|csv [--from <ISO time>] [--to <ISO time>] [--out <file>]

Writes the org's audit entries from --from (inclusive) to --to (exclusive), oldest first, to
--out (created with mode 0600) or to stdout. JSON lines carry each entry whole, hashes included;
CSV has a header row, RFC 4180 quoting, details as a JSON column, and cells that a spreadsheet
would run as a formula prefixed with a single quote. The export is itself recorded in the
org's audit log (audit.exported).

${dbOptions}
`;

const purgeHelp = `Usage: rmm audit purge --org <org id>

Deletes the org's audit entries older than its retention period (org settings, at least six
years), keeps the last deleted entry's hash as the checkpoint the rest of the chain is verified
from, and records the purge in the chain (audit.purged).

${dbOptions}
`;

export const auditHelp = `Usage: rmm audit <verify|export|purge> [options]

  rmm audit verify [--org <org id> | --all]
  rmm audit export --org <org id> --format jsonl|csv [--from <ISO time>] [--to <ISO time>] [--out <file>]
  rmm audit purge --org <org id>

Run 'rmm audit <command> --help' for details. PGlite data folders can be opened by one process
at a time: stop the server first.
`;

const dbFlags = { 'data-dir': { type: 'string' }, 'database-url': { type: 'string' } } as const;
const OrgId = z.uuid('must be an org id (a UUID)');
const Time = z.union([z.iso.datetime({ offset: true }), z.iso.date()], 'must be an ISO 8601 date or time').transform((value) => new Date(value).toISOString());

function parseFlag<T>(schema: z.ZodType<T>, name: string, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new UsageError(`--${name} ${result.error.issues[0]?.message ?? 'is invalid'}`);
  return result.data;
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

/** Who the CLI is in the audit log: the system, run by this operating-system user. */
function cliActor(command: string): AuditActor {
  return { type: 'system', name: `rmm audit ${command} (command line, OS user ${os.userInfo().username})` };
}

class CannotOpenError extends Error {}

async function openAuditDatabase(values: { 'data-dir'?: string | undefined; 'database-url'?: string | undefined }): Promise<DatabaseHandle> {
  const config = loadServerConfig({ dataDir: values['data-dir'], databaseUrl: values['database-url'] });
  const pgliteDir = path.join(config.dataDir, 'pglite');
  if (!config.databaseUrl && !existsSync(path.join(pgliteDir, 'PG_VERSION'))) {
    throw new CannotOpenError(`no PGlite database in ${pgliteDir} (check --data-dir / RMM_DATA_DIR, or set DATABASE_URL)`);
  }
  return openDatabase({ databaseUrl: config.databaseUrl, pgliteDir, migrate: false });
}

async function requireOrg(db: Db, orgId: string): Promise<{ id: string; name: string }> {
  const org = await db.selectFrom('orgs').select(['id', 'name']).where('id', '=', orgId).executeTakeFirst();
  if (!org) throw new UsageError(`--org: no organisation ${orgId}`);
  return org;
}

function describeChain(report: ChainReport): string {
  return report.orgId === null ? 'the platform (no org)' : `org ${report.orgId}`;
}

type AuditTask =
  | { command: 'verify'; orgId: string | undefined }
  | { command: 'export'; orgId: string; format: 'jsonl' | 'csv'; from: string | undefined; to: string | undefined; out: string | undefined }
  | { command: 'purge'; orgId: string };

/** Every flag is checked before the database is opened. */
function parseTask(command: 'verify' | 'export' | 'purge', values: Record<string, unknown>): AuditTask {
  const org = () => parseFlag(OrgId, 'org', required(values.org, 'org'));
  if (command === 'verify') {
    if (values.org !== undefined && values.all) throw new UsageError('give --org <id> or --all, not both');
    return { command, orgId: values.org === undefined ? undefined : org() };
  }
  if (command === 'purge') return { command, orgId: org() };
  return {
    command,
    orgId: org(),
    format: parseFlag(z.enum(['jsonl', 'csv'], 'must be jsonl or csv'), 'format', required(values.format, 'format')),
    from: values.from === undefined ? undefined : parseFlag(Time, 'from', values.from),
    to: values.to === undefined ? undefined : parseFlag(Time, 'to', values.to),
    out: typeof values.out === 'string' ? path.resolve(values.out) : undefined,
  };
}

async function verify(db: Db, orgId: string | undefined): Promise<number> {
  const reports = orgId === undefined ? await verifyAllAuditChains(db) : [await verifyAuditChain(db, (await requireOrg(db, orgId)).id)];
  let broken = 0;
  for (const report of reports) {
    const { problem } = report;
    if (problem) {
      broken += 1;
      process.stderr.write(`audit chain of ${describeChain(report)} broken at entry #${problem.seq} (${problem.id || 'missing'}): ${problem.message}\n`);
      continue;
    }
    const from = report.checkpoint ? ` after the purge checkpoint at #${report.checkpoint.seq}` : '';
    process.stdout.write(`ok: audit chain of ${describeChain(report)}: ${report.checked} entries verified${from}\n`);
  }
  if (broken > 0) process.stderr.write(`${broken} of ${reports.length} audit chain(s) broken\n`);
  return broken > 0 ? 1 : 0;
}

async function exportLog(db: Db, task: Extract<AuditTask, { command: 'export' }>): Promise<number> {
  const { format, from, to, out } = task;
  const orgId = (await requireOrg(db, task.orgId)).id;
  const now = systemClock.now();
  const plan = await withOrg(db, orgId, async (tx) => {
    await appendAudit(tx, {
      orgId, actor: cliActor('export'), action: 'audit.exported', target: { type: 'org', id: orgId },
      details: { format, from: from ?? null, to: to ?? null }, time: now,
    });
    return planAuditExport(tx, orgId, format, { from, to });
  });
  const stream = auditExportStream(db, plan);
  if (out) {
    await pipeline(stream, createWriteStream(out, { mode: 0o600 }));
    process.stderr.write(`exported ${plan.count} audit entries of org ${orgId} to ${out}\n`);
  } else {
    try {
      await pipeline(stream, process.stdout);
    } catch (err) {
      // The reader went away (`| head`): not a failure of the export.
      if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
    }
  }
  return 0;
}

async function purge(db: Db, task: Extract<AuditTask, { command: 'purge' }>): Promise<number> {
  const orgId = (await requireOrg(db, task.orgId)).id;
  const now = systemClock.now();
  const result = await purgeExpiredAudit(db, orgId, now, (tx, details) =>
    appendAudit(tx, { orgId, actor: cliActor('purge'), action: 'audit.purged', target: { type: 'org', id: orgId }, details, time: now }),
  );
  process.stdout.write(
    result.purged === 0
      ? `nothing to purge in org ${orgId}: no entry older than ${result.before}\n`
      : `purged ${result.purged} audit entries of org ${orgId} older than ${result.before}; the chain now starts after entry #${result.checkpointSeq}\n`,
  );
  return 0;
}

const subcommands = {
  verify: { help: verifyHelp, flags: { org: { type: 'string' }, all: { type: 'boolean' } } },
  export: { help: exportHelp, flags: { org: { type: 'string' }, format: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, out: { type: 'string' } } },
  purge: { help: purgeHelp, flags: { org: { type: 'string' } } },
} as const;

export async function auditCommand(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? process.stderr : process.stdout).write(auditHelp);
    return name === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(subcommands, name)) throw new UsageError(`unknown command '${name}' (verify, export or purge)`);
  const command = name as keyof typeof subcommands;
  const sub = subcommands[command];
  const { values } = parseCommandArgs(rest, { ...dbFlags, ...sub.flags });
  if (values.help) {
    process.stdout.write(sub.help);
    return 0;
  }
  const task = parseTask(command, values);
  let handle: DatabaseHandle;
  try {
    handle = await openAuditDatabase(values);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof DatabaseLockedError || err instanceof CannotOpenError) {
      process.stderr.write(`rmm audit ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  try {
    if (task.command === 'verify') return await verify(handle.db, task.orgId);
    if (task.command === 'export') return await exportLog(handle.db, task);
    return await purge(handle.db, task);
  } finally {
    await handle.close();
  }
}
