import { z } from 'zod';
import { AgentDetail, AgentList, AgentParams, OrgParams } from '../../protocol/api';
import { withOrg } from '../db/database';
import { NotFoundError } from '../errors';
import { apiRoute } from '../http/route';
import { requireOrg } from '../orgs/access';
import { getAgent, listAgents } from './store';

export const agentRoutes = [
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/agents',
    summary: 'Agents of an org, optionally of one unit',
    tag: 'agents',
    params: OrgParams,
    query: z.object({ unitId: z.uuid().optional() }),
    response: AgentList,
    handler: async ({ input, principal, server }) => {
      await requireOrg(server, principal, input.params.orgId);
      return { agents: await withOrg(server.db, input.params.orgId, (tx) => listAgents(tx, { unitId: input.query.unitId })) };
    },
  }),
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/agents/:agentId',
    summary: 'One agent with its latest inventory',
    tag: 'agents',
    params: AgentParams,
    response: AgentDetail,
    handler: async ({ input, principal, server }) => {
      await requireOrg(server, principal, input.params.orgId);
      const agent = await withOrg(server.db, input.params.orgId, (tx) => getAgent(tx, input.params.agentId));
      if (!agent) throw NotFoundError('No such agent');
      return agent;
    },
  }),
];
