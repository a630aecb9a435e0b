import { z } from 'zod';
import { Inventory } from './inventory';

/* REST API bodies served under /api and consumed by the console. */

export const Org = z.object({
  id: z.uuid(),
  name: z.string(),
  createdAt: z.iso.datetime(),
});
export type Org = z.infer<typeof Org>;

export const Unit = z.object({
  id: z.uuid(),
  orgId: z.uuid(),
  parentId: z.uuid().nullable(),
  name: z.string(),
  /** New units are read-only: agents report, no job can target them until activated. */
  readOnly: z.boolean(),
  createdAt: z.iso.datetime(),
});
export type Unit = z.infer<typeof Unit>;

export const AgentSummary = z.object({
  id: z.uuid(),
  orgId: z.uuid(),
  unitId: z.uuid(),
  /** Null until the agent has reported its first inventory. */
  hostname: z.string().nullable(),
  osName: z.string().nullable(),
  agentVersion: z.string().nullable(),
  online: z.boolean(),
  lastSeenAt: z.iso.datetime().nullable(),
});
export type AgentSummary = z.infer<typeof AgentSummary>;

export const AgentDetail = AgentSummary.extend({
  inventory: Inventory.nullable(),
  inventoryAt: z.iso.datetime().nullable(),
});
export type AgentDetail = z.infer<typeof AgentDetail>;

export const OrgList = z.object({ orgs: z.array(Org) });
export const UnitList = z.object({ units: z.array(Unit) });
export const AgentList = z.object({ agents: z.array(AgentSummary) });

export const OrgParams = z.object({ orgId: z.uuid() });
export const AgentParams = z.object({ orgId: z.uuid(), agentId: z.uuid() });

export const Health = z.object({ status: z.literal('ok') });
