import { z } from 'zod';

/*
 * Alerts: security events an org's admins must see (issue #4: backup-code use, MFA lock-outs;
 * #6 adds break-glass and webhooks). Stored, listed per org, acknowledged by an admin, and pushed
 * live to the consoles of the users who may read them (`alerts.read`).
 */

export const AlertKind = z.enum([
  /** A user signed in a second factor with one of their backup codes. */
  'mfa.backup_code_used',
  /** Repeated wrong second factors locked a user's step-up. */
  'mfa.locked',
]);
export type AlertKind = z.infer<typeof AlertKind>;

export const AlertPerson = z.object({ userId: z.uuid(), name: z.string() });

export const Alert = z.object({
  id: z.uuid(),
  /** null: an alert about an MSP staff user (seen by MSP admins only). */
  orgId: z.uuid().nullable(),
  kind: AlertKind,
  createdAt: z.iso.datetime(),
  /** Whom the alert is about. */
  subject: AlertPerson.nullable(),
  /** One sentence for the console, e.g. "Dana Tech used a backup code (7 left)". */
  message: z.string(),
  acknowledgedAt: z.iso.datetime().nullable(),
  acknowledgedBy: AlertPerson.nullable(),
});
export type Alert = z.infer<typeof Alert>;

export const AlertList = z.object({ alerts: z.array(Alert) });
export const AlertQuery = z.object({
  /** Only alerts nobody acknowledged yet (default: all, newest first, at most 200). */
  open: z.enum(['true', 'false']).optional(),
});
export const AlertParams = z.object({ orgId: z.uuid(), alertId: z.uuid() });
/** Alerts about MSP staff users (orgId null): listed and acknowledged by MSP admins. */
export const StaffAlertParams = z.object({ alertId: z.uuid() });
