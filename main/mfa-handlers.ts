import type { IpcHandlerMap } from '../protocol/ipc-contract';
import { BackupCodes, EnrolmentStarted, MfaResetResult, MfaStatus, StepUpProof } from '../protocol/mfa';
import { apiPath, type ApiClient } from './api-client';
import { ConsoleError } from './console-error';
import type { StepUpStore } from './step-up-store';

/*
 * Handlers for the signed-in user's second factor (docs/mfa.md): status, TOTP enrolment and its
 * confirmation, step-up, backup codes, and an admin's reset of a member's MFA. `mfa.stepUp`
 * keeps the proof in main (step-up-store.ts) and answers only its action and expiry.
 */

export type MfaChannel = 'mfa.status' | 'mfa.enrol' | 'mfa.confirm' | 'mfa.stepUp' | 'mfa.regenerateBackupCodes' | 'mfa.reset';

export function createMfaHandlers(api: ApiClient, stepUps: StepUpStore): Pick<IpcHandlerMap, MfaChannel> {
  return {
    'mfa.status': () => api.get('/api/me/mfa', MfaStatus),
    // Re-enrolling over a confirmed authenticator needs `mfa.reenrol`; a first enrolment needs none.
    'mfa.enrol': () => api.send('POST', '/api/me/mfa/totp', undefined, EnrolmentStarted, stepUps.forChannel('mfa.enrol')),
    'mfa.confirm': ({ code }) => api.send('POST', '/api/me/mfa/totp/confirm', { code }, BackupCodes),
    'mfa.stepUp': async ({ action, code, backupCode }) => {
      const body = code !== undefined ? { action, code } : { action, backupCode };
      const granted = await api.send('POST', '/api/me/mfa/step-up', body, StepUpProof);
      // A proof for another action than asked is not one to keep.
      if (granted.action !== action) throw new ConsoleError('invalid_response', 'the server answered a step-up for another action');
      stepUps.keep(granted);
      return { action: granted.action, expiresAt: granted.expiresAt };
    },
    'mfa.regenerateBackupCodes': () => api.send('POST', '/api/me/mfa/backup-codes', undefined, BackupCodes, stepUps.forChannel('mfa.regenerateBackupCodes')),
    'mfa.reset': ({ orgId, userId }) =>
      api.send('POST', apiPath('orgs', orgId, 'users', userId, 'mfa', 'reset'), undefined, MfaResetResult, stepUps.forChannel('mfa.reset')),
  };
}
