import { OrgList } from '../../protocol/api';
import { canAccessOrg } from '../auth/principal';
import { apiRoute } from '../http/route';
import { listOrgs } from './store';

export const orgRoutes = [
  apiRoute({
    method: 'get',
    path: '/api/orgs',
    summary: 'Organisations the caller may enter',
    tag: 'orgs',
    response: OrgList,
    handler: async ({ principal, server }) => ({
      orgs: (await listOrgs(server.db)).filter((org) => canAccessOrg(principal, org.id)),
    }),
  }),
];
