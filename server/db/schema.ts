import type { ColumnType, Generated, Selectable } from 'kysely';
import type { Inventory } from '../../protocol/inventory';
import type { GrantRole } from '../../protocol/permissions';
import type { ScriptLanguage, ScriptParameter, ScriptVersionStatus } from '../../protocol/scripts';

/** Kysely's view of the tables. Keep in step with migrations/. */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface OrgsTable {
  id: Generated<string>;
  name: string;
  audit_retention_days: Generated<number>;
  created_at: Generated<Date>;
  /** The registered Azure AD tenant (migration 0006). */
  azure_tenant_id: string | null;
  default_role: Generated<GrantRole>;
  session_idle_minutes: Generated<number>;
  session_absolute_minutes: Generated<number>;
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
  /** Sealed agent secret (migration 0013); null for agents provisioned before it, which must re-enrol. */
  secret_sealed: string | null;
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

export interface UsersTable {
  id: Generated<string>;
  /** Home org; NULL for the MSP's own staff. */
  org_id: string | null;
  display_name: string;
  email: string;
  platform_role: 'admin' | null;
  created_at: Generated<Date>;
  disabled_at: NullableTimestamp;
  /** Azure AD identity (tid, oid); both or neither (migration 0006). */
  azure_tenant_id: string | null;
  azure_object_id: string | null;
}

export interface ApiTokensTable {
  id: Generated<string>;
  user_id: string;
  token_hash: Buffer;
  label: string;
  created_at: Generated<Date>;
  expires_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface GrantsTable {
  id: Generated<string>;
  org_id: string;
  user_id: string;
  role: GrantRole;
  unit_id: string | null;
  created_at: Generated<Date>;
  created_by: string | null;
}

export interface WorkspaceItemsTable {
  id: Generated<string>;
  owner_id: string;
  kind: 'script' | 'note';
  title: string;
  language: 'bash' | 'powershell' | 'python' | 'node' | null;
  body: string;
  created_at: Generated<Date>;
  updated_at: Timestamp;
}

export interface WorkspaceSharesTable {
  id: Generated<string>;
  org_id: string;
  item_id: string;
  unit_id: string;
  shared_by: string;
  created_at: Generated<Date>;
}

export interface AuditLogTable {
  id: string;
  org_id: string | null;
  /** bigint: pg returns it as a string. */
  seq: ColumnType<string | number | bigint, string | number, never>;
  time: ColumnType<Date, Date, never>;
  actor_type: 'user' | 'agent' | 'system';
  actor_id: string | null;
  actor_name: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: 'success' | 'denied' | 'failed';
  source_ip: string | null;
  user_agent: string | null;
  details: ColumnType<Record<string, unknown>, string, never>;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadsTable {
  org_id: string | null;
  seq: ColumnType<string | number | bigint, string | number, string | number>;
  hash: string;
}

export interface AuditCheckpointsTable {
  id: Generated<string>;
  org_id: string | null;
  seq: ColumnType<string | number | bigint, never, never>;
  hash: string;
  purged_before: Date;
  purged_count: number;
  created_at: Generated<Date>;
}

export interface SessionsTable {
  id: Generated<string>;
  /** NULL: an MSP staff session (migration 0008). */
  org_id: string | null;
  user_id: string;
  token_hash: Buffer;
  created_at: Timestamp;
  last_activity_at: Timestamp;
  user_agent: string | null;
  ip: string | null;
  ended_at: NullableTimestamp;
  ended_by: string | null;
  end_reason: string | null;
}

export interface MfaTotpTable {
  user_id: string;
  /** Sealed (server/crypto/seal.ts), never the base32 secret. */
  secret_sealed: string | null;
  pending_sealed: string | null;
  confirmed_at: NullableTimestamp;
  last_used_step: string | number | null;
  locked_until: NullableTimestamp;
  updated_at: Date;
}

export interface MfaBackupCodesTable {
  id: Generated<string>;
  user_id: string;
  code_hash: Buffer;
  created_at: Date;
  used_at: NullableTimestamp;
}

export interface MfaStepUpProofsTable {
  id: Generated<string>;
  user_id: string;
  action: string;
  token_hash: Buffer;
  created_at: Date;
  expires_at: Date;
  used_at: NullableTimestamp;
}

export interface AlertsTable {
  id: Generated<string>;
  /** NULL: an alert about an MSP staff user (migration 0009). */
  org_id: string | null;
  kind: string;
  created_at: Date;
  subject_user_id: string | null;
  subject_name: string | null;
  message: string;
  acknowledged_at: NullableTimestamp;
  acknowledged_by_user_id: string | null;
  acknowledged_by_name: string | null;
}

/** Platform scope only, append-only (migration 0010). */
export interface TrustedBuildsTable {
  sha256: string;
  version: string;
  /** bigint: pg returns it as a string. */
  size: ColumnType<string | number | bigint, number, never>;
  key_id: string;
  /** The signed manifest (manifest, signature, key id) the build was trusted from. */
  manifest: ColumnType<unknown, string, never>;
  added_by: string;
  added_at: Date;
}

export interface ScriptsTable {
  id: Generated<string>;
  org_id: string;
  /** NULL: an org-wide script (migration 0011). */
  unit_id: string | null;
  name: string;
  language: ScriptLanguage;
  latest_version: Generated<number>;
  created_by: string;
  created_at: Date;
}

/** Immutable but for the decision columns (migration 0011). */
export interface ScriptVersionsTable {
  org_id: string;
  script_id: string;
  version: number;
  body: string;
  parameters: ColumnType<ScriptParameter[], string, never>;
  timeout_seconds: number;
  sha256: string;
  author_id: string;
  author_name: string;
  created_at: Date;
  status: ColumnType<ScriptVersionStatus, ScriptVersionStatus | undefined, ScriptVersionStatus>;
  decided_by: string | null;
  decided_by_name: string | null;
  decided_at: NullableTimestamp;
  reason: string | null;
}

/** One-time enrolment tokens (migration 0012): only the hash is kept; used/revoked are final. */
export interface EnrolmentTokensTable {
  id: Generated<string>;
  org_id: string;
  unit_id: string;
  token_hash: Buffer;
  label: string | null;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  used_at: NullableTimestamp;
  used_by_agent_id: string | null;
  revoked_at: NullableTimestamp;
  revoked_by: string | null;
}

export interface Database {
  orgs: OrgsTable;
  units: UnitsTable;
  agents: AgentsTable;
  users: UsersTable;
  api_tokens: ApiTokensTable;
  grants: GrantsTable;
  workspace_items: WorkspaceItemsTable;
  workspace_shares: WorkspaceSharesTable;
  audit_log: AuditLogTable;
  audit_heads: AuditHeadsTable;
  audit_checkpoints: AuditCheckpointsTable;
  mfa_totp: MfaTotpTable;
  mfa_backup_codes: MfaBackupCodesTable;
  mfa_step_up_proofs: MfaStepUpProofsTable;
  sessions: SessionsTable;
  alerts: AlertsTable;
  trusted_builds: TrustedBuildsTable;
  scripts: ScriptsTable;
  script_versions: ScriptVersionsTable;
  enrolment_tokens: EnrolmentTokensTable;
}

export type AgentRow = Selectable<AgentsTable>;
export type UnitRow = Selectable<UnitsTable>;
export type OrgRow = Selectable<OrgsTable>;
export type UserRow = Selectable<UsersTable>;
export type GrantRow = Selectable<GrantsTable>;
export type AuditLogRow = Selectable<AuditLogTable>;
export type SessionRow = Selectable<SessionsTable>;
export type WorkspaceItemRow = Selectable<WorkspaceItemsTable>;
