import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { ServerContext } from '../context';
import { RateLimitedFailure } from '../errors';

/*
 * Attempt limits on POST /api/auth/session: per source address for every attempt (refused
 * tokens included: they cost an audit entry and perhaps a key fetch), and per Azure identity
 * (tid + oid) for sign-ins whose token verified, so neither a flood of junk nor a stolen token
 * replayed in a loop can open sessions without bound. Only verified identities are counted per
 * account: counting claims from unverified tokens would let anyone lock a victim out.
 * In-memory per node, like the MFA limits (docs/mfa.md).
 */

export interface SignInLimitOptions {
  perIp: { points: number; durationSeconds: number };
  perIdentity: { points: number; durationSeconds: number };
}

export const DEFAULT_SIGN_IN_LIMITS: SignInLimitOptions = {
  // Generous: a clinic's staff often share one address behind NAT.
  perIp: { points: 300, durationSeconds: 15 * 60 },
  perIdentity: { points: 30, durationSeconds: 15 * 60 },
};

export interface SignInLimits {
  /** Counts an attempt from `ip`; throws 429 `rate_limited` (with Retry-After) once spent. */
  attempt(ip: string): Promise<void>;
  /** Counts a verified sign-in of (tenantId, objectId); throws 429 once spent. */
  identity(tenantId: string, objectId: string): Promise<void>;
}

async function consume(limiter: RateLimiterMemory, key: string, what: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (err) {
    if (err instanceof RateLimiterRes) throw new RateLimitedFailure('rate_limited', `Too many sign-in attempts ${what}; try again later`, err.msBeforeNext / 1000);
    throw err;
  }
}

export function createSignInLimits(options: SignInLimitOptions = DEFAULT_SIGN_IN_LIMITS): SignInLimits {
  const perIp = new RateLimiterMemory({ keyPrefix: 'sign-in-ip', points: options.perIp.points, duration: options.perIp.durationSeconds });
  const perIdentity = new RateLimiterMemory({ keyPrefix: 'sign-in-identity', points: options.perIdentity.points, duration: options.perIdentity.durationSeconds });
  return {
    attempt: (ip) => consume(perIp, ip, 'from this address'),
    identity: (tenantId, objectId) => consume(perIdentity, `${tenantId}/${objectId}`, 'for this account'),
  };
}

const limitsByServer = new WeakMap<ServerContext, SignInLimits>();

/** The running server's sign-in limits, made with the defaults on first use. */
export function signInLimitsFor(server: ServerContext): SignInLimits {
  let limits = limitsByServer.get(server);
  if (!limits) {
    limits = createSignInLimits();
    limitsByServer.set(server, limits);
  }
  return limits;
}

/** Replaces a running server's sign-in limits (tests shrink them). */
export function setSignInLimits(server: ServerContext, options: SignInLimitOptions): void {
  limitsByServer.set(server, createSignInLimits(options));
}
