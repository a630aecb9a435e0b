import { useState } from 'react';
import type { AuthState } from '../../protocol/ipc-contract';
import { describeSessionEnded } from '../session-ended';
import { useAuthStore } from '../stores/auth-store';
import { useConnectionStore } from '../stores/connection-store';

/*
 * What the console shows without a session: sign in with Microsoft, "continue in your browser"
 * while the identity provider's page is open, why the last attempt failed, and, once locked,
 * why the session ended and a way back in as the same account. Nothing of the org is on screen.
 */

const FRIENDLY: Record<string, string> = {
  tenant_not_registered: 'Your organisation is not registered with this RMM. Ask your IT provider to register your Microsoft Entra tenant, then sign in again.',
  idp_unavailable: 'The sign-in service cannot be reached right now. Try again in a moment.',
  unauthenticated: 'Signing in did not complete. Please sign in again.',
  rate_limited: 'Too many sign-in attempts. Wait a minute and try again.',
};

function accountName(auth: AuthState): string | null {
  return auth.account ? (auth.account.name ?? auth.account.username) : null;
}

export function SignInScreen() {
  const auth = useAuthStore((s) => s.auth);
  const status = useAuthStore((s) => s.status);
  const storeError = useAuthStore((s) => s.error);
  const signIn = useAuthStore((s) => s.signIn);
  const load = useAuthStore((s) => s.load);
  const host = useConnectionStore((s) => s.appInfo?.host);
  const [busy, setBusy] = useState(false);

  const start = async (): Promise<void> => {
    setBusy(true);
    try {
      await signIn();
    } finally {
      setBusy(false);
    }
  };

  const failure = auth?.error ?? storeError;
  const failureText = failure ? (FRIENDLY[failure.code] ?? failure.message) : null;
  const signingIn = auth?.state === 'signing-in';
  const locked = auth?.state === 'locked';
  const name = auth ? accountName(auth) : null;

  return (
    <div className="sign-in-page">
      <main className="sign-in-card" aria-labelledby="sign-in-heading" data-testid={locked ? 'lock-screen' : 'sign-in-screen'} data-state={auth?.state ?? status}>
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <h1 id="sign-in-heading">{locked ? 'RMM Console is locked' : 'Sign in to RMM Console'}</h1>
        </div>
        {!auth && status === 'error' && (
          <>
            <p className="error-text" role="alert" data-testid="sign-in-error">The console cannot tell whether you are signed in: {storeError?.message}</p>
            <button type="button" className="button" onClick={() => void load()}>
              Try again
            </button>
          </>
        )}
        {!auth && status !== 'error' && <p className="muted">Loading…</p>}
        {locked && auth.ended && (
          <p className="lock-reason" role="alert" data-testid="lock-reason" data-kind={auth.ended.kind}>
            {describeSessionEnded(auth.ended)}
          </p>
        )}
        {locked && !auth.ended && <p className="lock-reason" role="alert" data-testid="lock-reason">Your session has ended.</p>}
        {failureText && auth && !signingIn && (
          <p className="error-text" role="alert" data-testid="sign-in-error" data-code={failure?.code}>
            {failureText}
          </p>
        )}
        {signingIn && (
          <div className="card" role="status" aria-live="polite" data-testid="sign-in-waiting">
            <strong>Continue in your browser</strong>
            <span className="muted">Sign in on the Microsoft page that opened. This screen moves on by itself once you are done.</span>
            {auth.signInUrl && host === 'browser-host' && (
              <a href={auth.signInUrl} target="_blank" rel="noopener noreferrer" data-testid="sign-in-link">
                Open the sign-in page again
              </a>
            )}
          </div>
        )}
        {auth && !signingIn && (
          <button type="button" className="button sign-in-button" data-testid="sign-in" disabled={busy} onClick={() => void start()}>
            {locked && name ? `Sign in again as ${name}` : 'Sign in with Microsoft'}
          </button>
        )}
        {locked && <p className="muted small">Everything the console showed was cleared when it locked.</p>}
      </main>
    </div>
  );
}
