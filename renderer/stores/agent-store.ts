import { create } from 'zustand';
import type { AgentDetail, AgentSummary } from '../../protocol/api';
import { api, errorMessage } from '../api';
import type { LoadStatus } from './org-store';

/* The agents of the selected org, kept live from events, and the one whose detail is open. */

interface AgentState {
  orgId: string | null;
  agents: Record<string, AgentSummary>;
  status: LoadStatus;
  error: string | null;
  selectedAgentId: string | null;
  detail: AgentDetail | null;
  detailStatus: LoadStatus;
  detailError: string | null;
  loadAgents(orgId: string): Promise<void>;
  selectAgent(agentId: string | null): Promise<void>;
  applyStatus(agent: AgentSummary): void;
  applyInventory(agent: AgentDetail): void;
}

function summaryOf(agent: AgentDetail): AgentSummary {
  const { id, orgId, unitId, hostname, osName, agentVersion, online, lastSeenAt } = agent;
  return { id, orgId, unitId, hostname, osName, agentVersion, online, lastSeenAt };
}

export const useAgentStore = create<AgentState>()((set, get) => ({
  orgId: null,
  agents: {},
  status: 'idle',
  error: null,
  selectedAgentId: null,
  detail: null,
  detailStatus: 'idle',
  detailError: null,

  async loadAgents(orgId) {
    const switching = get().orgId !== orgId;
    set({
      orgId,
      status: 'loading',
      error: null,
      ...(switching ? { agents: {}, selectedAgentId: null, detail: null, detailStatus: 'idle' as const } : {}),
    });
    try {
      const { agents } = await api.listAgents(orgId);
      if (get().orgId !== orgId) return;
      set({ agents: Object.fromEntries(agents.map((agent) => [agent.id, agent])), status: 'ready' });
    } catch (error) {
      if (get().orgId === orgId) set({ status: 'error', error: errorMessage(error) });
    }
  },

  async selectAgent(agentId) {
    const { orgId, selectedAgentId, detail } = get();
    // Re-selecting the open agent refreshes it in place instead of flashing an empty pane.
    const refreshing = agentId !== null && agentId === selectedAgentId && detail !== null;
    set({
      selectedAgentId: agentId,
      detailError: null,
      ...(refreshing ? {} : { detail: null, detailStatus: agentId ? ('loading' as const) : ('idle' as const) }),
    });
    if (!agentId || !orgId) return;
    try {
      const detail = await api.getAgent(orgId, agentId);
      if (get().selectedAgentId === agentId) set({ detail, detailStatus: 'ready' });
    } catch (error) {
      if (get().selectedAgentId === agentId) set({ detailStatus: 'error', detailError: errorMessage(error) });
    }
  },

  applyStatus(agent) {
    const state = get();
    if (agent.orgId !== state.orgId) return;
    set({
      agents: { ...state.agents, [agent.id]: agent },
      detail: state.detail?.id === agent.id ? { ...state.detail, ...agent } : state.detail,
    });
  },

  applyInventory(agent) {
    const state = get();
    if (agent.orgId !== state.orgId) return;
    set({
      agents: { ...state.agents, [agent.id]: summaryOf(agent) },
      detail: state.selectedAgentId === agent.id ? agent : state.detail,
    });
  },
}));
