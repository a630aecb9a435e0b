import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../../tools/testing/postgres';
import { withOrg, withScope } from '../db/database';
import { createTestDatabase, type TestDatabase } from '../db/testing';
import { createOrg } from '../orgs/store';
import { auditEntryHash } from './chain';
import { appendAudit } from './log';
import { purgeExpiredAudit } from './retention';
import { verifyAllAuditChains, verifyAuditChain } from './verify';

const DAY_MS = 86_400_000;
const T0 = new Date('2020-01-01T00:00:00.000Z');
const system = { type: 'system', name: 'test' } as const;

describe.each(databaseKinds())('audit chain verification on %s', (kind) => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await database?.close();
  });

  /** A fresh org with `count` entries one minute apart from `start`; returns their ids in seq order. */
  async function orgWithEntries(count: number, start = T0): Promise<{ orgId: string; ids: string[] }> {
    const org = await createOrg(database.db, `Org ${randomUUID().slice(0, 8)}`);
    const ids = await append(org.id, count, start);
    return { orgId: org.id, ids };
  }

  async function append(orgId: string, count: number, start: Date): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const entry = await withOrg(database.db, orgId, (tx) =>
        appendAudit(tx, { orgId, actor: system, action: 'unit.activated', target: { type: 'unit', id: randomUUID() }, time: new Date(start.getTime() + i * 60_000) }),
      );
      ids.push(entry.id);
    }
    return ids;
  }

  /** Runs `statement` as the owner with user triggers off: what an attacker with the owner's password could do. */
  function tamper(statement: string): Promise<unknown> {
    return database.ownerQuery(`DO $tamper$ BEGIN PERFORM set_config('session_replication_role', 'replica', true); ${statement}; END $tamper$`);
  }

  it('an untouched chain verifies, across batch boundaries', async () => {
    const { orgId, ids } = await orgWithEntries(7);
    const report = await verifyAuditChain(database.db, orgId, { batchSize: 2 });
    expect(report).toMatchObject({ orgId, ok: true, checked: 7, lastSeq: 7, checkpoint: null, problem: null });
    expect(ids).toHaveLength(7);
  });

  it('concurrent appends to one org serialise into one valid chain', async () => {
    const { orgId } = await orgWithEntries(1);
    const entries = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        withOrg(database.db, orgId, (tx) => appendAudit(tx, { orgId, actor: system, action: 'unit.deactivated', time: new Date(T0.getTime() + i) })),
      ),
    );
    expect(new Set(entries.map((e) => e.seq)).size).toBe(20);
    expect(await verifyAuditChain(database.db, orgId)).toMatchObject({ ok: true, checked: 21, lastSeq: 21 });
  });

  it('the app role has no UPDATE, DELETE or TRUNCATE on audit_log', async () => {
    const { orgId } = await orgWithEntries(2);
    for (const statement of [
      sql`UPDATE audit_log SET actor_name = 'Mallory' WHERE org_id = ${orgId}`,
      sql`DELETE FROM audit_log WHERE org_id = ${orgId}`,
      sql`TRUNCATE audit_log`,
    ]) {
      await expect(withOrg(database.db, orgId, (tx) => statement.execute(tx))).rejects.toThrow(/permission denied/);
    }
    await expect(withOrg(database.db, orgId, (tx) => sql`DELETE FROM audit_checkpoints`.execute(tx))).rejects.toThrow(/permission denied/);
    expect((await verifyAuditChain(database.db, orgId)).ok).toBe(true);
  });

  it('even the owner cannot UPDATE, DELETE or TRUNCATE audit_log while the trigger is on', async () => {
    const { orgId, ids } = await orgWithEntries(2);
    await expect(database.ownerQuery(`UPDATE audit_log SET actor_name = 'Mallory' WHERE id = $1`, [ids[0]])).rejects.toThrow(/append-only/);
    await expect(database.ownerQuery(`DELETE FROM audit_log WHERE id = $1`, [ids[1]])).rejects.toThrow(/append-only/);
    await expect(database.ownerQuery(`TRUNCATE audit_log`)).rejects.toThrow(/append-only/);
    expect((await verifyAuditChain(database.db, orgId)).ok).toBe(true);
  });

  it('a changed row is named by its seq and id', async () => {
    const { orgId, ids } = await orgWithEntries(5);
    await tamper(`UPDATE audit_log SET actor_name = 'Mallory' WHERE id = '${ids[2]}'`);
    const report = await verifyAuditChain(database.db, orgId);
    expect(report).toMatchObject({ ok: false, checked: 2, problem: { seq: 3, id: ids[2], problem: 'hash_mismatch' } });
  });

  it('changed details are detected too', async () => {
    const { orgId, ids } = await orgWithEntries(3);
    await tamper(`UPDATE audit_log SET details = '{"note": "hidden"}'::jsonb WHERE id = '${ids[0]}'`);
    expect((await verifyAuditChain(database.db, orgId)).problem).toMatchObject({ seq: 1, id: ids[0], problem: 'hash_mismatch' });
  });

  it('a deleted middle row is reported at the entry after the gap', async () => {
    const { orgId, ids } = await orgWithEntries(5);
    await tamper(`DELETE FROM audit_log WHERE id = '${ids[2]}'`);
    const report = await verifyAuditChain(database.db, orgId);
    expect(report.problem).toMatchObject({ seq: 4, id: ids[3], problem: 'sequence_gap' });
    expect(report.problem?.message).toContain('expected entry #3');
  });

  it('a deleted last row is reported against the recorded head', async () => {
    const { orgId, ids } = await orgWithEntries(4);
    await tamper(`DELETE FROM audit_log WHERE id = '${ids[3]}'`);
    const report = await verifyAuditChain(database.db, orgId);
    expect(report).toMatchObject({ ok: false, checked: 3, problem: { seq: 4, problem: 'missing_tail' } });
  });

  it('deleting the last rows and the head is still detected', async () => {
    const { orgId, ids } = await orgWithEntries(3);
    await tamper(`DELETE FROM audit_log WHERE id = '${ids[2]}'; DELETE FROM audit_heads WHERE org_id = '${orgId}'`);
    expect((await verifyAuditChain(database.db, orgId)).problem).toMatchObject({ problem: 'missing_tail' });
  });

  it('a row inserted past the head, even with a correct hash, is named', async () => {
    const { orgId, ids } = await orgWithEntries(3);
    const rows = await database.ownerQuery(`SELECT hash FROM audit_log WHERE id = $1`, [ids[2]]);
    const forged = {
      id: randomUUID(), orgId, seq: 4, time: '2020-01-01T01:00:00.000Z', actorType: 'system' as const, actorId: null, actorName: 'system',
      action: 'unit.activated' as const, targetType: null, targetId: null, outcome: 'success' as const, sourceIp: null, userAgent: null,
      details: {}, prevHash: String(rows[0]?.hash),
    };
    const hash = auditEntryHash(forged);
    await database.ownerQuery(
      `INSERT INTO audit_log (id, org_id, seq, time, actor_type, actor_name, action, outcome, details, prev_hash, hash)
       VALUES ($1, $2, 4, $3, 'system', 'system', 'unit.activated', 'success', '{}', $4, $5)`,
      [forged.id, orgId, forged.time, forged.prevHash, hash],
    );
    const report = await verifyAuditChain(database.db, orgId);
    expect(report.problem).toMatchObject({ seq: 4, id: forged.id, problem: 'beyond_head' });
  });

  it('a row replaced out of order (recomputed hash) breaks the link of the entry after it', async () => {
    const { orgId, ids } = await orgWithEntries(4);
    const [before] = await database.ownerQuery(`SELECT hash FROM audit_log WHERE id = $1`, [ids[0]]);
    const forgedId = randomUUID();
    const forged = {
      id: forgedId, orgId, seq: 2, time: '2020-01-01T00:01:00.000Z', actorType: 'system' as const, actorId: null, actorName: 'system',
      action: 'unit.deactivated' as const, targetType: null, targetId: null, outcome: 'success' as const, sourceIp: null, userAgent: null,
      details: {}, prevHash: String(before?.hash),
    };
    await tamper(`DELETE FROM audit_log WHERE id = '${ids[1]}'`);
    await database.ownerQuery(
      `INSERT INTO audit_log (id, org_id, seq, time, actor_type, actor_name, action, outcome, details, prev_hash, hash)
       VALUES ($1, $2, 2, $3, 'system', 'system', 'unit.deactivated', 'success', '{}', $4, $5)`,
      [forgedId, orgId, forged.time, forged.prevHash, auditEntryHash(forged)],
    );
    expect((await verifyAuditChain(database.db, orgId)).problem).toMatchObject({ seq: 3, id: ids[2], problem: 'broken_link' });
  });

  it("tampering with one org's chain leaves another org's chain verifiable", async () => {
    const a = await orgWithEntries(3);
    const b = await orgWithEntries(3);
    await tamper(`UPDATE audit_log SET outcome = 'denied' WHERE id = '${a.ids[1]}'`);
    expect((await verifyAuditChain(database.db, a.orgId)).ok).toBe(false);
    expect(await verifyAuditChain(database.db, b.orgId)).toMatchObject({ ok: true, checked: 3 });
  });

  it('the platform chain (no org) is verified too, and --all style verification covers every org', async () => {
    await withScope(database.db, {}, (tx) => appendAudit(tx, { orgId: null, actor: system, action: 'auth.sign_in_failed', outcome: 'denied', details: { method: 'api_token', reason: 'unknown token' }, time: T0 }));
    expect(await verifyAuditChain(database.db, null)).toMatchObject({ orgId: null, ok: true });
    const { orgId } = await orgWithEntries(1);
    const reports = await verifyAllAuditChains(database.db);
    expect(reports[0]?.orgId).toBeNull();
    expect(reports.find((r) => r.orgId === orgId)).toMatchObject({ ok: true, checked: 1 });
  });

  describe('retention', () => {
    /** An org with 5 entries from T0 and 3 from six years and a month later, purged as of then. */
    async function purgedOrg() {
      const { orgId, ids: old } = await orgWithEntries(5);
      const later = new Date(T0.getTime() + 2230 * DAY_MS);
      const recent = await append(orgId, 3, later);
      const result = await purgeExpiredAudit(database.db, orgId, later, (tx, details) =>
        appendAudit(tx, { orgId, actor: system, action: 'audit.purged', target: { type: 'org', id: orgId }, details, time: later }),
      );
      return { orgId, old, recent, result, later };
    }

    it('purges entries older than the retention period, records the purge, and the chain still verifies', async () => {
      const { orgId, result, later } = await purgedOrg();
      expect(result).toMatchObject({ purged: 5, checkpointSeq: 5, before: new Date(later.getTime() - 2192 * DAY_MS).toISOString() });
      const left = await withOrg(database.db, orgId, (tx) => tx.selectFrom('audit_log').select(['seq', 'action', 'details']).orderBy('seq').execute());
      expect(left.map((r) => Number(r.seq))).toEqual([6, 7, 8, 9]);
      expect(left.at(-1)).toMatchObject({ action: 'audit.purged', details: { purged: 5, checkpointSeq: 5, checkpointHash: result.checkpointHash } });
      expect(await verifyAuditChain(database.db, orgId)).toMatchObject({ ok: true, checked: 4, lastSeq: 9, checkpoint: { seq: 5, hash: result.checkpointHash } });
    });

    it('a purge with nothing old enough deletes nothing and is still recorded', async () => {
      const { orgId } = await orgWithEntries(2);
      const result = await purgeExpiredAudit(database.db, orgId, T0, (tx, details) =>
        appendAudit(tx, { orgId, actor: system, action: 'audit.purged', details, time: T0 }),
      );
      expect(result).toMatchObject({ purged: 0, checkpointSeq: 0 });
      expect(await verifyAuditChain(database.db, orgId)).toMatchObject({ ok: true, checked: 3, checkpoint: null });
    });

    it('tampering after a purge is still detected', async () => {
      const { orgId, recent } = await purgedOrg();
      await tamper(`UPDATE audit_log SET actor_name = 'Mallory' WHERE id = '${recent[1]}'`);
      expect((await verifyAuditChain(database.db, orgId)).problem).toMatchObject({ seq: 7, id: recent[1], problem: 'hash_mismatch' });
    });

    it('a changed checkpoint is detected against the purge entry that recorded it', async () => {
      const { orgId } = await purgedOrg();
      await database.ownerQuery(`UPDATE audit_checkpoints SET hash = $1 WHERE org_id = $2`, ['f'.repeat(64), orgId]);
      expect((await verifyAuditChain(database.db, orgId)).problem).toMatchObject({ seq: 5, problem: 'checkpoint_mismatch' });
    });

    it('a deleted checkpoint, or one no purge recorded, is detected', async () => {
      const first = await purgedOrg();
      await database.ownerQuery(`DELETE FROM audit_checkpoints WHERE org_id = $1`, [first.orgId]);
      expect((await verifyAuditChain(database.db, first.orgId)).problem).toMatchObject({ seq: 6, problem: 'sequence_gap' });

      // Deleting the first entries and forging a checkpoint for them: no audit.purged names it.
      const { orgId, ids } = await orgWithEntries(4);
      const [second] = await database.ownerQuery(`SELECT hash FROM audit_log WHERE id = $1`, [ids[1]]);
      await tamper(`DELETE FROM audit_log WHERE id IN ('${ids[0]}', '${ids[1]}')`);
      await database.ownerQuery(`INSERT INTO audit_checkpoints (org_id, seq, hash, purged_before, purged_count) VALUES ($1, 2, $2, now(), 2)`, [orgId, second?.hash]);
      expect((await verifyAuditChain(database.db, orgId)).problem).toMatchObject({ seq: 2, problem: 'checkpoint_mismatch' });
    });

    it('an entry written later with a back-dated time cannot pull younger entries into a purge', async () => {
      // 5 old entries, 3 recent ones, then one the app back-dated: only the old prefix may go.
      const { orgId } = await orgWithEntries(5);
      const later = new Date(T0.getTime() + 2230 * DAY_MS);
      await append(orgId, 3, later);
      await withOrg(database.db, orgId, (tx) => appendAudit(tx, { orgId, actor: system, action: 'unit.activated', time: T0 }));
      const result = await purgeExpiredAudit(database.db, orgId, later, (tx, details) =>
        appendAudit(tx, { orgId, actor: system, action: 'audit.purged', details, time: later }),
      );
      expect(result).toMatchObject({ purged: 5, checkpointSeq: 5 });
      const left = await withOrg(database.db, orgId, (tx) => tx.selectFrom('audit_log').select('seq').orderBy('seq').execute());
      expect(left.map((r) => Number(r.seq))).toEqual([6, 7, 8, 9, 10]);
      expect(await verifyAuditChain(database.db, orgId)).toMatchObject({ ok: true });
    });

    it('the app role cannot purge another org, nor anything younger than the retention period', async () => {
      const { orgId } = await orgWithEntries(1);
      const other = await orgWithEntries(1);
      await expect(withOrg(database.db, other.orgId, (tx) => sql`SELECT * FROM rmm_audit_purge(${orgId}::uuid, now() - interval '7 years')`.execute(tx))).rejects.toThrow(/inside the org/);
      // A compromised server calling the definer function directly still cannot erase recent history.
      await expect(withOrg(database.db, orgId, (tx) => sql`SELECT * FROM rmm_audit_purge(${orgId}::uuid, now())`.execute(tx))).rejects.toThrow(/retention period of 2192 days/);
      await expect(withOrg(database.db, orgId, (tx) => sql`SELECT * FROM rmm_audit_purge(${orgId}::uuid, now() - interval '2000 days')`.execute(tx))).rejects.toThrow(/retention/);
      await database.ownerQuery(`UPDATE orgs SET audit_retention_days = 3000 WHERE id = $1`, [orgId]);
      await expect(withOrg(database.db, orgId, (tx) => sql`SELECT * FROM rmm_audit_purge(${orgId}::uuid, now() - interval '2500 days')`.execute(tx))).rejects.toThrow(/retention period of 3000 days/);
      await expect(withOrg(database.db, orgId, (tx) => sql`SELECT * FROM rmm_audit_purge(NULL, now())`.execute(tx))).rejects.toThrow(/inside the org/);
      expect(await verifyAuditChain(database.db, orgId)).toMatchObject({ ok: true, checked: 1 });
    });
  });
});
