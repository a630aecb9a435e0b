import {
  BackupCodes,
  ConfirmEnrolmentBody,
  EnrolmentStarted,
  MfaResetResult,
  MfaStatus,
  StepUpBody,
  StepUpProof,
  UserParams,
} from '../../protocol/mfa';
import type { Principal } from '../auth/principal';
import type { ServerContext } from '../context';
import { currentKey } from '../crypto/keys';
import { seal } from '../crypto/seal';
import { withOrg, withScope, type Tx } from '../db/database';
import { AppError, AuthorizationError, NotFoundError } from '../errors';
import { apiRoute } from '../http/route';
import { generateBackupCodes, hashBackupCode, normalizeBackupCode } from './backup-codes';
import { issueStepUpProof } from './step-up';
import { confirmPendingSecret, countUnusedBackupCodes, findTotp, replaceBackupCodes, resetUserMfa, savePendingSecret } from './store';
import { checkTotp, newTotpSecret, otpauthUri, qrCodeDataUrl } from './totp';
import { lockedError, openTotpSecret, recordFailure, totpAad, verifySecondFactor } from './verify';

/*
 * The signed-in user's own MFA under /api/me/mfa (any principal), and an admin's reset of a
 * member's MFA. Enrolment: start (secret, URI and QR code shown once, kept sealed and pending) →
 * confirm with a first code (the secret takes effect, ten backup codes shown once). Replacing an
 * enrolled authenticator needs a step-up proof from the current one, so a stolen password or
 * session alone cannot swap it. docs/mfa.md.
 */

const ISSUER = 'RMM';

/** The caller's own rows, audited in their home org. */
const asUser = <T>(server: ServerContext, principal: Principal, fn: (tx: Tx) => Promise<T>) =>
  withScope(server.db, { orgId: principal.homeOrgId, userId: principal.userId }, fn);

async function newBackupCodes(tx: Tx, server: ServerContext, userId: string, now: Date): Promise<string[]> {
  const codes = generateBackupCodes();
  const key = currentKey(server.keys, 'rmm/mfa-backup-codes/v1');
  await replaceBackupCodes(tx, userId, codes.map((code) => hashBackupCode(key, userId, normalizeBackupCode(code) ?? code)), now);
  return codes;
}

export const mfaRoutes = [
  apiRoute({
    method: 'get',
    path: '/api/me/mfa',
    summary: "The caller's MFA: enrolled or not, backup codes left, step-up lock",
    tag: 'mfa',
    response: MfaStatus,
    handler: async ({ server, principal }) =>
      asUser(server, principal, async (tx) => {
        const totp = await findTotp(tx, principal.userId);
        const now = server.clock.now();
        return {
          enrolled: Boolean(totp?.secretSealed),
          enrolledAt: totp?.confirmedAt?.toISOString() ?? null,
          pending: Boolean(totp?.pendingSealed),
          backupCodesRemaining: await countUnusedBackupCodes(tx, principal.userId),
          lockedUntil: totp?.lockedUntil && totp.lockedUntil > now ? totp.lockedUntil.toISOString() : null,
        };
      }),
  }),
  apiRoute({
    method: 'post',
    path: '/api/me/mfa/totp',
    summary: 'Start TOTP enrolment: the secret, otpauth URI and QR code, shown this once (replacing an enrolled one needs a step-up proof for mfa.reenrol)',
    tag: 'mfa',
    stepUpWhen: { action: 'mfa.reenrol', when: 'the caller already has an enrolled authenticator (replacing it)' },
    response: EnrolmentStarted,
    handler: async ({ server, principal, requireStepUp }) => {
      const existing = await asUser(server, principal, (tx) => findTotp(tx, principal.userId));
      if (existing?.secretSealed) await requireStepUp('mfa.reenrol');
      const secret = newTotpSecret();
      const sealed = seal(currentKey(server.keys, 'rmm/mfa-totp/v1'), Buffer.from(secret, 'utf8'), totpAad(principal.userId));
      await asUser(server, principal, (tx) => savePendingSecret(tx, principal.userId, sealed, server.clock.now()));
      const uri = otpauthUri({ issuer: ISSUER, account: principal.email, secret });
      return { secret, otpauthUri: uri, qrCodeDataUrl: await qrCodeDataUrl(uri) };
    },
  }),
  apiRoute({
    method: 'post',
    path: '/api/me/mfa/totp/confirm',
    summary: 'Confirm TOTP enrolment with a first code; returns ten backup codes, shown this once',
    tag: 'mfa',
    body: ConfirmEnrolmentBody,
    response: BackupCodes,
    handler: async ({ input, server, principal, ip, audit }) => {
      await server.mfaLimits.attempt(ip, principal.userId);
      const now = server.clock.now();
      const userId = principal.userId;
      const outcome = await asUser(server, principal, async (tx) => {
        const totp = await findTotp(tx, userId);
        if (!totp?.pendingSealed) throw new AppError(409, 'conflict', 'No enrolment was started');
        if (totp.lockedUntil && totp.lockedUntil > now) throw lockedError(totp.lockedUntil, now);
        const check = await checkTotp(openTotpSecret(server, userId, totp.pendingSealed), input.body.code, now, null);
        if (!check.ok) return { failure: check.reason };
        await confirmPendingSecret(tx, userId, check.step, now);
        const backupCodes = await newBackupCodes(tx, server, userId, now);
        await audit(tx, { orgId: principal.homeOrgId, action: 'mfa.enrolled', target: { type: 'user', id: userId }, details: {} });
        return { backupCodes };
      });
      if (outcome.backupCodes) return { backupCodes: outcome.backupCodes };
      return recordFailure({ server, principal, ip, audit }, 'enrol', outcome.failure);
    },
  }),
  apiRoute({
    method: 'post',
    path: '/api/me/mfa/step-up',
    summary: 'Prove a second factor (TOTP code or a backup code) for one sensitive action: a proof for the X-Step-Up header, good once within 5 minutes',
    tag: 'mfa',
    body: StepUpBody,
    response: StepUpProof,
    handler: async ({ input, server, principal, ip, audit }) => {
      const { action, code, backupCode } = input.body;
      await verifySecondFactor({ server, principal, ip, audit }, code !== undefined ? { code } : { backupCode: backupCode ?? '' }, `step-up:${action}`);
      const issued = await asUser(server, principal, (tx) => issueStepUpProof(tx, server.clock, { userId: principal.userId, action }));
      return { action, proof: issued.proof, expiresAt: issued.expiresAt.toISOString() };
    },
  }),
  apiRoute({
    method: 'post',
    path: '/api/me/mfa/backup-codes',
    summary: 'Replace the backup codes (the old set stops working); the new ones are shown this once',
    tag: 'mfa',
    audit: 'mfa.backup_codes_regenerated',
    stepUp: 'mfa.backup_codes',
    response: BackupCodes,
    handler: async ({ server, principal, audit }) =>
      asUser(server, principal, async (tx) => {
        const totp = await findTotp(tx, principal.userId);
        if (!totp?.secretSealed) throw new AppError(409, 'mfa_not_enrolled', 'Enrol an authenticator app first');
        const backupCodes = await newBackupCodes(tx, server, principal.userId, server.clock.now());
        await audit(tx, { orgId: principal.homeOrgId, action: 'mfa.backup_codes_regenerated', target: { type: 'user', id: principal.userId }, details: {} });
        return { backupCodes };
      }),
  }),
  apiRoute({
    method: 'post',
    path: '/api/orgs/:orgId/users/:userId/mfa/reset',
    summary: "Reset a member's MFA (authenticator, backup codes, open proofs) so they enrol again; needs grants.manage at the org root",
    tag: 'mfa',
    permission: 'grants.manage',
    audit: 'mfa.reset',
    stepUp: 'mfa.reset',
    params: UserParams,
    response: MfaResetResult,
    handler: async ({ input, org, server, principal, audit }) => {
      if (!org?.can('grants.manage', null)) throw AuthorizationError('You need the grants.manage permission at the org root', 'grants.manage');
      const { orgId, userId } = input.params;
      if (userId === principal.userId) throw new AppError(409, 'conflict', 'Reset your own MFA by re-enrolling (POST /api/me/mfa/totp)');
      return withOrg(server.db, orgId, async (tx) => {
        const member = await tx.selectFrom('users').select('id').where('id', '=', userId).where('org_id', '=', orgId).executeTakeFirst();
        if (!member) throw NotFoundError('No such member in this org');
        const hadMfa = await resetUserMfa(tx, userId);
        await audit(tx, { action: 'mfa.reset', target: { type: 'user', id: userId }, details: {} });
        return { userId, hadMfa };
      });
    },
  }),
];
