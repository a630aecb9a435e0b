import { useConnectionStore } from '../stores/connection-store';

const LABELS = { online: 'Live', connecting: 'Connecting…', offline: 'Offline' } as const;

/** Tells the technician whether what they see is live; quiet when it is. */
export function ConnectionBanner() {
  const connection = useConnectionStore((s) => s.connection);
  return (
    <div
      className={`connection connection-${connection.state}`}
      role="status"
      aria-live="polite"
      data-testid="connection-banner"
      data-state={connection.state}
      title={connection.detail}
    >
      <span className="connection-dot" aria-hidden="true" />
      <span className="connection-label">{LABELS[connection.state]}</span>
      {connection.state !== 'online' && <span className="connection-detail">{connection.detail}</span>}
    </div>
  );
}
