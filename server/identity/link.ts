import { appendAudit, type AuditActor } from '../audit/log';
import type { Clock } from '../clock';
import { withScope, type Db } from '../db/database';
import { AppError } from '../errors';
import { linkIdentity } from './store';

/*
 * An admin links a user to their Azure AD identity (tid, oid), audited as `user.identity_linked`.
 * This is how MSP staff get one at all (staff are never created by sign-in), and how users made
 * before sign-in (the command line, the demo seed) keep their account on their first sign-in
 * instead of a 409 on their email. The tenant must fit the user: staff only in the MSP's staff
 * tenant, members only in their org's registered tenant, so no link can carry a client tenant's
 * identity into staff, or the staff tenant into a client org.
 */

export interface IdentityLink {
  userId: string;
  tenantId: string;
  objectId: string;
  /** RMM_AUTH_STAFF_TENANT; undefined: no staff user can be linked. */
  staffTenant: string | undefined;
  actor: AuditActor;
}

export async function linkUserIdentity(db: Db, clock: Clock, link: IdentityLink): Promise<{ staff: boolean }> {
  const tenantId = link.tenantId.toLowerCase();
  const objectId = link.objectId.toLowerCase();
  const home = await withScope(db, {}, (tx) => tx.selectFrom('users').select('org_id').where('id', '=', link.userId).executeTakeFirst());
  // In the platform scope only staff are visible: anyone else is a member of some org.
  const orgId = home ? null : await memberOrg(db, link.userId);
  if (orgId === undefined) throw new AppError(404, 'not_found', 'No such user');
  if (orgId === null) {
    if (!link.staffTenant) throw new AppError(400, 'bad_request', 'No staff tenant is configured (RMM_AUTH_STAFF_TENANT): staff cannot sign in through Azure AD');
    if (tenantId !== link.staffTenant.toLowerCase()) throw new AppError(400, 'bad_request', `A staff user’s identity must be in the MSP’s staff tenant ${link.staffTenant}`);
  } else {
    const org = await db.selectFrom('orgs').select('azure_tenant_id').where('id', '=', orgId).executeTakeFirst();
    if (!org?.azure_tenant_id) throw new AppError(400, 'bad_request', 'The user’s organisation has not registered an Azure tenant');
    if (org.azure_tenant_id.toLowerCase() !== tenantId) throw new AppError(400, 'bad_request', `A member’s identity must be in their organisation’s tenant ${org.azure_tenant_id}`);
  }
  await withScope(db, { orgId }, async (tx) => {
    await linkIdentity(tx, link.userId, tenantId, objectId);
    await appendAudit(tx, {
      orgId,
      actor: link.actor,
      action: 'user.identity_linked',
      target: { type: 'user', id: link.userId },
      details: { tenantId, objectId, staff: orgId === null },
      time: clock.now(),
    });
  });
  return { staff: orgId === null };
}

/** The org whose member `userId` is (looked up org by org, as RLS hides members outside their org). */
async function memberOrg(db: Db, userId: string): Promise<string | undefined> {
  for (const { id } of await db.selectFrom('orgs').select('id').execute()) {
    const found = await withScope(db, { orgId: id }, (tx) => tx.selectFrom('users').select('id').where('id', '=', userId).where('org_id', '=', id).executeTakeFirst());
    if (found) return id;
  }
  return undefined;
}
