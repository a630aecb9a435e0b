import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkspaceItem } from '../../protocol/access';
import { databaseKinds } from '../../tools/testing/postgres';
import { withScope } from '../db/database';
import { getTestServer, type TestServer } from '../test-support';

/* A personal workspace is private: its owner's alone, admins included, until shared. */

interface Person {
  userId: string;
  token: string;
}

describe.each(databaseKinds())('personal workspace privacy on %s', (kind) => {
  let t: TestServer;
  let orgA: string;
  let owner: Person;
  let others: Record<string, Person>;

  beforeAll(async () => {
    t = await getTestServer(kind);
    orgA = (await t.buildOrg('Clinic A')).id;
    const orgB = (await t.buildOrg('Clinic B')).id;
    const site = (await t.buildUnit(orgA, 'Main site')).id;
    owner = await t.buildUser({ orgId: orgA, role: 'tech', unitId: site, name: 'Owner' });
    others = {
      'a tenant_admin of the same org': await t.buildUser({ orgId: orgA, role: 'tenant_admin' }),
      'a tech of the same org': await t.buildUser({ orgId: orgA, role: 'tech', unitId: site }),
      'a viewer of the same org': await t.buildUser({ orgId: orgA, role: 'viewer' }),
      'a provisioning user of the same org': await t.buildUser({ orgId: orgA, role: 'provisioning' }),
      'a tenant_admin of another org': await t.buildUser({ orgId: orgB, role: 'tenant_admin' }),
      'an MSP platform admin': await t.buildUser({ orgId: null, platformAdmin: true }),
      'the bootstrap operator': { userId: '', token: t.token },
    };
  });
  afterAll(async () => t?.close());

  const create = async (who: Person, body: Record<string, unknown>) => {
    const res = await t.request('/api/workspace/items', { method: 'POST', body, token: who.token });
    expect(res.status, res.text).toBe(200);
    return res.json() as WorkspaceItem;
  };

  it('the owner creates, lists, reads, edits and deletes their scripts and notes', async () => {
    const script = await create(owner, { kind: 'script', title: 'Clear print queue', language: 'powershell', body: 'Stop-Service Spooler' });
    const note = await create(owner, { kind: 'note', title: 'Printer quirks', body: 'Reboot the printer first — ünïcödé ok' });
    expect(script).toMatchObject({ ownerId: owner.userId, ownerName: 'Owner', kind: 'script', language: 'powershell', shares: [] });
    expect(note).toMatchObject({ kind: 'note', language: null, body: 'Reboot the printer first — ünïcödé ok' });

    const list = (await t.request('/api/workspace/items', { token: owner.token })).json() as { items: WorkspaceItem[] };
    expect(list.items.map((i) => i.id).sort()).toEqual([script.id, note.id].sort());
    expect((await t.request(`/api/workspace/items/${script.id}`, { token: owner.token })).json()).toEqual(script);

    const patched = await t.request(`/api/workspace/items/${script.id}`, { method: 'PATCH', body: { title: 'Restart spooler' }, token: owner.token });
    expect(patched.status).toBe(200);
    expect(patched.json()).toMatchObject({ id: script.id, title: 'Restart spooler', body: 'Stop-Service Spooler' });

    const deleted = await t.request(`/api/workspace/items/${note.id}`, { method: 'DELETE', token: owner.token });
    expect(deleted.status).toBe(200);
    expect((deleted.json() as WorkspaceItem).id).toBe(note.id);
    expect((await t.request(`/api/workspace/items/${note.id}`, { token: owner.token })).status).toBe(404);
  });

  it('refuses malformed items with validation_failed', async () => {
    for (const body of [
      { kind: 'script', title: 'no language', body: 'x' },
      { kind: 'note', title: '', body: 'x' },
      { kind: 'note', title: 'extra', body: 'x', ownerId: owner.userId },
      { kind: 'macro', title: 'x', body: 'x' },
    ]) {
      const res = await t.request('/api/workspace/items', { method: 'POST', body, token: owner.token });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'validation_failed' } });
    }
    const res = await t.request('/api/workspace/items/00000000-0000-4000-8000-000000000000', { method: 'PATCH', body: { ownerId: owner.userId }, token: owner.token });
    expect(res.status).toBe(400);
  });

  it('without a token the workspace answers 401', async () => {
    const res = await t.request('/api/workspace/items', { token: null });
    expect(res.status).toBe(401);
    expect(res.json()).toMatchObject({ error: { code: 'unauthenticated' } });
  });

  it('nobody else can read, change or delete an unshared item, and it is in nobody else’s lists', async () => {
    const item = await create(owner, { kind: 'script', title: 'Private', language: 'bash', body: 'echo secret' });
    for (const [who, person] of Object.entries(others)) {
      const read = await t.request(`/api/workspace/items/${item.id}`, { token: person.token });
      const patch = await t.request(`/api/workspace/items/${item.id}`, { method: 'PATCH', body: { body: 'pwned' }, token: person.token });
      const del = await t.request(`/api/workspace/items/${item.id}`, { method: 'DELETE', token: person.token });
      for (const [what, res] of [['read', read], ['patch', patch], ['delete', del]] as const) {
        expect(res.status, `${who}: ${what}`).toBe(404);
        expect(res.json(), `${who}: ${what}`).toMatchObject({ error: { code: 'not_found' } });
        expect(res.text).not.toContain('echo secret');
      }
      const own = await t.request('/api/workspace/items', { token: person.token });
      expect(own.text, who).not.toContain(item.id);
      const shared = await t.request(`/api/orgs/${orgA}/shared-items`, { token: person.token });
      expect(shared.text, who).not.toContain(item.id);
    }
    expect((await t.request(`/api/workspace/items/${item.id}`, { token: owner.token })).json()).toMatchObject({ body: 'echo secret' });
  });

  it('at the database level a platform admin’s scope cannot see or touch another user’s unshared item', async () => {
    const item = await create(owner, { kind: 'note', title: 'Hidden from admins', body: 'only mine' });
    const admin = others['an MSP platform admin'];
    if (!admin) throw new Error('fixture missing');
    for (const scope of [{ orgId: orgA, userId: admin.userId }, { userId: admin.userId }, { orgId: orgA }, {}]) {
      const outcome = await withScope(t.database.db, scope, async (tx) => ({
        seen: (await sql`SELECT id FROM workspace_items WHERE id = ${item.id}`.execute(tx)).rows.length,
        all: (await sql<{ owner_id: string }>`SELECT owner_id FROM workspace_items`.execute(tx)).rows,
        updated: Number((await sql`UPDATE workspace_items SET body = 'changed' WHERE id = ${item.id}`.execute(tx)).numAffectedRows ?? 0n),
        deleted: Number((await sql`DELETE FROM workspace_items WHERE id = ${item.id}`.execute(tx)).numAffectedRows ?? 0n),
      }));
      expect(outcome, JSON.stringify(scope)).toMatchObject({ seen: 0, updated: 0, deleted: 0 });
      expect(outcome.all.every((row) => row.owner_id === scope.userId), JSON.stringify(scope)).toBe(true);
    }
    const rows = await t.database.ownerQuery('SELECT body FROM workspace_items WHERE id = $1', [item.id]);
    expect(rows).toEqual([{ body: 'only mine' }]);
  });

  it('nobody can create an item in someone else’s name, even with raw SQL', async () => {
    const admin = others['an MSP platform admin'];
    if (!admin) throw new Error('fixture missing');
    await expect(withScope(t.database.db, { orgId: orgA, userId: admin.userId }, (tx) =>
      sql`INSERT INTO workspace_items (owner_id, kind, title, body) VALUES (${owner.userId}, 'note', 'planted', 'x')`.execute(tx),
    )).rejects.toThrow(/row-level security/);
  });
});
