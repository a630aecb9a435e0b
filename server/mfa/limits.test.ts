import { describe, expect, it } from 'vitest';
import { RateLimitedFailure } from '../errors';
import { createMfaLimits, DEFAULT_MFA_LIMITS } from './limits';

const small = { ...DEFAULT_MFA_LIMITS, perIp: { points: 3, durationSeconds: 60 }, perAccount: { points: 2, durationSeconds: 60 } };

describe('MFA attempt limits', () => {
  it('refuses the attempt past the per-account limit with 429 rate_limited and a retry delay', async () => {
    const limits = createMfaLimits(small);
    await limits.attempt('10.0.0.1', 'alice');
    await limits.attempt('10.0.0.2', 'alice');
    const refused = await limits.attempt('10.0.0.3', 'alice').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RateLimitedFailure);
    expect((refused as RateLimitedFailure).status).toBe(429);
    expect((refused as RateLimitedFailure).code).toBe('rate_limited');
    expect((refused as RateLimitedFailure).retryAfterSeconds).toBeGreaterThan(0);
    expect((refused as RateLimitedFailure).retryAfterSeconds).toBeLessThanOrEqual(60);
    await limits.attempt('10.0.0.3', 'bob');
  });

  it('refuses the attempt past the per-IP limit, whichever accounts it tries', async () => {
    const limits = createMfaLimits(small);
    for (const user of ['a', 'b', 'c']) await limits.attempt('10.0.0.9', user);
    await expect(limits.attempt('10.0.0.9', 'd')).rejects.toMatchObject({ code: 'rate_limited', status: 429 });
    await limits.attempt('10.0.0.10', 'd');
  });

  it('reports the failure that reaches the lock threshold, then counts afresh', async () => {
    const limits = createMfaLimits(small);
    const results: boolean[] = [];
    for (let i = 0; i < 6; i++) results.push(await limits.failed('alice'));
    expect(results).toEqual([false, false, false, false, true, false]);
    expect(await limits.failed('bob')).toBe(false);
  });
});
