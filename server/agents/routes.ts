import { z } from 'zod';
import { AgentDetail, AgentList, AgentParams, OrgParams } from '../../protocol/api';
import { withOrg } from '../db/database';
import { NotFoundError } from '../errors';
import { apiRoute } from '../http/route';
import { getAgent, listAgents } from './store';

export const agentRoutes = [
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/agents',
    summary: 'Agents of an org the caller may see, optionally of one unit',
    tag: 'agents',
    permission: 'agents.read',
    params: OrgParams,
    query: z.object({ unitId: z.uuid().optional() }),
    response: AgentList,
    handler: async ({ input, org, server }) => {
      const visible = org?.unitsWith('agents.read') ?? new Set<string>();
      const agents = await withOrg(server.db, input.params.orgId, (tx) => listAgents(tx, { unitId: input.query.unitId }));
      return { agents: agents.filter((agent) => visible.has(agent.unitId)) };
    },
  }),
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/agents/:agentId',
    summary: 'One agent with its latest inventory',
    tag: 'agents',
    permission: 'agents.read',
    params: AgentParams,
    response: AgentDetail,
    handler: async ({ input, org, server }) => {
      const agent = await withOrg(server.db, input.params.orgId, (tx) => getAgent(tx, input.params.agentId));
      // Outside the caller's units an agent is as absent as one that does not exist.
      if (!agent || !org?.can('agents.read', agent.unitId)) throw NotFoundError('No such agent');
      return agent;
    },
  }),
];
