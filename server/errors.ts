import type { ErrorCode } from '../protocol/errors';
import type { Permission } from '../protocol/permissions';

/**
 * The one error type the server throws for expected failures. The HTTP layer turns it into
 * `{ error: { code, message, issues? } }` with `status`; anything else becomes a 500 `internal`.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly issues?: { path: string; message: string }[],
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const BadRequestError = (message: string) => new AppError(400, 'bad_request', message);
export const ValidationError = (message: string, issues: { path: string; message: string }[]) =>
  new AppError(400, 'validation_failed', message, issues);
export const AuthenticationError = (message = 'Authentication required') => new AppError(401, 'unauthenticated', message);
/**
 * 403 `forbidden`; `permission` is what was missing (recorded in the audit log, named in the body).
 * `own_script`: the permission is held, but separation of duties refuses it (an author deciding on their own script).
 */
export class AuthorizationFailure extends AppError {
  constructor(message: string, readonly permission?: Permission, code: 'forbidden' | 'own_script' = 'forbidden') {
    super(403, code, message);
  }
}
export const AuthorizationError = (message = 'You do not have permission to do that', permission?: Permission) => new AuthorizationFailure(message, permission);
export const NotFoundError = (message = 'Not found') => new AppError(404, 'not_found', message);
export const ConflictError = (message: string) => new AppError(409, 'conflict', message);
/**
 * 409 `script_not_approved`: a script hash that may not run. `reason` is for the audit log and alerts
 * (`altered`: the stored content no longer hashes to its sha256, someone changed the row).
 */
export class ScriptNotApprovedFailure extends AppError {
  constructor(readonly reason: 'unknown' | 'pending' | 'rejected' | 'altered', message: string) {
    super(409, 'script_not_approved', message);
  }
}

/** 403 for a route that needs a step-up proof (X-Step-Up): none given, or not valid for this action. */
export class StepUpFailure extends AppError {
  constructor(code: 'step_up_required' | 'step_up_invalid', message: string) {
    super(403, code, message);
  }
}
/** 429 with Retry-After: too many attempts (`rate_limited`) or step-up locked after failures (`mfa_locked`). */
export class RateLimitedFailure extends AppError {
  constructor(code: 'rate_limited' | 'mfa_locked', message: string, readonly retryAfterSeconds: number) {
    super(429, code, message);
  }
}
