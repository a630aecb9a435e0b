import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { EnrolmentStarted, MfaStatus } from '../../protocol/mfa';
import { api, errorMessage } from '../api';
import { formatDateTime } from '../format';
import { ActionMessageLine, useAction } from './use-action';

/*
 * The signed-in user's own second factor: status, TOTP enrolment (QR code and secret shown once,
 * confirmed by a first code), the ten backup codes (shown once, on enrolment and regeneration),
 * and setting the app up again. Every user has this screen; it changes only their own account,
 * so its buttons are not among the org's mutating controls. Regenerating and re-enrolling ask
 * for step-up (renderer/api.ts).
 */

export function SecurityView() {
  const [status, setStatus] = useState<MfaStatus | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [enrolment, setEnrolment] = useState<EnrolmentStarted | null>(null);
  const [backupCodes, setBackupCodes] = useState<string[] | null>(null);
  const enrol = useAction();
  const regenerate = useAction();

  const load = useCallback(async (): Promise<void> => {
    try {
      setStatus(await api.mfaStatus());
      setLoadError(null);
    } catch (err) {
      setLoadError(errorMessage(err));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const start = async (): Promise<void> => {
    setBackupCodes(null);
    await enrol.run(() => api.enrolMfa(), (started) => {
      setEnrolment(started);
      return null;
    });
  };

  const newCodes = async (): Promise<void> => {
    await regenerate.run(() => api.regenerateBackupCodes(), ({ backupCodes: codes }) => {
      setBackupCodes(codes);
      void load();
      return 'New backup codes made; the old ones no longer work.';
    });
  };

  return (
    <section className="panel" aria-labelledby="security-heading" data-testid="security-view">
      <header className="panel-header">
        <h2 id="security-heading">Security</h2>
      </header>
      {loadError && <p className="error-text" role="alert">{loadError}</p>}
      {status && (
        <div className="card" data-testid="mfa-status" data-enrolled={status.enrolled}>
          <h3 className="card-heading">Two-step verification</h3>
          <dl className="facts">
            <div className="fact">
              <dt>Authenticator app</dt>
              <dd data-testid="mfa-state">{status.enrolled ? `Set up ${formatDateTime(status.enrolledAt)}` : status.pending ? 'Set-up started, not confirmed' : 'Not set up'}</dd>
            </div>
            <div className="fact">
              <dt>Backup codes left</dt>
              <dd data-testid="mfa-backup-remaining">{status.backupCodesRemaining}</dd>
            </div>
            {status.lockedUntil && (
              <div className="fact">
                <dt>Locked</dt>
                <dd className="error-text" data-testid="mfa-locked-until">Too many wrong codes: confirming is locked until {formatDateTime(status.lockedUntil)}</dd>
              </div>
            )}
          </dl>
          <div className="row-actions">
            {!enrolment && (
              <button type="button" className="button" data-testid="mfa-enrol" disabled={enrol.busy} onClick={() => void start()}>
                {status.enrolled ? 'Set up the app again' : 'Set up an authenticator app'}
              </button>
            )}
            {status.enrolled && (
              <button type="button" className="button quiet" data-testid="mfa-regenerate" disabled={regenerate.busy} onClick={() => void newCodes()}>
                New backup codes
              </button>
            )}
          </div>
          <ActionMessageLine message={enrol.message} testId="mfa-enrol-message" />
          <ActionMessageLine message={regenerate.message} testId="mfa-regenerate-message" />
        </div>
      )}
      {enrolment && (
        <EnrolmentCard
          enrolment={enrolment}
          onCancel={() => setEnrolment(null)}
          onConfirmed={(codes) => {
            setEnrolment(null);
            setBackupCodes(codes);
            void load();
          }}
        />
      )}
      {backupCodes && <BackupCodesCard codes={backupCodes} onDone={() => setBackupCodes(null)} />}
    </section>
  );
}

function EnrolmentCard({ enrolment, onCancel, onConfirmed }: { enrolment: EnrolmentStarted; onCancel: () => void; onConfirmed: (codes: string[]) => void }) {
  const [code, setCode] = useState('');
  const { busy, message, run } = useAction();
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    await run(() => api.confirmMfa(code.trim()), ({ backupCodes }) => {
      onConfirmed(backupCodes);
      return null;
    });
    setCode('');
  };
  return (
    <form className="card enrol-card" aria-labelledby="enrol-heading" data-testid="mfa-enrolment" onSubmit={(e) => void submit(e)}>
      <h3 id="enrol-heading" className="card-heading">Set up your authenticator app</h3>
      <p>Scan the code with Microsoft Authenticator, Google Authenticator or another TOTP app. It is shown only now.</p>
      <img className="qr" src={enrolment.qrCodeDataUrl} alt="QR code for your authenticator app" width={200} height={200} data-testid="mfa-qr" />
      <p className="muted small">Cannot scan? Enter this key instead:</p>
      <code className="code-block" data-testid="mfa-secret">{enrolment.secret}</code>
      <label className="field">
        <span>First code from the app</span>
        <input data-testid="mfa-confirm-code" value={code} inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} required onChange={(e) => setCode(e.target.value)} />
      </label>
      <div className="row-actions">
        <button type="submit" className="button" data-testid="mfa-confirm" disabled={busy || !/^\d{6}$/.test(code.trim())}>
          Confirm
        </button>
        <button type="button" className="button quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <ActionMessageLine message={message} testId="mfa-confirm-message" />
    </form>
  );
}

function BackupCodesCard({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <div className="card codes-card" role="region" aria-labelledby="backup-heading" data-testid="mfa-backup-codes">
      <h3 id="backup-heading" className="card-heading">Your backup codes</h3>
      <p>Each code works once, when your phone is not at hand. Keep them somewhere safe: they are shown only now.</p>
      <ol className="backup-codes mono">
        {codes.map((code) => (
          <li key={code} data-testid="mfa-backup-code">{code}</li>
        ))}
      </ol>
      <button type="button" className="button" data-testid="mfa-backup-saved" onClick={onDone}>
        I have saved them
      </button>
    </div>
  );
}
