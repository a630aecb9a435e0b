import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditEntry } from '../protocol/audit-actions';
import type { AuditExportProgress } from '../protocol/ipc-contract';
import { databaseKinds } from '../tools/testing/postgres';
import { getTestServer, type TestServer } from '../server/test-support';
import { totpCode } from '../server/mfa/testing';
import { TOTP_PERIOD_SECONDS } from '../server/mfa/totp';
import type { StepUpAction } from '../protocol/mfa';
import { realServerConsoles } from './test-support/real-server-consoles';

/*
 * The console's handler map against a real server (in-process, PGlite and PostgreSQL): sign-in
 * with any user's token file, entering an org, the unit tree, members and grants, settings,
 * the personal workspace and the audit log (pages and a real streamed export). What a role may
 * not do comes back as the server's `forbidden`. Sensitive changes need a step-up: the admin
 * enrols TOTP through the console (`mfa.enrol`, a first code from the secret, `mfa.confirm`) and
 * proves it (`mfa.stepUp`) before each, as the console's step-up dialog does.
 */

describe.each(databaseKinds())('console handlers against the server on %s', (kind) => {
  let t: TestServer;
  let dir: string;
  let orgId: string;
  let otherOrgId: string;
  let siteId: string;
  let examId: string;
  let annexId: string;
  let techId: string;
  const { consoles, open, value, refusal, stopAll } = realServerConsoles(() => ({ t, dir }));


  /** The admin's backup codes from enrolling (one per step-up: a TOTP code works once per 30 s step). */
  const backupCodes: string[] = [];
  async function enrolAdmin(): Promise<void> {
    expect(await value('admin', 'mfa.status', {})).toMatchObject({ enrolled: false, pending: false });
    const started = await value('admin', 'mfa.enrol', {});
    expect(started.otpauthUri).toContain(started.secret);
    expect(await value('admin', 'mfa.status', {})).toMatchObject({ enrolled: false, pending: true });
    expect(await refusal('admin', 'mfa.confirm', { code: '000000' })).toBe('mfa_code_invalid');
    const now = t.server.context.clock.now();
    const { backupCodes: codes } = await value('admin', 'mfa.confirm', { code: await totpCode(started.secret, now) });
    expect(codes).toHaveLength(10);
    backupCodes.push(...codes);
    expect(await value('admin', 'mfa.status', {})).toMatchObject({ enrolled: true, backupCodesRemaining: 10 });
    // The next time step's code is a valid second factor (±1 step) and not a replay of the first.
    const next = await totpCode(started.secret, new Date(now.getTime() + TOTP_PERIOD_SECONDS * 1000));
    expect(await value('admin', 'mfa.stepUp', { action: 'grants.change', code: next })).toEqual({ action: 'grants.change', expiresAt: expect.any(String) });
    expect(await refusal('admin', 'mfa.stepUp', { action: 'grants.change', code: next })).toBe('mfa_code_invalid');
  }
  /** What the console does after a step_up_required: prove the factor for that action. */
  async function stepUp(action: StepUpAction): Promise<void> {
    const backupCode = backupCodes.pop();
    if (!backupCode) throw new Error('out of backup codes');
    expect(await value('admin', 'mfa.stepUp', { action, backupCode })).toMatchObject({ action });
  }

  beforeAll(async () => {
    t = await getTestServer(kind);
    dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-console-handlers-'));
    orgId = (await t.buildOrg('Lakeside Clinic')).id;
    otherOrgId = (await t.buildOrg('Maple Grove')).id;
    siteId = (await t.buildUnit(orgId, 'Main Street', null)).id;
    examId = (await t.buildUnit(orgId, 'Exam rooms', siteId)).id;
    annexId = (await t.buildUnit(orgId, 'Annex', null)).id;
    const tech = await t.buildUser({ orgId, role: 'tech', unitId: siteId, name: 'Tess Tech' });
    techId = tech.userId;
    const viewer = await t.buildUser({ orgId, role: 'viewer', unitId: null, name: 'Vic Viewer' });
    const techFile = path.join(dir, 'tech-token');
    const viewerFile = path.join(dir, 'viewer-token');
    writeFileSync(techFile, `${tech.token}\n`, { mode: 0o600 });
    writeFileSync(viewerFile, viewer.token, { mode: 0o600 });
    await open('admin', undefined); // defaults to the operator token
    await open('tech', techFile);
    await open('viewer', viewerFile);
    await enrolAdmin();
  });

  afterAll(async () => {
    await stopAll();
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('signs in as the owner of the token file: the operator by default, or any user', async () => {
    expect((await value('admin', 'me.get', {})).user).toMatchObject({ displayName: 'Operator', platformAdmin: true });
    expect((await value('tech', 'me.get', {})).user).toMatchObject({ id: techId, displayName: 'Tess Tech', platformAdmin: false });
    expect((await value('viewer', 'orgs.list', {})).orgs.map((o) => o.id)).toEqual([orgId]);
    expect((await value('admin', 'orgs.list', {})).orgs.map((o) => o.id)).toEqual(expect.arrayContaining([orgId, otherOrgId]));
  });

  it('enters an org (audited as org.entered) and answers what the caller may do per unit', async () => {
    const access = await value('tech', 'orgs.enter', { orgId });
    expect(access.org).toEqual(['org.read']);
    expect(access.units[examId]).toEqual(expect.arrayContaining(['agents.read', 'workspace.share']));
    expect(access.units[examId]).not.toContain('units.activate');
    expect(access.units[annexId] ?? []).toEqual([]);
    expect(await value('tech', 'orgs.access', { orgId })).toEqual(access);
    const rows = await t.database.ownerQuery('SELECT actor_name FROM audit_log WHERE org_id = $1 AND action = $2', [orgId, 'org.entered']);
    expect(rows.map((r) => r.actor_name)).toContain('Tess Tech');
    expect(await refusal('tech', 'orgs.enter', { orgId: otherOrgId })).toBe('not_found');
  });

  it('creates, renames, activates and deactivates units; new units are read-only', async () => {
    const unit = await value('admin', 'units.create', { orgId, name: 'Lab', parentId: siteId });
    expect(unit).toMatchObject({ name: 'Lab', parentId: siteId, readOnly: true });
    expect(await value('admin', 'units.rename', { orgId, unitId: unit.id, name: 'Laboratory' })).toMatchObject({ name: 'Laboratory' });
    expect((await value('admin', 'units.activate', { orgId, unitId: unit.id })).readOnly).toBe(false);
    expect((await value('admin', 'units.deactivate', { orgId, unitId: unit.id })).readOnly).toBe(true);
    expect((await value('viewer', 'units.list', { orgId })).units.find((u) => u.id === unit.id)?.name).toBe('Laboratory');
  });

  it('refuses unit changes the caller’s role does not allow, with the server’s code', async () => {
    expect(await refusal('tech', 'units.activate', { orgId, unitId: examId })).toBe('forbidden');
    expect(await refusal('tech', 'units.create', { orgId, name: 'Nope', parentId: examId })).toBe('forbidden');
    expect(await refusal('viewer', 'units.rename', { orgId, unitId: siteId, name: 'Nope' })).toBe('forbidden');
    expect(await refusal('viewer', 'units.deactivate', { orgId, unitId: siteId })).toBe('forbidden');
    // Refused before the server is asked: the contract parses every request.
    expect(await refusal('admin', 'units.rename', { orgId, unitId: siteId, name: '   ' })).toBe('validation_failed');
    expect(await refusal('admin', 'units.activate', { orgId, unitId: '../../orgs' })).toBe('validation_failed');
  });

  it('adds a member, grants a role at a unit, lists and revokes it', async () => {
    const member = await value('admin', 'users.create', { orgId, displayName: 'Sam Locum', email: 'sam@lakeside.example' });
    expect(member).toMatchObject({ orgId, displayName: 'Sam Locum' });
    expect((await value('viewer', 'users.list', { orgId })).users.map((u) => u.displayName)).toEqual(expect.arrayContaining(['Sam Locum', 'Tess Tech']));
    // enrolAdmin left a proof for grants.change: this call takes it.
    const grant = await value('admin', 'grants.create', { orgId, userId: member.id, role: 'tech', unitId: siteId });
    expect(grant).toMatchObject({ userId: member.id, role: 'tech', unitId: siteId });
    expect((await value('viewer', 'grants.list', { orgId })).grants.map((g) => g.id)).toContain(grant.id);
    expect(await refusal('viewer', 'grants.revoke', { orgId, grantId: grant.id })).toBe('forbidden');
    expect(await refusal('tech', 'users.create', { orgId, displayName: 'X', email: 'x@lakeside.example' })).toBe('forbidden');
    // The proof was used up: the next change asks again, and a proof for another action does not do.
    expect(await refusal('admin', 'grants.revoke', { orgId, grantId: grant.id })).toBe('step_up_required');
    await stepUp('mfa.reset');
    expect(await refusal('admin', 'grants.revoke', { orgId, grantId: grant.id })).toBe('step_up_required');
    await stepUp('grants.change');
    expect(await value('admin', 'grants.revoke', { orgId, grantId: grant.id })).toMatchObject({ id: grant.id });
    expect((await value('admin', 'grants.list', { orgId })).grants.map((g) => g.id)).not.toContain(grant.id);
  });

  it('reads the retention setting; only org.settings changes it', async () => {
    expect(await value('viewer', 'settings.get', { orgId })).toEqual({ auditRetentionDays: 2192 });
    expect(await refusal('viewer', 'settings.update', { orgId, auditRetentionDays: 3000 })).toBe('forbidden');
    expect(await refusal('admin', 'settings.update', { orgId, auditRetentionDays: 3000 })).toBe('step_up_required');
    await stepUp('org.security_settings');
    expect(await value('admin', 'settings.update', { orgId, auditRetentionDays: 3000 })).toEqual({ auditRetentionDays: 3000 });
    expect(await refusal('admin', 'settings.update', { orgId, auditRetentionDays: 30 })).toBe('validation_failed');
  });

  it('reads and changes the org’s sign-in settings with a step-up', async () => {
    const identity = await value('viewer', 'identity.get', { orgId });
    expect(identity).toMatchObject({ azureTenantId: null, sessionIdleMinutes: 15 });
    const next = { ...identity, sessionIdleMinutes: 10 };
    expect(await refusal('viewer', 'identity.update', { orgId, ...next })).toBe('forbidden');
    expect(await refusal('admin', 'identity.update', { orgId, ...next })).toBe('step_up_required');
    await stepUp('org.security_settings');
    expect(await value('admin', 'identity.update', { orgId, ...next })).toMatchObject({ sessionIdleMinutes: 10 });
    expect(await value('viewer', 'identity.get', { orgId })).toMatchObject({ sessionIdleMinutes: 10 });
  });

  it('keeps workspace items private until shared into a unit, where readers of that unit see them', async () => {
    const item = await value('tech', 'workspace.create', { kind: 'script', title: 'Clear print queue', language: 'powershell', body: 'Get-PrintJob | Remove-PrintJob' });
    expect(await value('tech', 'workspace.update', { itemId: item.id, body: 'Stop-Service Spooler' })).toMatchObject({ body: 'Stop-Service Spooler', shares: [] });
    expect((await value('viewer', 'workspace.shared', { orgId })).items.map((i) => i.id)).not.toContain(item.id);
    expect((await value('admin', 'workspace.list', {})).items.map((i) => i.id)).not.toContain(item.id);

    const shared = await value('tech', 'workspace.share', { orgId, unitId: examId, itemId: item.id });
    expect(shared.shares).toEqual([expect.objectContaining({ orgId, unitId: examId })]);
    expect((await value('viewer', 'workspace.shared', { orgId })).items).toContainEqual(expect.objectContaining({ id: item.id, unitId: examId, ownerName: 'Tess Tech' }));
    expect(await refusal('tech', 'workspace.share', { orgId, unitId: annexId, itemId: item.id })).toBe('forbidden');
    expect(await refusal('viewer', 'workspace.share', { orgId, unitId: examId, itemId: item.id })).toBe('forbidden');
    expect(await refusal('viewer', 'workspace.unshare', { orgId, unitId: examId, itemId: item.id })).toBe('forbidden');

    expect((await value('tech', 'workspace.unshare', { orgId, unitId: examId, itemId: item.id })).shares).toEqual([]);
    expect(await value('tech', 'workspace.delete', { itemId: item.id })).toMatchObject({ id: item.id });
    expect((await value('tech', 'workspace.list', {})).items).toEqual([]);
    expect(await refusal('tech', 'workspace.update', { itemId: item.id, title: 'Gone' })).toBe('not_found');
  });

  it('pages the audit log with filters, newest first, by keyset', async () => {
    const first = await value('viewer', 'audit.list', { orgId, limit: 3 });
    expect(first.entries).toHaveLength(3);
    expect(first.nextBefore).not.toBeNull();
    const seqs = first.entries.map((e) => e.seq);
    expect([...seqs].sort((a, b) => b - a)).toEqual(seqs);
    const second = await value('viewer', 'audit.list', { orgId, limit: 3, before: first.nextBefore ?? undefined });
    expect(Math.max(...second.entries.map((e) => e.seq))).toBeLessThan(Math.min(...seqs));

    const grants = await value('viewer', 'audit.list', { orgId, action: 'grant.created', actor: 'Operator' });
    expect(grants.entries.length).toBeGreaterThanOrEqual(1);
    expect(new Set(grants.entries.map((e) => e.action))).toEqual(new Set(['grant.created']));
    const denied = await value('admin', 'audit.list', { orgId, outcome: 'denied', actor: 'Vic Viewer' });
    expect(denied.entries.length).toBeGreaterThanOrEqual(1);
    expect(await refusal('tech', 'audit.list', { orgId })).toBe('forbidden');
  });

  it('streams a real export to a file with progress up to X-Audit-Entries; a role without audit.export fails', async () => {
    const progress: AuditExportProgress[] = [];
    consoles.admin?.events.subscribe((envelope) => {
      if (envelope.event === 'audit.exportProgress') progress.push(envelope.payload);
    });
    expect(await refusal('admin', 'audit.export', { orgId, format: 'jsonl' })).toBe('step_up_required');
    expect(progress).toEqual([]);
    for (const format of ['jsonl', 'csv'] as const) {
      await stepUp('audit.export');
      const started = await value('admin', 'audit.export', { orgId, format });
      await vi.waitFor(() => expect(progress.find((p) => p.exportId === started.exportId && p.state !== 'running')?.state).toBe('done'));
      const done = progress.find((p) => p.exportId === started.exportId && p.state === 'done');
      expect(done?.total).toBeGreaterThan(5);
      expect(done?.written).toBe(done?.total);
      const text = readFileSync(started.file ?? '', 'utf8');
      if (format === 'jsonl') {
        const lines = text.trimEnd().split('\n');
        expect(lines).toHaveLength(done?.total ?? -1);
        for (const entry of lines) expect(AuditEntry.safeParse(JSON.parse(entry)).success).toBe(true);
      } else {
        expect(text.split('\r\n')[0]).toMatch(/^seq,/);
      }
    }
    const techProgress: AuditExportProgress[] = [];
    consoles.tech?.events.subscribe((envelope) => {
      if (envelope.event === 'audit.exportProgress') techProgress.push(envelope.payload);
    });
    const refused = await value('tech', 'audit.export', { orgId, format: 'jsonl' });
    await vi.waitFor(() => expect(techProgress.at(-1)?.state).toBe('failed'));
    expect(techProgress.at(-1)?.error?.code).toBe('forbidden');
    expect(() => readFileSync(refused.file ?? '')).toThrow();
  });
});
