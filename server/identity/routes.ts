import { OrgParams } from '../../protocol/api';
import { OrgIdentity, OrgIdentityBody, SignInBody, SignInResponse } from '../../protocol/identity';
import { withOrg } from '../db/database';
import { ConflictError, NotFoundError } from '../errors';
import { apiRoute, publicApiRoute } from '../http/route';
import { signIn } from './sign-in';
import { signInLimitsFor } from './sign-in-limits';
import { orgIdentity, updateOrgIdentity } from './store';
import { verifierFor } from './verifier';

export const identityRoutes = [
  publicApiRoute({
    method: 'post',
    path: '/api/auth/session',
    summary: 'Sign in with an Azure AD access token for this API; returns a server session token (no credential needed)',
    tag: 'auth',
    body: SignInBody,
    response: SignInResponse,
    handler: ({ input, server, ip, userAgent }) => signIn(server, verifierFor(server), signInLimitsFor(server), { accessToken: input.body.accessToken, ip, userAgent }),
  }),
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/identity',
    summary: 'How users sign in to an org: its Azure tenant, the role of new users, session lifetimes',
    tag: 'orgs',
    permission: 'org.read',
    params: OrgParams,
    response: OrgIdentity,
    handler: async ({ input, server }) => {
      const identity = await orgIdentity(server.db, input.params.orgId);
      if (!identity) throw NotFoundError('No such organisation');
      return identity;
    },
  }),
  apiRoute({
    method: 'put',
    path: '/api/orgs/:orgId/identity',
    summary: 'Register the org’s Azure tenant, the role of new users and session lifetimes (audited)',
    tag: 'orgs',
    permission: 'org.settings',
    audit: 'org.settings_changed',
    stepUp: 'org.security_settings',
    params: OrgParams,
    body: OrgIdentityBody,
    response: OrgIdentity,
    handler: async ({ input, server, audit }) => {
      const next: OrgIdentity = { ...input.body, azureTenantId: input.body.azureTenantId?.toLowerCase() ?? null };
      if (next.azureTenantId !== null && next.azureTenantId === server.config.authStaffTenant) {
        throw ConflictError('That Azure tenant is the MSP’s staff tenant (RMM_AUTH_STAFF_TENANT); a client organisation cannot register it');
      }
      return withOrg(server.db, input.params.orgId, async (tx) => {
        const before = await orgIdentity(tx, input.params.orgId);
        if (!before) throw NotFoundError('No such organisation');
        await updateOrgIdentity(tx, input.params.orgId, next);
        const changes = Object.fromEntries(
          (Object.keys(next) as Array<keyof OrgIdentity>).filter((key) => before[key] !== next[key]).map((key) => [key, { from: before[key], to: next[key] }]),
        );
        await audit(tx, { action: 'org.settings_changed', target: { type: 'org', id: input.params.orgId }, details: { changes } });
        return next;
      });
    },
  }),
];
