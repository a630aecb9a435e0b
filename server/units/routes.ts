import { z } from 'zod';
import { OrgParams, Unit, UnitList } from '../../protocol/api';
import { CreateUnitBody, UnitParams } from '../../protocol/access';
import type { OrgContext } from '../access/org-access';
import { withOrg } from '../db/database';
import { NotFoundError } from '../errors';
import { apiRoute } from '../http/route';
import { createUnit, listUnits, renameUnit, setUnitReadOnly } from './store';

/** The unit must be in the org; every member sees the unit tree (names only). */
function knownUnit(org: OrgContext | undefined, unitId: string): OrgContext {
  if (!org || !org.units.some((u) => u.id === unitId)) throw NotFoundError('No such unit');
  return org;
}

function mustHaveOrg(org: OrgContext | undefined): OrgContext {
  if (!org) throw new Error('route declared under /api/orgs/:orgId without an org context');
  return org;
}

export const unitRoutes = [
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/units',
    summary: 'The unit tree of an org (flat list with parentId)',
    tag: 'units',
    permission: 'org.read',
    params: OrgParams,
    response: UnitList,
    handler: async ({ input, server }) => ({ units: await withOrg(server.db, input.params.orgId, listUnits) }),
  }),
  apiRoute({
    method: 'post',
    path: '/api/orgs/:orgId/units',
    summary: 'Create a unit (read-only until activated) under a parent unit, or at the top of the org',
    tag: 'units',
    permission: 'units.manage',
    audit: 'unit.created',
    params: OrgParams,
    body: CreateUnitBody,
    response: Unit,
    handler: async ({ input, org, server, audit }) => {
      const context = input.body.parentId ? knownUnit(org, input.body.parentId) : mustHaveOrg(org);
      context.require('units.manage', input.body.parentId);
      return withOrg(server.db, input.params.orgId, async (tx) => {
        const unit = await createUnit(tx, { orgId: input.params.orgId, parentId: input.body.parentId, name: input.body.name });
        await audit(tx, { action: 'unit.created', target: { type: 'unit', id: unit.id }, details: { name: unit.name, parentId: unit.parentId } });
        return unit;
      });
    },
  }),
  apiRoute({
    method: 'patch',
    path: '/api/orgs/:orgId/units/:unitId',
    summary: 'Rename a unit',
    tag: 'units',
    permission: 'units.manage',
    audit: 'unit.renamed',
    params: UnitParams,
    body: z.object({ name: z.string().trim().min(1).max(200) }).strict(),
    response: Unit,
    handler: async ({ input, org, server, audit }) => {
      const context = knownUnit(org, input.params.unitId);
      context.require('units.manage', input.params.unitId);
      const before = context.units.find((u) => u.id === input.params.unitId)?.name ?? '';
      return withOrg(server.db, input.params.orgId, async (tx) => {
        const unit = await renameUnit(tx, input.params.unitId, input.body.name);
        if (!unit) throw NotFoundError('No such unit');
        await audit(tx, { action: 'unit.renamed', target: { type: 'unit', id: unit.id }, details: { from: before, to: unit.name } });
        return unit;
      });
    },
  }),
  ...([
    ['activate', false, 'unit.activated', 'Activate a unit: jobs may target its agents'],
    ['deactivate', true, 'unit.deactivated', 'Make a unit read-only again: its agents report, no jobs'],
  ] as const).map(([verb, readOnly, action, summary]) =>
    apiRoute({
      method: 'post',
      path: `/api/orgs/:orgId/units/:unitId/${verb}`,
      summary,
      tag: 'units',
      permission: 'units.activate',
      audit: action,
      params: UnitParams,
      response: Unit,
      handler: async ({ input, org, server, audit }) => {
        knownUnit(org, input.params.unitId).require('units.activate', input.params.unitId);
        return withOrg(server.db, input.params.orgId, async (tx) => {
          const unit = await setUnitReadOnly(tx, input.params.unitId, readOnly);
          if (!unit) throw NotFoundError('No such unit');
          await audit(tx, { action, target: { type: 'unit', id: unit.id } });
          return unit;
        });
      },
    }),
  ),
];
