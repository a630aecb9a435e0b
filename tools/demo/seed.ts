import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { GrantRole } from '../../protocol/permissions';
import { parseCredential } from '../../protocol/agent-auth';
import { provisionAgent } from '../../server/agents/provision';
import { getAgent } from '../../server/agents/store';
import { appendAudit } from '../../server/audit/log';
import type { KeyRing } from '../../server/crypto/keys';
import { issueApiToken } from '../../server/auth/api-token';
import type { Clock } from '../../server/clock';
import { systemClock } from '../../server/clock';
import { setScope, withOrg, withScope, type Db, type Tx } from '../../server/db/database';
import { createGrant } from '../../server/grants/store';
import { createOrg, listOrgs } from '../../server/orgs/store';
import { createUnit, listUnits } from '../../server/units/store';
import { createUser, listUsers } from '../../server/users/store';

/*
 * The demo tenant `npm start` shows: one clinic with a site and a unit below it, one local agent,
 * and one demo user per role. Idempotent: a second start reuses what the first made, including the
 * agent credential and the users' API tokens, which are kept (mode 0600) in the data folder because
 * the server stores only their hashes. Everything it creates is recorded in the audit log.
 */

const DemoAgentFile = z.object({ orgId: z.uuid(), agentId: z.uuid(), credential: z.string().min(1) });
export type DemoAgent = z.infer<typeof DemoAgentFile>;

const ORG_NAME = 'Demo Clinic';
const seeder = { type: 'system', name: 'demo seed' } as const;

/** The demo users, one per role; `unit` names where the grant sits (null: the whole org). */
export const DEMO_USERS: ReadonlyArray<{ role: GrantRole; name: string; email: string; unit: 'Main Street Site' | null }> = [
  { role: 'tenant_admin', name: 'Tessa Admin', email: 'tessa.admin@demo-clinic.test', unit: null },
  { role: 'tech', name: 'Theo Tech', email: 'theo.tech@demo-clinic.test', unit: 'Main Street Site' },
  { role: 'viewer', name: 'Vera Viewer', email: 'vera.viewer@demo-clinic.test', unit: null },
  { role: 'provisioning', name: 'Priya Provisioning', email: 'priya.provisioning@demo-clinic.test', unit: null },
];
export type DemoRole = GrantRole;

export function demoTokenFile(dataDir: string, role: GrantRole): string {
  return path.join(dataDir, 'demo-users', `${role}.token`);
}

async function ensureDemoUsers(db: Db, clock: Clock, dataDir: string, orgId: string): Promise<void> {
  mkdirSync(path.join(dataDir, 'demo-users'), { recursive: true, mode: 0o700 });
  for (const demo of DEMO_USERS) {
    const file = demoTokenFile(dataDir, demo.role);
    if (existsSync(file)) continue;
    const userId = await withOrg(db, orgId, async (tx) => {
      const existing = (await listUsers(tx)).find((u) => u.email === demo.email);
      if (existing) return existing.id;
      const user = await createUser(tx, { orgId, displayName: demo.name, email: demo.email });
      await appendAudit(tx, { orgId, actor: seeder, action: 'user.created', target: { type: 'user', id: user.id }, details: { displayName: user.displayName, email: user.email }, time: clock.now() });
      const unitId = demo.unit ? ((await listUnits(tx)).find((u) => u.name === demo.unit)?.id ?? null) : null;
      const grant = await createGrant(tx, { orgId, userId: user.id, role: demo.role, unitId, createdBy: null });
      await appendAudit(tx, { orgId, actor: seeder, action: 'grant.created', target: { type: 'grant', id: grant.id }, details: { userId: user.id, role: demo.role, unitId }, time: clock.now() });
      return user.id;
    });
    const { token } = await issueApiToken(db, clock, { userId, auditOrgId: orgId, label: 'demo', actor: seeder });
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
}

async function ensureUnit(tx: Tx, clock: Clock, orgId: string, name: string, parentId: string | null) {
  const existing = (await listUnits(tx)).find((u) => u.name === name);
  if (existing) return existing;
  const unit = await createUnit(tx, { orgId, parentId, name });
  await appendAudit(tx, { orgId, actor: seeder, action: 'unit.created', target: { type: 'unit', id: unit.id }, details: { name, parentId }, time: clock.now() });
  return unit;
}

export async function seedDemo(db: Db, dataDir: string, keys: KeyRing, clock: Clock = systemClock): Promise<DemoAgent> {
  const file = path.join(dataDir, 'demo-agent.json');
  let saved: DemoAgent | undefined;
  if (existsSync(file)) {
    const parsed = DemoAgentFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    // A credential from before mutual authentication cannot connect: provision a new agent.
    if (parsed.success && parseCredential(parsed.data.credential).kind === 'v1' && (await withOrg(db, parsed.data.orgId, (tx) => getAgent(tx, parsed.data.agentId)))) saved = parsed.data;
  }

  if (!saved) {
    let org = (await listOrgs(db)).find((o) => o.name === ORG_NAME);
    if (!org) {
      org = await withScope(db, {}, async (tx) => {
        const created = await createOrg(tx, ORG_NAME);
        await setScope(tx, { orgId: created.id });
        await appendAudit(tx, { orgId: created.id, actor: seeder, action: 'org.created', target: { type: 'org', id: created.id }, details: { name: ORG_NAME }, time: clock.now() });
        return created;
      });
    }
    const orgId = org.id;
    const agent = await withOrg(db, orgId, async (tx) => {
      const site = await ensureUnit(tx, clock, orgId, 'Main Street Site', null);
      const unit = await ensureUnit(tx, clock, orgId, 'Front Desk', site.id);
      const provisioned = await provisionAgent(tx, { orgId, unitId: unit.id }, keys);
      await appendAudit(tx, { orgId, actor: seeder, action: 'agent.registered', target: { type: 'agent', id: provisioned.agentId }, details: { unitId: unit.id, hostname: null }, time: clock.now() });
      return provisioned;
    });
    saved = { orgId, ...agent };
    writeFileSync(file, JSON.stringify(saved, null, 2), { mode: 0o600 });
  }
  await ensureDemoUsers(db, clock, dataDir, saved.orgId);
  return saved;
}
