import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../demo/seed';
import { accessTokenByCodeFlow } from './browser-driver';
import { startDevIdp, type DevIdp } from './dev-idp';
import { DEMO_CLIENT_ID, DEMO_CLINIC_TENANT_ID, DEMO_TENANTS } from './tenants';

const REDIRECT = 'http://localhost:41000/cb';

function accessTokenFor(idp: DevIdp, oid: string): Promise<string> {
  return accessTokenByCodeFlow(idp, { tenantId: DEMO_CLINIC_TENANT_ID, oid, clientId: DEMO_CLIENT_ID, redirectUri: REDIRECT, scope: `openid api://${DEMO_CLIENT_ID}/access_as_user` });
}

/** A Node child process, asynchronously: the provider under test runs in this process. */
function runNode(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', script], { env, timeout: 30_000 }, (err, stdout) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout });
    });
  });
}

const firstUser = DEMO_TENANTS[0]?.users[0]?.oid ?? '';

describe('dev identity provider lifecycle and options', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'rmm-idp-life-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('has one demo user per seeded demo role, with the same names and emails, plus the MSP admin', () => {
    const clinic = DEMO_TENANTS.find((t) => t.id === DEMO_CLINIC_TENANT_ID);
    expect(clinic?.users.map((u) => ({ role: u.label, name: u.name, email: u.email }))).toEqual(DEMO_USERS.map((u) => ({ role: u.role, name: u.name, email: u.email })));
    const oids = DEMO_TENANTS.flatMap((t) => t.users.map((u) => u.oid));
    expect(new Set(oids).size).toBe(oids.length);
    expect(DEMO_TENANTS.find((t) => t.id !== DEMO_CLINIC_TENANT_ID)?.users.map((u) => u.label)).toEqual(['MSP admin']);
  });

  it('takes token times from the injected clock', async () => {
    // Ten minutes back: the certificate is generated with the same clock and must still be valid.
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 600_000);
    const idp = await startDevIdp({ port: 0, clock: { now: () => at }, accessTokenTtlSeconds: 600 });
    try {
      const claims = decodeJwt(await accessTokenFor(idp, firstUser));
      expect(claims.iat).toBe(at.getTime() / 1000);
      expect(claims.nbf).toBe(at.getTime() / 1000);
      expect(claims.exp).toBe(at.getTime() / 1000 + 600);
    } finally {
      await idp.close();
    }
  });

  it('keeps its signing keys and certificate in the data folder across restarts', async () => {
    const first = await startDevIdp({ port: 0, dataDir });
    const kid1 = decodeProtectedHeader(await accessTokenFor(first, firstUser)).kid;
    const cert1 = first.caCert;
    await first.close();
    const second = await startDevIdp({ port: 0, dataDir });
    try {
      expect(decodeProtectedHeader(await accessTokenFor(second, firstUser)).kid).toBe(kid1);
      expect(second.caCert).toBe(cert1);
      expect(second.caCertFile.startsWith(dataDir)).toBe(true);
    } finally {
      await second.close();
    }
  });

  it('is trusted by a Node process through NODE_EXTRA_CA_CERTS, and refused without it', async () => {
    const idp = await startDevIdp({ port: 0, dataDir });
    try {
      const script = `require('node:https').get(${JSON.stringify(`${idp.issuer(DEMO_CLINIC_TENANT_ID)}/.well-known/openid-configuration`)}, (res) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => console.log(JSON.parse(b).issuer)); }).on('error', (e) => { console.log('refused', e.code); process.exit(3); })`;
      const env = { ...process.env };
      delete env.NODE_EXTRA_CA_CERTS;
      const trusted = await runNode(script, { ...env, NODE_EXTRA_CA_CERTS: idp.caCertFile });
      expect(trusted.stdout.trim()).toBe(idp.issuer(DEMO_CLINIC_TENANT_ID));
      const untrusted = await runNode(script, env);
      expect(untrusted.code).toBe(3);
      expect(untrusted.stdout).toContain('refused');
    } finally {
      await idp.close();
    }
  });

  it('listens on loopback only', async () => {
    const idp = await startDevIdp({ port: 0 });
    try {
      expect(idp.url).toBe(`https://127.0.0.1:${idp.port}`);
      const external = Object.values(os.networkInterfaces()).flat().find((a) => a && !a.internal && a.family === 'IPv4')?.address;
      if (external) {
        const outcome = await new Promise<string>((resolve) => {
          const socket = connect({ host: external, port: idp.port }, () => {
            socket.destroy();
            resolve('connected');
          });
          socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        });
        expect(outcome).toBe('ECONNREFUSED');
      }
    } finally {
      await idp.close();
    }
  });

  it('refuses invalid options', async () => {
    const tenant = DEMO_TENANTS[0];
    if (!tenant) throw new Error('no demo tenant');
    await expect(startDevIdp({ port: 70000 })).rejects.toThrow();
    await expect(startDevIdp({ port: 0, tenants: [tenant, tenant] })).rejects.toThrow(/unique/);
    await expect(startDevIdp({ port: 0, tenants: [{ ...tenant, id: 'not-a-guid' }] })).rejects.toThrow();
    await expect(startDevIdp({ port: 0, tenants: [{ ...tenant, users: [] }] })).rejects.toThrow();
    await expect(startDevIdp({ port: 0, clientId: 'console' })).rejects.toThrow();
  });
});
