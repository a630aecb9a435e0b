import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../server/mfa/testing';
import { getTestServer, type TestServer } from '../server/test-support';
import { databaseKinds } from '../tools/testing/postgres';
import { realServerConsoles } from './test-support/real-server-consoles';

/*
 * The script library channels against a real server (in-process, PGlite and PostgreSQL), through
 * the same dispatch Electron and the browser host use: a technician writes a script and its next
 * version, a viewer reads but cannot write, deciding needs scripts.approve and a step-up proof
 * that main attaches once, and the author (even an MSP admin) is refused with own_script.
 */

describe.each(databaseKinds())('script handlers against the server on %s', (kind) => {
  let t: TestServer;
  let dir: string;
  let orgId: string;
  let siteId: string;
  const { open, value, refusal, stopAll } = realServerConsoles(() => ({ t, dir }));
  const backupCodes: string[] = [];

  /** What the console's step-up dialog does: prove a second factor for scripts.approve. */
  async function stepUp(): Promise<void> {
    const backupCode = backupCodes.pop();
    if (!backupCode) throw new Error('out of backup codes');
    expect(await value('admin', 'mfa.stepUp', { action: 'scripts.approve', backupCode })).toMatchObject({ action: 'scripts.approve' });
  }

  beforeAll(async () => {
    t = await getTestServer(kind);
    dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-console-scripts-'));
    orgId = (await t.buildOrg('Lakeside Clinic')).id;
    siteId = (await t.buildUnit(orgId, 'Main Street', null)).id;
    const tech = await t.buildUser({ orgId, role: 'tech', unitId: siteId, name: 'Tess Tech' });
    const viewer = await t.buildUser({ orgId, role: 'viewer', unitId: null, name: 'Vic Viewer' });
    const techFile = path.join(dir, 'tech-token');
    const viewerFile = path.join(dir, 'viewer-token');
    writeFileSync(techFile, tech.token, { mode: 0o600 });
    writeFileSync(viewerFile, viewer.token, { mode: 0o600 });
    await open('admin', undefined); // the operator: an MSP admin
    await open('tech', techFile);
    await open('viewer', viewerFile);
    const started = await value('admin', 'mfa.enrol', {});
    const { backupCodes: codes } = await value('admin', 'mfa.confirm', { code: await totpCode(started.secret, t.server.context.clock.now()) });
    backupCodes.push(...codes);
  });

  afterAll(async () => {
    await stopAll();
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes, reads and decides scripts: step-up once per decision, never by the author', async () => {
    const content = { body: 'Restart-Service -Name Spooler', parameters: [{ name: 'Force', type: 'boolean' as const, required: false }], timeoutSeconds: 60 };
    const created = await value('tech', 'scripts.create', { orgId, unitId: siteId, name: 'Restart spooler', language: 'powershell', ...content });
    const scriptId = created.script.id;
    expect(created.versions).toMatchObject([{ version: 1, status: 'pending', authorName: 'Tess Tech', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    const v2 = await value('tech', 'scripts.addVersion', { orgId, scriptId, ...content, body: `${content.body} -Force` });
    expect(v2).toMatchObject({ version: 2, status: 'pending' });
    expect(await refusal('tech', 'scripts.addVersion', { orgId, scriptId, ...content })).toBe('conflict'); // same content as version 1

    // The viewer reads the library and every version, and may not write.
    const listed = await value('viewer', 'scripts.list', { orgId });
    expect(listed.scripts.map((s) => [s.name, s.latestVersion, s.pendingVersions])).toEqual([['Restart spooler', 2, 2]]);
    expect((await value('viewer', 'scripts.get', { orgId, scriptId })).versions.map((v) => v.version)).toEqual([2, 1]);
    expect(await refusal('viewer', 'scripts.create', { orgId, unitId: null, name: 'Nope', language: 'bash', body: 'true', parameters: [], timeoutSeconds: 5 })).toBe('forbidden');
    expect(await refusal('viewer', 'scripts.addVersion', { orgId, scriptId, ...content, body: 'x' })).toBe('forbidden');

    // Deciding: a technician lacks scripts.approve; the admin needs a proof, which one call uses up.
    expect(await refusal('tech', 'scripts.approve', { orgId, scriptId, version: 1, reason: 'mine' })).toBe('forbidden');
    expect(await refusal('admin', 'scripts.approve', { orgId, scriptId, version: 1, reason: 'Reviewed' })).toBe('step_up_required');
    await stepUp();
    expect(await value('admin', 'scripts.approve', { orgId, scriptId, version: 1, reason: 'Reviewed' })).toMatchObject({ version: 1, status: 'approved', decidedByName: 'Operator', reason: 'Reviewed' });
    expect(await refusal('admin', 'scripts.reject', { orgId, scriptId, version: 2, reason: 'Force is risky' })).toBe('step_up_required');
    await stepUp();
    expect(await value('admin', 'scripts.reject', { orgId, scriptId, version: 2, reason: 'Force is risky' })).toMatchObject({ version: 2, status: 'rejected' });
    await stepUp();
    expect(await refusal('admin', 'scripts.approve', { orgId, scriptId, version: 2, reason: 'changed my mind' })).toBe('conflict');
    expect((await value('tech', 'scripts.get', { orgId, scriptId })).script).toMatchObject({ latestVersion: 2, latestApprovedVersion: 1, pendingVersions: 0 });

    // The admin's own script: past step-up, the server refuses its author.
    const own = await value('admin', 'scripts.create', { orgId, unitId: null, name: 'Flush DNS', language: 'powershell', body: 'ipconfig /flushdns', parameters: [], timeoutSeconds: 30 });
    await stepUp();
    expect(await refusal('admin', 'scripts.approve', { orgId, scriptId: own.script.id, version: 1, reason: 'fine' })).toBe('own_script');
    await stepUp();
    expect(await refusal('admin', 'scripts.reject', { orgId, scriptId: own.script.id, version: 1, reason: 'fine' })).toBe('own_script');
    expect((await value('viewer', 'scripts.get', { orgId, scriptId: own.script.id })).versions[0]).toMatchObject({ status: 'pending', decidedBy: null });
  }, 60_000);
});
