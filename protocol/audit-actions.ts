import { z } from 'zod';
import { GrantRole, Permission } from './permissions';
import { ScriptLanguage } from './scripts';

/*
 * The audit action catalog (Teleport's typed events): every action the audit log can record, with
 * a stable code and the schema of its details. Nothing writes an action that is not here; the
 * writer parses details with the action's schema. docs/audit.md lists them for people.
 */

const Id = z.uuid();
const Reason = z.string().max(2000);
const None = z.object({}).strict();

export const AUDIT_ACTIONS = {
  // authentication and sessions
  'auth.signed_in': z.object({ method: z.enum(['azure_ad', 'api_token']), sessionId: Id.optional() }).strict(),
  'auth.sign_in_failed': z.object({ method: z.enum(['azure_ad', 'api_token']), reason: z.string().max(200) }).strict(),
  'auth.signed_out': z.object({ sessionId: Id.optional() }).strict(),
  'auth.token_created': z.object({ tokenId: Id, label: z.string().max(200), expiresAt: z.iso.datetime().nullable() }).strict(),
  'auth.token_revoked': z.object({ tokenId: Id }).strict(),
  'session.revoked': z.object({ sessionId: Id, reason: Reason }).strict(),
  'session.expired': z.object({ sessionId: Id, kind: z.enum(['idle', 'absolute']) }).strict(),
  // MFA
  'mfa.enrolled': None,
  'mfa.verified': z.object({ purpose: z.string().max(100) }).strict(),
  'mfa.failed': z.object({ purpose: z.string().max(100) }).strict(),
  'mfa.locked': z.object({ until: z.iso.datetime() }).strict(),
  'mfa.reset': None,
  'mfa.backup_code_used': z.object({ remaining: z.number().int().min(0) }).strict(),
  'mfa.backup_codes_regenerated': None,
  // security alerts (protocol/alerts.ts)
  'alert.acknowledged': z.object({ kind: z.string().max(100) }).strict(),
  // access control
  'access.denied': z.object({ permission: Permission, route: z.string().max(300) }).strict(),
  'org.created': z.object({ name: z.string().max(200) }).strict(),
  'org.entered': None,
  'org.settings_changed': z.object({ changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })) }).strict(),
  'user.created': z.object({ displayName: z.string().max(200), email: z.string().max(320) }).strict(),
  /** A user given their Azure AD identity (tid, oid) by an admin: `rmm user link`, `rmm user add --azure-oid`, the demo seed. */
  'user.identity_linked': z.object({ tenantId: Id, objectId: Id, staff: z.boolean() }).strict(),
  'grant.created': z.object({ userId: Id, role: GrantRole, unitId: Id.nullable() }).strict(),
  'grant.revoked': z.object({ userId: Id, role: GrantRole, unitId: Id.nullable() }).strict(),
  'unit.created': z.object({ name: z.string().max(200), parentId: Id.nullable() }).strict(),
  'unit.renamed': z.object({ from: z.string().max(200), to: z.string().max(200) }).strict(),
  'unit.activated': None,
  'unit.deactivated': None,
  'workspace.item_shared': z.object({ unitId: Id, kind: z.enum(['script', 'note']) }).strict(),
  'workspace.item_unshared': z.object({ unitId: Id, kind: z.enum(['script', 'note']) }).strict(),
  // endpoints
  'agent.enrolment_token_created': z.object({ unitId: Id, label: z.string().max(200).nullable(), expiresAt: z.iso.datetime() }).strict(),
  'agent.enrolment_token_revoked': z.object({ unitId: Id }).strict(),
  'agent.enrolled': z.object({ unitId: Id, tokenId: Id, hostname: z.string().max(255) }).strict(),
  'agent.enrolment_refused': z.object({ tokenId: Id, reason: z.enum(['used', 'expired', 'revoked']), hostname: z.string().max(255) }).strict(),
  'agent.registered': z.object({ unitId: Id, hostname: z.string().max(255).nullable() }).strict(),
  'agent.quarantined': z.object({ reason: Reason }).strict(),
  'release.trusted': z.object({ version: z.string().max(40), sha256: z.string().length(64), size: z.number().int().min(1), keyId: z.string().length(64) }).strict(),
  // jobs and scripts
  'script.created': z.object({ name: z.string().max(200), language: ScriptLanguage, unitId: Id.nullable(), version: z.number().int().positive(), sha256: z.string().length(64) }).strict(),
  'script.submitted': z.object({ version: z.number().int().positive(), sha256: z.string().length(64) }).strict(),
  'script.approved': z.object({ version: z.number().int().positive(), sha256: z.string().length(64), reason: Reason }).strict(),
  'script.rejected': z.object({ version: z.number().int().positive(), sha256: z.string().length(64), reason: Reason }).strict(),
  'job.created': z.object({ scriptSha256: z.string().length(64), targets: z.number().int().min(0) }).strict(),
  'job.refused': z.object({ reason: Reason }).strict(),
  'job.tampering_detected': z.object({ reason: Reason }).strict(),
  // credentials
  'vault.credential_revealed': z.object({ reason: Reason }).strict(),
  'vault.credential_changed': z.object({ version: z.number().int().positive() }).strict(),
  'breakglass.requested': z.object({ justification: Reason, credentialIds: z.array(Id).max(100) }).strict(),
  'breakglass.ended': z.object({ reason: Reason }).strict(),
  'breakglass.reviewed': z.object({ notes: Reason }).strict(),
  // the audit log itself and data exports
  'audit.exported': z.object({ format: z.enum(['jsonl', 'csv']), from: z.iso.datetime().nullable(), to: z.iso.datetime().nullable() }).strict(),
  'audit.purged': z.object({ before: z.iso.datetime(), purged: z.number().int().min(0), checkpointSeq: z.number().int().min(0), checkpointHash: z.string().length(64) }).strict(),
} as const satisfies Record<string, z.ZodType>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;
export const AuditActionCode = z.enum(Object.keys(AUDIT_ACTIONS) as [AuditAction, ...AuditAction[]]);
export type AuditDetails<A extends AuditAction> = z.input<(typeof AUDIT_ACTIONS)[A]>;

export const AuditOutcome = z.enum(['success', 'denied', 'failed']);
export type AuditOutcome = z.infer<typeof AuditOutcome>;

export const AuditActorType = z.enum(['user', 'agent', 'system']);

/** One entry as the API, the export and the verifier see it. */
export const AuditEntry = z.object({
  id: z.uuid(),
  orgId: z.uuid().nullable(),
  seq: z.number().int().positive(),
  time: z.iso.datetime(),
  actorType: AuditActorType,
  actorId: z.string().nullable(),
  actorName: z.string(),
  action: AuditActionCode,
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  outcome: AuditOutcome,
  sourceIp: z.string().nullable(),
  userAgent: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string().length(64),
  hash: z.string().length(64),
});
export type AuditEntry = z.infer<typeof AuditEntry>;
