import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { provisionAgent } from '../../server/agents/provision';
import { getAgent } from '../../server/agents/store';
import { withOrg, type Db } from '../../server/db/database';
import { createOrg, listOrgs } from '../../server/orgs/store';
import { createUnit, listUnits } from '../../server/units/store';

/*
 * The demo tenant `npm start` shows: one clinic with a site and a unit below it, and one local
 * agent. Idempotent: a second start reuses what the first made, including the agent credential,
 * which is kept (mode 0600) in the data folder because the server stores only its hash.
 */

const DemoAgentFile = z.object({ orgId: z.uuid(), agentId: z.uuid(), credential: z.string().min(1) });
export type DemoAgent = z.infer<typeof DemoAgentFile>;

const ORG_NAME = 'Demo Clinic';

export async function seedDemo(db: Db, dataDir: string): Promise<DemoAgent> {
  const file = path.join(dataDir, 'demo-agent.json');
  if (existsSync(file)) {
    const saved = DemoAgentFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (saved.success && (await withOrg(db, saved.data.orgId, (tx) => getAgent(tx, saved.data.agentId)))) return saved.data;
  }

  const org = (await listOrgs(db)).find((o) => o.name === ORG_NAME) ?? (await createOrg(db, ORG_NAME));
  const demo = await withOrg(db, org.id, async (tx) => {
    const units = await listUnits(tx);
    const site = units.find((u) => u.name === 'Main Street Site') ?? (await createUnit(tx, { orgId: org.id, parentId: null, name: 'Main Street Site' }));
    const unit = units.find((u) => u.name === 'Front Desk') ?? (await createUnit(tx, { orgId: org.id, parentId: site.id, name: 'Front Desk' }));
    return provisionAgent(tx, { orgId: org.id, unitId: unit.id });
  });
  const saved: DemoAgent = { orgId: org.id, ...demo };
  writeFileSync(file, JSON.stringify(saved, null, 2), { mode: 0o600 });
  return saved;
}
