import { z } from 'zod';
import { GrantRole } from './permissions';

/* REST bodies for Azure AD sign-in, an org's sign-in settings and server sessions (issue #4). */

/** An Entra ID tenant id: a GUID (any case; the server stores it lower-case). */
export const AzureTenantId = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a GUID');

/** How an org is signed in to: its Azure tenant, the role of new users, session lifetimes. */
export const OrgIdentity = z.object({
  /** The Azure AD (Entra ID) tenant whose users sign in to this org; null: none registered. */
  azureTenantId: AzureTenantId.nullable(),
  /** Granted at the org root to a user on their first sign-in. */
  defaultRole: GrantRole,
  /** A session unused this long ends (default 15). */
  sessionIdleMinutes: z.number().int().min(1).max(1440),
  /** A session ends this long after sign-in, however active (default 480: 8 hours). */
  sessionAbsoluteMinutes: z.number().int().min(5).max(10080),
});
export type OrgIdentity = z.infer<typeof OrgIdentity>;
export const OrgIdentityBody = OrgIdentity.strict().refine((v) => v.sessionIdleMinutes <= v.sessionAbsoluteMinutes, {
  message: 'sessionIdleMinutes must not exceed sessionAbsoluteMinutes',
  path: ['sessionIdleMinutes'],
});

export const SignInBody = z.object({
  /** An Azure AD v2 access token for this API. */
  accessToken: z.string().min(20).max(16384),
}).strict();

export const SessionTimes = z.object({
  /** When the session ends unless used before. */
  idleExpiresAt: z.iso.datetime(),
  /** When the session ends regardless. */
  absoluteExpiresAt: z.iso.datetime(),
  idleRemainingSeconds: z.number().int().nonnegative(),
  absoluteRemainingSeconds: z.number().int().nonnegative(),
});
export type SessionTimes = z.infer<typeof SessionTimes>;

export const SignInResponse = z.object({
  /** The session token (`rmm_ses_…`), shown once: send it as `Authorization: Bearer`. */
  sessionToken: z.string(),
  sessionId: z.uuid(),
  userId: z.uuid(),
  /** The org signed in to; null for an MSP staff session (no org: the platform scope). */
  orgId: z.uuid().nullable(),
  /** True when this sign-in created the user. */
  created: z.boolean(),
  times: SessionTimes,
});

export const SessionEndKind = z.enum(['revoked', 'signed_out', 'idle', 'absolute']);
export type SessionEndKind = z.infer<typeof SessionEndKind>;

export const Session = z.object({
  id: z.uuid(),
  /** null: an MSP staff session. */
  orgId: z.uuid().nullable(),
  userId: z.uuid(),
  userName: z.string(),
  createdAt: z.iso.datetime(),
  lastActivityAt: z.iso.datetime(),
  userAgent: z.string().nullable(),
  ip: z.string().nullable(),
  endedAt: z.iso.datetime().nullable(),
  endedBy: z.uuid().nullable(),
  endReason: z.string().nullable(),
  /** The session the request was made with. */
  current: z.boolean(),
});
export type Session = z.infer<typeof Session>;
export const SessionList = z.object({ sessions: z.array(Session) });

export const SessionParams = z.object({ orgId: z.uuid(), sessionId: z.uuid() });
/** A staff session (no org): `/api/staff/sessions/:sessionId/…`. */
export const StaffSessionParams = z.object({ sessionId: z.uuid() });
export const RevokeSessionBody = z.object({ reason: z.string().trim().min(1).max(500) }).strict();
export const RevokedSession = z.object({ id: z.uuid(), endedAt: z.iso.datetime() });
