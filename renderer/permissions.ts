import type { OrgAccess } from '../protocol/access';
import type { Permission } from '../protocol/permissions';

/*
 * What the signed-in user may do in the open org, from the server's OrgAccess. The console shows
 * a control only where its permission is held; the server checks again on every call.
 */

/** Held at this unit (null: at the org level)? */
export function canAt(access: OrgAccess | null, permission: Permission, unitId: string | null): boolean {
  if (!access) return false;
  if (unitId === null) return access.org.includes(permission);
  return access.units[unitId]?.includes(permission) ?? false;
}

/** Held at the org level or on at least one unit? */
export function canAnywhere(access: OrgAccess | null, permission: Permission): boolean {
  if (!access) return false;
  return access.org.includes(permission) || Object.values(access.units).some((held) => held.includes(permission));
}

/** Unit ids where the permission is held. */
export function unitsWhere(access: OrgAccess | null, permission: Permission): Set<string> {
  if (!access) return new Set();
  return new Set(Object.entries(access.units).filter(([, held]) => held.includes(permission)).map(([id]) => id));
}

/** Reading (and acknowledging) the org's security alerts; MSP admins also see those about MSP staff. */
export const ALERTS_READ: Permission = 'alerts.read';

export function canReadAlerts(access: OrgAccess | null): boolean {
  return canAt(access, ALERTS_READ, null);
}
