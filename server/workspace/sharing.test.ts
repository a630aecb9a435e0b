import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkspaceItem } from '../../protocol/access';
import { databaseKinds } from '../../tools/testing/postgres';
import { getTestServer, type TestServer } from '../test-support';

/*
 * Sharing a workspace item into a unit: who then sees it (read on that unit, or above it), who
 * does not (a sibling unit, another org), who may share and unshare, and the audit trail.
 *
 *   org A:  Main site ── Ward 1      org B:  B site
 *           Annex (sibling of Main site)
 */

interface Person {
  userId: string;
  token: string;
}

describe.each(databaseKinds())('sharing workspace items on %s', (kind) => {
  let t: TestServer;
  let orgA: string;
  let orgB: string;
  let mainSite: string;
  let ward: string;
  let annex: string;
  let unitB: string;
  let owner: Person;
  let people: Record<'tenantAdmin' | 'viewerOfWard' | 'techOfSite' | 'techOfAnnex' | 'provisioning' | 'platformAdmin' | 'tenantAdminOfB', Person>;

  beforeAll(async () => {
    t = await getTestServer(kind);
    orgA = (await t.buildOrg('Clinic A')).id;
    orgB = (await t.buildOrg('Clinic B')).id;
    mainSite = (await t.buildUnit(orgA, 'Main site')).id;
    ward = (await t.buildUnit(orgA, 'Ward 1', mainSite)).id;
    annex = (await t.buildUnit(orgA, 'Annex')).id;
    unitB = (await t.buildUnit(orgB, 'B site')).id;
    owner = await t.buildUser({ orgId: orgA, role: 'tech', unitId: mainSite, name: 'Owner' });
    people = {
      tenantAdmin: await t.buildUser({ orgId: orgA, role: 'tenant_admin' }),
      viewerOfWard: await t.buildUser({ orgId: orgA, role: 'viewer', unitId: ward }),
      techOfSite: await t.buildUser({ orgId: orgA, role: 'tech', unitId: mainSite }),
      techOfAnnex: await t.buildUser({ orgId: orgA, role: 'tech', unitId: annex }),
      provisioning: await t.buildUser({ orgId: orgA, role: 'provisioning' }),
      platformAdmin: await t.buildUser({ orgId: null, platformAdmin: true }),
      tenantAdminOfB: await t.buildUser({ orgId: orgB, role: 'tenant_admin' }),
    };
  });
  afterAll(async () => t?.close());

  const createItem = async (who: Person, title: string): Promise<WorkspaceItem> => {
    const res = await t.request('/api/workspace/items', { method: 'POST', body: { kind: 'script', title, language: 'bash', body: `echo ${title}` }, token: who.token });
    expect(res.status, res.text).toBe(200);
    return res.json() as WorkspaceItem;
  };
  const share = (who: Person, itemId: string, unitId: string, org = orgA) =>
    t.request(`/api/orgs/${org}/units/${unitId}/shared-items`, { method: 'POST', body: { itemId }, token: who.token });
  const unshare = (who: Person, itemId: string, unitId: string, org = orgA) =>
    t.request(`/api/orgs/${org}/units/${unitId}/shared-items/${itemId}`, { method: 'DELETE', token: who.token });
  const sharedWith = async (who: Person, org = orgA): Promise<Array<{ id: string; unitId: string }>> => {
    const res = await t.request(`/api/orgs/${org}/shared-items`, { token: who.token });
    if (res.status !== 200) return [];
    return (res.json() as { items: Array<{ id: string; unitId: string }> }).items;
  };
  const auditRows = (itemId: string) =>
    t.database.ownerQuery(
      `SELECT org_id, action, outcome, actor_id, target_type, target_id, details FROM audit_log WHERE target_id = $1 ORDER BY org_id, seq`,
      [itemId],
    );

  it('after sharing into a unit, readers of that unit and of the units above it see the item; a sibling unit does not', async () => {
    const item = await createItem(owner, 'Ward script');
    const res = await share(owner, item.id, ward);
    expect(res.status, res.text).toBe(200);
    expect((res.json() as WorkspaceItem).shares).toEqual([{ orgId: orgA, unitId: ward, createdAt: expect.any(String) }]);

    for (const who of ['tenantAdmin', 'viewerOfWard', 'techOfSite', 'platformAdmin'] as const) {
      const seen = await sharedWith(people[who]);
      expect(seen, who).toContainEqual(expect.objectContaining({ id: item.id, unitId: ward, ownerName: 'Owner', body: 'echo Ward script' }));
    }
    for (const who of ['techOfAnnex', 'provisioning'] as const) {
      expect((await sharedWith(people[who])).map((i) => i.id), who).not.toContain(item.id);
    }
    expect(await sharedWith(people.tenantAdminOfB, orgB)).toEqual([]);
    // Shared is not handed over: the item stays its owner's to change.
    for (const who of ['tenantAdmin', 'viewerOfWard', 'platformAdmin'] as const) {
      const patch = await t.request(`/api/workspace/items/${item.id}`, { method: 'PATCH', body: { body: 'changed' }, token: people[who].token });
      expect(patch.status, who).toBe(404);
    }
    const own = (await t.request('/api/workspace/items', { token: owner.token })).json() as { items: WorkspaceItem[] };
    expect(own.items.find((i) => i.id === item.id)?.shares.map((s) => s.unitId)).toEqual([ward]);
  });

  it('sharing and unsharing are audited in the org’s chain; unsharing hides the item again', async () => {
    const item = await createItem(owner, 'Audited');
    expect((await share(owner, item.id, ward)).status).toBe(200);
    expect((await sharedWith(people.viewerOfWard)).map((i) => i.id)).toContain(item.id);
    const res = await unshare(owner, item.id, ward);
    expect(res.status, res.text).toBe(200);
    expect((res.json() as WorkspaceItem).shares).toEqual([]);
    for (const who of ['viewerOfWard', 'tenantAdmin', 'platformAdmin'] as const) {
      expect((await sharedWith(people[who])).map((i) => i.id), who).not.toContain(item.id);
    }
    expect(await auditRows(item.id)).toEqual([
      { org_id: orgA, action: 'workspace.item_shared', outcome: 'success', actor_id: owner.userId, target_type: 'workspace_item', target_id: item.id, details: { unitId: ward, kind: 'script' } },
      { org_id: orgA, action: 'workspace.item_unshared', outcome: 'success', actor_id: owner.userId, target_type: 'workspace_item', target_id: item.id, details: { unitId: ward, kind: 'script' } },
    ]);
  });

  it('sharing the same item twice into one unit is a conflict', async () => {
    const item = await createItem(owner, 'Twice');
    expect((await share(owner, item.id, ward)).status).toBe(200);
    const again = await share(owner, item.id, ward);
    expect(again.status).toBe(409);
    expect(again.json()).toMatchObject({ error: { code: 'conflict' } });
  });

  it('sharing into another org’s unit answers 404, whichever org the path names', async () => {
    const item = await createItem(owner, 'Cross org');
    for (const res of [await share(owner, item.id, unitB), await share(owner, item.id, unitB, orgB)]) {
      expect(res.status).toBe(404);
      expect(res.json()).toMatchObject({ error: { code: 'not_found' } });
    }
    const counts = await t.database.ownerQuery('SELECT count(*)::int AS n FROM workspace_shares WHERE item_id = $1', [item.id]);
    expect(counts[0]?.n).toBe(0);
  });

  it('a viewer, who lacks workspace.share, gets 403 and the refusal is audited', async () => {
    const item = await createItem(people.viewerOfWard, 'Viewer note');
    const res = await share(people.viewerOfWard, item.id, ward);
    expect(res.status).toBe(403);
    expect(res.json()).toMatchObject({ error: { code: 'forbidden' } });
    const denied = await t.database.ownerQuery(
      `SELECT action, outcome FROM audit_log WHERE org_id = $1 AND actor_id = $2 AND action = 'workspace.item_shared'`,
      [orgA, people.viewerOfWard.userId],
    );
    expect(denied).toEqual([{ action: 'workspace.item_shared', outcome: 'denied' }]);
  });

  it('a tech may share only where they hold workspace.share', async () => {
    const item = await createItem(people.techOfAnnex, 'Annex only');
    expect((await share(people.techOfAnnex, item.id, ward)).status).toBe(403);
    expect((await share(people.techOfAnnex, item.id, annex)).status).toBe(200);
  });

  it('nobody can share someone else’s item, not even an admin (404)', async () => {
    const item = await createItem(owner, 'Not yours');
    for (const who of ['tenantAdmin', 'techOfSite', 'platformAdmin'] as const) {
      const res = await share(people[who], item.id, ward);
      expect(res.status, who).toBe(404);
    }
    const counts = await t.database.ownerQuery('SELECT count(*)::int AS n FROM workspace_shares WHERE item_id = $1', [item.id]);
    expect(counts[0]?.n).toBe(0);
  });

  it('a unit manager may take an item out of their unit; a reader may not (403); a non-reader sees nothing (404)', async () => {
    const item = await createItem(owner, 'Moderated');
    expect((await share(owner, item.id, ward)).status).toBe(200);
    expect((await unshare(people.viewerOfWard, item.id, ward)).status).toBe(403);
    expect((await unshare(people.techOfAnnex, item.id, ward)).status).toBe(404);
    expect((await unshare(people.tenantAdminOfB, item.id, ward)).status).toBe(404);
    const res = await unshare(people.tenantAdmin, item.id, ward);
    expect(res.status, res.text).toBe(200);
    // A non-owner is not told where else the item is shared.
    expect(res.json()).toMatchObject({ id: item.id, shares: [] });
    expect((await sharedWith(people.viewerOfWard)).map((i) => i.id)).not.toContain(item.id);
    const rows = await auditRows(item.id);
    expect(rows.at(-1)).toMatchObject({ action: 'workspace.item_unshared', outcome: 'success', actor_id: people.tenantAdmin.userId });
    expect((await unshare(people.tenantAdmin, item.id, ward)).status).toBe(404);
  });

  it('deleting a shared item ends its shares, each audited as unshared', async () => {
    const item = await createItem(owner, 'Short lived');
    expect((await share(owner, item.id, ward)).status).toBe(200);
    expect((await share(owner, item.id, mainSite)).status).toBe(200);
    expect((await t.request(`/api/workspace/items/${item.id}`, { method: 'DELETE', token: owner.token })).status).toBe(200);
    expect((await sharedWith(people.tenantAdmin)).map((i) => i.id)).not.toContain(item.id);
    const rows = await auditRows(item.id);
    expect(rows.filter((r) => r.action === 'workspace.item_unshared').map((r) => (r.details as { unitId: string }).unitId).sort()).toEqual([ward, mainSite].sort());
  });

  it('an MSP admin who shares into two orgs keeps each org’s view to its own shares', async () => {
    const admin = people.platformAdmin;
    const item = await createItem(admin, 'Runbook');
    expect((await share(admin, item.id, ward)).status).toBe(200);
    expect((await share(admin, item.id, unitB, orgB)).status).toBe(200);
    const inA = (await sharedWith(people.tenantAdmin)).filter((i) => i.id === item.id);
    const inB = (await sharedWith(people.tenantAdminOfB, orgB)).filter((i) => i.id === item.id);
    expect(inA.map((i) => i.unitId)).toEqual([ward]);
    expect(inB.map((i) => i.unitId)).toEqual([unitB]);
    const own = (await t.request(`/api/workspace/items/${item.id}`, { token: admin.token })).json() as WorkspaceItem;
    expect(own.shares.map((s) => s.orgId).sort()).toEqual([orgA, orgB].sort());
    const orgsAudited = (await auditRows(item.id)).map((r) => r.org_id).sort();
    expect(orgsAudited).toEqual([orgA, orgB].sort());
  });
});
