import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli';
import { httpsRequest } from './browser-driver';
import { DEMO_CLINIC_TENANT_ID, DEMO_MSP_TENANT_ID } from './tenants';

const root = fileURLToPath(new URL('../../', import.meta.url));
const rmmJs = path.join(root, 'bin/rmm.js');

/** `rmm idp …` in this process, with its output captured (for what exits before listening). */
async function rmm(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const code = await main(['idp', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('rmm idp', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'rmm-cli-idp-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints its help with exit 0', async () => {
    const result = await rmm('--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: rmm idp');
    expect(result.stdout).toContain('no password');
  });

  it('exits 2 on an unknown flag or a bad port', async () => {
    for (const args of [['--bogus'], ['--port', 'abc'], ['--port', '70000'], ['--port', '-1'], ['--port']]) {
      const result = await rmm(...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain('rmm idp:');
    }
  });

  it('serves the demo tenants, prints their issuers, the organizations authority and the CA file, keeps its keys 0600, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [rmmJs, 'idp', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const started = Date.now();
      while (!stdout.includes('CA file') && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 100));
      const issuers = [...stdout.matchAll(/https:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]{36}\/v2\.0/g)].map((m) => m[0]);
      expect(issuers.some((i) => i.includes(DEMO_CLINIC_TENANT_ID))).toBe(true);
      expect(issuers.some((i) => i.includes(DEMO_MSP_TENANT_ID))).toBe(true);
      const caFile = /CA file\s+(\S+)/.exec(stdout)?.[1] ?? '';
      expect(caFile.startsWith(dataDir)).toBe(true);

      const organizations = /https:\/\/127\.0\.0\.1:\d+\/organizations\/v2\.0/.exec(stdout)?.[0] ?? '';
      const meta = await httpsRequest(`${organizations}/.well-known/openid-configuration`, { ca: readFileSync(caFile, 'utf8') });
      expect(JSON.parse(meta.body)).toMatchObject({ issuer: organizations.replace('/organizations/', '/{tenantid}/'), token_endpoint: `${organizations}/token` });

      const issuer = issuers[0] ?? '';
      const res = await httpsRequest(`${issuer}/.well-known/openid-configuration`, { ca: readFileSync(caFile, 'utf8') });
      expect(JSON.parse(res.body)).toMatchObject({ issuer });
      expect(statSync(path.join(dataDir, 'idp-keys.json')).mode & 0o777).toBe(0o600);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
