import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitedFailure } from '../errors';

/*
 * Attempt limits on second-factor checks (enrolment confirmation, step-up, backup codes): per
 * source IP and per account, whatever the outcome, so a thief cannot spread guesses over accounts
 * or addresses. Failures are counted apart: `failuresBeforeLock` failures within `failureWindow`
 * lock the account's step-up (server/mfa/verify.ts records that in the database and the audit log).
 *
 * The counters live in this process's memory: with several nodes behind a balancer each node
 * counts separately. rate-limiter-flexible's RateLimiterPostgres keeps them in PostgreSQL for
 * that case (docs/mfa.md); the lock itself is already in the database.
 */

export interface MfaLimitOptions {
  perIp: { points: number; durationSeconds: number };
  perAccount: { points: number; durationSeconds: number };
  failuresBeforeLock: number;
  failureWindowSeconds: number;
  lockSeconds: number;
}

export const DEFAULT_MFA_LIMITS: MfaLimitOptions = {
  perIp: { points: 60, durationSeconds: 15 * 60 },
  perAccount: { points: 30, durationSeconds: 15 * 60 },
  failuresBeforeLock: 5,
  failureWindowSeconds: 15 * 60,
  lockSeconds: 15 * 60,
};

export interface MfaLimits {
  options: MfaLimitOptions;
  /** Counts one attempt; throws 429 `rate_limited` with Retry-After when either limit is spent. */
  attempt(ip: string, userId: string): Promise<void>;
  /** Counts one failure; true when this failure reaches the lock threshold (the counter then restarts). */
  failed(userId: string): Promise<boolean>;
}

async function consume(limiter: RateLimiterMemory, key: string, what: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (err) {
    if (err instanceof RateLimiterRes) throw new RateLimitedFailure('rate_limited', `Too many verification attempts ${what}; try again later`, err.msBeforeNext / 1000);
    throw err;
  }
}

export function createMfaLimits(options: MfaLimitOptions = DEFAULT_MFA_LIMITS): MfaLimits {
  const perIp = new RateLimiterMemory({ keyPrefix: 'mfa-ip', points: options.perIp.points, duration: options.perIp.durationSeconds });
  const perAccount = new RateLimiterMemory({ keyPrefix: 'mfa-account', points: options.perAccount.points, duration: options.perAccount.durationSeconds });
  const failures = new RateLimiterMemory({ keyPrefix: 'mfa-failures', points: options.failuresBeforeLock, duration: options.failureWindowSeconds });
  return {
    options,
    async attempt(ip, userId) {
      await consume(perIp, ip, 'from this address');
      await consume(perAccount, userId, 'for this account');
    },
    async failed(userId) {
      try {
        const res = await failures.consume(userId);
        if (res.remainingPoints > 0) return false;
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err;
      }
      await failures.delete(userId);
      return true;
    },
  };
}
