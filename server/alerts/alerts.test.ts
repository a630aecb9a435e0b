import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Alert, AlertList } from '../../protocol/alerts';
import { ServerToConsole } from '../../protocol/console-messages';
import { databaseKinds } from '../../tools/testing/postgres';
import type { Clock } from '../clock';
import { withOrg } from '../db/database';
import { enrolTotp, totpCode } from '../mfa/testing';
import { TOTP_PERIOD_SECONDS } from '../mfa/totp';
import { getTestServer, type TestResponse, type TestServer } from '../test-support';
import { ALERT_LIST_LIMIT, insertAlert } from './store';

/*
 * Security alerts end to end: a backup code used or a step-up lockout stores an alert in the
 * user's home org and pushes it over /ws/console to the consoles of those who may read the org's
 * alerts (whatever org they are looking at), and to nobody else; admins list and acknowledge them.
 */

interface User {
  userId: string;
  token: string;
}

const code = (res: TestResponse) => (res.json() as { error?: { code?: string } }).error?.code;

describe.each(databaseKinds())('security alerts on %s', (kind) => {
  let offsetMs = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
  let t: TestServer;
  let orgA: string;
  let orgB: string;
  let adminA: User;
  let viewerA: User;
  let adminB: User;
  /** A second tenant admin of org A, whose console has no org open. */
  let adminA2: User;
  let mspAdmin: User;
  const sockets: WebSocket[] = [];

  const consoleSocket = async (token: string, subscribeTo?: string) => {
    const ws = new WebSocket(`${t.server.url.replace('https:', 'wss:')}/ws/console`, { ca: t.ca, headers: { authorization: `Bearer ${token}` } });
    sockets.push(ws);
    const messages: ServerToConsole[] = [];
    ws.on('message', (data) => messages.push(ServerToConsole.parse(JSON.parse(data.toString()))));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    if (subscribeTo) {
      ws.send(JSON.stringify({ type: 'subscribe', orgId: subscribeTo }));
      await until(() => messages.some((m) => m.type === 'subscribed'));
    }
    const alerts = () => messages.flatMap((m) => (m.type === 'alert' ? [m.alert] : []));
    return { ws, messages, alerts };
  };
  const until = async (done: () => boolean, ms = 2000) => {
    for (const started = Date.now(); !done(); await new Promise((r) => setTimeout(r, 10))) {
      if (Date.now() - started > ms) throw new Error('timed out waiting');
    }
  };
  const useBackupCode = async (user: User) => {
    const { backupCodes } = await enrolTotp(t, user.token);
    const res = await t.request('/api/me/mfa/step-up', { method: 'POST', token: user.token, body: { action: 'audit.export', backupCode: backupCodes[0] } });
    expect(res.status, res.text).toBe(200);
  };
  const list = async (path: string, token: string) => {
    const res = await t.request(path, { token });
    expect(res.status, res.text).toBe(200);
    return AlertList.parse(res.json()).alerts;
  };
  const acknowledge = (path: string, token: string) => t.request(path, { method: 'POST', token });

  beforeAll(async () => {
    t = await getTestServer(kind, {}, clock);
    orgA = (await t.buildOrg('Alert Clinic A')).id;
    orgB = (await t.buildOrg('Alert Clinic B')).id;
    adminA = await t.buildUser({ orgId: orgA, role: 'tenant_admin', name: 'Ada Admin' });
    viewerA = await t.buildUser({ orgId: orgA, role: 'viewer', name: 'Vic Viewer' });
    adminB = await t.buildUser({ orgId: orgB, role: 'tenant_admin', name: 'Bea Admin' });
    adminA2 = await t.buildUser({ orgId: orgA, role: 'tenant_admin', name: 'Ann Admin' });
    mspAdmin = await t.buildUser({ orgId: null, platformAdmin: true, name: 'Sam Staff' });
  });
  afterAll(async () => {
    for (const ws of sockets) ws.close();
    await t?.close();
  });

  it('a backup code used stores an alert in the user’s org and pushes it to the consoles of those who may read its alerts, whatever org they have open (an MSP admin in another org, an admin with none); not to a viewer or another org’s admin', async () => {
    const onA = await consoleSocket(adminA.token, orgA);
    const viewer = await consoleSocket(viewerA.token, orgA);
    const otherOrg = await consoleSocket(adminB.token, orgB);
    const noOrgOpen = await consoleSocket(adminA2.token);
    const msp = await consoleSocket(mspAdmin.token, orgB);
    const dana = await t.buildUser({ orgId: orgA, role: 'tech', name: 'Dana Tech' });

    await useBackupCode(dana);

    await until(() => onA.alerts().length > 0 && noOrgOpen.alerts().length > 0 && msp.alerts().length > 0);
    const pushed = onA.alerts()[0];
    expect(pushed).toEqual({
      id: expect.any(String),
      orgId: orgA,
      kind: 'mfa.backup_code_used',
      createdAt: expect.any(String),
      subject: { userId: dana.userId, name: 'Dana Tech' },
      message: 'Dana Tech used a backup code (9 left)',
      acknowledgedAt: null,
      acknowledgedBy: null,
    });
    expect(noOrgOpen.alerts()).toEqual([pushed]);
    expect(msp.alerts()).toEqual([pushed]);
    await new Promise((r) => setTimeout(r, 200));
    expect(viewer.alerts()).toEqual([]);
    expect(otherOrg.alerts()).toEqual([]);

    // Durable: the row was written with the audit entry, and the list shows it.
    expect((await list(`/api/orgs/${orgA}/alerts`, adminA.token)).map((a) => a.id)).toContain(pushed?.id);
    const audit = await t.database.ownerQuery("SELECT org_id FROM audit_log WHERE action = 'mfa.backup_code_used' AND target_id = $1", [dana.userId]);
    expect(audit).toEqual([{ org_id: orgA }]);
    expect(await list(`/api/orgs/${orgB}/alerts`, adminB.token)).toEqual([]);
  });

  it('a step-up lockout raises an alert saying until when', async () => {
    const onA = await consoleSocket(adminA.token, orgA);
    const lee = await t.buildUser({ orgId: orgA, role: 'tech', name: 'Lee Locked' });
    const { secret } = await enrolTotp(t, lee.token);
    offsetMs += TOTP_PERIOD_SECONDS * 1000;
    const right = await totpCode(secret, clock.now());
    const wrong = String((Number(right) + 500_000) % 1_000_000).padStart(6, '0');
    let last: TestResponse | undefined;
    for (let i = 0; i < 5; i++) last = await t.request('/api/me/mfa/step-up', { method: 'POST', token: lee.token, body: { action: 'vault.reveal', code: wrong } });
    expect(last && code(last)).toBe('mfa_locked');
    await until(() => onA.alerts().some((a) => a.kind === 'mfa.locked'));
    const lockedUntil = new Date(clock.now().getTime() + 15 * 60_000).toISOString().slice(11, 16);
    expect(onA.alerts().find((a) => a.kind === 'mfa.locked')).toMatchObject({
      orgId: orgA,
      subject: { userId: lee.userId, name: 'Lee Locked' },
      message: `Lee Locked's step-up is locked until ${lockedUntil} UTC after 5 wrong codes`,
    });
    expect((await list(`/api/orgs/${orgA}/alerts?open=true`, adminA.token))[0]).toMatchObject({ kind: 'mfa.locked', subject: { name: 'Lee Locked' } });
  });

  it('lists newest first; open=true only unacknowledged, open=false only acknowledged; acknowledging is audited and happens once (409)', async () => {
    const [newest] = await list(`/api/orgs/${orgA}/alerts`, adminA.token);
    const all = await list(`/api/orgs/${orgA}/alerts`, adminA.token);
    expect(all.map((a) => a.createdAt)).toEqual([...all.map((a) => a.createdAt)].sort().reverse());
    const id = newest?.id ?? '';

    const acked = await acknowledge(`/api/orgs/${orgA}/alerts/${id}/acknowledge`, adminA.token);
    expect(acked.status, acked.text).toBe(200);
    expect(Alert.parse(acked.json())).toMatchObject({ id, acknowledgedAt: expect.any(String), acknowledgedBy: { userId: adminA.userId, name: 'Ada Admin' } });
    const again = await acknowledge(`/api/orgs/${orgA}/alerts/${id}/acknowledge`, adminA2.token);
    expect([again.status, code(again)]).toEqual([409, 'conflict']);
    expect(again.text).toContain('Ada Admin');

    expect((await list(`/api/orgs/${orgA}/alerts?open=true`, adminA.token)).map((a) => a.id)).not.toContain(id);
    expect((await list(`/api/orgs/${orgA}/alerts?open=false`, adminA.token)).map((a) => a.id)).toEqual([id]);
    const entries = await t.database.ownerQuery("SELECT actor_id, target_id, outcome, details FROM audit_log WHERE org_id = $1 AND action = 'alert.acknowledged' ORDER BY seq", [orgA]);
    expect(entries).toEqual([
      { actor_id: adminA.userId, target_id: id, outcome: 'success', details: { kind: newest?.kind } },
      { actor_id: adminA2.userId, target_id: id, outcome: 'failed', details: {} },
    ]);
  });

  it('a viewer may neither list nor acknowledge (403, audited); another org’s alert id is 404, and stays open', async () => {
    const [alert] = await list(`/api/orgs/${orgA}/alerts?open=true`, adminA.token);
    const id = alert?.id ?? '';
    const listed = await t.request(`/api/orgs/${orgA}/alerts`, { token: viewerA.token });
    expect([listed.status, code(listed)]).toEqual([403, 'forbidden']);
    const acked = await acknowledge(`/api/orgs/${orgA}/alerts/${id}/acknowledge`, viewerA.token);
    expect([acked.status, code(acked)]).toEqual([403, 'forbidden']);
    expect(await t.database.ownerQuery("SELECT outcome FROM audit_log WHERE actor_id = $1 AND action = 'alert.acknowledged'", [viewerA.userId])).toEqual([{ outcome: 'denied' }]);

    const crossOrg = await acknowledge(`/api/orgs/${orgB}/alerts/${id}/acknowledge`, adminB.token);
    expect([crossOrg.status, code(crossOrg)]).toEqual([404, 'not_found']);
    const foreignOrg = await acknowledge(`/api/orgs/${orgA}/alerts/${id}/acknowledge`, adminB.token);
    expect([foreignOrg.status, code(foreignOrg)]).toEqual([404, 'not_found']);
    expect((await acknowledge(`/api/orgs/${orgA}/alerts/${randomUUID()}/acknowledge`, adminA.token)).status).toBe(404);
    expect((await list(`/api/orgs/${orgA}/alerts?open=true`, adminA.token)).map((a) => a.id)).toContain(id);
  });

  it('alerts about MSP staff go to MSP admins only: pushed to their consoles, listed and acknowledged on /api/staff/alerts; no org sees them', async () => {
    const msp = await consoleSocket(mspAdmin.token, orgA);
    const onA = await consoleSocket(adminA.token, orgA);
    const staffer = await t.buildUser({ orgId: null, platformAdmin: true, name: 'Stan Staff' });
    await useBackupCode(staffer);
    await until(() => msp.alerts().some((a) => a.subject?.userId === staffer.userId));
    const pushed = msp.alerts().find((a) => a.subject?.userId === staffer.userId);
    expect(pushed).toMatchObject({ orgId: null, kind: 'mfa.backup_code_used', message: 'Stan Staff used a backup code (9 left)' });
    await new Promise((r) => setTimeout(r, 200));
    expect(onA.alerts().filter((a) => a.orgId === null)).toEqual([]);

    const staffAlerts = await list('/api/staff/alerts?open=true', mspAdmin.token);
    expect(staffAlerts.map((a) => a.id)).toContain(pushed?.id);
    expect((await list(`/api/orgs/${orgA}/alerts`, mspAdmin.token)).map((a) => a.id)).not.toContain(pushed?.id);
    const refused = await t.request('/api/staff/alerts', { token: adminA.token });
    expect([refused.status, code(refused)]).toEqual([403, 'forbidden']);
    const orgAlert = (await list(`/api/orgs/${orgA}/alerts`, adminA.token))[0]?.id ?? '';
    expect((await acknowledge(`/api/staff/alerts/${orgAlert}/acknowledge`, mspAdmin.token)).status).toBe(404);
    expect((await acknowledge(`/api/orgs/${orgA}/alerts/${pushed?.id ?? ''}/acknowledge`, mspAdmin.token)).status).toBe(404);
    expect((await acknowledge(`/api/staff/alerts/${pushed?.id ?? ''}/acknowledge`, adminA.token)).status).toBe(403);

    const acked = await acknowledge(`/api/staff/alerts/${pushed?.id ?? ''}/acknowledge`, mspAdmin.token);
    expect(acked.status, acked.text).toBe(200);
    expect((await acknowledge(`/api/staff/alerts/${pushed?.id ?? ''}/acknowledge`, mspAdmin.token)).status).toBe(409);
    // Each attempt is on record: the one through org A's route in org A's chain, the rest in the platform chain.
    const entries = await t.database.ownerQuery("SELECT org_id, outcome FROM audit_log WHERE target_id = $1 AND action = 'alert.acknowledged'", [pushed?.id]);
    expect(entries).toHaveLength(4);
    expect(entries).toEqual(expect.arrayContaining([
      { org_id: orgA, outcome: 'failed' },
      { org_id: null, outcome: 'denied' },
      { org_id: null, outcome: 'success' },
      { org_id: null, outcome: 'failed' },
    ]));
  });

  it(`lists at most ${ALERT_LIST_LIMIT}, the newest`, async () => {
    const org = (await t.buildOrg('Busy Alert Clinic')).id;
    const base = Date.now();
    await withOrg(t.database.db, org, async (tx) => {
      for (let i = 0; i < ALERT_LIST_LIMIT + 5; i++) {
        await insertAlert(tx, { orgId: org, kind: 'mfa.backup_code_used', subject: null, message: `alert ${i}`, at: new Date(base + i * 1000) });
      }
    });
    const alerts = await list(`/api/orgs/${org}/alerts`, t.token);
    expect(alerts).toHaveLength(ALERT_LIST_LIMIT);
    expect(alerts[0]?.message).toBe(`alert ${ALERT_LIST_LIMIT + 4}`);
    expect(alerts.at(-1)?.message).toBe('alert 5');
  });
});
