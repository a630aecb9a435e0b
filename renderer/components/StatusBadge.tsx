export function StatusBadge({ online }: { online: boolean }) {
  return (
    <span className={online ? 'badge badge-online' : 'badge badge-offline'} data-testid="status-badge">
      <span className="badge-dot" aria-hidden="true" />
      {online ? 'Online' : 'Offline'}
    </span>
  );
}
