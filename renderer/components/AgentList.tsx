import { useMemo } from 'react';
import type { AgentSummary } from '../../protocol/api';
import { formatDateTime, formatRelative } from '../format';
import { useAgentStore } from '../stores/agent-store';
import { useOrgStore } from '../stores/org-store';
import { unitWithDescendants } from '../unit-tree';
import { StatusBadge } from './StatusBadge';
import { useNow } from './use-now';

// By name only, so a row keeps its place when its status changes live.
function byName(a: AgentSummary, b: AgentSummary): number {
  return (a.hostname ?? '\uffff').localeCompare(b.hostname ?? '\uffff') || a.id.localeCompare(b.id);
}

export function AgentList() {
  const agents = useAgentStore((s) => s.agents);
  const status = useAgentStore((s) => s.status);
  const error = useAgentStore((s) => s.error);
  const selectedAgentId = useAgentStore((s) => s.selectedAgentId);
  const selectAgent = useAgentStore((s) => s.selectAgent);
  const units = useOrgStore((s) => s.units);
  const selectedUnitId = useOrgStore((s) => s.selectedUnitId);
  const now = useNow();

  const visible = useMemo(() => {
    const all = Object.values(agents);
    const inScope = selectedUnitId ? unitWithDescendants(units, selectedUnitId) : null;
    return all.filter((agent) => !inScope || inScope.has(agent.unitId)).sort(byName);
  }, [agents, units, selectedUnitId]);
  const onlineCount = visible.filter((agent) => agent.online).length;
  const unitName = selectedUnitId ? units.find((unit) => unit.id === selectedUnitId)?.name : undefined;

  return (
    <section className="agents" aria-labelledby="agents-heading">
      <header className="agents-header">
        <h2 id="agents-heading">{unitName ?? 'All agents'}</h2>
        <span className="muted" data-testid="agent-count">
          {visible.length} {visible.length === 1 ? 'agent' : 'agents'} · {onlineCount} online
        </span>
      </header>
      {status === 'error' && <p className="error-text" role="alert">{error}</p>}
      {status === 'loading' && visible.length === 0 && <p className="muted empty">Loading agents…</p>}
      {status === 'ready' && visible.length === 0 && <p className="muted empty">No agents in this unit yet.</p>}
      {visible.length > 0 && (
        <table className="agent-table" data-testid="agent-table">
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Hostname</th>
              <th scope="col">Operating system</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {visible.map((agent) => {
              const selected = agent.id === selectedAgentId;
              const name = agent.hostname ?? '(awaiting inventory)';
              return (
                <tr
                  key={agent.id}
                  className={selected ? 'agent-row selected' : 'agent-row'}
                  data-testid="agent-row"
                  data-agent-id={agent.id}
                  data-online={agent.online ? 'true' : 'false'}
                  aria-selected={selected}
                  onClick={() => void selectAgent(agent.id)}
                >
                  <td>
                    <StatusBadge online={agent.online} />
                  </td>
                  <td>
                    <button
                      type="button"
                      className={agent.hostname ? 'row-link' : 'row-link pending'}
                      aria-label={`${name}, ${agent.online ? 'online' : 'offline'}: show details`}
                      onClick={(event) => {
                        event.stopPropagation();
                        void selectAgent(agent.id);
                      }}
                    >
                      {name}
                    </button>
                  </td>
                  <td>{agent.osName ?? '—'}</td>
                  <td title={formatDateTime(agent.lastSeenAt)}>
                    {agent.online ? 'now' : formatRelative(agent.lastSeenAt, now)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
