import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli';
import { principalForToken } from '../auth/api-token';
import { openDatabase } from '../db/database';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** `rmm user …` in this process, with its output captured. */
async function rmmInProcess(dataDir: string, ...args: string[]) {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const code = await main(['user', ...args, '--data-dir', dataDir]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** `rmm user …` as an operator runs it: its own process, against a PGlite data folder. */
function rmm(dataDir: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [path.join(root, 'bin/rmm.js'), 'user', ...args, '--data-dir', dataDir], { encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('rmm user', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'rmm-cli-user-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('adds an MSP admin and issues a token that authenticates as that admin', async () => {
    const added = rmm(dataDir, 'add', '--staff', '--admin', '--name', 'Ann Admin', '--email', 'ann@msp.example');
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^added Ann Admin <ann@msp.example> [0-9a-f-]{36} \(MSP admin\)$/m);

    const issued = rmm(dataDir, 'token', '--email', 'ANN@msp.example', '--expires-days', '30');
    expect(issued.code).toBe(0);
    const token = issued.stdout.trim();
    expect(token).toMatch(/^rmm_pat_[A-Za-z0-9_-]{43}$/);
    expect(issued.stderr).toContain('shown once');

    const handle = await openDatabase({ pgliteDir: path.join(dataDir, 'pglite'), migrate: true });
    try {
      const principal = await principalForToken(handle.db, token);
      expect(principal).toMatchObject({ displayName: 'Ann Admin', platformAdmin: true, homeOrgId: null });
      // One character changed (the last one is 'A' one time in 16: then another letter).
      expect(await principalForToken(handle.db, `${token.slice(0, -1)}${token.endsWith('A') ? 'E' : 'A'}`)).toBeUndefined();
    } finally {
      await handle.close();
    }
  }, 60_000);

  it('refuses bad input with a message naming the flag and exit code 2, changing nothing', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['add', '--staff', '--name', 'X', '--email', 'not-an-email'], /--email: must be an email address/],
      [['add', '--org', 'No Such Clinic', '--name', 'X', '--email', 'x@example.com'], /--org: no organisation 'No Such Clinic'/],
      [['add', '--staff', '--org', 'x', '--name', 'X', '--email', 'x@example.com'], /exactly one of --org/],
      [['add', '--staff', '--name', 'X', '--email', 'x@example.com', '--role', 'overlord'], /--role/],
      [['token', '--email', 'nobody@example.com'], /--email: no user nobody@example.com/],
      [['frobnicate'], /unknown subcommand 'frobnicate'/],
    ];
    for (const [args, message] of cases) {
      const result = await rmmInProcess(dataDir, ...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
    const listed = await rmmInProcess(dataDir, 'list');
    expect(listed.stdout.trim().split('\n')).toHaveLength(1);
  }, 120_000);

  it('links staff to the staff tenant (add --azure-oid, link), refuses other tenants, and audits each link', async () => {
    const staffTenant = 'd3e0c1a1-0000-4000-8000-00000000aaaa';
    const noTenant = await rmmInProcess(dataDir, 'add', '--staff', '--name', 'Lou Linked', '--email', 'lou@msp.example', '--azure-oid', '0a1d0000-0000-4000-8000-00000000aa01');
    expect(noTenant.code).toBe(2);
    expect(noTenant.stderr).toMatch(/RMM_AUTH_STAFF_TENANT/);
    vi.stubEnv('RMM_AUTH_STAFF_TENANT', staffTenant.toUpperCase());
    try {
      const added = await rmmInProcess(dataDir, 'add', '--staff', '--admin', '--name', 'Lou Linked', '--email', 'lou@msp.example', '--azure-oid', '0a1d0000-0000-4000-8000-00000000aa01');
      expect(added.stderr).toBe('');
      expect(added.stdout).toContain(`linked to Azure AD ${staffTenant} / 0a1d0000-0000-4000-8000-00000000aa01`);
      const wrongTenant = await rmmInProcess(dataDir, 'link', '--email', 'ann@msp.example', '--tid', 'd3e0c1a1-0000-4000-8000-00000000bbbb', '--oid', '0a1d0000-0000-4000-8000-00000000aa02');
      expect(wrongTenant.code).toBe(1);
      expect(wrongTenant.stderr).toMatch(/staff tenant/);
      const badOid = await rmmInProcess(dataDir, 'link', '--email', 'ann@msp.example', '--tid', staffTenant, '--oid', 'nope');
      expect(badOid.code).toBe(2);
      expect(badOid.stderr).toMatch(/--oid: must be an Azure AD object id/);
      const linked = await rmmInProcess(dataDir, 'link', '--email', 'ann@msp.example', '--tid', staffTenant, '--oid', '0a1d0000-0000-4000-8000-00000000aa02');
      expect(linked.stderr).toBe('');
      expect(linked.stdout).toMatch(/^linked ann@msp.example \(staff\)/);
      const taken = await rmmInProcess(dataDir, 'link', '--email', 'ann@msp.example', '--tid', staffTenant, '--oid', '0a1d0000-0000-4000-8000-00000000aa01');
      expect(taken.code).toBe(1);
    } finally {
      vi.unstubAllEnvs();
    }
    const handle = await openDatabase({ pgliteDir: path.join(dataDir, 'pglite'), migrate: true });
    try {
      const links = await handle.db.selectFrom('audit_log').select(['details']).where('action', '=', 'user.identity_linked').execute();
      expect(links.map((l) => l.details)).toEqual([
        { tenantId: staffTenant, objectId: '0a1d0000-0000-4000-8000-00000000aa01', staff: true },
        { tenantId: staffTenant, objectId: '0a1d0000-0000-4000-8000-00000000aa02', staff: true },
      ]);
    } finally {
      await handle.close();
    }
  }, 120_000);

  it('refuses a second user with the same email (case-insensitive) with exit code 1', async () => {
    const again = await rmmInProcess(dataDir, 'add', '--staff', '--name', 'Ann Again', '--email', 'Ann@MSP.example');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
  }, 60_000);
});
