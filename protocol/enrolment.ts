import { z } from 'zod';

/*
 * Agent enrolment (issue #5, docs/agent.md "Enrolment"): an operator makes a one-time token for a
 * unit; `rmm agent enroll` exchanges it at POST /api/agents/enrol for the agent's id and credential.
 */

/** `rmm_enr_` + 256 random bits in base64url (43 characters). */
export const ENROLMENT_TOKEN_PREFIX = 'rmm_enr_';
export const EnrolmentTokenValue = z.string().regex(/^rmm_enr_[A-Za-z0-9_-]{43}$/, 'must be an enrolment token (rmm_enr_ followed by 43 characters)');

export const EnrolmentTokenParams = z.object({ orgId: z.uuid(), tokenId: z.uuid() });

export const CreateEnrolmentTokenBody = z
  .object({
    unitId: z.uuid(),
    label: z.string().trim().min(1).max(200).optional(),
    /** Up to a week; an hour unless said otherwise. */
    expiresInMinutes: z.number().int().min(1).max(10080).default(60),
  })
  .strict();
export type CreateEnrolmentTokenBody = z.input<typeof CreateEnrolmentTokenBody>;

export const EnrolmentTokenStatus = z.enum(['active', 'used', 'expired', 'revoked']);

/** A token as listed: never its value, which exists only in the response that made it. */
export const EnrolmentTokenSummary = z.object({
  id: z.uuid(),
  unitId: z.uuid(),
  label: z.string().nullable(),
  status: EnrolmentTokenStatus,
  createdBy: z.uuid(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  usedAt: z.iso.datetime().nullable(),
  usedByAgentId: z.uuid().nullable(),
  revokedAt: z.iso.datetime().nullable(),
});
export type EnrolmentTokenSummary = z.infer<typeof EnrolmentTokenSummary>;

export const EnrolmentTokenList = z.object({ tokens: z.array(EnrolmentTokenSummary) });

/** The one response that carries the token itself. */
export const CreatedEnrolmentToken = EnrolmentTokenSummary.extend({ token: EnrolmentTokenValue });

export const EnrolBody = z
  .object({
    token: z.string().min(1).max(200),
    hostname: z.string().trim().min(1).max(255),
    os: z.string().trim().min(1).max(200).optional(),
  })
  .strict();
export type EnrolBody = z.input<typeof EnrolBody>;

export const EnrolResponse = z.object({
  agentId: z.uuid(),
  /** The agent's secret: shown once, kept by the agent (mode 0600), never stored by the server in the clear. */
  credential: z.string().min(1),
  orgId: z.uuid(),
  unitId: z.uuid(),
});
export type EnrolResponse = z.infer<typeof EnrolResponse>;
