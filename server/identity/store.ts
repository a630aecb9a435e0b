import type { OrgIdentity } from '../../protocol/identity';
import type { GrantRole } from '../../protocol/permissions';
import { pgErrorCode, PG_UNIQUE_VIOLATION, type Db, type Tx } from '../db/database';
import { ConflictError } from '../errors';

/* Which org an Azure tenant signs in to, and which user an Azure identity (tid, oid) is. */

export interface TenantOrg {
  id: string;
  name: string;
  defaultRole: GrantRole;
}

/** The org that registered `tenantId`; the org directory is readable outside any org. */
export async function orgForTenant(db: Db | Tx, tenantId: string): Promise<TenantOrg | undefined> {
  const row = await db.selectFrom('orgs').select(['id', 'name', 'default_role']).where('azure_tenant_id', '=', tenantId).executeTakeFirst();
  return row && { id: row.id, name: row.name, defaultRole: row.default_role };
}

export async function orgIdentity(db: Db | Tx, orgId: string): Promise<OrgIdentity | undefined> {
  const row = await db.selectFrom('orgs')
    .select(['azure_tenant_id', 'default_role', 'session_idle_minutes', 'session_absolute_minutes'])
    .where('id', '=', orgId).executeTakeFirst();
  return row && {
    azureTenantId: row.azure_tenant_id,
    defaultRole: row.default_role,
    sessionIdleMinutes: row.session_idle_minutes,
    sessionAbsoluteMinutes: row.session_absolute_minutes,
  };
}

/** In a transaction scoped to the org (RLS lets an org change only itself). */
export async function updateOrgIdentity(tx: Tx, orgId: string, identity: OrgIdentity): Promise<void> {
  try {
    await tx.updateTable('orgs').set({
      azure_tenant_id: identity.azureTenantId,
      default_role: identity.defaultRole,
      session_idle_minutes: identity.sessionIdleMinutes,
      session_absolute_minutes: identity.sessionAbsoluteMinutes,
    }).where('id', '=', orgId).execute();
  } catch (err) {
    if (pgErrorCode(err) === PG_UNIQUE_VIOLATION) throw ConflictError('That Azure tenant is already registered to another organisation');
    throw err;
  }
}

export interface IdentityUser {
  id: string;
  displayName: string;
  disabled: boolean;
}

/** The member of `orgId` with this identity (never a staff user, though RLS shows staff inside orgs). */
export async function userForIdentity(tx: Tx, orgId: string, tenantId: string, objectId: string): Promise<IdentityUser | undefined> {
  const row = await tx.selectFrom('users').select(['id', 'display_name', 'disabled_at'])
    .where('org_id', '=', orgId).where('azure_tenant_id', '=', tenantId).where('azure_object_id', '=', objectId).executeTakeFirst();
  return row && { id: row.id, displayName: row.display_name, disabled: row.disabled_at !== null };
}

/** The MSP staff user (no org) with this identity; in the platform scope. */
export async function staffForIdentity(tx: Tx, tenantId: string, objectId: string): Promise<IdentityUser | undefined> {
  const row = await tx.selectFrom('users').select(['id', 'display_name', 'disabled_at'])
    .where('org_id', 'is', null).where('azure_tenant_id', '=', tenantId).where('azure_object_id', '=', objectId).executeTakeFirst();
  return row && { id: row.id, displayName: row.display_name, disabled: row.disabled_at !== null };
}

/** Gives a user their Azure identity; 409 when a user elsewhere (another org, after the tenant moved) holds it. */
export async function linkIdentity(tx: Tx, userId: string, tenantId: string, objectId: string): Promise<void> {
  try {
    await tx.updateTable('users').set({ azure_tenant_id: tenantId, azure_object_id: objectId }).where('id', '=', userId).execute();
  } catch (err) {
    if (pgErrorCode(err) === PG_UNIQUE_VIOLATION) throw ConflictError('This Azure AD account already belongs to a user of another organisation');
    throw err;
  }
}
