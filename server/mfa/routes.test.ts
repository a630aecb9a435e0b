import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerEvent } from '../events/bus';
import { databaseKinds } from '../../tools/testing/postgres';
import type { Clock } from '../clock';
import { getTestServer, type TestResponse, type TestServer } from '../test-support';
import { enrolTotp, stepUp, totpCode } from './testing';
import { TOTP_PERIOD_SECONDS } from './totp';

/** A clock tests move by hand; starts mid-step so ±1 step is unambiguous. */
function manualClock(start: Date): Clock & { advance(ms: number): void } {
  let now = start.getTime();
  return { now: () => new Date(now), advance: (ms) => { now += ms; } };
}

const STEP_MS = TOTP_PERIOD_SECONDS * 1000;
const code = (res: TestResponse) => (res.json() as { error?: { code?: string } }).error?.code;

describe.each(databaseKinds())('MFA through the API on %s', (kind) => {
  let t: TestServer;
  const clock = manualClock(new Date('2026-11-23T12:00:10Z'));
  let orgId: string;
  const events: ServerEvent[] = [];

  beforeAll(async () => {
    t = await getTestServer(kind, {}, clock);
    orgId = (await t.buildOrg('MFA Clinic')).id;
    t.server.context.bus.subscribe((event) => events.push(event));
  });
  afterAll(async () => t?.close());

  const member = () => t.buildUser({ orgId, role: 'tech' });
  const stepUpWith = (token: string, body: Record<string, unknown>) => t.request('/api/me/mfa/step-up', { method: 'POST', token, body });
  const auditOf = (userId: string, action: string) =>
    t.database.ownerQuery(`SELECT outcome, details, org_id FROM audit_log WHERE action = $1 AND (target_id = $2 OR actor_id = $2) ORDER BY seq`, [action, userId]);
  const status = async (token: string) => (await t.request('/api/me/mfa', { token })).json() as { enrolled: boolean; pending: boolean; backupCodesRemaining: number; lockedUntil: string | null };

  it('enrols: secret, otpauth URI and QR code once, pending until a first valid code, then ten backup codes', async () => {
    const user = await member();
    expect(await status(user.token)).toMatchObject({ enrolled: false, pending: false, backupCodesRemaining: 0 });
    const started = await t.request('/api/me/mfa/totp', { method: 'POST', token: user.token });
    expect(started.status, started.text).toBe(200);
    const body = started.json() as { secret: string; otpauthUri: string; qrCodeDataUrl: string };
    expect(body.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(body.otpauthUri).toContain(`secret=${body.secret}`);
    expect(body.qrCodeDataUrl).toMatch(/^data:image\/png;base64,/);
    expect(await status(user.token)).toMatchObject({ enrolled: false, pending: true });

    const wrong = await t.request('/api/me/mfa/totp/confirm', { method: 'POST', token: user.token, body: { code: '000000' === (await totpCode(body.secret, clock.now())) ? '111111' : '000000' } });
    expect(wrong.status).toBe(403);
    expect(code(wrong)).toBe('mfa_code_invalid');
    expect(await status(user.token)).toMatchObject({ enrolled: false, pending: true });

    const confirmed = await t.request('/api/me/mfa/totp/confirm', { method: 'POST', token: user.token, body: { code: await totpCode(body.secret, clock.now()) } });
    expect(confirmed.status, confirmed.text).toBe(200);
    const { backupCodes } = confirmed.json() as { backupCodes: string[] };
    expect(backupCodes).toHaveLength(10);
    expect(await status(user.token)).toMatchObject({ enrolled: true, pending: false, backupCodesRemaining: 10, lockedUntil: null });
    expect(JSON.stringify(await status(user.token))).not.toContain(body.secret);
    expect((await auditOf(user.userId, 'mfa.enrolled')).map((r) => [r.outcome, r.org_id])).toEqual([['success', orgId]]);
    expect((await auditOf(user.userId, 'mfa.failed')).map((r) => r.details)).toEqual([{ purpose: 'enrol' }]);
  });

  it('keeps the secret sealed in the database: ciphertext with a key id, never the base32 secret; backup codes only as hashes', async () => {
    const user = await member();
    const { secret, backupCodes } = await enrolTotp(t, user.token);
    const rows = await t.database.ownerQuery('SELECT * FROM mfa_totp WHERE user_id = $1', [user.userId]);
    expect(rows).toHaveLength(1);
    expect(String(rows[0]?.secret_sealed)).toMatch(/^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+$/);
    const dump = JSON.stringify([rows, await t.database.ownerQuery('SELECT * FROM mfa_backup_codes WHERE user_id = $1', [user.userId])]);
    expect(dump).not.toContain(secret);
    for (const backup of backupCodes) {
      expect(dump).not.toContain(backup);
      expect(dump).not.toContain(backup.replace('-', ''));
    }
  });

  it('step-up accepts the current code once, refuses its replay and a wrong code, and audits each', async () => {
    const user = await member();
    const { secret } = await enrolTotp(t, user.token);
    clock.advance(STEP_MS);
    const now = await totpCode(secret, clock.now());
    const ok = await stepUpWith(user.token, { action: 'mfa.reset', code: now });
    expect(ok.status, ok.text).toBe(200);
    const proof = ok.json() as { action: string; proof: string; expiresAt: string };
    expect(proof.action).toBe('mfa.reset');
    expect(new Date(proof.expiresAt).getTime() - clock.now().getTime()).toBe(5 * 60_000);

    const replay = await stepUpWith(user.token, { action: 'mfa.reset', code: now });
    expect([replay.status, code(replay)]).toEqual([403, 'mfa_code_invalid']);
    expect(replay.text).toContain('replayed');
    const wrong = await stepUpWith(user.token, { action: 'mfa.reset', code: String((Number(now) + 1) % 1_000_000).padStart(6, '0') });
    expect([wrong.status, code(wrong)]).toEqual([403, 'mfa_code_invalid']);
    expect((await auditOf(user.userId, 'mfa.verified')).map((r) => r.details)).toEqual([{ purpose: 'step-up:mfa.reset' }]);
    expect(await auditOf(user.userId, 'mfa.failed')).toHaveLength(2);
  });

  it('step-up accepts a code one step either side, refuses two steps away', async () => {
    const user = await member();
    const { secret } = await enrolTotp(t, user.token);
    clock.advance(10 * STEP_MS);
    const at = (steps: number) => totpCode(secret, new Date(clock.now().getTime() + steps * STEP_MS));
    for (const steps of [-2, 2]) {
      const res = await stepUpWith(user.token, { action: 'audit.export', code: await at(steps) });
      expect([steps, res.status, code(res)]).toEqual([steps, 403, 'mfa_code_invalid']);
    }
    // Steps must rise (replay rule): -1 first, then +1.
    for (const steps of [-1, 1]) {
      const res = await stepUpWith(user.token, { action: 'audit.export', code: await at(steps) });
      expect([steps, res.status]).toEqual([steps, 200]);
    }
  });

  it('a backup code stands in for a code once; its use is audited with the count left and alerts the user’s admins', async () => {
    const user = await member();
    const { backupCodes } = await enrolTotp(t, user.token);
    const backup = backupCodes[0] ?? '';
    const first = await stepUpWith(user.token, { action: 'grants.change', backupCode: backup.toLowerCase() });
    expect(first.status, first.text).toBe(200);
    const again = await stepUpWith(user.token, { action: 'grants.change', backupCode: backup });
    expect([again.status, code(again)]).toEqual([403, 'mfa_code_invalid']);
    expect((await auditOf(user.userId, 'mfa.backup_code_used')).map((r) => r.details)).toEqual([{ remaining: 9 }]);
    expect(events).toContainEqual({
      type: 'alert.raised',
      alert: expect.objectContaining({ orgId, kind: 'mfa.backup_code_used', subject: { userId: user.userId, name: expect.any(String) }, message: expect.stringMatching(/used a backup code \(9 left\)$/) }),
    });
    expect(await status(user.token)).toMatchObject({ backupCodesRemaining: 9 });
  });

  it('regenerating backup codes needs a step-up proof and voids the old set', async () => {
    const user = await member();
    const { backupCodes } = await enrolTotp(t, user.token);
    const refused = await t.request('/api/me/mfa/backup-codes', { method: 'POST', token: user.token });
    expect([refused.status, code(refused)]).toEqual([403, 'step_up_required']);
    const proof = (await stepUpWith(user.token, { action: 'mfa.backup_codes', backupCode: backupCodes[0] })).json() as { proof: string };
    const regenerated = await t.request('/api/me/mfa/backup-codes', { method: 'POST', token: user.token, headers: { 'x-step-up': proof.proof } });
    expect(regenerated.status, regenerated.text).toBe(200);
    const fresh = (regenerated.json() as { backupCodes: string[] }).backupCodes;
    expect(fresh.some((c) => backupCodes.includes(c))).toBe(false);
    const old = await stepUpWith(user.token, { action: 'audit.export', backupCode: backupCodes[1] });
    expect([old.status, code(old)]).toEqual([403, 'mfa_code_invalid']);
    expect((await stepUpWith(user.token, { action: 'audit.export', backupCode: fresh[0] })).status).toBe(200);
    expect((await auditOf(user.userId, 'mfa.backup_codes_regenerated')).map((r) => r.outcome)).toEqual(['denied', 'success']);
  });

  describe('step-up proofs on a route that declares one (admin MFA reset)', () => {
    let admin: { userId: string; token: string };
    let target: { userId: string; token: string };
    const reset = (userId: string, proof?: string, token = admin.token) =>
      t.request(`/api/orgs/${orgId}/users/${userId}/mfa/reset`, { method: 'POST', token, ...(proof ? { headers: { 'x-step-up': proof } } : {}) });

    beforeAll(async () => {
      admin = await t.buildUser({ orgId, role: 'tenant_admin' });
      target = await member();
    });

    it('refuses without a proof (step_up_required) and with a made-up one (step_up_invalid), audited as denied', async () => {
      await enrolTotp(t, target.token);
      expect(code(await reset(target.userId))).toBe('step_up_required');
      const forged = await reset(target.userId, 'sup_forged-proof-that-was-never-issued');
      expect([forged.status, code(forged)]).toEqual([403, 'step_up_invalid']);
      expect((await auditOf(target.userId, 'mfa.reset')).map((r) => r.outcome)).toEqual(['denied', 'denied']);
      expect(await status(target.token)).toMatchObject({ enrolled: true });
    });

    it('refuses a proof for another action, without spending it', async () => {
      const proof = await t.stepUp(admin.token, 'audit.export');
      const res = await reset(target.userId, proof);
      expect([res.status, code(res)]).toEqual([403, 'step_up_invalid']);
      expect(res.text).toContain('other action');
    });

    it('refuses another user’s proof', async () => {
      const proof = await stepUp(t, target.token, 'mfa.reset');
      const res = await reset(target.userId, proof);
      expect([res.status, code(res)]).toEqual([403, 'step_up_invalid']);
    });

    it('refuses an expired proof (5 minutes)', async () => {
      const proof = await stepUp(t, admin.token, 'mfa.reset');
      clock.advance(5 * 60_000);
      const res = await reset(target.userId, proof);
      expect([res.status, code(res)]).toEqual([403, 'step_up_invalid']);
      expect(res.text).toContain('expired');
    });

    it('resets with a proof, once: the proof cannot be reused; the member enrols again; audited', async () => {
      const proof = await stepUp(t, admin.token, 'mfa.reset');
      const res = await reset(target.userId, proof);
      expect(res.status, res.text).toBe(200);
      expect(res.json()).toEqual({ userId: target.userId, hadMfa: true });
      expect(await status(target.token)).toMatchObject({ enrolled: false, backupCodesRemaining: 0 });
      const reused = await reset(target.userId, proof);
      expect([reused.status, code(reused)]).toEqual([403, 'step_up_invalid']);
      expect(reused.text).toContain('used');
      expect((await auditOf(target.userId, 'mfa.reset')).map((r) => r.outcome)).toContain('success');
      await enrolTotp(t, target.token);
    });

    it('needs grants.manage at the org root: a tech and a unit’s tenant admin are refused', async () => {
      const tech = await member();
      expect(code(await reset(target.userId, undefined, tech.token))).toBe('forbidden');
      const unit = await t.buildUnit(orgId, 'Ward');
      const unitAdmin = await t.buildUser({ orgId, role: 'tenant_admin', unitId: unit.id });
      const proof = await stepUp(t, unitAdmin.token, 'mfa.reset');
      const res = await reset(target.userId, proof, unitAdmin.token);
      expect([res.status, code(res)]).toEqual([403, 'forbidden']);
    });

    it('finds no member of another org (404)', async () => {
      const other = (await t.buildOrg('Other MFA Clinic')).id;
      const stranger = await t.buildUser({ orgId: other, role: 'tech' });
      const res = await reset(stranger.userId, await stepUp(t, admin.token, 'mfa.reset'));
      expect([res.status, code(res)]).toEqual([404, 'not_found']);
    });
  });

  it('documents the proof a route needs in the OpenAPI document: the X-Step-Up header and x-step-up', async () => {
    const document = (await t.request('/api/openapi.json')).json() as { paths: Record<string, Record<string, { parameters: Array<{ name: string; in: string; required: boolean }>; 'x-step-up'?: string }>> };
    const operation = document.paths['/api/orgs/{orgId}/users/{userId}/mfa/reset']?.post;
    expect(operation?.['x-step-up']).toBe('mfa.reset');
    expect(operation?.parameters).toContainEqual(expect.objectContaining({ name: 'X-Step-Up', in: 'header', required: true }));
    expect(document.paths['/api/me/mfa/backup-codes']?.post?.['x-step-up']).toBe('mfa.backup_codes');
    expect(document.paths['/api/me/mfa']?.get?.['x-step-up']).toBeUndefined();
    expect(document.paths['/api/orgs/{orgId}/audit/export']?.get?.['x-step-up']).toBe('audit.export');
    expect(document.paths['/api/orgs/{orgId}/grants']?.post?.['x-step-up']).toBe('grants.change');
    expect(document.paths['/api/orgs/{orgId}/grants/{grantId}']?.delete?.['x-step-up']).toBe('grants.change');
    expect(document.paths['/api/orgs/{orgId}/settings']?.put?.['x-step-up']).toBe('org.security_settings');
    expect(document.paths['/api/orgs/{orgId}/identity']?.put?.['x-step-up']).toBe('org.security_settings');
  });

  it('documents a proof needed only in some cases as x-step-up-conditional, with an optional X-Step-Up header', async () => {
    type Operation = { parameters: Array<{ name: string; in: string; required: boolean }>; 'x-step-up'?: string; 'x-step-up-conditional'?: { action: string; when: string } };
    const document = (await t.request('/api/openapi.json')).json() as { paths: Record<string, Record<string, Operation>> };
    const conditional = [
      [document.paths['/api/orgs/{orgId}/sessions/{sessionId}/revoke']?.post, 'sessions.revoke_other'],
      [document.paths['/api/staff/sessions/{sessionId}/revoke']?.post, 'sessions.revoke_other'],
      [document.paths['/api/me/mfa/totp']?.post, 'mfa.reenrol'],
    ] as const;
    for (const [operation, action] of conditional) {
      expect(operation?.['x-step-up']).toBeUndefined();
      expect(operation?.['x-step-up-conditional']).toEqual({ action, when: expect.any(String) });
      expect(operation?.parameters).toContainEqual(expect.objectContaining({ name: 'X-Step-Up', in: 'header', required: false }));
    }
  });

  it('re-enrolment of an enrolled user needs a step-up proof; the old authenticator works until the new one is confirmed', async () => {
    const user = await member();
    const { secret: oldSecret } = await enrolTotp(t, user.token);
    const refused = await t.request('/api/me/mfa/totp', { method: 'POST', token: user.token });
    expect([refused.status, code(refused)]).toEqual([403, 'step_up_required']);
    clock.advance(STEP_MS);
    const proof = (await stepUpWith(user.token, { action: 'mfa.reenrol', code: await totpCode(oldSecret, clock.now()) })).json() as { proof: string };
    const started = await t.request('/api/me/mfa/totp', { method: 'POST', token: user.token, headers: { 'x-step-up': proof.proof } });
    expect(started.status, started.text).toBe(200);
    const newSecret = (started.json() as { secret: string }).secret;
    clock.advance(STEP_MS);
    expect((await stepUpWith(user.token, { action: 'audit.export', code: await totpCode(oldSecret, clock.now()) })).status).toBe(200);
    clock.advance(STEP_MS);
    expect((await t.request('/api/me/mfa/totp/confirm', { method: 'POST', token: user.token, body: { code: await totpCode(newSecret, clock.now()) } })).status).toBe(200);
    clock.advance(STEP_MS);
    expect(code(await stepUpWith(user.token, { action: 'audit.export', code: await totpCode(oldSecret, clock.now()) }))).toBe('mfa_code_invalid');
    expect((await stepUpWith(user.token, { action: 'audit.export', code: await totpCode(newSecret, clock.now()) })).status).toBe(200);
  });

  it('refuses step-up before enrolment (409 mfa_not_enrolled)', async () => {
    const user = await member();
    const res = await stepUpWith(user.token, { action: 'audit.export', code: '123456' });
    expect([res.status, code(res)]).toEqual([409, 'mfa_not_enrolled']);
  });

  it('refuses a tampered secret and a secret moved to another user’s row', async () => {
    const alice = await member();
    const bob = await member();
    const { secret: aliceSecret } = await enrolTotp(t, alice.token);
    await enrolTotp(t, bob.token);
    const [row] = await t.database.ownerQuery('SELECT secret_sealed FROM mfa_totp WHERE user_id = $1', [alice.userId]);
    const sealed = String(row?.secret_sealed);
    await t.database.ownerQuery('UPDATE mfa_totp SET secret_sealed = $1 WHERE user_id = $2', [sealed, bob.userId]);
    clock.advance(STEP_MS);
    const moved = await stepUpWith(bob.token, { action: 'audit.export', code: await totpCode(aliceSecret, clock.now()) });
    expect([moved.status, code(moved)]).toEqual([500, 'internal']);
    const last = sealed.at(-2) === 'A' ? 'B' : 'A';
    await t.database.ownerQuery('UPDATE mfa_totp SET secret_sealed = $1 WHERE user_id = $2', [`${sealed.slice(0, -2)}${last}${sealed.slice(-1)}`, alice.userId]);
    const tampered = await stepUpWith(alice.token, { action: 'audit.export', code: await totpCode(aliceSecret, clock.now()) });
    expect([tampered.status, code(tampered)]).toEqual([500, 'internal']);
    expect(tampered.text).not.toContain('proof');
  });

  it('after a master key rotation, secrets and backup codes sealed under the previous key still work, and the secret is re-sealed under the new key', async () => {
    const user = await member();
    const { secret, backupCodes } = await enrolTotp(t, user.token);
    const sealedBy = async () => String((await t.database.ownerQuery('SELECT secret_sealed FROM mfa_totp WHERE user_id = $1', [user.userId]))[0]?.secret_sealed).split('.')[1];
    const before = await sealedBy();
    const original = t.server.context.keys;
    t.server.context.keys = { current: Buffer.alloc(32, 0x42), previous: [original.current] };
    try {
      expect((await stepUpWith(user.token, { action: 'audit.export', backupCode: backupCodes[0] })).status).toBe(200);
      clock.advance(STEP_MS);
      expect((await stepUpWith(user.token, { action: 'audit.export', code: await totpCode(secret, clock.now()) })).status).toBe(200);
      const after = await sealedBy();
      expect(after).not.toBe(before);
      // Without the previous key the re-sealed secret still opens.
      t.server.context.keys = { current: Buffer.alloc(32, 0x42), previous: [] };
      clock.advance(STEP_MS);
      expect((await stepUpWith(user.token, { action: 'audit.export', code: await totpCode(secret, clock.now()) })).status).toBe(200);
    } finally {
      t.server.context.keys = original;
    }
  });

  it('the test hook t.stepUp hands out proofs past the ten backup codes (it regenerates them with a proof)', async () => {
    const user = await member();
    const proofs = new Set<string>();
    for (let i = 0; i < 12; i++) proofs.add(await t.stepUp(user.token, 'audit.export'));
    expect(proofs.size).toBe(12);
    expect((await auditOf(user.userId, 'mfa.backup_codes_regenerated')).map((r) => r.outcome)).toEqual(['success']);
  });

  it('MSP staff (no home org) enrol and step up; their trail is on the platform chain', async () => {
    const staff = await t.buildUser({ orgId: null, platformAdmin: true });
    await enrolTotp(t, staff.token);
    expect(await stepUp(t, staff.token, 'org.security_settings')).toMatch(/^sup_/);
    expect((await auditOf(staff.userId, 'mfa.enrolled')).map((r) => r.org_id)).toEqual([null]);
  });

  it('brute force: the fifth failure locks step-up for 15 minutes (429 mfa_locked, Retry-After, audited), then attempts run out (429 rate_limited)', async () => {
    const user = await member();
    const { secret } = await enrolTotp(t, user.token);
    clock.advance(STEP_MS);
    const right = await totpCode(secret, clock.now());
    const wrongCode = String((Number(right) + 500_000) % 1_000_000).padStart(6, '0');
    const results: Array<[number, string | undefined]> = [];
    for (let i = 0; i < 5; i++) {
      const res = await stepUpWith(user.token, { action: 'vault.reveal', code: wrongCode });
      results.push([res.status, code(res)]);
      if (i === 4) expect(Number(res.headers['retry-after'])).toBe(15 * 60);
    }
    expect(results).toEqual([...Array<[number, string]>(4).fill([403, 'mfa_code_invalid']), [429, 'mfa_locked']]);
    expect((await auditOf(user.userId, 'mfa.locked')).map((r) => (r.details as { until: string }).until)).toEqual([new Date(clock.now().getTime() + 15 * 60_000).toISOString()]);
    const locked = await stepUpWith(user.token, { action: 'vault.reveal', code: right });
    expect([locked.status, code(locked)]).toEqual([429, 'mfa_locked']);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(await status(user.token)).toMatchObject({ lockedUntil: expect.any(String) });

    clock.advance(15 * 60_000 + STEP_MS);
    expect((await stepUpWith(user.token, { action: 'vault.reveal', code: await totpCode(secret, clock.now()) })).status).toBe(200);

    // Per-account attempts (30 per 15 minutes, real time) run out whatever the codes (test servers lift the per-IP limit).
    let limited: TestResponse | undefined;
    for (let i = 0; i < 40 && !limited; i++) {
      const res = await stepUpWith(user.token, { action: 'vault.reveal', backupCode: 'AAAAA-AAAAA' });
      if (code(res) === 'rate_limited') limited = res;
    }
    expect(limited?.status).toBe(429);
    expect(Number(limited?.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('master key configuration', () => {
  it('takes RMM_MASTER_KEY and RMM_MASTER_KEYS_PREVIOUS into the key ring, and writes no key file then', async () => {
    const current = Buffer.alloc(32, 1);
    const previous = [Buffer.alloc(32, 2), Buffer.alloc(32, 3)];
    const t = await getTestServer('pglite', { masterKey: current.toString('base64'), masterKeysPrevious: previous.map((k) => k.toString('base64')).join(',') });
    try {
      expect(t.server.context.keys.current.equals(current)).toBe(true);
      expect(t.server.context.keys.previous.map((k) => k.toString('hex'))).toEqual(previous.map((k) => k.toString('hex')));
      expect(existsSync(path.join(t.dataDir, 'master.key'))).toBe(false);
    } finally {
      await t.close();
    }
  });

  it('without them, creates <dataDir>/master.key on first start', async () => {
    const t = await getTestServer('pglite');
    try {
      expect(existsSync(path.join(t.dataDir, 'master.key'))).toBe(true);
      expect(t.server.context.keys.previous).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
