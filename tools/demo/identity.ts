import path from 'node:path';
import type { ServerConfig } from '../../server/config';
import { appendAudit } from '../../server/audit/log';
import type { Clock } from '../../server/clock';
import { systemClock } from '../../server/clock';
import { withOrg, withScope, type Db } from '../../server/db/database';
import { linkUserIdentity } from '../../server/identity/link';
import { orgIdentity, updateOrgIdentity } from '../../server/identity/store';
import { createUser } from '../../server/users/store';
import { DEMO_CLIENT_ID, DEMO_CLINIC_TENANT_ID, DEMO_MSP_TENANT_ID, DEMO_STAFF_ADMIN, DEMO_TENANTS } from '../idp/tenants';
import { DEMO_USERS } from './seed';

/*
 * Sign-in for `npm start`: the server trusts the dev identity provider (tools/idp), the Demo
 * Clinic registers the provider's clinic tenant (default role viewer), the seeded demo users are
 * linked to their fixed object ids there (so their first sign-in finds them instead of a 409 on
 * their email), and Sam Staff of the provider's MSP tenant is an MSP admin staff user linked to
 * that tenant, which is the staff tenant. Idempotent; every change is audited as the demo seed.
 */

const seeder = { type: 'system', name: 'demo seed' } as const;

/** Where the dev provider keeps its keys and certificate inside the demo's data folder. */
export function demoIdpDataDir(dataDir: string): string {
  return path.join(dataDir, 'idp');
}

/** The server settings that point it at the dev provider on `idpUrl` (its certificate under `idpDataDir`). */
export function demoAuthConfig(idpUrl: string, idpDataDir: string): Pick<ServerConfig, 'authAuthorityBase' | 'authAudience' | 'authCaFile' | 'authStaffTenant'> {
  return {
    authAuthorityBase: idpUrl,
    authAudience: `api://${DEMO_CLIENT_ID}`,
    authCaFile: path.join(idpDataDir, 'tls', 'server-cert.pem'),
    authStaffTenant: DEMO_MSP_TENANT_ID,
  };
}

/**
 * How the console `npm start` opens signs in: Azure AD through the dev provider's organizations
 * authority, so the users of every demo tenant (the clinic's and the MSP's Sam Staff) sign in from
 * the same console, as with https://login.microsoftonline.com/organizations/v2.0 in production.
 * RMM_SIGN_IN_* as main/sign-in-config.ts reads them; the encrypted MSAL cache in the data folder.
 */
export function demoSignInEnv(idp: { organizationsAuthority: string; caCertFile: string }, dataDir: string): Record<string, string> {
  return {
    RMM_SIGN_IN_AUTHORITY: idp.organizationsAuthority,
    RMM_SIGN_IN_CLIENT_ID: DEMO_CLIENT_ID,
    RMM_SIGN_IN_CA_FILE: idp.caCertFile,
    RMM_SIGN_IN_CACHE_FILE: path.join(dataDir, 'console', 'msal-cache.bin'),
  };
}

function clinicOid(email: string): string {
  const oid = DEMO_TENANTS.find((t) => t.id === DEMO_CLINIC_TENANT_ID)?.users.find((u) => u.email === email)?.oid;
  if (!oid) throw new Error(`the dev provider has no demo clinic user ${email} (tools/idp/tenants.ts)`);
  return oid;
}

export interface DemoIdentity {
  /** The staff user Sam Staff signs in as. */
  staffUserId: string;
}

export async function wireDemoIdentity(db: Db, orgId: string, clock: Clock = systemClock): Promise<DemoIdentity> {
  // The clinic's tenant, as PUT /api/orgs/:orgId/identity would register it.
  await withOrg(db, orgId, async (tx) => {
    const before = await orgIdentity(tx, orgId);
    if (!before) throw new Error(`no demo org ${orgId}`);
    if (before.azureTenantId === DEMO_CLINIC_TENANT_ID) return;
    const next = { ...before, azureTenantId: DEMO_CLINIC_TENANT_ID, defaultRole: 'viewer' as const };
    await updateOrgIdentity(tx, orgId, next);
    const changes = Object.fromEntries((Object.keys(next) as Array<keyof typeof next>).filter((k) => before[k] !== next[k]).map((k) => [k, { from: before[k], to: next[k] }]));
    await appendAudit(tx, { orgId, actor: seeder, action: 'org.settings_changed', target: { type: 'org', id: orgId }, details: { changes }, time: clock.now() });
  });

  const link = (userId: string, tenantId: string, objectId: string) =>
    linkUserIdentity(db, clock, { userId, tenantId, objectId, staffTenant: DEMO_MSP_TENANT_ID, actor: seeder });

  for (const demo of DEMO_USERS) {
    const user = await withOrg(db, orgId, (tx) => tx.selectFrom('users').select(['id', 'azure_object_id'])
      .where('org_id', '=', orgId).where('email', '=', demo.email).executeTakeFirst());
    if (!user) throw new Error(`the demo user ${demo.email} was not seeded`);
    if (user.azure_object_id === null) await link(user.id, DEMO_CLINIC_TENANT_ID, clinicOid(demo.email));
  }

  const staff = await withScope(db, {}, async (tx) => {
    const found = await tx.selectFrom('users').select(['id', 'azure_object_id']).where('org_id', 'is', null).where('email', '=', DEMO_STAFF_ADMIN.email).executeTakeFirst();
    if (found) return found;
    const made = await createUser(tx, { orgId: null, displayName: DEMO_STAFF_ADMIN.name, email: DEMO_STAFF_ADMIN.email, platformAdmin: true });
    await appendAudit(tx, { orgId: null, actor: seeder, action: 'user.created', target: { type: 'user', id: made.id }, details: { displayName: made.displayName, email: made.email }, time: clock.now() });
    return { id: made.id, azure_object_id: null };
  });
  if (staff.azure_object_id === null) await link(staff.id, DEMO_MSP_TENANT_ID, DEMO_STAFF_ADMIN.oid);
  return { staffUserId: staff.id };
}
