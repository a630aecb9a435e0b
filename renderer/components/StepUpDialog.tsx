import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { StepUpAction } from '../../protocol/mfa';
import { ApiError, api, errorMessage } from '../api';
import { formatDateTime } from '../format';
import { useStepUpStore } from '../stores/step-up-store';
import { useViewStore } from '../stores/view-store';

/*
 * Asks for a fresh second factor in place when the server wants one for an action: the six-digit
 * code from the authenticator app, or one of the backup codes. A wrong code keeps the dialog
 * open with the error; closing it means the action is not done. The proof stays in main.
 */

const ACTION_LABELS: Record<StepUpAction, string> = {
  'vault.reveal': 'reveal a credential',
  'breakglass.request': 'request break-glass access',
  'scripts.approve': 'approve a script',
  'sessions.revoke_other': "end another user's session",
  'grants.change': 'change roles or grants',
  'org.security_settings': "change the organisation's security settings",
  'audit.export': 'export the audit log',
  'mfa.reset': "reset a user's MFA",
  'mfa.reenrol': 'set up your authenticator app again',
  'mfa.backup_codes': 'create new backup codes',
  'releases.trust': 'trust a signed agent build',
};

export function StepUpDialog() {
  const prompt = useStepUpStore((s) => s.prompt);
  const finish = useStepUpStore((s) => s.finish);
  const show = useViewStore((s) => s.show);
  const dialog = useRef<HTMLDialogElement>(null);
  const [useBackup, setUseBackup] = useState(false);
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [lockedUntil, setLockedUntil] = useState<string | null>(null);
  const [notEnrolled, setNotEnrolled] = useState(false);
  const cancel = (
    <button type="button" className="button quiet" data-testid="step-up-cancel" onClick={() => finish(false)}>
      Cancel
    </button>
  );

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    setUseBackup(false);
    setCode('');
    setError(null);
    setLockedUntil(null);
    setNotEnrolled(prompt?.reason === 'not-enrolled');
    if (prompt && !element.open) element.showModal();
    if (!prompt && element.open) element.close();
  }, [prompt]);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (!prompt) return;
    setBusy(true);
    setError(null);
    try {
      const entered = code.trim();
      await api.stepUp(useBackup ? { action: prompt.action, backupCode: entered } : { action: prompt.action, code: entered });
      finish(true);
    } catch (err) {
      setCode('');
      const codeOf = err instanceof ApiError ? err.code : 'internal';
      if (codeOf === 'mfa_not_enrolled') setNotEnrolled(true);
      else if (codeOf === 'mfa_locked') {
        const until = await api.mfaStatus().then((s) => s.lockedUntil, () => null);
        setLockedUntil(until ?? '');
        setError(until ? `Too many wrong codes: confirming is locked until ${formatDateTime(until)}.` : `Too many wrong codes: ${errorMessage(err)}`);
      } else if (codeOf === 'mfa_code_invalid') setError(useBackup ? 'That backup code is not valid (each works once). Try another.' : 'That code is not right. Enter the code your app shows now.');
      else setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const openSecurity = (): void => {
    finish(false);
    show('security');
  };

  const valid = useBackup ? code.trim().length >= 10 : /^\d{6}$/.test(code.trim());
  return (
    <dialog
      ref={dialog}
      className="modal"
      aria-labelledby="step-up-heading"
      data-testid="step-up-dialog"
      data-action={prompt?.action ?? ''}
      onCancel={(e) => {
        e.preventDefault();
        finish(false);
      }}
    >
      {prompt && (
        <form onSubmit={(e) => void submit(e)} className="modal-body">
          <h2 id="step-up-heading">Confirm it is you</h2>
          {notEnrolled ? (
            <>
              <p data-testid="step-up-not-enrolled">
                To {ACTION_LABELS[prompt.action]} you need an authenticator app set up for your account, and you have none yet.
              </p>
              <div className="row-actions">
                <button type="button" className="button" data-testid="step-up-open-security" onClick={openSecurity}>
                  Set up in Security
                </button>
                {cancel}
              </div>
            </>
          ) : (
            <>
              <p>
                To {ACTION_LABELS[prompt.action]}, enter {useBackup ? 'one of your backup codes' : 'the 6-digit code from your authenticator app'}.
                {prompt.reason === 'invalid' && ' The last confirmation was no longer valid.'}
              </p>
              <label className="field">
                <span>{useBackup ? 'Backup code' : 'Authenticator code'}</span>
                <input
                  data-testid="step-up-code"
                  value={code}
                  autoFocus
                  autoComplete="one-time-code"
                  inputMode={useBackup ? 'text' : 'numeric'}
                  pattern={useBackup ? undefined : '[0-9]{6}'}
                  maxLength={useBackup ? 20 : 6}
                  placeholder={useBackup ? 'ABCDE-FGHJK' : '123456'}
                  aria-invalid={error !== null}
                  aria-describedby={error ? 'step-up-error' : undefined}
                  disabled={lockedUntil !== null}
                  onChange={(e) => setCode(e.target.value)}
                />
              </label>
              {error && (
                <p id="step-up-error" className="error-text" role="alert" data-testid="step-up-error">
                  {error}
                </p>
              )}
              <button type="button" className="link-button" data-testid="step-up-toggle" onClick={() => { setUseBackup(!useBackup); setCode(''); setError(null); }}>
                {useBackup ? 'Use the authenticator app instead' : 'Use a backup code instead'}
              </button>
              <div className="row-actions">
                <button type="submit" className="button" data-testid="step-up-submit" disabled={busy || !valid || lockedUntil !== null}>
                  Confirm
                </button>
                {cancel}
              </div>
            </>
          )}
        </form>
      )}
    </dialog>
  );
}
