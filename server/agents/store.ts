import { sql } from 'kysely';
import { Inventory } from '../../protocol/inventory';
import type { AgentDetail, AgentSummary } from '../../protocol/api';
import type { Db, Tx } from '../db/database';
import type { AgentRow } from '../db/schema';

type AgentSummaryRow = Omit<AgentRow, 'credential_hash' | 'secret_sealed' | 'inventory' | 'inventory_at' | 'connected_node' | 'created_at'>;
const summaryColumns = ['id', 'org_id', 'unit_id', 'hostname', 'os_name', 'agent_version', 'online', 'last_seen_at'] as const;

const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

export function toAgentSummary(row: AgentSummaryRow): AgentSummary {
  return {
    id: row.id,
    orgId: row.org_id,
    unitId: row.unit_id,
    hostname: row.hostname,
    osName: row.os_name,
    agentVersion: row.agent_version,
    online: row.online,
    lastSeenAt: iso(row.last_seen_at),
  };
}

function toAgentDetail(row: AgentSummaryRow & Pick<AgentRow, 'inventory' | 'inventory_at'>): AgentDetail {
  // Stored inventory was validated on receipt; parse again so a bad row can never reach a console.
  const inventory = row.inventory === null ? null : Inventory.safeParse(row.inventory);
  return {
    ...toAgentSummary(row),
    inventory: inventory?.success ? inventory.data : null,
    inventoryAt: iso(row.inventory_at),
  };
}

export async function listAgents(tx: Tx, filter: { unitId?: string | undefined } = {}): Promise<AgentSummary[]> {
  let query = tx.selectFrom('agents').select(summaryColumns);
  if (filter.unitId) query = query.where('unit_id', '=', filter.unitId);
  const rows = await query.orderBy('hostname').orderBy('id').execute();
  return rows.map(toAgentSummary);
}

export async function getAgent(tx: Tx, agentId: string): Promise<AgentDetail | undefined> {
  const row = await tx
    .selectFrom('agents')
    .select([...summaryColumns, 'inventory', 'inventory_at'])
    .where('id', '=', agentId)
    .executeTakeFirst();
  return row && toAgentDetail(row);
}

/** What the handshake needs about an agent id, across orgs, through the one definer function allowed to. */
export async function findAgentForHandshake(db: Db, agentId: string): Promise<{ orgId: string; secretSealed: string | null } | undefined> {
  const result = await sql<{ org_id: string; secret_sealed: string | null }>`SELECT org_id, secret_sealed FROM rmm_agent_for_handshake(${agentId}::uuid)`.execute(db);
  const row = result.rows[0];
  return row && { orgId: row.org_id, secretSealed: row.secret_sealed };
}

export async function markConnected(tx: Tx, agentId: string, at: Date, node: string, agentVersion: string): Promise<AgentSummary> {
  const row = await tx
    .updateTable('agents')
    .set({ online: true, connected_node: node, last_seen_at: at, agent_version: agentVersion })
    .where('id', '=', agentId)
    .returning(summaryColumns)
    .executeTakeFirstOrThrow();
  return toAgentSummary(row);
}

export async function markDisconnected(tx: Tx, agentId: string, at: Date, node: string): Promise<AgentSummary | undefined> {
  // Only if this node still holds it: a reconnect to another node must not be undone.
  const row = await tx
    .updateTable('agents')
    .set({ online: false, connected_node: null, last_seen_at: at })
    .where('id', '=', agentId)
    .where('connected_node', '=', node)
    .returning(summaryColumns)
    .executeTakeFirst();
  return row && toAgentSummary(row);
}

export async function touchLastSeen(tx: Tx, agentIds: string[], at: Date): Promise<void> {
  if (agentIds.length === 0) return;
  await tx.updateTable('agents').set({ last_seen_at: at }).where('id', 'in', agentIds).execute();
}

export async function saveInventory(tx: Tx, agentId: string, inventory: Inventory, at: Date): Promise<AgentDetail> {
  const row = await tx
    .updateTable('agents')
    .set({
      inventory: JSON.stringify(inventory),
      inventory_at: at,
      hostname: inventory.hostname,
      os_name: inventory.os.name,
      last_seen_at: at,
    })
    .where('id', '=', agentId)
    .returning([...summaryColumns, 'inventory', 'inventory_at'])
    .executeTakeFirstOrThrow();
  return toAgentDetail(row);
}

export async function resetNodePresence(db: Db, node: string): Promise<number> {
  const result = await sql<{ n: number }>`SELECT rmm_reset_node_presence(${node}) AS n`.execute(db);
  return Number(result.rows[0]?.n ?? 0);
}
