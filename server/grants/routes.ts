import { CreateGrantBody, Grant, GrantList, GrantParams } from '../../protocol/access';
import { OrgParams } from '../../protocol/api';
import type { OrgContext } from '../access/org-access';
import { withOrg } from '../db/database';
import { NotFoundError } from '../errors';
import { apiRoute } from '../http/route';
import { findUser } from '../users/store';
import { createGrant, deleteGrant, findGrant, listGrants } from './store';

/**
 * Who sees a grant: holders of users.read (org level) see all; a tenant admin of a unit sees the
 * grants on the units they manage (grants.manage there), so they can review and revoke them.
 */
function seesGrant(org: OrgContext | undefined, unitId: string | null): boolean {
  return Boolean(org && (org.can('users.read', null) || org.can('grants.manage', unitId)));
}

/** A grant's unit must be in the org (null: the org root). */
function checkUnit(org: OrgContext | undefined, unitId: string | null): OrgContext {
  if (!org) throw NotFoundError('No such organisation');
  if (unitId !== null && !org.units.some((u) => u.id === unitId)) throw NotFoundError('No such unit');
  return org;
}

export const grantRoutes = [
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/grants',
    summary: 'Role grants in the org that the caller may see (all with users.read; those on units they manage otherwise)',
    tag: 'grants',
    permission: 'org.read',
    params: OrgParams,
    response: GrantList,
    handler: async ({ input, org, server }) => {
      const grants = await withOrg(server.db, input.params.orgId, listGrants);
      return { grants: grants.filter((g) => seesGrant(org, g.unitId)) };
    },
  }),
  apiRoute({
    method: 'post',
    path: '/api/orgs/:orgId/grants',
    summary: 'Grant a role on a unit (and everything below it), or on the whole org',
    tag: 'grants',
    permission: 'grants.manage',
    audit: 'grant.created',
    stepUp: 'grants.change',
    params: OrgParams,
    body: CreateGrantBody,
    response: Grant,
    handler: async ({ input, org, principal, server, audit }) => {
      checkUnit(org, input.body.unitId).require('grants.manage', input.body.unitId);
      return withOrg(server.db, input.params.orgId, async (tx) => {
        if (!(await findUser(tx, input.body.userId))) throw NotFoundError('No such user in this organisation');
        const grant = await createGrant(tx, { orgId: input.params.orgId, ...input.body, createdBy: principal.userId });
        await audit(tx, { action: 'grant.created', target: { type: 'grant', id: grant.id }, details: { userId: grant.userId, role: grant.role, unitId: grant.unitId } });
        return grant;
      });
    },
  }),
  apiRoute({
    method: 'delete',
    path: '/api/orgs/:orgId/grants/:grantId',
    summary: 'Revoke a grant',
    tag: 'grants',
    permission: 'grants.manage',
    audit: 'grant.revoked',
    stepUp: 'grants.change',
    params: GrantParams,
    response: Grant,
    handler: async ({ input, org, server, audit }) =>
      withOrg(server.db, input.params.orgId, async (tx) => {
        const grant = await findGrant(tx, input.params.grantId);
        if (!grant || !org || !seesGrant(org, grant.unitId)) throw NotFoundError('No such grant');
        org.require('grants.manage', grant.unitId);
        await deleteGrant(tx, grant.id);
        await audit(tx, { action: 'grant.revoked', target: { type: 'grant', id: grant.id }, details: { userId: grant.userId, role: grant.role, unitId: grant.unitId } });
        return grant;
      }),
  }),
];
