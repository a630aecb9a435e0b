import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTestServer, type TestResponse, type TestServer } from '../test-support';

/* An org's security settings: read by any member, changed by org.settings holders with a fresh step-up proof. */

const errorCode = (res: TestResponse) => (res.json() as { error?: { code?: string } }).error?.code;

describe('org security settings through the API', () => {
  let t: TestServer;
  let orgId: string;
  let admin: { userId: string; token: string };

  beforeAll(async () => {
    t = await getTestServer('pglite');
    orgId = (await t.buildOrg('Settings Clinic')).id;
    admin = await t.buildUser({ orgId, role: 'tenant_admin', name: 'Tess Admin' });
  });
  afterAll(async () => t?.close());

  const put = (body: unknown, headers: Record<string, string> = {}) => t.request(`/api/orgs/${orgId}/settings`, { method: 'PUT', token: admin.token, body, headers });
  const retention = async () => ((await t.request(`/api/orgs/${orgId}/settings`, { token: admin.token })).json() as { auditRetentionDays: number }).auditRetentionDays;

  it('refuses a change without a step-up proof (step_up_required) or with one for another action (step_up_invalid), audited as denied; the settings stay', async () => {
    const none = await put({ auditRetentionDays: 3000 });
    expect([none.status, errorCode(none)]).toEqual([403, 'step_up_required']);
    const other = await put({ auditRetentionDays: 3000 }, { 'x-step-up': await t.stepUp(admin.token, 'grants.change') });
    expect([other.status, errorCode(other)]).toEqual([403, 'step_up_invalid']);
    expect(await retention()).toBe(2192);
    const entries = await t.database.ownerQuery("SELECT outcome FROM audit_log WHERE org_id = $1 AND actor_id = $2 AND action = 'org.settings_changed' ORDER BY seq", [orgId, admin.userId]);
    expect(entries).toEqual([{ outcome: 'denied' }, { outcome: 'denied' }]);
  });

  it('changes them with a proof for org.security_settings, once: the proof cannot be used again', async () => {
    const proof = await t.stepUp(admin.token, 'org.security_settings');
    const changed = await put({ auditRetentionDays: 3000 }, { 'x-step-up': proof });
    expect(changed.status, changed.text).toBe(200);
    expect(await retention()).toBe(3000);
    const reused = await put({ auditRetentionDays: 4000 }, { 'x-step-up': proof });
    expect([reused.status, errorCode(reused)]).toEqual([403, 'step_up_invalid']);
    expect(await retention()).toBe(3000);
  });
});
