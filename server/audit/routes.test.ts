import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditPage, AuditPurgeResult } from '../../protocol/access';
import { AuditEntry, type AuditAction, type AuditOutcome } from '../../protocol/audit-actions';
import { databaseKinds } from '../../tools/testing/postgres';
import type { Clock } from '../clock';
import { withOrg } from '../db/database';
import { getTestServer, type TestServer } from '../test-support';
import { ChainVerifier } from './chain';
import { auditExportStream, CSV_COLUMNS, planAuditExport } from './export';
import { appendAudit, type AuditActor } from './log';
import { verifyAuditChain } from './verify';

/*
 * The audit log over the API: the viewer's query (filters, keyset pages), the streamed export
 * (JSON lines and CSV, counted, audited) and the retention purge, with who may do each.
 */

const DAY_MS = 86_400_000;

/** RFC 4180 reader for checking the export: quoted fields, doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || record.length > 0) throw new Error('CSV does not end with CRLF');
  return records;
}

describe.each(databaseKinds())('audit API on %s', (kind) => {
  let t: TestServer;
  // Starts at the real time: the server's TLS certificate is issued by this clock.
  let now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const clock: Clock = { now: () => new Date(now) };
  let orgA: string;
  let orgB: string;
  let admin: { userId: string; token: string };
  let viewer: { userId: string; token: string };
  let tech: { userId: string; token: string };
  let viewerOfB: { userId: string; token: string };
  const alice: AuditActor = { type: 'user', id: randomUUID(), name: 'Alice Nurse' };
  const bob: AuditActor = { type: 'user', id: randomUUID(), name: '=HYPERLINK("http://evil","x"), Bob' };
  const unitTarget = { type: 'unit', id: randomUUID() };

  async function seed(orgId: string, count: number, pick: (i: number) => { actor: AuditActor; action: AuditAction; outcome?: AuditOutcome; target?: { type: string; id: string } }) {
    await withOrg(t.database.db, orgId, async (tx) => {
      for (let i = 0; i < count; i++) {
        const { actor, action, outcome, target } = pick(i);
        await appendAudit(tx, { orgId, actor, action, outcome: outcome ?? 'success', target: target ?? null, time: new Date(now.getTime() + i * 1000), source: { ip: '10.0.0.1', userAgent: 'test' } });
      }
    });
    now = new Date(now.getTime() + count * 1000 + 60_000);
  }

  /** An export with a fresh step-up proof for audit.export, as the route requires. */
  const exportAs = async (orgId: string, query: string, token = admin.token) =>
    t.request(`/api/orgs/${orgId}/audit/export${query}`, { token, headers: { 'x-step-up': await t.stepUp(token, 'audit.export') } });

  const list = async (orgId: string, query: string, token = admin.token) => {
    const res = await t.request(`/api/orgs/${orgId}/audit${query}`, { token });
    expect(res.status, res.text).toBe(200);
    return AuditPage.parse(res.json());
  };

  beforeAll(async () => {
    t = await getTestServer(kind, {}, clock);
    orgA = (await t.buildOrg('Audit Clinic A')).id;
    orgB = (await t.buildOrg('Audit Clinic B')).id;
    admin = await t.buildUser({ orgId: orgA, role: 'tenant_admin', name: 'Tenant Admin' });
    viewer = await t.buildUser({ orgId: orgA, role: 'viewer', name: 'Auditor' });
    tech = await t.buildUser({ orgId: orgA, role: 'tech', name: 'Tech' });
    viewerOfB = await t.buildUser({ orgId: orgB, role: 'viewer' });
    // 40 entries: Alice activates units (every 4th denied), Bob renames the one unit target.
    await seed(orgA, 40, (i) =>
      i % 2 === 0
        ? { actor: alice, action: 'unit.activated', outcome: i % 4 === 0 ? 'denied' : 'success', target: { type: 'unit', id: randomUUID() } }
        : { actor: bob, action: 'unit.deactivated', target: unitTarget },
    );
    await seed(orgB, 5, () => ({ actor: alice, action: 'unit.activated' }));
  });
  afterAll(async () => t?.close());

  describe('query', () => {
    it('pages backwards by seq, newest first, without gaps or repeats', async () => {
      const seen: number[] = [];
      let before: number | null = null;
      for (let pages = 0; pages < 100; pages++) {
        const page: AuditPage = await list(orgA, `?limit=7${before === null ? '' : `&before=${before}`}`);
        seen.push(...page.entries.map((e) => e.seq));
        expect(page.entries.every((e) => e.orgId === orgA)).toBe(true);
        before = page.nextBefore;
        if (before === null) break;
      }
      expect(seen.length).toBeGreaterThanOrEqual(40);
      expect(seen).toEqual([...seen].sort((a, b) => b - a));
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.at(-1)).toBe(1);
    });

    it('filters by action, actor id or name, target, outcome and time range', async () => {
      const byAction = await list(orgA, '?action=unit.deactivated&limit=500');
      expect(byAction.entries).toHaveLength(20);
      expect(byAction.nextBefore).toBeNull();
      expect((await list(orgA, `?actor=${alice.type === 'user' ? alice.id : ''}&action=unit.activated&limit=500`)).entries).toHaveLength(20);
      expect((await list(orgA, `?actor=${encodeURIComponent('Alice Nurse')}&action=unit.activated&limit=500`)).entries).toHaveLength(20);
      const target = await list(orgA, `?targetType=unit&targetId=${unitTarget.id}&limit=500`);
      expect(target.entries).toHaveLength(20);
      expect(target.entries.every((e) => e.actorName === bob.name)).toBe(true);
      const denied = await list(orgA, '?outcome=denied&action=unit.activated&limit=500');
      expect(denied.entries).toHaveLength(10);
      const all = (await list(orgA, '?action=unit.activated&limit=500')).entries;
      const from = all[15]?.time ?? '';
      const to = all[5]?.time ?? '';
      const ranged = await list(orgA, `?action=unit.activated&from=${from}&to=${to}&limit=500`);
      expect(ranged.entries.map((e) => e.seq)).toEqual(all.slice(6, 16).map((e) => e.seq));
    });

    it('a filtered page reports a next page only when there is one', async () => {
      const first = await list(orgA, '?action=unit.deactivated&limit=15');
      expect(first.entries).toHaveLength(15);
      expect(first.nextBefore).toBe(first.entries.at(-1)?.seq);
      const second = await list(orgA, `?action=unit.deactivated&limit=15&before=${first.nextBefore}`);
      expect(second.entries).toHaveLength(5);
      expect(second.nextBefore).toBeNull();
    });

    it('pages a time range exactly, by time then seq, even where the clock stepped back', async () => {
      const org = (await t.buildOrg('Clock skew clinic')).id;
      const base = now.getTime();
      // Entry times (in seconds from base) in seq order: the clock steps back twice.
      const offsets = [0, 10, 20, 5, 30, 15, 40, 50, 45, 60];
      await withOrg(t.database.db, org, async (tx) => {
        for (const offset of offsets) {
          await appendAudit(tx, { orgId: org, actor: alice, action: 'unit.activated', time: new Date(base + offset * 1000) });
        }
      });
      const from = new Date(base + 5000).toISOString();
      const to = new Date(base + 50_000).toISOString();
      const expected = offsets
        .map((offset, i) => ({ offset, seq: i + 1 }))
        .filter(({ offset }) => offset >= 5 && offset < 50)
        .sort((x, y) => y.offset - x.offset || y.seq - x.seq)
        .map(({ seq }) => seq);
      const seen: number[] = [];
      let before: number | null = null;
      do {
        const page: AuditPage = await list(org, `?from=${from}&to=${to}&limit=3${before === null ? '' : `&before=${before}`}`, t.token);
        seen.push(...page.entries.map((e) => e.seq));
        before = page.nextBefore;
      } while (before !== null);
      expect(seen).toEqual(expected);

      const res = await exportAs(org, `?format=jsonl&from=${from}&to=${to}`, t.token);
      const exported = res.text.trimEnd().split('\n').map((line) => AuditEntry.parse(JSON.parse(line)).seq);
      expect(exported).toEqual([...expected].reverse());
      expect(res.headers['x-audit-entries']).toBe(String(expected.length));

      // The same in batches of two: each batch resumes after the last entry of the one before.
      const plan = await withOrg(t.database.db, org, (tx) => planAuditExport(tx, org, 'jsonl', { from, to }));
      let text = '';
      for await (const chunk of auditExportStream(t.database.db, plan, 2)) text += String(chunk);
      expect(text.trimEnd().split('\n').map((line) => AuditEntry.parse(JSON.parse(line)).seq)).toEqual([...expected].reverse());
    });

    it('refuses a limit over 500 or an unknown action with validation_failed', async () => {
      for (const query of ['?limit=501', '?action=nope', '?outcome=maybe', '?from=yesterday']) {
        const res = await t.request(`/api/orgs/${orgA}/audit${query}`, { token: admin.token });
        expect(res.status, query).toBe(400);
        expect(res.json()).toMatchObject({ error: { code: 'validation_failed' } });
      }
    });

    it('a viewer reads the log; a tech (no audit.read) gets 403, and the refusal is itself audited', async () => {
      expect((await list(orgA, '?limit=1', viewer.token)).entries).toHaveLength(1);
      const res = await t.request(`/api/orgs/${orgA}/audit`, { token: tech.token });
      expect(res.status).toBe(403);
      expect(res.json()).toMatchObject({ error: { code: 'forbidden' } });
      const refusals = await list(orgA, `?actor=${tech.userId}&action=access.denied`);
      expect(refusals.entries[0]).toMatchObject({ outcome: 'denied', details: { permission: 'audit.read' } });
    });

    it("org B's viewer gets 404 for org A's log, and never sees its entries", async () => {
      const res = await t.request(`/api/orgs/${orgA}/audit`, { token: viewerOfB.token });
      expect(res.status).toBe(404);
      const own = await list(orgB, '?limit=500', viewerOfB.token);
      expect(own.entries.every((e) => e.orgId === orgB)).toBe(true);
    });
  });

  describe('export', () => {
    it('streams JSON lines, oldest first, counted up front, including its own audit record', async () => {
      const res = await exportAs(orgA, '?format=jsonl');
      expect(res.status, res.text).toBe(200);
      expect(res.headers['content-type']).toContain('application/x-ndjson');
      expect(res.headers['content-disposition']).toMatch(/attachment; filename="audit-.*\.jsonl"/);
      const entries = res.text.trimEnd().split('\n').map((line) => AuditEntry.parse(JSON.parse(line)));
      expect(Number(res.headers['x-audit-entries'])).toBe(entries.length);
      // The whole chain from genesis: the recipient can verify it independently.
      const verifier = new ChainVerifier();
      for (const entry of entries) expect(verifier.push(entry)).toBeNull();
      expect(entries.at(-1)).toMatchObject({ action: 'audit.exported', actorId: admin.userId, details: { format: 'jsonl', from: null, to: null } });
    });

    it('streams CSV: header row, RFC 4180 quoting, details as JSON, formulas defused', async () => {
      const res = await exportAs(orgA, '?format=csv');
      expect(res.status, res.text).toBe(200);
      expect(res.headers['content-type']).toContain('text/csv');
      const [header, ...records] = parseCsv(res.text);
      expect(header).toEqual([...CSV_COLUMNS]);
      expect(records).toHaveLength(Number(res.headers['x-audit-entries']));
      const column = (name: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(name);
      const bobRow = records.find((r) => r[column('action')] === 'unit.deactivated');
      expect(bobRow?.[column('actorName')]).toBe(`'${bob.name}`);
      const last = records.at(-1) ?? [];
      expect(last[column('action')]).toBe('audit.exported');
      expect(JSON.parse(last[column('details')] ?? '')).toEqual({ format: 'csv', from: null, to: null });
      expect(records.map((r) => Number(r[column('seq')]))).toEqual([...records.keys()].map((i) => i + 1));
    });

    it('exports a time range only', async () => {
      const all = (await list(orgA, '?action=unit.deactivated&limit=500')).entries;
      const from = all[9]?.time ?? '';
      const to = all[2]?.time ?? '';
      const res = await exportAs(orgA, `?format=jsonl&from=${from}&to=${to}`);
      const entries = res.text.trimEnd().split('\n').map((line) => AuditEntry.parse(JSON.parse(line)));
      expect(res.headers['x-audit-entries']).toBe(String(entries.length));
      expect(entries.every((e) => e.time >= from && e.time < to)).toBe(true);
      expect(entries.filter((e) => e.action === 'unit.deactivated').map((e) => e.seq)).toEqual(all.slice(3, 10).map((e) => e.seq).reverse());
      const record = (await list(orgA, '?action=audit.exported&limit=1')).entries[0];
      expect(record?.details).toEqual({ format: 'jsonl', from, to });
    });

    it('streams a log longer than one batch in full', async () => {
      const org = (await t.buildOrg('Busy clinic')).id;
      await seed(org, 1234, (i) => ({ actor: alice, action: i % 2 ? 'unit.activated' : 'unit.deactivated' }));
      const res = await exportAs(org, '?format=csv', t.token);
      expect(res.status).toBe(200);
      expect(res.headers['x-audit-entries']).toBe('1235');
      expect(parseCsv(res.text)).toHaveLength(1236);
    });

    it('a viewer (audit.read, not audit.export) gets 403, recorded as a denied export', async () => {
      const res = await t.request(`/api/orgs/${orgA}/audit/export?format=csv`, { token: viewer.token });
      expect(res.status).toBe(403);
      expect(res.json()).toMatchObject({ error: { code: 'forbidden' } });
      const record = (await list(orgA, `?actor=${viewer.userId}&action=audit.exported`)).entries[0];
      expect(record).toMatchObject({ outcome: 'denied', actorName: 'Auditor' });
    });

    it('refuses an unknown format', async () => {
      const res = await t.request(`/api/orgs/${orgA}/audit/export?format=xml`, { token: admin.token });
      expect(res.status).toBe(400);
    });

    it('needs a step-up proof for audit.export: none, one for another action, a spent one or an expired one is refused (audited as denied), and nothing is exported', async () => {
      const url = `/api/orgs/${orgA}/audit/export?format=jsonl`;
      const withProof = (proof?: string) => t.request(url, { token: admin.token, ...(proof ? { headers: { 'x-step-up': proof } } : {}) });
      const deniedBefore = (await list(orgA, `?actor=${admin.userId}&action=audit.exported&outcome=denied&limit=500`)).entries.length;

      const none = await withProof();
      expect([none.status, none.json()]).toEqual([403, expect.objectContaining({ error: expect.objectContaining({ code: 'step_up_required' }) })]);
      expect(none.headers['x-audit-entries']).toBeUndefined();

      const otherAction = await withProof(await t.stepUp(admin.token, 'grants.change'));
      expect([otherAction.status, otherAction.text]).toEqual([403, expect.stringContaining('step_up_invalid')]);

      const proof = await t.stepUp(admin.token, 'audit.export');
      expect((await withProof(proof)).status).toBe(200);
      const reused = await withProof(proof);
      expect([reused.status, reused.text]).toEqual([403, expect.stringContaining('step_up_invalid')]);

      const stale = await t.stepUp(admin.token, 'audit.export');
      now = new Date(now.getTime() + 5 * 60_000 + 1000);
      const expired = await withProof(stale);
      expect([expired.status, expired.text]).toEqual([403, expect.stringContaining('expired')]);

      const denied = (await list(orgA, `?actor=${admin.userId}&action=audit.exported&outcome=denied&limit=500`)).entries.length;
      expect(denied - deniedBefore).toBe(4);
    });
  });

  describe('purge', () => {
    it('only org.settings holders purge; the purge is audited and the chain still verifies', async () => {
      const viewerTry = await t.request(`/api/orgs/${orgA}/audit/purge`, { method: 'POST', token: viewer.token });
      expect(viewerTry.status).toBe(403);

      // Five entries from seven years ago, then the org's recent life.
      const org = (await t.buildOrg('Old clinic')).id;
      const longAgo = new Date(Date.now() - 7 * 365 * DAY_MS);
      await withOrg(t.database.db, org, async (tx) => {
        for (let i = 0; i < 5; i++) await appendAudit(tx, { orgId: org, actor: alice, action: 'unit.activated', time: new Date(longAgo.getTime() + i * 1000) });
        await appendAudit(tx, { orgId: org, actor: alice, action: 'unit.deactivated', time: new Date() });
      });
      const res = await t.request(`/api/orgs/${org}/audit/purge`, { method: 'POST', token: t.token });
      expect(res.status, res.text).toBe(200);
      const result = AuditPurgeResult.parse(res.json());
      expect(result).toMatchObject({ purged: 5, checkpointSeq: 5 });
      expect(result.before).toBe(new Date(now.getTime() - 2192 * DAY_MS).toISOString());

      const page = await list(org, '?limit=500', t.token);
      expect(page.entries.map((e) => e.seq)).toEqual([7, 6]);
      expect(page.entries[0]).toMatchObject({ action: 'audit.purged', actorName: 'Operator', details: result });
      expect(await verifyAuditChain(t.database.db, org)).toMatchObject({ ok: true, checked: 2, checkpoint: { seq: 5 } });

      // Again: nothing left that old; still recorded, naming the same checkpoint.
      const again = AuditPurgeResult.parse((await t.request(`/api/orgs/${org}/audit/purge`, { method: 'POST', token: t.token })).json());
      expect(again).toMatchObject({ purged: 0, checkpointSeq: 5, checkpointHash: result.checkpointHash });
      expect(await verifyAuditChain(t.database.db, org)).toMatchObject({ ok: true, checked: 3 });
      expect(await verifyAuditChain(t.database.db, orgA)).toMatchObject({ ok: true });
    });
  });
});
