import { Org, OrgList, OrgParams } from '../../protocol/api';
import { CreateOrgBody, Me, OrgAccess, OrgSettings } from '../../protocol/access';
import { describeAccess, orgsForPrincipal } from '../access/org-access';
import { setScope, withOrg, withScope } from '../db/database';
import { NotFoundError } from '../errors';
import { apiRoute } from '../http/route';
import { findUser } from '../users/store';
import { createOrg, orgSettings, updateOrgSettings } from './store';

export const orgRoutes = [
  apiRoute({
    method: 'get',
    path: '/api/me',
    summary: 'The signed-in user',
    tag: 'orgs',
    response: Me,
    handler: async ({ principal, server }) => {
      const user = await withScope(server.db, { orgId: principal.homeOrgId, userId: principal.userId }, (tx) => findUser(tx, principal.userId));
      if (!user) throw NotFoundError('Your user record is gone');
      return { user };
    },
  }),
  apiRoute({
    method: 'get',
    path: '/api/orgs',
    summary: 'Organisations the caller may enter',
    tag: 'orgs',
    response: OrgList,
    handler: async ({ principal, server }) => ({ orgs: await orgsForPrincipal(server.db, principal) }),
  }),
  apiRoute({
    method: 'post',
    path: '/api/orgs',
    summary: 'Create a client organisation (MSP admins)',
    tag: 'orgs',
    adminOnly: true,
    audit: 'org.created',
    body: CreateOrgBody,
    response: Org,
    handler: async ({ input, server, audit }) => {
      // One transaction: the org, then (scoped to it) the first entry of its own audit chain.
      return withScope(server.db, {}, async (tx) => {
        const org = await createOrg(tx, input.body.name);
        await setScope(tx, { orgId: org.id });
        await audit(tx, { orgId: org.id, action: 'org.created', target: { type: 'org', id: org.id }, details: { name: org.name } });
        return org;
      });
    },
  }),
  apiRoute({
    method: 'post',
    path: '/api/orgs/:orgId/enter',
    summary: 'Start working in an org (the console calls it on every org switch; audited)',
    tag: 'orgs',
    permission: 'org.read',
    audit: 'org.entered',
    params: OrgParams,
    response: OrgAccess,
    handler: async ({ input, principal, org, server, audit }) => {
      if (!org) throw NotFoundError('No such organisation');
      await withOrg(server.db, input.params.orgId, (tx) => audit(tx, { action: 'org.entered', target: { type: 'org', id: input.params.orgId } }));
      return describeAccess(org, principal.platformAdmin);
    },
  }),
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/access',
    summary: 'What the caller may do in this org, at the org level and per unit',
    tag: 'orgs',
    permission: 'org.read',
    params: OrgParams,
    response: OrgAccess,
    handler: async ({ principal, org }) => {
      if (!org) throw NotFoundError('No such organisation');
      return describeAccess(org, principal.platformAdmin);
    },
  }),
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/settings',
    summary: 'Security settings of an org',
    tag: 'orgs',
    permission: 'org.read',
    params: OrgParams,
    response: OrgSettings,
    handler: async ({ input, server }) => {
      const settings = await orgSettings(server.db, input.params.orgId);
      if (!settings) throw NotFoundError('No such organisation');
      return settings;
    },
  }),
  apiRoute({
    method: 'put',
    path: '/api/orgs/:orgId/settings',
    summary: 'Change the security settings of an org (audited)',
    tag: 'orgs',
    permission: 'org.settings',
    audit: 'org.settings_changed',
    stepUp: 'org.security_settings',
    params: OrgParams,
    body: OrgSettings.strict(),
    response: OrgSettings,
    handler: async ({ input, server, audit }) => {
      return withOrg(server.db, input.params.orgId, async (tx) => {
        const before = await orgSettings(tx, input.params.orgId);
        if (!before) throw NotFoundError('No such organisation');
        await updateOrgSettings(tx, input.params.orgId, input.body);
        const changes = Object.fromEntries(
          (Object.keys(input.body) as Array<keyof typeof input.body>)
            .filter((key) => before[key] !== input.body[key])
            .map((key) => [key, { from: before[key], to: input.body[key] }]),
        );
        await audit(tx, { action: 'org.settings_changed', target: { type: 'org', id: input.params.orgId }, details: { changes } });
        return input.body;
      });
    },
  }),
];
