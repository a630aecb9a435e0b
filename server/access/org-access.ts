import { sql } from 'kysely';
import type { Org, Unit } from '../../protocol/api';
import type { OrgAccess } from '../../protocol/access';
import type { GrantRole, Permission } from '../../protocol/permissions';
import type { Principal } from '../auth/principal';
import { withScope, type Db, type Tx } from '../db/database';
import { AuthorizationError, NotFoundError } from '../errors';
import { findOrg, listOrgs } from '../orgs/store';
import { listUnits } from '../units/store';
import { allows, resolveAccess, unitsAllowing, type ResolvedAccess } from './resolve';

/*
 * Loads what a principal may do inside one org: their grants there and the org's unit tree, run
 * through resolveAccess. Routes get it as `call.org`; nothing else decides access.
 */

export interface OrgContext {
  org: Org;
  units: Unit[];
  access: ResolvedAccess;
  /** Throws 403 `forbidden` unless `permission` is held at `unitId` (null: org level). */
  require(permission: Permission, unitId: string | null): void;
  /** True when the permission is held at the unit (null: org level). */
  can(permission: Permission, unitId: string | null): boolean;
  /** Unit ids where the permission is held. */
  unitsWith(permission: Permission): Set<string>;
}

interface GrantOfUser {
  grant_id: string;
  org_id: string;
  role: GrantRole;
  unit_id: string | null;
}

export async function grantsOfUser(db: Db | Tx, userId: string): Promise<GrantOfUser[]> {
  const { rows } = await sql<GrantOfUser>`SELECT * FROM rmm_grants_of_user(${userId})`.execute(db);
  return rows;
}

/** Orgs the principal may enter: all for a platform admin, else those they hold a grant in. */
export async function orgsForPrincipal(db: Db, principal: Principal): Promise<Org[]> {
  const orgs = await listOrgs(db);
  if (principal.platformAdmin) return orgs;
  const member = new Set((await grantsOfUser(db, principal.userId)).map((g) => g.org_id));
  return orgs.filter((org) => member.has(org.id));
}

export function orgContext(org: Org, units: Unit[], access: ResolvedAccess): OrgContext {
  return {
    org,
    units,
    access,
    can: (permission, unitId) => allows(access, permission, unitId),
    require(permission, unitId) {
      if (!allows(access, permission, unitId)) throw AuthorizationError(`You need the ${permission} permission${unitId ? ' on this unit' : ' for this organisation'}`, permission);
    },
    unitsWith: (permission) => unitsAllowing(access, permission),
  };
}

/**
 * The org and the principal's access in it. An org that does not exist and an org the principal
 * holds nothing in both answer 404, so other clients' ids cannot be probed.
 */
export async function loadOrgContext(db: Db, principal: Principal, orgId: string): Promise<OrgContext> {
  const org = await findOrg(db, orgId);
  if (!org) throw NotFoundError('No such organisation');
  const grants = principal.platformAdmin ? [] : (await grantsOfUser(db, principal.userId)).filter((g) => g.org_id === orgId);
  if (!principal.platformAdmin && grants.length === 0) throw NotFoundError('No such organisation');
  const units = await withScope(db, { orgId }, listUnits);
  const access = resolveAccess({
    platformAdmin: principal.platformAdmin,
    grants: grants.map((g) => ({ role: g.role, unitId: g.unit_id })),
    units,
  });
  return orgContext(org, units, access);
}

export function describeAccess(context: OrgContext, platformAdmin: boolean): OrgAccess {
  return {
    orgId: context.org.id,
    platformAdmin,
    org: [...context.access.org].sort(),
    units: Object.fromEntries([...context.access.units].map(([id, set]) => [id, [...set].sort()])),
  };
}
