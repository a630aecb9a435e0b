import type { AgentDetail } from '../../protocol/api';
import { formatBytes, formatDateTime, formatDuration, formatRelative } from '../format';
import { useAgentStore } from '../stores/agent-store';
import { StatusBadge } from './StatusBadge';
import { useNow } from './use-now';

export function AgentDetailPane() {
  const selectedAgentId = useAgentStore((s) => s.selectedAgentId);
  const detail = useAgentStore((s) => s.detail);
  const status = useAgentStore((s) => s.detailStatus);
  const error = useAgentStore((s) => s.detailError);

  return (
    <aside className="detail" aria-label="Agent detail" data-testid="agent-detail">
      {!selectedAgentId && <p className="muted empty">Select an agent to see its inventory.</p>}
      {selectedAgentId && status === 'loading' && !detail && <p className="muted empty">Loading…</p>}
      {status === 'error' && (
        <p className="error-text" role="alert">
          Could not load this agent: {error}
        </p>
      )}
      {detail && <AgentInventory agent={detail} />}
    </aside>
  );
}

function AgentInventory({ agent }: { agent: AgentDetail }) {
  const now = useNow();
  const inventory = agent.inventory;
  return (
    <article>
      <header className="detail-header">
        <h2 data-testid="detail-hostname">{agent.hostname ?? '(awaiting inventory)'}</h2>
        <StatusBadge online={agent.online} />
      </header>
      <dl className="facts">
        <Fact label="Last seen" value={agent.online ? 'now' : formatRelative(agent.lastSeenAt, now)} />
        <Fact label="Agent version" value={agent.agentVersion ?? '—'} />
        <Fact label="Inventory from" value={formatDateTime(agent.inventoryAt)} />
      </dl>
      {!inventory && <p className="muted">This agent has not reported an inventory yet.</p>}
      {inventory && (
        <>
          <h3 className="section-heading">System</h3>
          <dl className="facts">
            <Fact label="Operating system" value={inventory.os.name} />
            <Fact label="Release" value={`${inventory.os.release} (${inventory.os.platform}, ${inventory.os.arch})`} />
            <Fact label="Kernel" value={inventory.kernel} />
            <Fact label="CPU" value={`${inventory.cpu.model} · ${inventory.cpu.cores} cores`} />
            <Fact
              label="Memory"
              value={`${formatBytes(inventory.memory.totalBytes - inventory.memory.freeBytes)} used of ${formatBytes(inventory.memory.totalBytes)}`}
            />
            <Fact label="Uptime" value={formatDuration(inventory.uptimeSeconds)} />
          </dl>

          <h3 className="section-heading">Disks</h3>
          {inventory.disks.length === 0 ? (
            <p className="muted">No disks reported.</p>
          ) : (
            <table className="mini-table">
              <thead>
                <tr>
                  <th scope="col">Mount</th>
                  <th scope="col">Filesystem</th>
                  <th scope="col">Used</th>
                  <th scope="col">Free</th>
                </tr>
              </thead>
              <tbody>
                {inventory.disks.map((disk) => (
                  <tr key={disk.mount}>
                    <td className="mono">{disk.mount}</td>
                    <td>{disk.filesystem}</td>
                    <td>
                      <meter
                        min={0}
                        max={Math.max(disk.totalBytes, 1)}
                        value={disk.totalBytes - disk.freeBytes}
                        high={disk.totalBytes * 0.85}
                        optimum={0}
                        aria-label={`${disk.mount} usage`}
                      />
                    </td>
                    <td>
                      {formatBytes(disk.freeBytes)} of {formatBytes(disk.totalBytes)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}

          <h3 className="section-heading">Network</h3>
          {inventory.ips.length === 0 ? (
            <p className="muted">No addresses reported.</p>
          ) : (
            <table className="mini-table">
              <thead>
                <tr>
                  <th scope="col">Interface</th>
                  <th scope="col">Address</th>
                  <th scope="col">MAC</th>
                </tr>
              </thead>
              <tbody>
                {inventory.ips.map((ip) => (
                  <tr key={`${ip.iface}-${ip.address}`}>
                    <td>{ip.iface}</td>
                    <td className="mono">{ip.address}</td>
                    <td className="mono">{ip.mac}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </article>
  );
}

function Fact({ label, value }: { label: string; value: string }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}
