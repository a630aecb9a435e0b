/*
 * Audit append throughput: hash-chained entries (appendAudit: lock the org's head row, hash,
 * INSERT, move the head) against a baseline of plain INSERTs into an unchained table with no
 * hash, on embedded PGlite (a data folder on disk) and on a throwaway PostgreSQL server with
 * durable commits (fsync on). Each variant runs one entry per transaction, as the app writes
 * them, and batched. Also how fast the verifier walks what was written.
 *
 *   npx tsx bench/audit-append.ts [--entries 2000] [--batch 100] [--rounds 3] [--only pglite|postgres]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CompiledQuery, sql } from 'kysely';
import pg from 'pg';
import { appendAudit, type AuditRecord } from '../server/audit/log';
import { verifyAuditChain } from '../server/audit/verify';
import { openDatabase, withOrg, type DatabaseHandle, type Db, type Tx } from '../server/db/database';
import { createOrg } from '../server/orgs/store';
import { postgresUnavailableReason, startThrowawayCluster } from '../tools/testing/postgres-cluster';

const { values: flags } = parseArgs({
  options: { entries: { type: 'string', default: '2000' }, batch: { type: 'string', default: '100' }, rounds: { type: 'string', default: '3' }, only: { type: 'string' } },
});
const ENTRIES = Number(flags.entries);
const BATCH = Number(flags.batch);
/** Each variant runs this many times (a fresh org each) and the median is reported: shared machines are noisy. */
const ROUNDS = Number(flags.rounds);
const WARMUP = 50;
if (![ENTRIES, BATCH, ROUNDS].every((n) => Number.isInteger(n) && n >= 1)) throw new Error('--entries, --batch and --rounds must be positive integers');

interface Row {
  database: string;
  variant: string;
  entries: number;
  seconds: number;
}

const BASELINE_TABLE = `
  CREATE TABLE bench_audit_plain (
    id uuid PRIMARY KEY, org_id uuid, time timestamptz NOT NULL, actor_type text NOT NULL, actor_id text,
    actor_name text NOT NULL, action text NOT NULL, target_type text, target_id text, outcome text NOT NULL,
    source_ip text, user_agent text, details jsonb NOT NULL
  )`;

/** A typical entry: a user creating a job, with details, source address and user agent. */
function record(orgId: string, i: number): AuditRecord<'job.created'> {
  return {
    orgId,
    actor: { type: 'user', id: '4b0f3c9e-8a51-4e0e-9d7a-0c2f1f3b6a11', name: 'Dana Technician' },
    action: 'job.created',
    target: { type: 'job', id: randomUUID() },
    details: { scriptSha256: 'a'.repeat(64), targets: (i % 7) + 1 },
    source: { ip: '10.20.30.40', userAgent: 'rmm-console/0.1.0' },
    time: new Date(),
  };
}

async function appendChained(tx: Tx, orgId: string, i: number): Promise<void> {
  await appendAudit(tx, record(orgId, i));
}

async function insertPlain(tx: Tx, orgId: string, i: number): Promise<void> {
  const r = record(orgId, i);
  await sql`INSERT INTO bench_audit_plain (id, org_id, time, actor_type, actor_id, actor_name, action, target_type, target_id, outcome, source_ip, user_agent, details)
    VALUES (${randomUUID()}, ${orgId}, ${r.time}, 'user', ${r.actor.type === 'system' ? null : r.actor.id}, ${r.actor.name ?? 'system'}, ${r.action},
            ${r.target?.type ?? null}, ${r.target?.id ?? null}, 'success', ${r.source?.ip ?? null}, ${r.source?.userAgent ?? null}, ${JSON.stringify(r.details)})`.execute(tx);
}

type Write = (tx: Tx, orgId: string, i: number) => Promise<void>;

/** `count` entries in transactions of `perTx`, each scoped to the org like the app's. */
async function run(db: Db, orgId: string, write: Write, count: number, perTx: number): Promise<number> {
  const started = performance.now();
  for (let done = 0; done < count; done += perTx) {
    const n = Math.min(perTx, count - done);
    await withOrg(db, orgId, async (tx) => {
      for (let i = 0; i < n; i++) await write(tx, orgId, done + i);
    });
  }
  return (performance.now() - started) / 1000;
}

async function benchDatabase(label: string, handle: DatabaseHandle, asOwner: (text: string) => Promise<void>): Promise<Row[]> {
  await asOwner(BASELINE_TABLE);
  await asOwner('GRANT SELECT, INSERT ON bench_audit_plain TO rmm_app');
  const rows: Row[] = [];
  const variants: Array<[string, Write, number]> = [
    ['plain INSERT (baseline), 1 per tx', insertPlain, 1],
    ['hash-chained append, 1 per tx', appendChained, 1],
    [`plain INSERT (baseline), ${BATCH} per tx`, insertPlain, BATCH],
    [`hash-chained append, ${BATCH} per tx`, appendChained, BATCH],
  ];
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] ?? Number.NaN;
  for (const [variant, write, perTx] of variants) {
    const runs: number[] = [];
    const verifies: number[] = [];
    let verified = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const org = await createOrg(handle.db, `bench ${variant} ${round}`);
      await run(handle.db, org.id, write, WARMUP, perTx);
      const seconds = await run(handle.db, org.id, write, ENTRIES, perTx);
      runs.push(seconds);
      process.stderr.write(`  ${label}: ${variant}: ${(ENTRIES / seconds).toFixed(0)} entries/s\n`);
      if (write === appendChained && perTx === 1) {
        const started = performance.now();
        const report = await verifyAuditChain(handle.db, org.id);
        if (!report.ok) throw new Error(`the chain written by the benchmark does not verify: ${report.problem?.message ?? ''}`);
        verifies.push((performance.now() - started) / 1000);
        verified = report.checked;
      }
    }
    rows.push({ database: label, variant, entries: ENTRIES, seconds: median(runs) });
    if (verifies.length > 0) rows.push({ database: label, variant: 'verify (read + check chain)', entries: verified, seconds: median(verifies) });
  }
  return rows;
}

async function benchPglite(): Promise<Row[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-bench-pglite-'));
  const handle = await openDatabase({ pgliteDir: path.join(dir, 'pglite'), migrate: true });
  try {
    // PGlite is one session: become the owner briefly, as server/db/testing.ts does.
    const asOwner = (text: string) =>
      handle.db.connection().execute(async (conn) => {
        await sql`RESET ROLE`.execute(conn);
        try {
          await conn.executeQuery(CompiledQuery.raw(text));
        } finally {
          await sql`SET ROLE rmm_app`.execute(conn);
        }
      });
    return await benchDatabase('PGlite (data folder on disk)', handle, asOwner);
  } finally {
    await handle.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchPostgres(): Promise<Row[]> {
  const unavailable = postgresUnavailableReason();
  if (unavailable) {
    process.stderr.write(`PostgreSQL skipped: ${unavailable}\n`);
    return [];
  }
  // Durable commits, as in production (the test cluster turns them off for speed).
  const cluster = await startThrowawayCluster({ settings: { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on' } });
  const owner = new pg.Pool({ connectionString: cluster.url, max: 1 });
  let handle: DatabaseHandle | undefined;
  try {
    const version = (await owner.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version.split(' ')[0] ?? '?';
    handle = await openDatabase({ databaseUrl: cluster.url, migrate: true });
    const asOwner = async (text: string) => {
      await owner.query(text);
    };
    return await benchDatabase(`PostgreSQL ${version} (fsync on)`, handle, asOwner);
  } finally {
    await handle?.close();
    await owner.end();
    await cluster.stop();
  }
}

function printTable(rows: Row[]): void {
  const table = [['database', 'variant', 'entries', 'seconds', 'entries/s'], ...rows.map((r) => [r.database, r.variant, String(r.entries), r.seconds.toFixed(2), (r.entries / r.seconds).toFixed(0)])];
  const widths = table[0]?.map((_, c) => Math.max(...table.map((row) => row[c]?.length ?? 0))) ?? [];
  const line = (row: string[]) => `| ${row.map((cell, c) => (c >= 2 ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0))).join(' | ')} |`;
  const [header, ...body] = table;
  if (!header) return;
  process.stdout.write(`${[line(header), `|${widths.map((w, c) => (c >= 2 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`, ...body.map(line)].join('\n')}\n`);
}

process.stderr.write(`audit append benchmark: ${ENTRIES} entries per variant (after ${WARMUP} warm-up), batches of ${BATCH}, median of ${ROUNDS} round(s); node ${process.version}, ${os.cpus().length} CPU(s), load ${os.loadavg()[0]?.toFixed(1) ?? '?'}\n`);
const rows: Row[] = [];
if (flags.only !== 'postgres') rows.push(...(await benchPglite()));
if (flags.only !== 'pglite') rows.push(...(await benchPostgres()));
printTable(rows);
