import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditEntry } from '../../protocol/audit-actions';
import { loadServerConfig } from '../../server/config';
import { startServer, type RunningServer } from '../../server/server';

/*
 * `rmm audit verify` as an operator runs it: its own process (`node bin/rmm.js`), on the PGlite
 * data folder a real server wrote through its API. While the server runs the folder is locked
 * (exit 2, saying why); after it stops the chains verify (exit 0); after one row is changed
 * behind the app's back, verify exits 1 naming that entry.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function rmm(args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    delete env.RMM_CONFIG_FILE;
    const child = spawn(process.execPath, [path.join(root, 'bin/rmm.js'), ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('rmm audit verify, in its own process, on a PGlite data folder', () => {
  let dataDir: string;
  let server: RunningServer | undefined;
  let orgId: string;
  let otherOrgId: string;

  async function api(method: string, pathname: string, body?: unknown): Promise<unknown> {
    const running = server;
    if (!running) throw new Error('the server is not running');
    const token = readFileSync(running.operatorTokenFile, 'utf8').trim();
    const ca = readFileSync(running.certFile, 'utf8');
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (payload !== undefined) headers['content-type'] = 'application/json';
      const req = https.request(new URL(pathname, running.url), { method, headers, ca }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => ((res.statusCode ?? 0) < 300 ? resolve(JSON.parse(text)) : reject(new Error(`${method} ${pathname}: ${res.statusCode} ${text}`))));
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'rmm-e2e-audit-'));
    server = await startServer(loadServerConfig({}, { RMM_PORT: '0', RMM_DATA_DIR: dataDir, RMM_LOG_LEVEL: 'silent' }));
    orgId = ((await api('POST', '/api/orgs', { name: 'Tamper Clinic' })) as { id: string }).id;
    otherOrgId = ((await api('POST', '/api/orgs', { name: 'Untouched Clinic' })) as { id: string }).id;
    for (const name of ['Front desk', 'Ward 1', 'Ward 2']) {
      await api('POST', `/api/orgs/${orgId}/units`, { name, parentId: null });
      await api('POST', `/api/orgs/${otherOrgId}/units`, { name, parentId: null });
    }
  });

  afterAll(async () => {
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses to open the database while the server has it, and says to stop the server', async () => {
    const result = await rmm(['audit', 'verify', '--data-dir', dataDir]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/locked: process \d+ .*has it open.*stop the server first/);
  });

  it('verifies every chain once the server has stopped (exit 0)', async () => {
    await server?.close();
    server = undefined;
    const result = await rmm(['audit', 'verify', '--data-dir', dataDir]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`ok: audit chain of org ${orgId}: 4 entries verified`);
    expect(result.stdout).toContain(`ok: audit chain of org ${otherOrgId}: 4 entries verified`);
  });

  it('exits 1 naming the changed entry after a row is tampered with, leaving the other org verified', async () => {
    // The attacker has the database owner's password: triggers off, one row rewritten.
    const pglite = new PGlite(path.join(dataDir, 'pglite'));
    let tamperedId: string;
    try {
      const { rows } = await pglite.query<{ id: string }>('SELECT id FROM audit_log WHERE org_id = $1 AND seq = 2', [orgId]);
      tamperedId = rows[0]?.id ?? '';
      await pglite.exec(`
        BEGIN;
        SET LOCAL session_replication_role = replica;
        UPDATE audit_log SET details = jsonb_set(details, '{name}', '"Renamed"') WHERE id = '${tamperedId}';
        COMMIT;`);
    } finally {
      await pglite.close();
    }
    expect(tamperedId).toMatch(/^[0-9a-f-]{36}$/);

    const result = await rmm(['audit', 'verify', '--data-dir', dataDir]);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toContain(`audit chain of org ${orgId} broken at entry #2 (${tamperedId}): entry #2 was changed after it was written`);
    expect(result.stdout).toContain(`ok: audit chain of org ${otherOrgId}: 4 entries verified`);

    const onlyOther = await rmm(['audit', 'verify', '--org', otherOrgId, '--data-dir', dataDir]);
    expect(onlyOther.code).toBe(0);
  });

  it('exports the org as JSON lines to stdout, with the tampered entry exactly as stored, and records the export', async () => {
    const result = await rmm(['audit', 'export', '--org', orgId, '--format', 'jsonl', '--data-dir', dataDir]);
    expect(result.code, result.stderr).toBe(0);
    const entries = result.stdout.trimEnd().split('\n').map((line) => AuditEntry.parse(JSON.parse(line)));
    expect(entries.map((e) => e.action)).toEqual(['org.created', 'unit.created', 'unit.created', 'unit.created', 'audit.exported']);
    expect(entries[1]?.details).toMatchObject({ name: 'Renamed' });
    expect(entries.at(-1)?.actorName).toMatch(/^rmm audit export \(command line, OS user .+\)$/);

    const usage = await rmm(['audit', 'export', '--org', orgId, '--data-dir', dataDir]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--format is required');
  });
});
