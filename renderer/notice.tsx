import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { SessionEnded } from '../protocol/ipc-contract';
import { formatDateTime } from './format';
import { decodeSessionEnded, describeSessionEnded } from './session-ended';
import './styles.css';

/*
 * The notice window (Electron: main's own small sandboxed window; browser host: a popup the
 * console page opens) telling the user their session was ended: by whom, why and when. All it
 * knows comes from `?ended=` (base64url JSON, validated); anything else shows a generic text.
 * It reaches nothing else: no bridge calls, no data of the console.
 */

function Notice({ ended }: { ended: SessionEnded | null }) {
  return (
    <main className="notice" aria-labelledby="notice-heading" data-testid="session-notice" data-kind={ended?.kind ?? 'unknown'}>
      <h1 id="notice-heading">Your session has ended</h1>
      {ended ? (
        <>
          <p data-testid="notice-text">{describeSessionEnded(ended)}</p>
          <dl className="facts">
            {ended.by && (
              <div className="fact">
                <dt>Ended by</dt>
                <dd data-testid="notice-by">{ended.by.name}</dd>
              </div>
            )}
            <div className="fact">
              <dt>Reason</dt>
              <dd data-testid="notice-reason">{ended.reason}</dd>
            </div>
            <div className="fact">
              <dt>When</dt>
              <dd data-testid="notice-at" title={ended.at}>{formatDateTime(ended.at)}</dd>
            </div>
          </dl>
        </>
      ) : (
        <p data-testid="notice-text">The console was locked. Sign in again to continue.</p>
      )}
      <p className="muted small">The console has locked and cleared what it showed. Sign in again there to continue.</p>
      <button type="button" className="button" data-testid="notice-close" autoFocus onClick={() => window.close()}>
        Close
      </button>
    </main>
  );
}

const container = document.getElementById('root');
if (container) {
  const ended = decodeSessionEnded(new URLSearchParams(window.location.search).get('ended'));
  createRoot(container).render(
    <StrictMode>
      <Notice ended={ended} />
    </StrictMode>,
  );
}
