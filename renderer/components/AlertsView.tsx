import { useState } from 'react';
import type { Alert } from '../../protocol/alerts';
import { errorMessage } from '../api';
import { formatDateTime } from '../format';
import { openAlertCount, useAlertStore } from '../stores/alert-store';
import { useViewStore } from '../stores/view-store';

/* Security alerts (backup code used, MFA lock-outs), open ones first, each acknowledged once seen. */

export function AlertsView() {
  const alerts = useAlertStore((s) => s.alerts);
  const status = useAlertStore((s) => s.status);
  const error = useAlertStore((s) => s.error);
  return (
    <section className="panel" aria-labelledby="alerts-heading" data-testid="alerts-view">
      <header className="panel-header">
        <h2 id="alerts-heading">Alerts</h2>
        <span className="muted" aria-live="polite">{openAlertCount(alerts)} open</span>
      </header>
      {status === 'error' && <p className="error-text" role="alert">{error}</p>}
      {status === 'ready' && alerts.length === 0 && <p className="muted empty">No alerts.</p>}
      <ul className="alert-list">
        {alerts.map((alert) => (
          <AlertRow key={alert.id} alert={alert} />
        ))}
      </ul>
    </section>
  );
}

function AlertRow({ alert }: { alert: Alert }) {
  const acknowledge = useAlertStore((s) => s.acknowledge);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const open = alert.acknowledgedAt === null;
  const ack = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await acknowledge(alert);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <li className={open ? 'alert-item open' : 'alert-item'} data-testid="alert-row" data-alert-id={alert.id} data-kind={alert.kind} data-open={open}>
      <div>
        <strong>{alert.message}</strong>
        <div className="muted small">
          {formatDateTime(alert.createdAt)}
          {alert.orgId === null && ' · MSP staff'}
          {alert.acknowledgedAt && ` · acknowledged by ${alert.acknowledgedBy?.name ?? 'someone'} ${formatDateTime(alert.acknowledgedAt)}`}
        </div>
        {error && <p className="error-text" role="alert">{error}</p>}
      </div>
      {open && (
        <button type="button" className="button small" data-testid="alert-acknowledge" data-mutates="true" disabled={busy} aria-label={`Acknowledge: ${alert.message}`} onClick={() => void ack()}>
          Acknowledge
        </button>
      )}
    </li>
  );
}

/** In the top bar while alerts are open: how many, and a way to them. */
export function AlertBanner() {
  const count = useAlertStore((s) => openAlertCount(s.alerts));
  const show = useViewStore((s) => s.show);
  return (
    <div aria-live="assertive" className="alert-banner-slot">
      {count > 0 && (
        <button type="button" className="alert-banner" data-testid="alert-banner" data-count={count} onClick={() => show('alerts')}>
          {count === 1 ? '1 security alert' : `${count} security alerts`} to review
        </button>
      )}
    </div>
  );
}
