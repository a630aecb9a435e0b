import { OrgParams, UnitList } from '../../protocol/api';
import { withOrg } from '../db/database';
import { apiRoute } from '../http/route';
import { requireOrg } from '../orgs/access';
import { listUnits } from './store';

export const unitRoutes = [
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/units',
    summary: 'The unit tree of an org (flat list with parentId)',
    tag: 'units',
    params: OrgParams,
    response: UnitList,
    handler: async ({ input, principal, server }) => {
      await requireOrg(server, principal, input.params.orgId);
      return { units: await withOrg(server.db, input.params.orgId, listUnits) };
    },
  }),
];
