import { z } from 'zod';
import { AuditActionCode, AuditEntry, AuditOutcome } from './audit-actions';
import { GrantRole, Permission } from './permissions';

/* REST bodies for users, grants, the caller's access, workspaces, org settings and the audit log. */

export const User = z.object({
  id: z.uuid(),
  /** Home org; null for the MSP's own staff. */
  orgId: z.uuid().nullable(),
  displayName: z.string(),
  email: z.string(),
  platformAdmin: z.boolean(),
  createdAt: z.iso.datetime(),
  disabled: z.boolean(),
});
export type User = z.infer<typeof User>;
export const UserList = z.object({ users: z.array(User) });

export const CreateUserBody = z.object({
  displayName: z.string().trim().min(1).max(200),
  email: z.email().max(320),
}).strict();

export const Grant = z.object({
  id: z.uuid(),
  orgId: z.uuid(),
  userId: z.uuid(),
  role: GrantRole,
  /** null: the whole org. */
  unitId: z.uuid().nullable(),
  createdAt: z.iso.datetime(),
});
export type Grant = z.infer<typeof Grant>;
export const GrantList = z.object({ grants: z.array(Grant) });
export const CreateGrantBody = z.object({ userId: z.uuid(), role: GrantRole, unitId: z.uuid().nullable() }).strict();
export const GrantParams = z.object({ orgId: z.uuid(), grantId: z.uuid() });

/** The caller, and what they may do in one org: drives which buttons the console shows. */
export const Me = z.object({
  user: User,
});
export type Me = z.infer<typeof Me>;

export const OrgAccess = z.object({
  orgId: z.uuid(),
  platformAdmin: z.boolean(),
  /** Permissions at the org level. */
  org: z.array(Permission),
  /** Permissions per unit id. */
  units: z.record(z.uuid(), z.array(Permission)),
});
export type OrgAccess = z.infer<typeof OrgAccess>;

export const UnitParams = z.object({ orgId: z.uuid(), unitId: z.uuid() });
export const CreateUnitBody = z.object({ name: z.string().trim().min(1).max(200), parentId: z.uuid().nullable() }).strict();

export const OrgSettings = z.object({
  /** Audit entries older than this are purged (default 2192 days: six years, the HIPAA minimum). */
  auditRetentionDays: z.number().int().min(2192).max(36500),
});
export type OrgSettings = z.infer<typeof OrgSettings>;
export const CreateOrgBody = z.object({ name: z.string().trim().min(1).max(200) }).strict();

// Personal workspace
export const WorkspaceItemKind = z.enum(['script', 'note']);
export const ScriptLanguage = z.enum(['bash', 'powershell', 'python', 'node']);
export const WorkspaceShare = z.object({ orgId: z.uuid(), unitId: z.uuid(), createdAt: z.iso.datetime() });
export const WorkspaceItem = z.object({
  id: z.uuid(),
  ownerId: z.uuid(),
  ownerName: z.string(),
  kind: WorkspaceItemKind,
  title: z.string(),
  language: ScriptLanguage.nullable(),
  body: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  /** Only the owner sees where an item is shared. */
  shares: z.array(WorkspaceShare),
});
export type WorkspaceItem = z.infer<typeof WorkspaceItem>;
export const WorkspaceItemList = z.object({ items: z.array(WorkspaceItem) });
export const CreateWorkspaceItemBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('script'), title: z.string().trim().min(1).max(200), language: ScriptLanguage, body: z.string().max(262144) }).strict(),
  z.object({ kind: z.literal('note'), title: z.string().trim().min(1).max(200), body: z.string().max(262144) }).strict(),
]);
export const UpdateWorkspaceItemBody = z.object({ title: z.string().trim().min(1).max(200).optional(), body: z.string().max(262144).optional() }).strict();
export const WorkspaceItemParams = z.object({ itemId: z.uuid() });
export const ShareBody = z.object({ orgId: z.uuid(), unitId: z.uuid() }).strict();
/** POST /api/orgs/:orgId/units/:unitId/shared-items: share one of the caller's own items into the unit. */
export const ShareItemBody = z.object({ itemId: z.uuid() }).strict();
export const SharedItemParams = z.object({ orgId: z.uuid(), unitId: z.uuid(), itemId: z.uuid() });
/** Items other users shared into units of this org that the caller can see. */
export const SharedItemList = z.object({ items: z.array(WorkspaceItem.omit({ shares: true }).extend({ unitId: z.uuid() })) });

// Audit
export const AuditQuery = z.object({
  actor: z.string().max(200).optional(),
  action: AuditActionCode.optional(),
  targetType: z.string().max(100).optional(),
  targetId: z.string().max(200).optional(),
  outcome: AuditOutcome.optional(),
  from: z.iso.datetime().optional(),
  to: z.iso.datetime().optional(),
  /** Page backwards from this seq (exclusive): the `nextBefore` of the previous page. */
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type AuditQuery = z.infer<typeof AuditQuery>;
export const AuditPage = z.object({
  entries: z.array(AuditEntry),
  /** Pass as `before` for the next (older) page; null at the start of the log. */
  nextBefore: z.number().int().nullable(),
});
export type AuditPage = z.infer<typeof AuditPage>;
export const AuditExportQuery = z.object({
  format: z.enum(['jsonl', 'csv']).default('jsonl'),
  from: z.iso.datetime().optional(),
  to: z.iso.datetime().optional(),
});
/** What a retention purge removed, and the checkpoint the remaining chain is verified from. */
export const AuditPurgeResult = z.object({
  before: z.iso.datetime(),
  purged: z.number().int().min(0),
  checkpointSeq: z.number().int().min(0),
  checkpointHash: z.string().length(64),
});
export type AuditPurgeResult = z.infer<typeof AuditPurgeResult>;
