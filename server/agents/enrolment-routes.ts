import { CreatedEnrolmentToken, CreateEnrolmentTokenBody, EnrolBody, EnrolmentTokenList, EnrolmentTokenParams, EnrolmentTokenSummary, EnrolResponse } from '../../protocol/enrolment';
import { OrgParams } from '../../protocol/api';
import { PG_FOREIGN_KEY_VIOLATION, pgErrorCode, withOrg } from '../db/database';
import { ConflictError, NotFoundError } from '../errors';
import { apiRoute, publicApiRoute } from '../http/route';
import { enrolAgent, enrolmentTokenById, insertEnrolmentToken, listEnrolmentTokens, revokeEnrolmentToken, tokenSummary } from './enrolment';

/*
 * Enrolment tokens (docs/agent.md "Enrolment"). Making, listing and revoking need
 * `enrolment.create` on the token's unit (the provisioning role has it); outside the caller's
 * units a token is as absent as one that does not exist. Read-only units may get tokens: their
 * agents report inventory and heartbeats but never run jobs, which the job path decides.
 */
export const enrolmentRoutes = [
  apiRoute({
    method: 'post',
    path: '/api/orgs/:orgId/enrolment-tokens',
    summary: 'Make a one-time enrolment token for a unit; the token is in this response only (audited)',
    tag: 'agents',
    permission: 'enrolment.create',
    audit: 'agent.enrolment_token_created',
    params: OrgParams,
    body: CreateEnrolmentTokenBody,
    response: CreatedEnrolmentToken,
    handler: async ({ input, org, principal, server, audit }) => {
      const { unitId, label, expiresInMinutes } = input.body;
      if (!org?.can('enrolment.create', unitId)) throw NotFoundError('No such unit');
      const orgId = input.params.orgId;
      const now = server.clock.now();
      try {
        return await withOrg(server.db, orgId, async (tx) => {
          const made = await insertEnrolmentToken(tx, { orgId, unitId, label: label ?? null, createdBy: principal.userId, at: now, expiresInMinutes });
          await audit(tx, {
            action: 'agent.enrolment_token_created',
            target: { type: 'enrolment_token', id: made.row.id },
            details: { unitId, label: made.row.label, expiresAt: made.row.expires_at.toISOString() },
          });
          return { ...tokenSummary(made.row, now), token: made.token };
        });
      } catch (err) {
        if (pgErrorCode(err) === PG_FOREIGN_KEY_VIOLATION) throw NotFoundError('No such unit');
        throw err;
      }
    },
  }),
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/enrolment-tokens',
    summary: 'Enrolment tokens of the units the caller may enrol in, newest first (never the token values)',
    tag: 'agents',
    permission: 'enrolment.create',
    params: OrgParams,
    response: EnrolmentTokenList,
    handler: async ({ input, org, server }) => {
      const visible = org?.unitsWith('enrolment.create') ?? new Set<string>();
      const rows = await withOrg(server.db, input.params.orgId, (tx) => listEnrolmentTokens(tx));
      const now = server.clock.now();
      return { tokens: rows.filter((row) => visible.has(row.unit_id)).map((row) => tokenSummary(row, now)) };
    },
  }),
  apiRoute({
    method: 'post',
    path: '/api/orgs/:orgId/enrolment-tokens/:tokenId/revoke',
    summary: 'Revoke an unused enrolment token (audited); 409 once it was used or revoked',
    tag: 'agents',
    permission: 'enrolment.create',
    audit: 'agent.enrolment_token_revoked',
    params: EnrolmentTokenParams,
    response: EnrolmentTokenSummary,
    handler: async ({ input, org, principal, server, audit }) => {
      const now = server.clock.now();
      return withOrg(server.db, input.params.orgId, async (tx) => {
        const found = await enrolmentTokenById(tx, input.params.tokenId);
        if (!found || !org?.can('enrolment.create', found.unit_id)) throw NotFoundError('No such enrolment token');
        const revoked = await revokeEnrolmentToken(tx, found.id, principal.userId, now);
        if (!revoked) throw ConflictError(`This enrolment token is already ${tokenSummary(found, now).status}`);
        await audit(tx, { action: 'agent.enrolment_token_revoked', target: { type: 'enrolment_token', id: revoked.id }, details: { unitId: revoked.unit_id } });
        return tokenSummary(revoked, now);
      });
    },
  }),
  publicApiRoute({
    method: 'post',
    path: '/api/agents/enrol',
    summary: 'Exchange a one-time enrolment token for an agent id and credential (no credential needed; rate limited per address)',
    tag: 'agents',
    body: EnrolBody,
    response: EnrolResponse,
    handler: ({ input, server, ip, userAgent }) => enrolAgent(server, { ...input.body, ip, userAgent }),
  }),
];
