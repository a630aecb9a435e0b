import type { ColumnType, Generated, Selectable } from 'kysely';
import type { Inventory } from '../../protocol/inventory';

/** Kysely's view of the tables. Keep in step with migrations/. */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface OrgsTable {
  id: Generated<string>;
  name: string;
  created_at: Generated<Date>;
}

export interface UnitsTable {
  id: Generated<string>;
  org_id: string;
  parent_id: string | null;
  name: string;
  read_only: Generated<boolean>;
  created_at: Generated<Date>;
}

export interface AgentsTable {
  id: Generated<string>;
  org_id: string;
  unit_id: string;
  credential_hash: Buffer;
  hostname: string | null;
  os_name: string | null;
  agent_version: string | null;
  inventory: ColumnType<Inventory | null, string | null, string | null>;
  inventory_at: NullableTimestamp;
  online: Generated<boolean>;
  connected_node: string | null;
  last_seen_at: NullableTimestamp;
  created_at: Timestamp;
}

export interface Database {
  orgs: OrgsTable;
  units: UnitsTable;
  agents: AgentsTable;
}

export type AgentRow = Selectable<AgentsTable>;
export type UnitRow = Selectable<UnitsTable>;
export type OrgRow = Selectable<OrgsTable>;
