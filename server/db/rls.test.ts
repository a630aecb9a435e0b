import { randomBytes } from 'node:crypto';
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../../tools/testing/postgres';
import { insertEnrolmentToken } from '../agents/enrolment';
import { provisionAgent } from '../agents/provision';
import { appendAudit } from '../audit/log';
import { issueApiToken } from '../auth/api-token';
import { systemClock } from '../clock';
import { createGrant } from '../grants/store';
import { createOrg } from '../orgs/store';
import { createUnit } from '../units/store';
import { createUser } from '../users/store';
import { insertAlert } from '../alerts/store';
import { insertScript } from '../scripts/store';
import { issueStepUpProof } from '../mfa/step-up';
import { replaceBackupCodes, savePendingSecret } from '../mfa/store';
import { generateSessionToken, insertSession, sessionByToken } from '../sessions/store';
import { withOrg, withScope, type Scope } from './database';
import { createTestDatabase, type TestDatabase } from './testing';

/*
 * Tenant isolation at the database level, proven over the catalog: every table in the public
 * schema is found in pg_class, must be row-level secured (enabled, forced, with a policy) unless
 * it is on the allowlist below, is filled for two orgs, and is then attacked with raw SQL as the
 * application role. A new table without a policy, or one this file does not fill, fails here.
 */

/** Tables without row-level security, on purpose. */
const NOT_TENANT_DATA: Record<string, string> = {
  orgs: 'the directory of client organisations: readable everywhere, updatable only from inside the org (migration 0004, tested below)',
  kysely_migration: "Kysely's migration bookkeeping (owner only)",
  kysely_migration_lock: "Kysely's migration lock (owner only)",
};
/** Tables without org_id: they belong to one user (rmm.user_id), and this is the owning column. */
const USER_OWNED: Record<string, string> = {
  api_tokens: 'user_id',
  workspace_items: 'owner_id',
  mfa_totp: 'user_id',
  mfa_backup_codes: 'user_id',
  mfa_step_up_proofs: 'user_id',
};
/** Tables whose org_id NULL rows are visible outside any org (migrations 0002, 0008, 0009): staff, their sessions and alerts, the platform audit chain. */
const PLATFORM_ROWS = new Set(['users', 'audit_log', 'audit_heads', 'audit_checkpoints', 'sessions', 'alerts']);
/** Tables of the MSP alone, without org_id: seen and written only in the platform scope (no org set), tested below. */
const PLATFORM_ONLY: Record<string, string> = {
  trusted_builds: 'agent builds the MSP trusts (migration 0010)',
};

interface Tenant {
  orgId: string;
  unitId: string;
  userId: string;
}

/** One of everything, in one org: units, agents, a user with a token, a grant and a session, a shared workspace item, audit entries, a purge checkpoint. */
async function seedTenant(database: TestDatabase, name: string): Promise<Tenant> {
  const { db } = database;
  const orgId = (await createOrg(db, name)).id;
  const actor = { type: 'system' as const };
  // An old entry first, purged below so the org also has a checkpoint.
  await withOrg(db, orgId, (tx) => appendAudit(tx, { orgId, actor, action: 'org.created', details: { name }, time: new Date('2001-01-01T00:00:00Z') }));
  await withOrg(db, orgId, (tx) => sql`SELECT * FROM rmm_audit_purge(${orgId}, ${new Date('2002-01-01T00:00:00Z')})`.execute(tx));
  const unitId = (await withOrg(db, orgId, (tx) => createUnit(tx, { orgId, parentId: null, name: `${name} site` }))).id;
  await withOrg(db, orgId, (tx) => provisionAgent(tx, { orgId, unitId }, { current: randomBytes(32), previous: [] }));
  const userId = (await withOrg(db, orgId, (tx) => createUser(tx, { orgId, displayName: `${name} tech`, email: `tech@${orgId}.test` }))).id;
  await issueApiToken(db, systemClock, { userId, auditOrgId: orgId, label: 'rls', actor });
  await withOrg(db, orgId, (tx) => insertEnrolmentToken(tx, { orgId, unitId, label: 'rls', createdBy: userId, at: new Date(), expiresInMinutes: 60 }));
  await withOrg(db, orgId, (tx) => createGrant(tx, { orgId, userId, role: 'tech', unitId, createdBy: null }));
  await withOrg(db, orgId, (tx) => insertSession(tx, { orgId, userId, token: generateSessionToken(), at: new Date(), userAgent: 'rls', ip: '127.0.0.1' }));
  await withOrg(db, orgId, (tx) => insertAlert(tx, { orgId, kind: 'mfa.backup_code_used', subject: { userId, name: `${name} tech` }, message: `${name} tech used a backup code (9 left)`, at: new Date() }));
  await withOrg(db, orgId, (tx) => insertScript(tx, {
    orgId, unitId, name: `${name} script`, language: 'bash', body: `echo ${name}`, parameters: [], timeoutSeconds: 60,
    sha256: (orgId.replaceAll('-', '') + orgId.replaceAll('-', '')).slice(0, 64), author: { userId, name: `${name} tech` }, at: new Date(),
  }));
  await withScope(db, { orgId, userId }, async (tx) => {
    const item = await tx.insertInto('workspace_items')
      .values({ owner_id: userId, kind: 'note', title: 'shared', language: null, body: name, updated_at: new Date() })
      .returning('id').executeTakeFirstOrThrow();
    await tx.insertInto('workspace_shares').values({ org_id: orgId, item_id: item.id, unit_id: unitId, shared_by: userId }).execute();
    await tx.insertInto('workspace_items').values({ owner_id: userId, kind: 'note', title: 'private', language: null, body: name, updated_at: new Date() }).execute();
    // MFA: a sealed (here: sealed-looking) secret, a backup code hash, a step-up proof.
    await savePendingSecret(tx, userId, 'v1.00000000.c2VhbGVk', new Date());
    await replaceBackupCodes(tx, userId, [Buffer.alloc(32, name.length)], new Date());
    await issueStepUpProof(tx, systemClock, { userId, action: 'audit.export' });
  });
  return { orgId, unitId, userId };
}

type Attempt = { ok: true; rows: Record<string, unknown>[]; affected: number } | { ok: false; error: string };

describe.each(databaseKinds())('tenant isolation on %s', (kind) => {
  let database: TestDatabase;
  let a: Tenant;
  let b: Tenant;
  let tables: Array<{ name: string; hasOrgId: boolean }>;
  let staffSessionId: string;
  let staffUserId: string;

  /** Raw SQL as rmm_app in its own transaction; a refusal is an outcome, not a test failure. */
  const attempt = (scope: Scope, text: string, params: unknown[] = []): Promise<Attempt> =>
    withScope(database.db, scope, async (tx) => {
      const result = await tx.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, params));
      return { ok: true as const, rows: result.rows, affected: Number(result.numAffectedRows ?? 0n) };
    }).catch((err: unknown) => ({ ok: false as const, error: err instanceof Error ? err.message : String(err) }));
  /** A fingerprint of one org's rows, read as the owner past RLS. */
  const fingerprint = async (table: string, orgId: string) =>
    (await database.ownerQuery(`SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) AS h FROM ${table} t WHERE org_id = $1`, [orgId]))[0];

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    a = await seedTenant(database, 'Clinic A');
    b = await seedTenant(database, 'Clinic B');
    await withScope(database.db, {}, async (tx) => {
      staffUserId = (await createUser(tx, { orgId: null, displayName: 'MSP staff', email: 'staff@msp.test', platformAdmin: true })).id;
      staffSessionId = await insertSession(tx, { orgId: null, userId: staffUserId, token: generateSessionToken(), at: new Date(), userAgent: 'rls', ip: '127.0.0.1' });
      await insertAlert(tx, { orgId: null, kind: 'mfa.locked', subject: { userId: staffUserId, name: 'MSP staff' }, message: "MSP staff's step-up is locked", at: new Date() });
      await appendAudit(tx, { orgId: null, actor: { type: 'system' }, action: 'auth.sign_in_failed', details: { method: 'api_token', reason: 'unknown token' }, time: new Date() });
      await tx.insertInto('trusted_builds').values({ sha256: 'b'.repeat(64), version: '1.0.0', size: 1, key_id: 'c'.repeat(64), manifest: '{}', added_by: staffUserId, added_at: new Date() }).execute();
    });
    const rows = await database.ownerQuery(
      `SELECT c.relname AS name, EXISTS (SELECT 1 FROM pg_attribute x WHERE x.attrelid = c.oid AND x.attname = 'org_id' AND NOT x.attisdropped) AS has_org_id
       FROM pg_class c WHERE c.relkind IN ('r', 'p') AND c.relnamespace = 'public'::regnamespace ORDER BY 1`,
    );
    tables = rows.map((r) => ({ name: String(r.name), hasOrgId: r.has_org_id === true })).filter((t) => !(t.name in NOT_TENANT_DATA));
  });
  afterAll(async () => database?.close());

  it('runs application queries as rmm_app, which cannot bypass row-level security and owns no table', async () => {
    const result = await sql<{ who: string; bypass: boolean; superuser: boolean }>`
      SELECT current_user AS who, rolbypassrls AS bypass, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user
    `.execute(database.db);
    expect(result.rows[0]).toEqual({ who: 'rmm_app', bypass: false, superuser: false });
    const owned = await database.ownerQuery(`SELECT relname FROM pg_class WHERE relowner = 'rmm_app'::regrole AND relnamespace = 'public'::regnamespace`);
    expect(owned).toEqual([]);
  });

  it('finds the tenant tables in the catalog', () => {
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['agents', 'api_tokens', 'audit_checkpoints', 'audit_heads', 'audit_log', 'grants', 'sessions', 'units', 'users', 'workspace_items', 'workspace_shares']));
  });

  /** Tables outside the allowlist that lack RLS enabled, forced, or a policy. */
  const unsecuredTables = async () =>
    (await database.ownerQuery(
      `SELECT c.relname AS name FROM pg_class c
       WHERE c.relkind IN ('r', 'p') AND c.relnamespace = 'public'::regnamespace
         AND NOT (c.relrowsecurity AND c.relforcerowsecurity AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
       ORDER BY 1`,
    )).map((r) => String(r.name)).filter((name) => !(name in NOT_TENANT_DATA));

  it('every table outside the allowlist has row-level security enabled and forced, with a policy', async () => {
    expect(await unsecuredTables()).toEqual([]);
  });

  it('a new table without a policy, or with RLS not forced, is caught by the check above', async () => {
    try {
      await database.ownerQuery('CREATE TABLE rls_probe_plain (org_id uuid)');
      await database.ownerQuery('CREATE TABLE rls_probe_unforced (org_id uuid)');
      await database.ownerQuery('ALTER TABLE rls_probe_unforced ENABLE ROW LEVEL SECURITY');
      await database.ownerQuery('CREATE POLICY p ON rls_probe_unforced USING (org_id = rmm_current_org())');
      expect(await unsecuredTables()).toEqual(['rls_probe_plain', 'rls_probe_unforced']);
    } finally {
      await database.ownerQuery('DROP TABLE IF EXISTS rls_probe_plain, rls_probe_unforced');
    }
  });

  it('every table is either org-scoped (org_id) or owned by a user, and the test fills it for both orgs', async () => {
    for (const table of tables.filter((t) => !(t.name in PLATFORM_ONLY))) {
      if (table.hasOrgId) {
        for (const tenant of [a, b]) expect(Number((await fingerprint(table.name, tenant.orgId))?.n), `${table.name}: seed rows for it in seedTenant()`).toBeGreaterThan(0);
      } else {
        const column = USER_OWNED[table.name];
        expect(column, `${table.name} has no org_id: give it one, or list its owning column in USER_OWNED`).toBeDefined();
        for (const tenant of [a, b]) {
          const rows = await database.ownerQuery(`SELECT count(*)::int AS n FROM ${table.name} WHERE ${column} = $1`, [tenant.userId]);
          expect(Number(rows[0]?.n), `${table.name}: seed rows for it in seedTenant()`).toBeGreaterThan(0);
        }
      }
    }
  });

  it('raw SQL scoped to org A cannot read, update, move or delete org B rows in any table with org_id', async () => {
    const scopeA = { orgId: a.orgId, userId: a.userId };
    for (const { name } of tables.filter((t) => t.hasOrgId)) {
      const before = await fingerprint(name, b.orgId);
      const seen = await attempt(scopeA, `SELECT org_id FROM ${name}`);
      expect(seen.ok, name).toBe(true);
      const orgsSeen = new Set(seen.ok ? seen.rows.map((r) => r.org_id) : []);
      expect(orgsSeen.has(a.orgId), `${name}: should see its own rows`).toBe(true);
      expect(orgsSeen.has(b.orgId), `${name}: saw org B's rows`).toBe(false);
      if (orgsSeen.has(null)) expect(name, `${name}: shows rows of no org inside an org`).toBe('users');
      expect(await attempt(scopeA, `SELECT 1 FROM ${name} WHERE org_id = $1`, [b.orgId]), name).toMatchObject({ ok: true, rows: [] });

      for (const statement of [
        `UPDATE ${name} SET org_id = org_id WHERE org_id = '${b.orgId}'`,
        `DELETE FROM ${name} WHERE org_id = '${b.orgId}'`,
        `UPDATE ${name} SET org_id = '${b.orgId}' WHERE org_id = '${a.orgId}'`,
      ]) {
        const outcome = await attempt(scopeA, statement);
        // Refused outright (no privilege, append-only, policy check) or matched nothing.
        if (outcome.ok) expect(outcome.affected, statement).toBe(0);
      }
      expect(await fingerprint(name, b.orgId), `${name}: org B's rows changed`).toEqual(before);
    }
  });

  it('a user’s own rows (API tokens, workspace items) are hidden from another user of another org, and of the same org', async () => {
    const colleague = (await withOrg(database.db, a.orgId, (tx) => createUser(tx, { orgId: a.orgId, displayName: 'Colleague', email: 'colleague@a.test' }))).id;
    for (const [table, column] of Object.entries(USER_OWNED)) {
      for (const scope of [{ orgId: a.orgId, userId: a.userId }, { orgId: a.orgId, userId: colleague }, { userId: a.userId }]) {
        const victim = b.userId;
        const seen = await attempt(scope, `SELECT ${column} AS owner FROM ${table} WHERE ${column} = $1`, [victim]);
        expect(seen, `${table} ${JSON.stringify(scope)}`).toMatchObject({ ok: true, rows: [] });
        for (const statement of [`UPDATE ${table} SET ${column} = ${column} WHERE ${column} = '${victim}'`, `DELETE FROM ${table} WHERE ${column} = '${victim}'`]) {
          const outcome = await attempt(scope, statement);
          if (outcome.ok) expect(outcome.affected, `${statement} ${JSON.stringify(scope)}`).toBe(0);
        }
      }
      // The colleague in the same org sees none of A's tokens, and of A's items only the one shared into the org.
      const visible = await attempt({ orgId: a.orgId, userId: colleague }, `SELECT ${column} AS owner FROM ${table}`);
      const expected = table === 'workspace_items' ? 1 : 0;
      expect(visible.ok && visible.rows.filter((r) => r.owner === a.userId).length, table).toBe(expected);
    }
  });

  it('an admin’s MFA reset (rmm_mfa_reset) reaches only members of the transaction’s org', async () => {
    const count = async (userId: string) => Number((await database.ownerQuery('SELECT count(*)::int AS n FROM mfa_totp WHERE user_id = $1', [userId]))[0]?.n);
    for (const scope of [{ orgId: a.orgId, userId: a.userId }, {}]) {
      const outcome = await attempt(scope, 'SELECT rmm_mfa_reset($1) AS had', [b.userId]);
      expect(outcome.ok, JSON.stringify(scope)).toBe(false);
    }
    expect(await count(b.userId)).toBe(1);
    const colleague = (await withOrg(database.db, b.orgId, (tx) => createUser(tx, { orgId: b.orgId, displayName: 'Reset me', email: 'reset-me@b.test' }))).id;
    await withScope(database.db, { orgId: b.orgId, userId: colleague }, (tx) => savePendingSecret(tx, colleague, 'v1.00000000.c2VhbGVk', new Date()));
    expect(await attempt({ orgId: b.orgId }, 'SELECT rmm_mfa_reset($1) AS had', [colleague])).toMatchObject({ ok: true, rows: [{ had: false }] });
    expect(await count(colleague)).toBe(0);
    expect(await count(b.userId)).toBe(1);
  });

  it('a query with no org set sees no tenant rows: only staff users and the platform audit chain', async () => {
    for (const { name, hasOrgId } of tables) {
      const seen = await attempt({}, hasOrgId ? `SELECT org_id FROM ${name}` : `SELECT 1 FROM ${name}`);
      expect(seen.ok, name).toBe(true);
      const rows = seen.ok ? seen.rows : [];
      if (name in PLATFORM_ONLY) expect(rows.length, name).toBeGreaterThan(0);
      else if (!hasOrgId || !PLATFORM_ROWS.has(name)) expect(rows, name).toEqual([]);
      else expect(rows.every((r) => r.org_id === null), name).toBe(true);
    }
    expect(await database.db.selectFrom('units').selectAll().execute()).toEqual([]);
    expect(await database.db.selectFrom('agents').selectAll().execute()).toEqual([]);
  });

  it('staff sessions (no org, migration 0008) are seen and changed only in the platform scope or by their own user, never inside an org', async () => {
    const staffRow = async () => (await database.ownerQuery('SELECT ended_at, org_id FROM sessions WHERE id = $1', [staffSessionId]))[0];
    for (const scope of [{ orgId: a.orgId }, { orgId: a.orgId, userId: a.userId }, { orgId: b.orgId }]) {
      expect(await attempt(scope, 'SELECT id FROM sessions WHERE org_id IS NULL'), JSON.stringify(scope)).toMatchObject({ ok: true, rows: [] });
      for (const statement of [
        `UPDATE sessions SET ended_at = now(), end_reason = 'x' WHERE id = '${staffSessionId}'`,
        `UPDATE sessions SET org_id = '${a.orgId}' WHERE id = '${staffSessionId}'`,
        `DELETE FROM sessions WHERE id = '${staffSessionId}'`,
      ]) {
        const outcome = await attempt(scope, statement);
        if (outcome.ok) expect(outcome.affected, statement).toBe(0);
      }
      const smuggled = await attempt(scope, `INSERT INTO sessions (org_id, user_id, token_hash, created_at, last_activity_at) VALUES (NULL, $1, $2, now(), now())`, [staffUserId, Buffer.alloc(32, 7)]);
      expect(smuggled.ok, JSON.stringify(scope)).toBe(false);
    }
    expect(await staffRow()).toEqual({ ended_at: null, org_id: null });
    // An org's session cannot be moved out of the org into the platform scope either.
    const moved = await attempt({ orgId: a.orgId }, `UPDATE sessions SET org_id = NULL WHERE org_id = '${a.orgId}'`);
    expect(moved.ok).toBe(false);
    // Seen in the platform scope and by its own user.
    expect(await attempt({}, 'SELECT id FROM sessions')).toMatchObject({ ok: true, rows: [{ id: staffSessionId }] });
    expect(await attempt({ userId: staffUserId }, 'SELECT id FROM sessions')).toMatchObject({ ok: true, rows: [{ id: staffSessionId }] });
  });

  it('alerts about MSP staff (no org, migration 0009) are seen and acknowledged only in the platform scope, never inside an org; an org cannot file one', async () => {
    const staffAlert = async () => (await database.ownerQuery('SELECT acknowledged_at, org_id FROM alerts WHERE org_id IS NULL'))[0];
    for (const scope of [{ orgId: a.orgId }, { orgId: a.orgId, userId: staffUserId }]) {
      expect(await attempt(scope, 'SELECT id FROM alerts WHERE org_id IS NULL'), JSON.stringify(scope)).toMatchObject({ ok: true, rows: [] });
      const acknowledged = await attempt(scope, `UPDATE alerts SET acknowledged_at = now(), acknowledged_by_user_id = $1, acknowledged_by_name = 'x' WHERE org_id IS NULL`, [a.userId]);
      if (acknowledged.ok) expect(acknowledged.affected).toBe(0);
      const smuggled = await attempt(scope, `INSERT INTO alerts (org_id, kind, created_at, message) VALUES (NULL, 'mfa.locked', now(), 'fake')`);
      expect(smuggled.ok, JSON.stringify(scope)).toBe(false);
    }
    expect(await staffAlert()).toEqual({ acknowledged_at: null, org_id: null });
    expect((await attempt({}, `UPDATE alerts SET org_id = '${a.orgId}' WHERE org_id IS NULL`)).ok).toBe(false);
    expect((await attempt({ orgId: a.orgId }, `UPDATE alerts SET org_id = NULL WHERE org_id = '${a.orgId}'`)).ok).toBe(false);
    expect((await attempt({ orgId: a.orgId }, 'DELETE FROM alerts')).ok).toBe(false);
    const platform = await attempt({}, 'SELECT org_id FROM alerts');
    expect(platform.ok && platform.rows).toEqual([{ org_id: null }]);
  });

  it('trusted builds (no org, migration 0010) are seen and added only in the platform scope, never inside an org; nobody changes or deletes one', async () => {
    for (const scope of [{ orgId: a.orgId }, { orgId: a.orgId, userId: a.userId }]) {
      expect(await attempt(scope, 'SELECT sha256 FROM trusted_builds'), JSON.stringify(scope)).toMatchObject({ ok: true, rows: [] });
      const smuggled = await attempt(scope, `INSERT INTO trusted_builds (sha256, version, size, key_id, manifest, added_by, added_at) VALUES ($1, '6.6.6', 1, $1, '{}', $2, now())`, ['d'.repeat(64), a.userId]);
      expect(smuggled.ok, JSON.stringify(scope)).toBe(false);
    }
    for (const scope of [{}, { orgId: a.orgId }]) {
      for (const statement of [`UPDATE trusted_builds SET version = '9.9.9'`, 'DELETE FROM trusted_builds', 'TRUNCATE trusted_builds']) {
        expect((await attempt(scope, statement)).ok, `${statement} ${JSON.stringify(scope)}`).toBe(false);
      }
    }
    expect(await attempt({}, 'SELECT sha256, version FROM trusted_builds')).toMatchObject({ ok: true, rows: [{ sha256: 'b'.repeat(64), version: '1.0.0' }] });
  });

  it('a session of no org held by an org member is never accepted by the token lookup (rmm_session_by_token)', async () => {
    const token = generateSessionToken();
    await withScope(database.db, {}, (tx) => insertSession(tx, { orgId: null, userId: a.userId, token, at: new Date(), userAgent: 'rls', ip: null }));
    expect(await sessionByToken(database.db, token)).toBeUndefined();
  });

  it('the app role cannot UPDATE, DELETE or TRUNCATE the audit log, not even in its own org', async () => {
    const scopeA = { orgId: a.orgId };
    for (const statement of ['UPDATE audit_log SET actor_name = actor_name', 'DELETE FROM audit_log', 'TRUNCATE audit_log']) {
      const outcome = await attempt(scopeA, statement);
      expect(outcome.ok, statement).toBe(false);
    }
    const privileges = await database.ownerQuery(
      `SELECT has_table_privilege('rmm_app', 'audit_log', 'UPDATE') AS u, has_table_privilege('rmm_app', 'audit_log', 'DELETE') AS d, has_table_privilege('rmm_app', 'audit_log', 'TRUNCATE') AS t`,
    );
    expect(privileges[0]).toEqual({ u: false, d: false, t: false });
  });

  it('org A cannot insert rows claiming to belong to org B', async () => {
    await expect(withOrg(database.db, a.orgId, (tx) => createUnit(tx, { orgId: b.orgId, parentId: null, name: 'smuggled' }))).rejects.toThrow(/row-level security/);
    await expect(withOrg(database.db, a.orgId, (tx) => createGrant(tx, { orgId: b.orgId, userId: a.userId, role: 'tech', unitId: null, createdBy: null }))).rejects.toThrow();
    await expect(withOrg(database.db, a.orgId, (tx) =>
      appendAudit(tx, { orgId: b.orgId, actor: { type: 'system' }, action: 'org.entered', time: new Date() }),
    )).rejects.toThrow(/row-level security/);
    const share = await attempt({ orgId: a.orgId, userId: a.userId },
      `INSERT INTO workspace_shares (org_id, item_id, unit_id, shared_by) SELECT '${b.orgId}', id, '${b.unitId}', owner_id FROM workspace_items WHERE title = 'private'`);
    expect(share.ok).toBe(false);
  });

  it('the org directory is readable everywhere but an org’s settings change only from inside that org', async () => {
    const names = await attempt({ orgId: a.orgId }, 'SELECT id FROM orgs');
    expect(names.ok && names.rows.map((r) => r.id)).toEqual(expect.arrayContaining([a.orgId, b.orgId]));
    for (const scope of [{ orgId: a.orgId }, {}]) {
      const changed = await attempt(scope, 'UPDATE orgs SET audit_retention_days = 2200 WHERE id = $1', [b.orgId]);
      expect(changed.ok && changed.affected, JSON.stringify(scope)).toBe(0);
      expect((await attempt(scope, 'DELETE FROM orgs WHERE id = $1', [b.orgId])).ok).toBe(false);
    }
    const own = await attempt({ orgId: a.orgId }, 'UPDATE orgs SET audit_retention_days = 2200 WHERE id = $1', [a.orgId]);
    expect(own.ok && own.affected).toBe(1);
    const created = await attempt({ orgId: a.orgId }, "INSERT INTO orgs (name) VALUES ('smuggled from inside org A')");
    expect(created.ok).toBe(false);
    const [row] = await database.ownerQuery('SELECT audit_retention_days AS days FROM orgs WHERE id = $1', [b.orgId]);
    expect(row?.days).toBe(2192);
  });

  it('a unit cannot hang under a parent of another org', async () => {
    await expect(withOrg(database.db, a.orgId, (tx) => createUnit(tx, { orgId: a.orgId, parentId: b.unitId, name: 'cross-org child' }))).rejects.toThrow(/foreign key/);
  });

  it('the app role cannot drop RLS or alter tables it does not own', async () => {
    for (const { name } of tables) {
      await expect(sql.raw(`ALTER TABLE ${name} DISABLE ROW LEVEL SECURITY`).execute(database.db), name).rejects.toThrow(/must be owner/);
    }
  });
});
