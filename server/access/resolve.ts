import { ORG_SCOPED, Permission, ROLE_PERMISSIONS, type GrantRole } from '../../protocol/permissions';

/*
 * Permission resolution: one pure function of (who, their grants in this org, the unit tree).
 * Every route and WebSocket action asks it; the console shows buttons from its answer.
 *
 * - A platform admin holds every permission everywhere.
 * - A grant (role, unit) gives the role's unit-scoped permissions at that unit and every unit
 *   below it. A grant at the org root (unit null) gives them on every unit, plus the role's
 *   org-scoped permissions (audit, users, settings, sessions).
 * - Any grant in the org gives `org.read`: a member may enter the org and see its unit tree.
 */

export interface AccessGrant {
  role: GrantRole;
  /** null: the org root. */
  unitId: string | null;
}

export interface AccessUnit {
  id: string;
  parentId: string | null;
}

export interface AccessFacts {
  platformAdmin: boolean;
  grants: readonly AccessGrant[];
  units: readonly AccessUnit[];
}

/** unit id → its ancestors, nearest first (the unit itself excluded). A cycle or a dangling parent ends the walk. */
function ancestorsOf(units: readonly AccessUnit[]): Map<string, string[]> {
  const parent = new Map(units.map((u) => [u.id, u.parentId]));
  const result = new Map<string, string[]>();
  for (const unit of units) {
    const chain: string[] = [];
    const seen = new Set<string>([unit.id]);
    let next = unit.parentId;
    while (next !== null && parent.has(next) && !seen.has(next)) {
      chain.push(next);
      seen.add(next);
      next = parent.get(next) ?? null;
    }
    result.set(unit.id, chain);
  }
  return result;
}

export interface ResolvedAccess {
  /** Permissions at the org level (unit null). */
  org: ReadonlySet<Permission>;
  /** Permissions per unit id of the org. */
  units: ReadonlyMap<string, ReadonlySet<Permission>>;
}

export function resolveAccess(facts: AccessFacts): ResolvedAccess {
  const all = new Set(Permission.options);
  if (facts.platformAdmin) {
    return { org: all, units: new Map(facts.units.map((u) => [u.id, all])) };
  }
  const unitScoped = (role: GrantRole) => [...ROLE_PERMISSIONS[role]].filter((p) => !ORG_SCOPED.has(p));
  const org = new Set<Permission>();
  const rootUnitPermissions = new Set<Permission>();
  const direct = new Map<string, Set<Permission>>();
  for (const grant of facts.grants) {
    org.add('org.read');
    if (grant.unitId === null) {
      for (const p of ROLE_PERMISSIONS[grant.role]) org.add(p);
      for (const p of unitScoped(grant.role)) rootUnitPermissions.add(p);
    } else {
      const set = direct.get(grant.unitId) ?? new Set<Permission>();
      for (const p of unitScoped(grant.role)) set.add(p);
      direct.set(grant.unitId, set);
    }
  }
  const ancestors = ancestorsOf(facts.units);
  const units = new Map<string, ReadonlySet<Permission>>();
  for (const unit of facts.units) {
    const set = new Set(rootUnitPermissions);
    for (const id of [unit.id, ...(ancestors.get(unit.id) ?? [])]) {
      for (const p of direct.get(id) ?? []) set.add(p);
    }
    if (set.size > 0) set.add('org.read');
    units.set(unit.id, set);
  }
  return { org, units };
}

/** Does the resolved access allow `permission` at `unitId` (null: the org level)? */
export function allows(access: ResolvedAccess, permission: Permission, unitId: string | null): boolean {
  if (unitId === null) return access.org.has(permission);
  return access.units.get(unitId)?.has(permission) ?? false;
}

/** The units where `permission` is held. */
export function unitsAllowing(access: ResolvedAccess, permission: Permission): Set<string> {
  const ids = new Set<string>();
  for (const [id, set] of access.units) if (set.has(permission)) ids.add(id);
  return ids;
}
