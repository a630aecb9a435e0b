import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPostgresTestDatabase, databaseKinds, type PostgresTestDatabase } from '../../tools/testing/postgres';
import { appendAudit } from '../audit/log';
import { openDatabase, withOrg } from '../db/database';
import { createOrg } from '../orgs/store';
import { UsageError } from './args';
import { auditCommand } from './audit';

/*
 * `rmm audit` in-process against a database the way an operator points it at one: a PGlite data
 * folder (--data-dir) or PostgreSQL (--database-url). The cross-process run on a tampered folder
 * is test/e2e/audit-verify.e2e.ts.
 */

function captureOutput() {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  return { stdout: () => stdout, stderr: () => stderr };
}

describe.each(databaseKinds())('rmm audit on %s', (kind) => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rmm-cli-audit-'));
  let postgres: PostgresTestDatabase | undefined;
  let dbArgs: string[];
  let orgId: string;

  beforeAll(async () => {
    postgres = kind === 'postgres' ? await createPostgresTestDatabase() : undefined;
    dbArgs = postgres ? ['--database-url', postgres.url] : ['--data-dir', tmp];
    const handle = await openDatabase({ databaseUrl: postgres?.url, pgliteDir: postgres ? undefined : path.join(tmp, 'pglite'), migrate: true });
    try {
      orgId = (await createOrg(handle.db, 'CLI Clinic')).id;
      await withOrg(handle.db, orgId, async (tx) => {
        for (let i = 0; i < 3; i++) await appendAudit(tx, { orgId, actor: { type: 'system' }, action: 'unit.activated', time: new Date() });
      });
    } finally {
      await handle.close();
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await postgres?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('verify: every chain, or one org, exit 0', async () => {
    const out = captureOutput();
    expect(await auditCommand(['verify', ...dbArgs])).toBe(0);
    expect(await auditCommand(['verify', '--org', orgId, ...dbArgs])).toBe(0);
    expect(out.stdout()).toContain(`ok: audit chain of org ${orgId}: 3 entries verified`);
    expect(out.stdout()).toContain('ok: audit chain of the platform (no org)');
  });

  it('export: CSV to a file only its owner can read, recorded in the chain', async () => {
    const file = path.join(tmp, 'audit.csv');
    const out = captureOutput();
    expect(await auditCommand(['export', '--org', orgId, '--format', 'csv', '--from', '2000-01-01', '--out', file, ...dbArgs])).toBe(0);
    const lines = readFileSync(file, 'utf8').split('\r\n');
    expect(lines[0]).toMatch(/^seq,id,time,orgId,/);
    expect(lines.filter((l) => l.includes(',unit.activated,'))).toHaveLength(3);
    expect(lines.at(-2)).toContain(',audit.exported,');
    expect(lines.at(-2)).toContain('""from"":""2000-01-01T00:00:00.000Z""');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(out.stderr()).toContain(`exported 4 audit entries of org ${orgId}`);
    expect(await auditCommand(['verify', '--org', orgId, ...dbArgs])).toBe(0);
  });

  it('purge: nothing is older than six years, and the run is recorded', async () => {
    const out = captureOutput();
    expect(await auditCommand(['purge', '--org', orgId, ...dbArgs])).toBe(0);
    expect(out.stdout()).toContain(`nothing to purge in org ${orgId}`);
    expect(await auditCommand(['verify', '--org', orgId, ...dbArgs])).toBe(0);
  });

  it('bad usage is a UsageError (exit 2 from bin/cli.ts), help exits 0', async () => {
    const out = captureOutput();
    await expect(auditCommand(['verify', '--org', orgId, '--all', ...dbArgs])).rejects.toThrow(UsageError);
    await expect(auditCommand(['verify', '--org', 'not-a-uuid', ...dbArgs])).rejects.toThrow(/--org must be an org id/);
    await expect(auditCommand(['export', '--org', orgId, '--format', 'xml', ...dbArgs])).rejects.toThrow(/--format must be jsonl or csv/);
    await expect(auditCommand(['export', '--org', orgId, '--format', 'csv', '--from', 'last week', ...dbArgs])).rejects.toThrow(/--from must be an ISO 8601/);
    await expect(auditCommand(['purge', ...dbArgs])).rejects.toThrow(/--org is required/);
    await expect(auditCommand(['verify', '--bogus'])).rejects.toThrow(UsageError);
    await expect(auditCommand(['shred'])).rejects.toThrow(/unknown command 'shred'/);
    expect(await auditCommand([])).toBe(2);
    for (const sub of ['verify', 'export', 'purge']) {
      expect(await auditCommand([sub, '--help'])).toBe(0);
    }
    expect(out.stdout()).toContain('stop the server first');
  });

  it('a missing PGlite folder is reported, not created', async () => {
    const out = captureOutput();
    const missing = path.join(tmp, 'nowhere');
    expect(await auditCommand(['verify', '--data-dir', missing])).toBe(2);
    expect(out.stderr()).toContain(`no PGlite database in ${path.join(missing, 'pglite')}`);
  });
});
