import { z } from 'zod';

/**
 * Stable error codes shared by the REST API, both WebSocket endpoints and the CLI.
 * Clients and tests match on these, never on messages.
 */
export const ErrorCode = z.enum([
  'bad_request',
  'validation_failed',
  'unauthenticated',
  'forbidden',
  'not_found',
  'conflict',
  'payload_too_large',
  'rate_limited',
  'internal',
  'tls_required',
  // Sign-in (issue #4)
  'token_invalid',
  'token_expired',
  'tenant_not_registered',
  /** A token from the MSP's staff tenant whose (tid, oid) no staff user is linked to (docs/identity.md "MSP staff"). */
  'staff_not_registered',
  'idp_unavailable',
  // MFA and step-up (issue #4, docs/mfa.md)
  'step_up_required',
  'step_up_invalid',
  'mfa_not_enrolled',
  'mfa_locked',
  'mfa_code_invalid',
  // Scripts (issue #5, docs/scripts.md)
  /** The caller wrote the script version they try to approve or reject: someone else must. */
  'own_script',
  /** A script hash that names no approved version of the org (unknown, pending, rejected, or altered): it cannot run. */
  'script_not_approved',
  // Signed agent updates (issue #5, docs/agent.md)
  /** The server has no release public key (RMM_RELEASE_PUBLIC_KEY_FILE), so it cannot check a build. */
  'release_key_not_configured',
  /** A signed manifest whose signature does not verify under the server's release key (or names another key). */
  'release_signature_invalid',
  // Agent enrolment (issue #5, docs/agent.md "Enrolment")
  /** No enrolment token has this value (mistyped, or never made). */
  'enrolment_token_invalid',
  /** The enrolment token's time ran out before it was used. */
  'enrolment_token_expired',
  /** The enrolment token was already exchanged: each enrols one endpoint. */
  'enrolment_token_used',
  /** The enrolment token was revoked by an operator. */
  'enrolment_token_revoked',
  // WebSocket protocol errors
  'protocol_invalid_message',
  'protocol_unsupported_version',
  'protocol_unexpected_message',
  'protocol_message_too_large',
  'protocol_handshake_timeout',
  'agent_auth_failed',
  'agent_reenrol_required',
  'agent_replaced',
  'server_shutting_down',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** Body of every non-2xx REST response. */
export const ErrorBody = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    /** For validation errors: which field was wrong and why. */
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
