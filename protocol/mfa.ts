import { z } from 'zod';

/* MFA: TOTP enrolment, step-up proofs and backup codes (docs/mfa.md). */

/** Operations that need a fresh second factor, each proved separately (a proof is for one action). */
export const StepUpAction = z.enum([
  'vault.reveal',
  'breakglass.request',
  'scripts.approve',
  'sessions.revoke_other',
  'grants.change',
  'org.security_settings',
  'audit.export',
  'mfa.reset',
  'mfa.reenrol',
  'mfa.backup_codes',
  /** Adding an agent build to the trusted registry (docs/agent.md "Signed agent updates"). */
  'releases.trust',
]);
export type StepUpAction = z.infer<typeof StepUpAction>;

/** The request header carrying a step-up proof. */
export const STEP_UP_HEADER = 'X-Step-Up';

/** Six digits from the authenticator app. */
export const TotpCode = z.string().regex(/^\d{6}$/, 'must be 6 digits');
/** A backup code as printed (`ABCDE-FGHJK`); case, spaces and dashes are ignored. */
export const BackupCode = z.string().min(10).max(20).regex(/^[0-9A-Za-z\s-]+$/, 'letters, digits and dashes only');

export const MfaStatus = z.object({
  enrolled: z.boolean(),
  enrolledAt: z.iso.datetime().nullable(),
  /** An enrolment started and not confirmed yet. */
  pending: z.boolean(),
  backupCodesRemaining: z.number().int().min(0),
  /** Step-up is refused until then after repeated failures. */
  lockedUntil: z.iso.datetime().nullable(),
});
export type MfaStatus = z.infer<typeof MfaStatus>;

export const EnrolmentStarted = z.object({
  /** Shown once: the server keeps it sealed and never returns it again. */
  secret: z.string(),
  otpauthUri: z.string(),
  /** The otpauth URI as a PNG data URL. */
  qrCodeDataUrl: z.string(),
});
export type EnrolmentStarted = z.infer<typeof EnrolmentStarted>;

export const ConfirmEnrolmentBody = z.object({ code: TotpCode }).strict();

/** Shown once, on enrolment and on regeneration. */
export const BackupCodes = z.object({ backupCodes: z.array(z.string()).length(10) });
export type BackupCodes = z.infer<typeof BackupCodes>;

/** Exactly one of `code` (TOTP) or `backupCode`. */
export const StepUpBody = z
  .object({ action: StepUpAction, code: TotpCode.optional(), backupCode: BackupCode.optional() })
  .strict()
  .refine((b) => (b.code === undefined) !== (b.backupCode === undefined), { message: 'give either code or backupCode', path: ['code'] });

export const StepUpProof = z.object({
  action: StepUpAction,
  /** Send as the X-Step-Up header with the one request it allows. */
  proof: z.string(),
  expiresAt: z.iso.datetime(),
});
export type StepUpProof = z.infer<typeof StepUpProof>;

export const UserParams = z.object({ orgId: z.uuid(), userId: z.uuid() });
export const MfaResetResult = z.object({ userId: z.uuid(), hadMfa: z.boolean() });
