import { z } from 'zod';

/*
 * The permission catalog: every action a person can be allowed to take, by name. Routes,
 * WebSocket actions and the console's buttons all ask for one of these; roles are sets of them.
 * docs/access-control.md carries the same table for people.
 */

/** Only a grant at the org root (no unit) gives these: they make sense for the whole org only. */
const ORG_SCOPED_PERMISSIONS = [
  'org.settings',
  'users.read',
  'audit.read',
  'audit.export',
  'sessions.read',
  'sessions.revoke',
  /** See the org's security alerts and acknowledge them (protocol/alerts.ts). */
  'alerts.read',
] as const;

/** A grant at a unit gives these for that unit and everything below it. */
const UNIT_SCOPED_PERMISSIONS = [
  'units.manage',
  'units.activate',
  'grants.manage',
  'agents.read',
  'agents.register',
  'enrolment.create',
  'jobs.read',
  'jobs.create',
  'scripts.read',
  'scripts.write',
  'scripts.approve',
  'notes.read',
  'notes.write',
  'workspace.share',
  'vault.read',
  'vault.write',
  'vault.reveal',
  'breakglass.request',
  'breakglass.review',
] as const;

/** Any grant in the org gives `org.read`: enter the org, see its unit tree. */
export const Permission = z.enum(['org.read', ...ORG_SCOPED_PERMISSIONS, ...UNIT_SCOPED_PERMISSIONS]);
export type Permission = z.infer<typeof Permission>;

/** Permissions a grant at a unit never gives. */
export const ORG_SCOPED: ReadonlySet<Permission> = new Set<Permission>(ORG_SCOPED_PERMISSIONS);

/** Roles a grant can carry. `admin` is the MSP's own staff role, held on the user, not granted per unit. */
export const GrantRole = z.enum(['tenant_admin', 'tech', 'viewer', 'provisioning']);
export type GrantRole = z.infer<typeof GrantRole>;
export const Role = z.enum(['admin', ...GrantRole.options]);
export type Role = z.infer<typeof Role>;

const ALL = Permission.options;

export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  admin: new Set(ALL),
  tenant_admin: new Set(ALL),
  tech: new Set<Permission>([
    'org.read',
    'agents.read',
    'jobs.read',
    'jobs.create',
    'scripts.read',
    'scripts.write',
    'notes.read',
    'notes.write',
    'workspace.share',
    'vault.read',
    'vault.reveal',
    'breakglass.request',
  ]),
  viewer: new Set<Permission>(['org.read', 'users.read', 'audit.read', 'agents.read', 'jobs.read', 'scripts.read', 'notes.read']),
  provisioning: new Set<Permission>(['org.read', 'agents.register', 'enrolment.create']),
};
