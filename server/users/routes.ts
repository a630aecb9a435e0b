import { OrgParams } from '../../protocol/api';
import { CreateUserBody, User, UserList } from '../../protocol/access';
import { withOrg } from '../db/database';
import { AuthorizationError } from '../errors';
import { apiRoute } from '../http/route';
import { createUser, listUsers } from './store';

export const userRoutes = [
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/users',
    summary: "The org's members and the MSP staff who work in it (users.read, or grants.manage on some unit)",
    tag: 'users',
    permission: 'org.read',
    params: OrgParams,
    response: UserList,
    handler: async ({ input, org, server }) => {
      // A unit's tenant admin picks users to grant roles to; everyone else needs users.read.
      if (!org || (!org.can('users.read', null) && org.unitsWith('grants.manage').size === 0)) {
        throw AuthorizationError('You need the users.read permission', 'users.read');
      }
      return { users: await withOrg(server.db, input.params.orgId, listUsers) };
    },
  }),
  apiRoute({
    method: 'post',
    path: '/api/orgs/:orgId/users',
    summary: 'Add a member to the org (members from the org’s Azure tenant are also created on their first sign-in)',
    tag: 'users',
    permission: 'grants.manage',
    audit: 'user.created',
    params: OrgParams,
    body: CreateUserBody,
    response: User,
    handler: async ({ input, server, audit }) =>
      withOrg(server.db, input.params.orgId, async (tx) => {
        const user = await createUser(tx, { orgId: input.params.orgId, displayName: input.body.displayName, email: input.body.email });
        await audit(tx, { action: 'user.created', target: { type: 'user', id: user.id }, details: { displayName: user.displayName, email: user.email } });
        return user;
      }),
  }),
];
