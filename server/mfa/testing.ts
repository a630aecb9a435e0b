import { generate } from 'otplib';
import type { StepUpAction } from '../../protocol/mfa';
import type { TestServer } from '../test-support';
import { TOTP_PERIOD_SECONDS } from './totp';

/*
 * Test hooks for routes that need a step-up proof: enrol a test user's authenticator through the
 * real API, then hand out proofs. Proofs come from backup codes (a TOTP code works once per 30 s
 * step, too slow for a test run); when the codes run out the set is regenerated, itself with a proof.
 */

export interface Enrolment {
  secret: string;
  backupCodes: string[];
}

const enrolments = new WeakMap<TestServer, Map<string, Enrolment>>();

export function totpCode(secret: string, at: Date): Promise<string> {
  return generate({ secret, epoch: Math.floor(at.getTime() / 1000), period: TOTP_PERIOD_SECONDS });
}

/** Enrols the token's user (start + confirm at the server's clock) and returns the secret and backup codes. */
export async function enrolTotp(t: TestServer, token: string): Promise<Enrolment> {
  const started = await t.request('/api/me/mfa/totp', { method: 'POST', token });
  if (started.status !== 200) throw new Error(`enrol start: ${started.status} ${started.text}`);
  const { secret } = started.json() as { secret: string };
  const code = await totpCode(secret, t.server.context.clock.now());
  const confirmed = await t.request('/api/me/mfa/totp/confirm', { method: 'POST', token, body: { code } });
  if (confirmed.status !== 200) throw new Error(`enrol confirm: ${confirmed.status} ${confirmed.text}`);
  const enrolment = { secret, backupCodes: (confirmed.json() as { backupCodes: string[] }).backupCodes };
  const known = enrolments.get(t) ?? new Map<string, Enrolment>();
  known.set(token, enrolment);
  enrolments.set(t, known);
  return enrolment;
}

async function proofFromBackupCode(t: TestServer, token: string, action: StepUpAction, backupCode: string): Promise<string> {
  const res = await t.request('/api/me/mfa/step-up', { method: 'POST', token, body: { action, backupCode } });
  if (res.status !== 200) throw new Error(`step-up: ${res.status} ${res.text}`);
  return (res.json() as { proof: string }).proof;
}

/** A fresh proof for `action`, enrolling the user on first use. Send it as the X-Step-Up header. */
export async function stepUp(t: TestServer, token: string, action: StepUpAction): Promise<string> {
  const enrolment = enrolments.get(t)?.get(token) ?? (await enrolTotp(t, token));
  if (enrolment.backupCodes.length === 1) {
    const proof = await proofFromBackupCode(t, token, 'mfa.backup_codes', enrolment.backupCodes.pop() ?? '');
    const res = await t.request('/api/me/mfa/backup-codes', { method: 'POST', token, headers: { 'x-step-up': proof } });
    if (res.status !== 200) throw new Error(`regenerate backup codes: ${res.status} ${res.text}`);
    enrolment.backupCodes = (res.json() as { backupCodes: string[] }).backupCodes;
  }
  return proofFromBackupCode(t, token, action, enrolment.backupCodes.pop() ?? '');
}
